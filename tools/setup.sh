#!/usr/bin/env bash
# Shared by run.sh and test.sh: installs the Debian packages fanin needs when they are
# missing, then configures and builds in build/ (binaries in build/bin/).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(cmake g++ make libdnnl-dev libopenblas-dev libgtest-dev libgmock-dev libbenchmark-dev libhdf5-dev libopenmpi-dev openmpi-bin nlohmann-json3-dev libcli11-dev libtomlplusplus-dev clang)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  sudo_cmd=()
  [[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi

jobs=$(nproc)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build build -j"$jobs"
