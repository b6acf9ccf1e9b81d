#!/usr/bin/env bash
# Determinism across optimisation levels: builds ksim as Debug (-O0, assertions on), as
# Release (-O3) and profile-guided (scripts/build-pgo.sh), runs the demo for several seeds
# in each, and fails if any trace hash differs from Debug's. Such a difference means
# behaviour depends on undefined behaviour, uninitialised memory or floating-point
# contraction, none of which a seed may depend on.
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=${KSIM_CHECK_SEEDS:-"1 2 3 5 8 13 21 34"}
for type in Debug Release; do
  dir="build-$(echo "$type" | tr '[:upper:]' '[:lower:]')"
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE="$type" -DKSIM_WERROR=ON -DKSIM_BUILD_BENCHMARKS=OFF >/dev/null
  if ! out=$(ninja -C "$dir" ksim 2>&1); then
    echo "$out" | tail -n 40 >&2
    echo "check-debug-release: building $type failed" >&2
    exit 1
  fi
done
if ! out=$(bash scripts/build-pgo.sh 2>&1); then
  echo "$out" | tail -n 40 >&2
  echo "check-debug-release: the profile-guided build failed" >&2
  exit 1
fi
fail=0
# Runs `ksim "$@"` in each build, keeps the lines matching $pattern (set by the caller),
# and compares them with Debug's.
pattern=""
agree() {
  local what=$1
  shift
  local d r p
  d=$(build-debug/bin/ksim "$@" | grep -E "$pattern")
  r=$(build-release/bin/ksim "$@" | grep -E "$pattern")
  p=$(build-pgo/bin/ksim "$@" | grep -E "$pattern")
  if [ "$d" != "$r" ] || [ "$d" != "$p" ]; then
    echo "check-debug-release: $what: Debug $d, Release $r, PGO $p" >&2
    fail=1
  fi
}
for seed in $seeds; do
  d=$(build-debug/bin/ksim demo --seed "$seed" --hosts 5 --duration 30s | tail -n 1)
  r=$(build-release/bin/ksim demo --seed "$seed" --hosts 5 --duration 30s | tail -n 1)
  p=$(build-pgo/bin/ksim demo --seed "$seed" --hosts 5 --duration 30s | tail -n 1)
  if [ "$d" != "$r" ] || [ "$d" != "$p" ]; then
    echo "check-debug-release: seed $seed: Debug $d, Release $r, PGO $p" >&2
    fail=1
  fi
done
# The API path (protobuf maps, watch caches, informers) too, on a small run.
pattern="trace_hash"
for seed in 1 2; do
  agree "bench api seed $seed" bench api --seed "$seed" --apiservers 2 --pods 2000
done
# The scheduler (scores use floating point: balanced allocation, spread weights), on
# small runs of the workloads that score the most.
pattern="placement_hash"
for workload in basic pod-affinity topology-spread; do
  agree "bench scheduler $workload" bench scheduler --seed 3 --workload "$workload" --nodes 300 --pods 600
done
if [ $fail -ne 0 ]; then exit 1; fi
echo "check-debug-release: Debug, Release and PGO agree on seeds: $seeds (demo), 1 2 (bench api)," \
  "3 (bench scheduler: basic, pod-affinity, topology-spread)"
