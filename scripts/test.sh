#!/usr/bin/env bash
# Every test: installs what is missing, builds everything with warnings as errors, runs
# the whole CTest suite (unit, property, determinism, tidy, real-process tests), then
# checks that Debug, Release and profile-guided builds agree on trace hashes.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
ctest --test-dir build --output-on-failure -j2 --timeout 900 -LE long
bash scripts/check-debug-release.sh
