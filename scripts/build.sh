#!/usr/bin/env bash
# Installs what is missing, then configures and builds ksim into build/ (warnings are
# errors). Extra arguments are passed to ninja (e.g. a target name).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# CI builds cold: precompiled headers, and line tables instead of full debug info (a
# backtrace still names file:line; objects are 4-6x smaller).
# docs/BUILD_TIME.md has the figures.
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKSIM_WERROR=ON -DKSIM_PCH=ON \
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG" >/dev/null
ninja -C build "$@"
