#!/usr/bin/env bash
# Installs, with apt-get, whatever Debian packages ksim needs and this machine lacks.
# Idempotent: a machine that has everything is left alone and no package index is fetched.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config lld
  libgtest-dev libgmock-dev librapidcheck-dev libbenchmark-dev
  libprotobuf-dev protobuf-compiler
  libfmt-dev nlohmann-json3-dev libyaml-cpp-dev libcli11-dev
  libboost-graph-dev libjemalloc-dev zlib1g-dev libabsl-dev libxxhash-dev libssl-dev
  libxml2-dev
  libhowardhinnant-date-dev tzdata
)
# `setup.sh --test` (scripts/test.sh) adds what only the tests use: headless Chromium opens
# the HTML reports (tests/reports/html_chromium_test.cc).
if [ "${1-}" = "--test" ]; then
  packages+=(chromium)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "setup: installing ${missing[*]}" >&2
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
