#!/usr/bin/env bash
# Installs what is missing, then builds ksim optimised with a profile of its own
# workloads (GCC's -fprofile-generate, a training run, -fprofile-use) into
# build-pgo/bin/ksim. docs/PERFORMANCE.md gives the benchmark figures of this build
# beside those of the ordinary one (scripts/build.sh).
#
# The training runs the demo scenario, the store benchmark and the scheduler benchmark
# on small sizes. It does not run `ksim bench api`, so the API figures are not fitted to
# the very workload that measures them. Behaviour does not change: when the ordinary
# build (build/bin/ksim) exists, this script ends by requiring its hashes to equal that
# build's (scripts/compare-builds.sh); KSIM_PGO_NO_CHECK=1 skips the comparison.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
dir=build-pgo
profile="$PWD/$dir/profile"
common=(-S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKSIM_BUILD_BENCHMARKS=OFF)
# The instrumented build does not use link-time optimisation (the profile is read per
# function before it runs), so it links fast.
rm -rf "$profile"
cmake "${common[@]}" -DCMAKE_CXX_FLAGS="-fprofile-generate -fprofile-update=single -fprofile-dir=$profile" \
  -DCMAKE_EXE_LINKER_FLAGS="-fprofile-generate" -DCMAKE_INTERPROCEDURAL_OPTIMIZATION=OFF >/dev/null
ninja -C "$dir" ksim
"$dir/bin/ksim" demo --gossip --seed 1 --hosts 5 --duration 60s >/dev/null
"$dir/bin/ksim" demo --seed 1 >/dev/null
"$dir/bin/ksim" bench store --duration 2s >/dev/null
"$dir/bin/ksim" bench scheduler --nodes 500 --pods 2000 >/dev/null
# Functions the training never ran are optimised as usual (-fprofile-partial-training);
# link-time optimisation lets the profile inline across files (3% more than the profile
# alone; alone it gained nothing).
cmake "${common[@]}" -DCMAKE_CXX_FLAGS="-fprofile-use -fprofile-partial-training -fprofile-dir=$profile -Wno-missing-profile" \
  -DCMAKE_EXE_LINKER_FLAGS="" -DCMAKE_INTERPROCEDURAL_OPTIMIZATION=ON >/dev/null
ninja -C "$dir" ksim
echo "build-pgo: built $dir/bin/ksim"
if [ "${KSIM_PGO_NO_CHECK:-0}" != 1 ] && [ -x build/bin/ksim ]; then
  bash scripts/compare-builds.sh build "$dir"
fi
