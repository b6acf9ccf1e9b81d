#!/usr/bin/env bash
# Determinism across optimisation levels, as CI runs it: builds ksim as Debug (-O0,
# assertions on) into build-debug/ and requires its hashes to equal those of the test
# build in build/ (RelWithDebInfo, -O2), which scripts/build.sh made first.
# The profile-guided build checks itself the same way (scripts/build-pgo.sh); a Release
# (-O3) comparison runs with KSIM_CHECK_RELEASE=1. One extra build instead of three keeps
# CI inside its time budget (README, "CI time").
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x build/bin/ksim ]; then
  echo "check-debug-release: build/bin/ksim is missing; run scripts/build.sh first" >&2
  exit 1
fi
types=(Debug)
if [ "${KSIM_CHECK_RELEASE:-0}" = 1 ]; then types+=(Release); fi
for type in "${types[@]}"; do
  dir="build-$(echo "$type" | tr '[:upper:]' '[:lower:]')"
  # Debug here means -O0 with assertions on; its debug info (a quarter of the compile
  # time) serves no one in a hash comparison, so it is left out.
  extra=()
  if [ "$type" = Debug ]; then extra+=(-DCMAKE_CXX_FLAGS_DEBUG=-O0); fi
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE="$type" -DKSIM_WERROR=ON -DKSIM_BUILD_BENCHMARKS=OFF -DKSIM_PCH=ON \
    "${extra[@]}" >/dev/null
  if ! out=$(ninja -C "$dir" ksim 2>&1); then
    echo "$out" | tail -n 40 >&2
    echo "check-debug-release: building $type failed" >&2
    exit 1
  fi
  bash scripts/compare-builds.sh build "$dir"
done
