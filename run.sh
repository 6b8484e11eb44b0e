#!/usr/bin/env bash
# The main job: builds fanin and trains the BLOCK model of the initializer study on the
# ball data (on the GPU when one is present, else on the CPU).
set -euo pipefail
cd "$(dirname "$0")"
tools/setup.sh
build/bin/train_ball --activation tanh --initializer glorot_normal --epochs 20 --device auto
