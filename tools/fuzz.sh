#!/usr/bin/env bash
# Builds the libFuzzer targets in tests/fuzz/ with clang (-fsanitize=fuzzer,address,undefined)
# in build-fuzz/ and runs each for FUZZ_SECONDS (default 60) from the seed corpus in
# tests/fuzz/corpus/; fails on any crash, leak or sanitizer report. The fuzzers compile
# the few library sources they exercise directly, so no clang build of fanin is needed.
# A crashing input is left in build-fuzz/ as crash-<hash>; rerun it with
#   build-fuzz/<target> build-fuzz/crash-<hash>
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-60}
out=build-fuzz
mkdir -p "$out"

cxx=(clang++ -std=c++20 -O1 -g -fno-omit-frame-pointer -I. -Iinclude
     -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all)

build() {  # name sources... [-- link flags...]
  local name=$1
  shift
  echo "fuzz: building $name" >&2
  "${cxx[@]}" -o "$out/$name" "$@"
}
build safetensors_fuzzer tests/fuzz/safetensors_fuzzer.cc src/safetensors.cc src/tensor.cc \
  src/backend.cc
build csv_fuzzer -fopenmp tests/fuzz/csv_fuzzer.cc src/datasets.cc src/permutation.cc src/tensor.cc \
  src/backend.cc src/backend_factory.cc src/activation.cc cpu/*.cc -ldnnl -lpthread

status=0
for name in safetensors csv; do
  # Runs grow a copy of the corpus, so the checked-in seeds stay small.
  corpus=$out/corpus-$name
  mkdir -p "$corpus"
  cp -n tests/fuzz/corpus/$name/* "$corpus/"
  echo "fuzz: running ${name}_fuzzer for ${seconds}s" >&2
  # -rss_limit_mb: a malformed size must fail cleanly, not allocate gigabytes.
  if ! (cd "$out" && UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ./"${name}_fuzzer" \
        -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=4096 -print_final_stats=1 \
        "corpus-$name" 2>"${name}_fuzzer.log"); then
    echo "fuzz: ${name}_fuzzer FAILED; the report:" >&2
    tail -50 "$out/${name}_fuzzer.log" >&2
    status=1
  else
    grep -E "stat::number_of_executed_units|cov:" "$out/${name}_fuzzer.log" | tail -2 >&2
  fi
done
exit $status
