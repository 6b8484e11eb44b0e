#!/usr/bin/env bash
# Builds fanin and runs the whole test suite (GPU tests skip when no GPU is present).
set -euo pipefail
cd "$(dirname "$0")"
tools/setup.sh
cd build
ctest --output-on-failure -j"$(nproc)"
