#!/usr/bin/env bash
# Builds the CPU library and the test suite with AddressSanitizer and UndefinedBehavior-
# Sanitizer (GCC) in build-asan/ and runs the suite; fails on any test failure or any
# sanitizer report. No CUDA, benchmarks or examples: the study tests, which run the example
# programs, skip. Set CXX=clang++ to use clang instead.
set -euo pipefail
cd "$(dirname "$0")/.."
build=build-asan
sanitize="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"

# Only the test programs (every *_tests target) and what they need are built. MPI is left
# out: LeakSanitizer reports Open MPI's own allocations (from modules unloaded before the
# report, so no suppression can name them); the normal build runs the MPI tests.
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFANIN_CUDA=OFF \
  -DFANIN_BUILD_EXAMPLES=OFF -DFANIN_BUILD_BENCH=OFF -DCMAKE_DISABLE_FIND_PACKAGE_MPI=ON \
  -DCMAKE_CXX_FLAGS="$sanitize" -DCMAKE_C_FLAGS="$sanitize" \
  -DCMAKE_EXE_LINKER_FLAGS="$sanitize" -DCMAKE_SHARED_LINKER_FLAGS="$sanitize" >/dev/null
mapfile -t targets < <(cmake --build "$build" --target help | sed -n 's/^\.\.\. \([a-z_]*_tests\)$/\1/p')
cmake --build "$build" -j"$(nproc)" --target "${targets[@]}"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
log=$build/ctest.log
# install_consumer links an uninstrumented program to the instrumented library, which
# ASan refuses to load; it is covered by the normal build.
status=0
# -V: a report from a passing test (say, in a child process) must reach the log too.
(cd "$build" && ctest -V -j"$(nproc)" -E '^install_consumer$') >"$log" 2>&1 ||
  status=$?
grep -E '^[0-9]+% tests passed|^\s+[0-9]+ - .*\(Failed|Timeout\)|^Total Test time' "$log" || true
# A report in a child process or a caught signal need not fail its test: look for them too.
if grep -nE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$log"; then
  echo "sanitize: sanitizer reports above (full log: $log)" >&2
  status=1
fi
if ((status != 0)); then echo "sanitize: FAILED (full log: $log)" >&2; fi
exit $status
