#!/usr/bin/env bash
# Validates the CUDA backend on a GPU machine. Made for an NVIDIA H100 box (16 cores,
# CUDA 13, no network) and a budget of 8 minutes:
#   1. configure build-gpu/ for sm_90 (Release); build what the GPU checks need
#      (fanin_cuda_tests, train_ball), then everything else, with -j16;
#   2. ctest: the CPU suite and the CUDA suite (fanin_cuda_tests);
#   3. compute-sanitizer memcheck and racecheck over a short GPU training test;
#   4. train_ball on the GPU and on the CPU, for the ms/step of the BLOCK model;
#   5. fanin_compare: W1 and W2 on every backend (the CUDA step plain and recorded as a
#      CUDA graph), their bare GEMMs, and PyTorch eager and torch.compile on the same GPU;
# then prints a summary table, always, as the last thing it writes. Each stage has its own
# time limit (cut to what is left of the budget) and status; a failing stage does not stop
# the ones that do not need it.
#
#   tools/gpu-check.sh
#
# The full log is $OUT/gpu-check.log when OUT is set, else build-gpu/gpu-check.log.
# Environment (all optional):
#   FANIN_GPU_DEBS  a folder of .deb files (tools/gpu-debs.sh fetches them: oneDNN, GTest,
#                   Google Benchmark, HDF5, nlohmann-json, OpenBLAS), unpacked with dpkg -x
#                   into build-gpu/deps, which CMake and the loader are then pointed at
#   CUDA_ARCH       CMAKE_CUDA_ARCHITECTURES (default 90)
#   JOBS            build parallelism (default 16)
#   BUDGET          seconds for the whole script (default 480)
set -u
cd "$(dirname "$0")/.."

BUILD=build-gpu
CUDA_ARCH=${CUDA_ARCH:-90}
JOBS=${JOBS:-16}
BUDGET=${BUDGET:-480}
SANITIZER_TEST="CudaTrainingTest.TwoGpuRunsAreBitIdentical"
CUDA_TESTS='([^ ]*/)?Cuda[A-Za-z]*Test\.'  # ctest names of the fanin_cuda_tests cases
LOG_DIR=${OUT:-$BUILD}
STAGE_DIR=$BUILD/gpu-check
mkdir -p "$LOG_DIR" "$STAGE_DIR"
LOG=$LOG_DIR/gpu-check.log
: >"$LOG"

declare -A STATUS=()  # row of the table -> its text
for row in configure build build_all ctest_cuda ctest_other memcheck racecheck train_cuda \
           train_cpu compare; do
  STATUS[$row]="skipped (nothing to run it on)"
done
GPU_NAME="unknown (nvidia-smi failed)"
CPU_MS=""
GPU_MS=""

say() { echo "[gpu-check] $*" | tee -a "$LOG"; }

# run_stage NAME SECONDS COMMAND...: runs COMMAND with its output in $STAGE_DIR/NAME.out
# and the log, under the smaller of SECONDS and what is left of the budget. Sets STAGE_RC
# (-1: not started, no time left) and STAGE_TEXT ("ok (12s)", "FAILED (exit 2)", ...).
run_stage() {
  local name=$1 limit=$2
  shift 2
  local out=$STAGE_DIR/$name.out start=$SECONDS left=$((BUDGET - SECONDS - 5))
  ((limit > left)) && limit=$left
  if ((limit < 10)); then
    STAGE_RC=-1
    STAGE_TEXT="skipped (no time left in the ${BUDGET}s budget)"
    say "$name: $STAGE_TEXT"
    return 0
  fi
  say "$name: $* (limit ${limit}s)"
  timeout --kill-after=10 "$limit" "$@" >"$out" 2>&1
  STAGE_RC=$?
  local seconds=$((SECONDS - start))
  {
    echo "----- $name output -----"
    cat "$out"
    echo "----- $name: exit $STAGE_RC after ${seconds}s -----"
  } >>"$LOG"
  case $STAGE_RC in
    0) STAGE_TEXT="ok (${seconds}s)" ;;
    124 | 137) STAGE_TEXT="FAILED (time limit of ${limit}s)" ;;
    *) STAGE_TEXT="FAILED (exit $STAGE_RC)" ;;
  esac
  if ((STAGE_RC != 0)); then
    say "$name: $STAGE_TEXT; last lines:"
    tail -n 25 "$out" | sed 's/^/    /' | tee -a "$LOG"
  fi
}

# "3 passed, 0 failed, 1 skipped" for the ctest results in $1 whose names match (or, with
# $3 = -v, do not match) the regular expression $2. ctest marks a skipped test ***Skipped
# (or Not Run), a failure ***Failed, ***Timeout or ***Exception.
count_tests() {
  local file=$1 pattern=$2 invert=${3:-}
  local lines total passed skipped
  lines=$(grep -E 'Test +#[0-9]+: ' "$file" | grep -E $invert "Test +#[0-9]+: ($pattern)")
  total=$(grep -c . <<<"$lines")
  passed=$(grep -c ' Passed ' <<<"$lines")
  skipped=$(grep -c -E 'Skipped|Not Run' <<<"$lines")
  echo "$passed passed, $((total - passed - skipped)) failed, $skipped skipped"
}

print_summary() {
  local speedup=""
  if [[ -n $CPU_MS && -n $GPU_MS ]]; then
    speedup=$(awk -v c="$CPU_MS" -v g="$GPU_MS" 'BEGIN { if (g > 0) printf "; the GPU step is %.1fx faster", c / g }')
  fi
  {
    echo
    echo "==================== fanin gpu-check, $(date -u '+%Y-%m-%d %H:%M UTC') ===================="
    printf '%-20s %s\n' "GPU" "$GPU_NAME"
    printf '%-20s %s\n' "configure" "${STATUS[configure]}"
    printf '%-20s %s\n' "build, GPU checks" "${STATUS[build]}"
    printf '%-20s %s\n' "build, everything" "${STATUS[build_all]}"
    printf '%-20s %s\n' "ctest, CUDA tests" "${STATUS[ctest_cuda]}"
    printf '%-20s %s\n' "ctest, other tests" "${STATUS[ctest_other]}"
    printf '%-20s %s\n' "memcheck" "${STATUS[memcheck]}"
    printf '%-20s %s\n' "racecheck" "${STATUS[racecheck]}"
    printf '%-20s %s\n' "BLOCK step, GPU" "${STATUS[train_cuda]}"
    printf '%-20s %s\n' "BLOCK step, CPU" "${STATUS[train_cpu]}$speedup"
    printf '%-20s %s\n' "fanin_compare" "${STATUS[compare]}"
    if [[ -s $STAGE_DIR/compare.out ]]; then  # its table without the ratio columns
      grep -E '^\| (workload|---|W[12]) ' "$STAGE_DIR/compare.out" | cut -d'|' -f1-9 | sed 's/$/|/'
    fi
    printf '%-20s %s\n' "total" "${SECONDS}s; full log: $LOG"
  } | tee -a "$LOG"
}
trap print_summary EXIT

# ---- The machine ----------------------------------------------------------------------------
run_stage gpu 30 nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
((STAGE_RC == 0)) && GPU_NAME=$(head -n 1 "$STAGE_DIR/gpu.out")
{ nvcc --version; compute-sanitizer --version; cmake --version; } >>"$LOG" 2>&1

DEPS_ARGS=()
if [[ -n ${FANIN_GPU_DEBS:-} && -d $FANIN_GPU_DEBS ]]; then
  deps=$PWD/$BUILD/deps
  lib=$deps/usr/lib/x86_64-linux-gnu
  run_stage debs 60 bash -c 'for f in "$1"/*.deb; do dpkg -x "$f" "$2" || exit 1; done' _ \
    "$FANIN_GPU_DEBS" "$deps"
  # h5cc, which CMake's FindHDF5 asks for the flags, has its prefix written in.
  sed -i "s|^prefix=\"/usr\"|prefix=\"$deps/usr\"|" "$deps/usr/bin/h5cc"
  DEPS_ARGS=(-DCMAKE_PREFIX_PATH="$deps/usr" -DCMAKE_LIBRARY_PATH="$lib/openblas-pthread"
             -DHDF5_C_COMPILER_EXECUTABLE="$deps/usr/bin/h5cc")
  export LD_LIBRARY_PATH="$lib:$lib/openblas-pthread:$lib/hdf5/serial${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi

# cuDNN: the toolkit's, else the one the image's Python (PyTorch) has from nvidia-cudnn-cu13.
CUDNN_ARGS=()
if ! ls /usr/local/cuda/lib64/libcudnn.so* /usr/local/cuda/lib/libcudnn.so* \
     /usr/lib/x86_64-linux-gnu/libcudnn.so* >/dev/null 2>&1; then
  cudnn_root=$(python3 -c 'import nvidia.cudnn as c; print(list(c.__path__)[0])' 2>/dev/null)
  cudnn_lib=$(ls "${cudnn_root:-/nonexistent}"/lib/libcudnn.so* 2>/dev/null | head -n 1)
  if [[ -n $cudnn_lib ]]; then
    CUDNN_ARGS=(-DFANIN_CUDNN_LIBRARY="$cudnn_lib" -DFANIN_CUDNN_INCLUDE_DIR="$cudnn_root/include")
    export LD_LIBRARY_PATH="$cudnn_root/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    say "cuDNN from Python: $cudnn_lib"
  fi
fi

# ---- Configure and build ----------------------------------------------------------------------
# The benchmarks need Google Benchmark, which a GPU image may lack: built only when present.
bench=OFF
for dir in /usr/lib/x86_64-linux-gnu/cmake/benchmark /usr/local/lib/cmake/benchmark \
           /usr/lib/cmake/benchmark /usr/local/lib64/cmake/benchmark \
           "$BUILD/deps/usr/lib/x86_64-linux-gnu/cmake/benchmark"; do
  [[ -f $dir/benchmarkConfig.cmake ]] && bench=ON
done
built=0
run_stage configure 120 cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CUDA_ARCHITECTURES="$CUDA_ARCH" -DFANIN_CUDA=ON -DFANIN_BUILD_BENCH="$bench" \
  "${CUDNN_ARGS[@]}" "${DEPS_ARGS[@]}"
STATUS[configure]="$STAGE_TEXT; benchmarks $bench"
if ((STAGE_RC == 0)); then
  # What the GPU checks need first, so that a failure elsewhere cannot block them.
  targets=(fanin_cuda_tests train_ball)
  [[ $bench == ON ]] && targets+=(fanin_compare)
  run_stage build 240 cmake --build "$BUILD" -j"$JOBS" --target "${targets[@]}"
  STATUS[build]=$STAGE_TEXT
  ((STAGE_RC == 0)) && built=1
  run_stage build_all 180 cmake --build "$BUILD" -j"$JOBS"
  STATUS[build_all]=$STAGE_TEXT
  ((STAGE_RC > 0)) && STATUS[build_all]+="; ctest lists what is not built"
fi

# ---- Tests ------------------------------------------------------------------------------------
if ((built)); then
  run_stage ctest 180 ctest --test-dir "$BUILD" -j8 --timeout 120 --output-on-failure
  if ((STAGE_RC >= 0)); then
    STATUS[ctest_cuda]=$(count_tests "$STAGE_DIR/ctest.out" "$CUDA_TESTS")
    STATUS[ctest_other]=$(count_tests "$STAGE_DIR/ctest.out" "$CUDA_TESTS" -v)
    if ((STAGE_RC == 124 || STAGE_RC == 137)); then
      STATUS[ctest_cuda]+=" ($STAGE_TEXT)"
      STATUS[ctest_other]+=" ($STAGE_TEXT)"
    fi
  else
    STATUS[ctest_cuda]=$STAGE_TEXT
    STATUS[ctest_other]=$STAGE_TEXT
  fi
fi

# ---- Sanitizers over a short training run -------------------------------------------------------
sanitize() {
  local tool=$1
  shift
  ((built)) || return 0
  if ! command -v compute-sanitizer >/dev/null; then
    STATUS[$tool]="skipped (no compute-sanitizer on PATH)"
    return 0
  fi
  run_stage "$tool" 150 compute-sanitizer --tool "$tool" "$@" \
    "$BUILD/bin/fanin_cuda_tests" --gtest_filter="$SANITIZER_TEST"
  if ((STAGE_RC < 0)); then
    STATUS[$tool]=$STAGE_TEXT
    return 0
  fi
  local out=$STAGE_DIR/$tool.out errors
  errors=$(grep -oE 'ERROR SUMMARY: [0-9]+ error' "$out" | tail -n 1 | grep -oE '[0-9]+')
  STATUS[$tool]="${errors:-?} errors over $SANITIZER_TEST"
  [[ -z $errors ]] && STATUS[$tool]+=" (no ERROR SUMMARY in the output)"
  if grep -q '\[  SKIPPED \] 1 test' "$out"; then
    STATUS[$tool]+=" (SKIPPED: no GPU seen)"
  elif ! grep -q '\[  PASSED  \] 1 test' "$out"; then
    STATUS[$tool]+=" (the test did not pass: $STAGE_TEXT)"
  fi
}
sanitize memcheck --leak-check full
sanitize racecheck --racecheck-report all

# ---- Step time of the BLOCK model ---------------------------------------------------------------
train() {
  local row=$1 device=$2 ms
  ((built)) || return 0
  run_stage "$row" 90 "$BUILD/bin/train_ball" --device "$device" --epochs 3
  ms=$(grep -oE '\([0-9.]+ ms/step\)' "$STAGE_DIR/$row.out" 2>/dev/null | grep -oE '[0-9.]+' | tail -n 1)
  if ((STAGE_RC == 0)) && [[ -n $ms ]]; then
    STATUS[$row]="$ms ms/step (train_ball, batch 16, 3 epochs)"
    if [[ $device == cuda ]]; then GPU_MS=$ms; else CPU_MS=$ms; fi
  else
    STATUS[$row]=$STAGE_TEXT
  fi
}
train train_cuda cuda
train train_cpu cpu

# ---- W1 and W2 against PyTorch eager and torch.compile (issue 5) ------------------------------
if ((built)) && [[ -x $BUILD/bin/fanin_compare ]]; then
  run_stage compare 200 "$BUILD/bin/fanin_compare"
  STATUS[compare]=$STAGE_TEXT
fi
