#!/usr/bin/env bash
# Determinism across optimisation levels: builds ksim as Debug (-O0, assertions on) and
# as Release (-O3), runs the demo for several seeds in both, and fails if any trace hash
# differs. Such a difference means behaviour depends on undefined behaviour, uninitialised
# memory or floating-point contraction, none of which a seed may depend on.
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
fail=0
for seed in $seeds; do
  d=$(build-debug/bin/ksim demo --seed "$seed" --hosts 5 --duration 30s | tail -n 1)
  r=$(build-release/bin/ksim demo --seed "$seed" --hosts 5 --duration 30s | tail -n 1)
  if [ "$d" != "$r" ]; then
    echo "check-debug-release: seed $seed: Debug $d, Release $r" >&2
    fail=1
  fi
done
# The API path (protobuf maps, watch caches, informers) too, on a small run.
for seed in 1 2; do
  d=$(build-debug/bin/ksim bench api --seed "$seed" --apiservers 2 --pods 2000 | grep trace_hash)
  r=$(build-release/bin/ksim bench api --seed "$seed" --apiservers 2 --pods 2000 | grep trace_hash)
  if [ "$d" != "$r" ]; then
    echo "check-debug-release: bench api seed $seed: Debug $d, Release $r" >&2
    fail=1
  fi
done
# The scheduler (scores use floating point: balanced allocation, spread weights), on
# small runs of the workloads that score the most.
for workload in basic pod-affinity topology-spread; do
  args=(bench scheduler --seed 3 --workload "$workload" --nodes 300 --pods 600)
  d=$(build-debug/bin/ksim "${args[@]}" | grep placement_hash)
  r=$(build-release/bin/ksim "${args[@]}" | grep placement_hash)
  if [ "$d" != "$r" ]; then
    echo "check-debug-release: bench scheduler $workload: Debug $d, Release $r" >&2
    fail=1
  fi
done
if [ $fail -ne 0 ]; then exit 1; fi
echo "check-debug-release: Debug and Release agree on seeds: $seeds (demo), 1 2 (bench api)," \
  "3 (bench scheduler: basic, pod-affinity, topology-spread)"
