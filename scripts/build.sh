#!/usr/bin/env bash
# Installs what is missing, then configures and builds ksim into build/ (warnings are
# errors). Extra arguments are passed to ninja (e.g. a target name).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKSIM_WERROR=ON >/dev/null
ninja -C build "$@"
