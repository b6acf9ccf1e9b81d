#!/usr/bin/env bash
# The main job on its embedded default: installs what is missing, builds, and runs the
# simulated demo cluster (5 hosts, 60 simulated seconds, seed-drawn faults). The last
# line printed is trace_hash=<16 hex digits>; the same seed prints the same hash.
# Arguments replace the defaults, e.g.: scripts/demo.sh --seed 7 --hosts 50 --duration 2m
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh ksim
if [ $# -eq 0 ]; then set -- --seed 1 --hosts 5 --duration 60s; fi
exec build/bin/ksim demo "$@"
