#!/usr/bin/env bash
# Coverage-guided fuzzing of ksim's parsers with libFuzzer: installs clang if missing,
# builds the fuzz targets with ASan into build-fuzz/, and runs each for $1 seconds
# (default 30). Not part of scripts/test.sh (the RapidCheck fuzz properties are); run it
# when a parser changes. Findings are written to build-fuzz/fuzz/crash-*.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
bash scripts/setup.sh
if ! command -v clang++ >/dev/null || ! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
  sudo_cmd=(); if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends clang libclang-rt-14-dev
fi
flags="-fsanitize=fuzzer-no-link,address -fno-omit-frame-pointer"
cmake -S . -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKSIM_JEMALLOC=OFF \
  -DCMAKE_CXX_FLAGS="$flags" -DKSIM_BUILD_FUZZERS=ON -DKSIM_BUILD_BENCHMARKS=OFF >/dev/null
targets="fuzz_record_log fuzz_cli_values fuzz_gossip_frame fuzz_history fuzz_api_machinery fuzz_manifest fuzz_scheduler_config fuzz_pod_projection fuzz_static_pod fuzz_jwt fuzz_scenario fuzz_run_record"
ninja -C build-fuzz $targets
for t in $targets; do
  mkdir -p "build-fuzz/corpus/$t"
  echo "== $t for ${seconds}s"
  # fuzz/seeds/<target>/ (if any) starts the corpus: for a protobuf reader, a valid message
  # gets the fuzzer past the first tag in seconds rather than minutes.
  seeds=(); if [ -d "fuzz/seeds/$t" ]; then seeds=("$PWD/fuzz/seeds/$t"); fi
  (cd build-fuzz/fuzz && ./"$t" -max_total_time="$seconds" -print_final_stats=1 "../corpus/$t" "${seeds[@]}") 2>&1 | tail -n 4
done
