#!/usr/bin/env bash
# The main job: builds fanin and runs the two studies (on the GPU when one is present, else
# on the CPU), leaving their reports in out/init_study/index.html and
# out/activation_study/index.html.
set -euo pipefail
cd "$(dirname "$0")"
tools/setup.sh
build/bin/init_study --seeds 30 --out out/init_study --device auto
build/bin/activation_study --seeds 30 --out out/activation_study --device auto
echo "run.sh: open out/init_study/index.html and out/activation_study/index.html"
