#!/usr/bin/env bash
# The main job on its embedded default: installs what is missing, builds, and runs the
# simulated demo cluster: 3 control-plane hosts (store member, apiserver, scheduler)
# behind a simulated HAProxy, 5 workers, a set of pods and a Service, then an apiserver
# crash, a node failure and a partition, 4 simulated minutes in all. It prints where pods
# ran, their phases and restarts, who answered through the Service and the checks that
# held; the last line is trace_hash=<16 hex digits>, and the same seed prints the same hash.
# Arguments replace the defaults, e.g.: scripts/demo.sh --seed 7 --workers 8 --duration 5m
# The gossip-counter mesh demo of the foundation: scripts/demo.sh --gossip --hosts 5
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh ksim
if [ $# -eq 0 ]; then set -- --seed 1 --workers 5 --duration 4m; fi
exec build/bin/ksim demo "$@"
