#!/usr/bin/env bash
# The device check: one call of at most 9 minutes on the lent NVIDIA H200 (Hopper, sm_90,
# 16 cores, no network; only the driver, the CUDA toolkit and PyTorch can be assumed there)
# that returns the most information even when something breaks. The call, once
# tools/gpu-debs.sh has filled gpu-debs/ here (git-ignored, about 36 MB, carried):
#
#   run(command="tools/gpu-check.sh", carry=["gpu-debs"], timeout_s=540)
#
# then read $OUT/summary.txt (also the last thing printed), $OUT/gpu-check.log,
# $OUT/cuda_tests.xml, and docs/gpu-validation.md for what to write down.
#
#   FANIN_GPU_CHECK_DRY_RUN=1 tools/gpu-check.sh    # here: every stage that needs no GPU
#
# Stages, in order of value; each is gated on what it needs (its own binary, not the whole
# build), has its own time limit cut to what is left of BUDGET, and never stops the others:
#   preflight      the machine, in 5 seconds: compilers, cmake, ninja/make, nvcc, nvidia-smi,
#                  compute-sanitizer, the CUDA libraries, ldconfig for curl/crypto/z/quadmath/gomp
#   deps           dpkg -x of gpu-debs/*.deb into build-gpu/deps (never into /); the loader
#                  gets only the carried libraries whose soname the machine lacks
#   configure      build-gpu/, Release, sm_90, Ninja when there, against the unpacked packages
#   build_core     fanin_cuda_tests, fanin_op_tests and train_ball (-k 0: one failing target does
#                  not stop the others)
#   load           ldd of each built binary: nothing "not found"; each one starts (--gtest_list_tests, --help)
#   cuda_tests     fanin_cuda_tests, one process, --gtest_output=xml:$OUT/cuda_tests.xml
#   op_tests       fanin_op_tests on the CUDA targets (every op case: Value, Gradient, Validation),
#                  one process, --gtest_output=xml:$OUT/op_tests.xml
#   train_gpu      train_ball --device cuda (ms/step, warm-up excluded by train_ball itself)
#   train_cpu      train_ball --device cpu, the same model, for the ratio
#   build_compare  fanin_compare (needs Google Benchmark and OpenBLAS, both carried)
#   compare        fanin_compare: W1 and W2 on every backend, PyTorch eager and torch.compile;
#                  the summary repeats its GPU rows
#   memcheck       compute-sanitizer memcheck: the recorded steps (fanin_cuda_tests)
#   op_memcheck    compute-sanitizer memcheck: the 1000-row op cases (fanin_op_tests)
#   racecheck      compute-sanitizer racecheck: the column sums in training (fanin_cuda_tests)
#   op_racecheck   compute-sanitizer racecheck: the reduction kernels' op cases (bias gradient,
#                  Stats, BCE; fanin_op_tests)
#   build_rest     everything else (the CPU test binary, the examples, the benchmarks)
#   ctest_cpu      ctest without the CUDA tests
# The summary table (stage, status PASS/FAIL/SKIPPED/NOT RUN, seconds, key numbers) is
# rewritten to $OUT/summary.txt after every stage and printed last. Each stage's output goes
# to build-gpu/gpu-check/STAGE.out, into the log capped to 300 kB a stage, and into
# $OUT/stage-logs.tar.gz capped to 4 MB a stage: everything under $OUT stays far below the
# 16 MiB a file and the 8 files that come back.
#
# Environment (all optional):
#   FANIN_GPU_CHECK_DRY_RUN=1  run only what needs no GPU (here); GPU stages: NOT RUN (dry run).
#                              As root, it first hides, in a private mount namespace, the
#                              Debian packages that the .debs also hold (tools/gpu-hide-system.sh),
#                              so that the build can only use the unpacked ones;
#                              FANIN_GPU_CHECK_HIDE=0 skips that
#   FANIN_GPU_CHECK_DRY_FULL=1 in a dry run, also build_rest and ctest_cpu (slow on 2 cores)
#   FANIN_GPU_DEBS             the .deb folder (default gpu-debs)
#   OUT                        where the results go (the device sets it; default build-gpu/out)
#   CUDA_ARCH (90), JOBS (nproc), BUDGET (seconds for the whole script: 480, dry run 7200)
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD

DRY=${FANIN_GPU_CHECK_DRY_RUN:-0}
DEBS=${FANIN_GPU_DEBS:-gpu-debs}
BUILD=build-gpu
CUDA_ARCH=${CUDA_ARCH:-90}
JOBS=${JOBS:-$(nproc)}
if [[ $DRY == 1 ]]; then BUDGET=${BUDGET:-7200}; else BUDGET=${BUDGET:-480}; fi

# Dry run as root: hide the system's copies of the carried packages, then start again.
if [[ $DRY == 1 && -z ${FANIN_GPU_CHECK_HIDDEN:-} && ${FANIN_GPU_CHECK_HIDE:-1} == 1 &&
      -d $DEBS && $(id -u) == 0 ]] && unshare -m --propagation private true 2>/dev/null; then
  exec unshare -m --propagation private env FANIN_GPU_CHECK_HIDDEN=1 \
    "$ROOT/tools/gpu-hide-system.sh" "$DEBS" -- "$ROOT/tools/gpu-check.sh" "$@"
fi

OUTDIR=${OUT:-$BUILD/out}
SD=$BUILD/gpu-check  # each stage's whole output
mkdir -p "$OUTDIR" "$SD"
rm -f "$SD"/*.out "$OUTDIR"/summary.txt "$OUTDIR"/cuda_tests.xml "$OUTDIR"/op_tests.xml \
  "$OUTDIR"/stage-logs.tar.gz
LOG=$OUTDIR/gpu-check.log
SUMMARY=$OUTDIR/summary.txt
: >"$LOG"
LOG_CAP=300000       # bytes of one stage's output in the log
TAR_CAP=4000000      # bytes of one stage's output in stage-logs.tar.gz
NICE=()
[[ $DRY == 1 ]] && NICE=(nice -n 10)  # here the machine is shared

STAGES=(preflight deps configure build_core load cuda_tests op_tests train_gpu train_cpu
        build_compare compare memcheck op_memcheck racecheck op_racecheck build_rest ctest_cpu)
declare -A ST=() SEC=() KEY=()
for s in "${STAGES[@]}"; do ST[$s]="NOT RUN"; SEC[$s]=""; KEY[$s]=""; done
EXTRA=""  # lines printed under the table (fanin_compare's GPU rows)

say() { echo "[gpu-check $(date -u +%H:%M:%S)] $*" | tee -a "$LOG"; }

write_summary() {
  {
    echo "==== fanin gpu-check, $([[ $DRY == 1 ]] && echo "DRY RUN (no GPU stage ran)" || echo "GPU: ${GPU_NAME:-none seen}") ==== $(date -u '+%Y-%m-%d %H:%M UTC'), $(hostname 2>/dev/null), ${SECONDS}s of ${BUDGET}s"
    printf '%-14s %-8s %5s  %s\n' stage status s "key numbers"
    for s in "${STAGES[@]}"; do
      printf '%-14s %-8s %5s  %s\n' "$s" "${ST[$s]}" "${SEC[$s]}" "${KEY[$s]}"
    done
    [[ -n $EXTRA ]] && printf '%s\n' "$EXTRA"
    echo "log: $LOG (capped), stage outputs: $OUTDIR/stage-logs.tar.gz"
  } >"$SUMMARY.tmp" && mv "$SUMMARY.tmp" "$SUMMARY"
}

# cap FILE BYTES: the file, or its head and tail with the middle cut.
cap() {
  local f=$1 max=$2 size
  size=$(stat -c %s "$f" 2>/dev/null || echo 0)
  if ((size <= max)); then
    cat "$f"
  else
    head -c $((max / 3)) "$f"
    printf '\n... [%d bytes cut here] ...\n' $((size - max))
    tail -c $((max * 2 / 3)) "$f"
  fi
}

finish() {
  local tmp=$SD/tar
  rm -rf "$tmp" && mkdir -p "$tmp"
  for f in "$SD"/*.out; do [[ -f $f ]] && cap "$f" $TAR_CAP >"$tmp/${f##*/}"; done
  tar -czf "$OUTDIR/stage-logs.tar.gz" -C "$tmp" . 2>/dev/null
  if (($(stat -c %s "$OUTDIR/stage-logs.tar.gz" 2>/dev/null || echo 0) > 15000000)); then
    for f in "$tmp"/*.out; do cap "$f" 500000 >"$f.cut" && mv "$f.cut" "$f"; done
    tar -czf "$OUTDIR/stage-logs.tar.gz" -C "$tmp" . 2>/dev/null
  fi
  rm -rf "$tmp"
  write_summary
  cat "$SUMMARY" >>"$LOG"
  echo
  cat "$SUMMARY"
}
trap finish EXIT

# skip NAME STATUS WHY: a stage that cannot or must not run.
skip() { ST[$1]=$2; KEY[$1]=$3; SEC[$1]=0; write_summary; }

# run_stage NAME LIMIT CMD...: runs CMD (output in $SD/NAME.out) under the smaller of LIMIT
# and what is left of the budget; sets RC, ST, SEC. Returns 1 (RC -1) when no time is left.
run_stage() {
  local name=$1 limit=$2
  shift 2
  local out=$SD/$name.out start=$SECONDS left=$((BUDGET - SECONDS - 15))
  ((limit > left)) && limit=$left
  if ((limit < 5)); then
    RC=-1
    skip "$name" "NOT RUN" "no time left in the ${BUDGET}s budget"
    say "$name: not run, no time left"
    return 1
  fi
  local shown="$*"
  ((${#shown} > 400)) && shown="${shown:0:400} ..."
  say "$name: $shown (limit ${limit}s)"
  timeout --kill-after=5 "$limit" "$@" >"$out" 2>&1 </dev/null
  RC=$?
  SEC[$name]=$((SECONDS - start))
  {
    echo "----- $name: $* -----"
    cap "$out" $LOG_CAP
    echo "----- $name: exit $RC after ${SEC[$name]}s -----"
  } >>"$LOG"
  case $RC in
    0) ST[$name]=PASS ;;
    124 | 137) ST[$name]=FAIL; KEY[$name]="time limit of ${limit}s; " ;;
    *) ST[$name]=FAIL; KEY[$name]="exit $RC; " ;;
  esac
  if ((RC != 0)); then
    say "$name: FAILED ($RC); last lines:"
    tail -n 15 "$out" | sed 's/^/    /' | tee -a "$LOG"
  fi
  write_summary
}

# The gtest summary of FILE: "40 passed, 1 failed, 2 skipped; failed: A.B" or, after a crash,
# the test that was running.
gtest_counts() {
  local f=$1 passed failed skipped total running
  # Per-test lines end in "(N ms)"; the final lists repeat the names without it.
  passed=$(grep -cE '^\[       OK \] .* \([0-9]+ ms\)$' "$f")
  failed=$(grep -cE '^\[  FAILED  \] .* \([0-9]+ ms\)$' "$f")
  skipped=$(grep -cE '^\[  SKIPPED \] .* \([0-9]+ ms\)$' "$f")
  total=$(grep -c '^\[ RUN      \]' "$f")
  printf '%s passed, %s failed, %s skipped of %s run' "$passed" "$failed" "$skipped" "$total"
  if grep -q '^\[  FAILED  \] .*\.' "$f"; then
    printf '; failed: %s' "$(grep -oE '^\[  FAILED  \] [^ ,]+\.[^ ,]+' "$f" | awk '{print $4}' |
                             sort -u | head -n 12 | paste -sd' ')"
  fi
  if ! grep -q '^\[==========\] .* ran\.' "$f"; then
    running=$(grep '^\[ RUN      \]' "$f" | tail -n 1 | awk '{print $4}')
    printf '; NO gtest summary: stopped in %s' "${running:-?}"
  fi
}

has() { command -v "$1" >/dev/null 2>&1; }

# ---- preflight ----------------------------------------------------------------------------------
[[ -d /usr/local/cuda/bin && ":$PATH:" != *":/usr/local/cuda/bin:"* ]] && PATH=$PATH:/usr/local/cuda/bin
[[ -x /sbin/ldconfig && ":$PATH:" != *":/sbin:"* ]] && PATH=$PATH:/sbin
if ! has nvcc; then  # a toolkit elsewhere (/usr/local/cuda-13.0, /opt, a pip wheel's)
  nvcc_path=$(timeout 4 find /usr/local /opt -maxdepth 8 -name nvcc -type f -perm -u+x 2>/dev/null | head -n 1)
  [[ -n $nvcc_path ]] && PATH=$PATH:${nvcc_path%/*}
fi
SANITIZER=$(command -v compute-sanitizer || ls /usr/local/cuda*/compute-sanitizer/compute-sanitizer 2>/dev/null | head -n 1)
for tool in cmake ninja; do  # the image's pip packages carry both when they are not on PATH
  has "$tool" && continue
  dir=$(timeout 3 python3 -c "import $tool, os; print(getattr($tool, 'BIN_DIR', '') or getattr($tool, 'CMAKE_BIN_DIR', ''))" 2>/dev/null)
  [[ -n $dir && -x $dir/$tool ]] && PATH=$PATH:$dir
done
export PATH
preflight() {
  t() { echo "\$ $*"; timeout "${T:-2}" "$@" 2>&1 | head -n 12; }  # (nvidia-smi: 5 s, the driver may start)
  echo "date: $(date -u)  host: $(hostname)  cores: $(nproc)  dry run: $DRY"
  grep PRETTY_NAME /etc/os-release
  uname -r
  free -g | head -n 2
  df -h . | tail -n 1
  for p in c++ g++ gcc cmake ninja make nvcc nvidia-smi compute-sanitizer python3 ldd; do
    printf '%-18s %s\n' "$p" "$(command -v "$p" || echo MISSING)"
  done
  echo "compute-sanitizer used: ${SANITIZER:-none}"
  t g++ --version
  t cmake --version
  has ninja && t ninja --version
  t make --version
  t nvcc --version
  t ldd --version
  T=5 t nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap,clocks.sm,clocks.max.sm,power.draw --format=csv
  [[ -n $SANITIZER ]] && t "$SANITIZER" --version
  echo "CUDA libraries:"
  ls /usr/local/cuda/lib64/ 2>/dev/null | grep -E '^lib(cudart|cublas|cublasLt|cudnn|nccl)\.so' | paste -sd' '
  echo "python nvidia.cudnn: $(timeout 2 python3 -c 'import nvidia.cudnn as c; print(list(c.__path__)[0])' 2>&1 | tail -n 1)"
  echo "ldconfig:"
  ldconfig -p 2>/dev/null | grep -E 'lib(curl|crypto|ssl|z|quadmath|gomp|gfortran|OpenCL|cudnn|cublas|cuda|sz|hdf5_serial|dnnl|openblas)\.so' | sed 's/^\s*/  /'
  echo "debs: $(ls "$DEBS"/*.deb 2>/dev/null | wc -l) in $DEBS ($(du -sh "$DEBS" 2>/dev/null | cut -f1))"
  [[ -n ${FANIN_GPU_HIDDEN_FILES:-} ]] &&
    echo "hidden here (dry run): $FANIN_GPU_HIDDEN_FILES files of: $FANIN_GPU_HIDDEN_PACKAGES; visible: $FANIN_GPU_VISIBLE_PACKAGES"
  true
}
say "start: dry run $DRY, budget ${BUDGET}s, $JOBS jobs, results in $OUTDIR"
export -f preflight has
export DEBS DRY SANITIZER FANIN_GPU_HIDDEN_FILES FANIN_GPU_HIDDEN_PACKAGES FANIN_GPU_VISIBLE_PACKAGES 2>/dev/null
run_stage preflight 15 bash -c preflight && cp "$SD/preflight.out" "$OUTDIR/preflight.txt"
GPU_NAME=$(timeout 5 nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n 1)
KEY[preflight]="GPU: ${GPU_NAME:-none seen}; cmake $(cmake --version 2>/dev/null | head -n 1 | awk '{print $3}'); $(has ninja && echo ninja || echo "make (no ninja)"); nvcc $(nvcc --version 2>/dev/null | grep -oE 'release [0-9.]+' | awk '{print $2}'); sanitizer ${SANITIZER:+yes}${SANITIZER:-NO}"
write_summary

# ---- deps: the carried .debs ------------------------------------------------------------------
DEPS=$ROOT/$BUILD/deps
LIB=$DEPS/usr/lib/x86_64-linux-gnu
RT=$DEPS/rt  # links to the carried libraries whose soname the machine lacks
DEPS_ARGS=()
RUN_LD=""    # LD_LIBRARY_PATH for running what is built
unpack() {
  rm -rf "$DEPS" && mkdir -p "$DEPS" "$RT" || return 1
  local n=0 f name so path
  for f in "$DEBS"/*.deb; do
    if command -v dpkg-deb >/dev/null; then
      dpkg-deb -x "$f" "$DEPS" || { echo "dpkg-deb -x $f failed"; return 1; }
    else  # no dpkg: a .deb is an ar archive holding data.tar.xz (or .zst, .gz)
      local member unz
      member=$(ar t "$f" | grep '^data\.tar')
      case $member in *.xz) unz="xz -dc" ;; *.zst) unz="zstd -dc" ;; *.gz) unz="gzip -dc" ;; *) unz=cat ;; esac
      ar p "$f" "$member" | $unz | tar -x -C "$DEPS" || { echo "unpacking $f without dpkg failed"; return 1; }
    fi
    n=$((n + 1))
  done
  echo "unpacked $n packages into $DEPS"
  # Merge /lib into /usr/lib (zlib1g, libcom-err2, libkeyutils1 ship in /lib), and point the
  # absolute links (libz.so -> /lib/x86_64-linux-gnu/libz.so.1.2.13) into the tree.
  if [[ -d $DEPS/lib ]]; then
    cp -a "$DEPS/lib/." "$DEPS/usr/lib/" && rm -rf "$DEPS/lib" || return 1
  fi
  local link target
  while read -r link; do
    target=$(readlink "$link")
    target=${target#/usr}
    ln -sfn "$DEPS/usr$target" "$link"
    echo "link $link -> $DEPS/usr$target"
  done < <(find "$DEPS/usr" -type l -lname '/*' | grep -vE '/usr/share/')
  # h5cc (FindHDF5 asks it for the flags) has its prefix written in, and links -lcrypto
  # -lcurl -lsz -lz from the default directories: point both at the unpacked tree.
  sed -i -e "s|^prefix=\"/usr\"|prefix=\"$DEPS/usr\"|" \
         -e "s|^H5BLD_LDFLAGS=\"|H5BLD_LDFLAGS=\"-L$LIB -Wl,-rpath-link,$LIB |" "$DEPS/usr/bin/h5cc" || return 1
  grep -nE '^(prefix|H5BLD_LDFLAGS)=' "$DEPS/usr/bin/h5cc"
  # Each soname the carried libraries provide: linked into rt/ unless the machine has it.
  local have=0 missing=()
  while read -r f; do
    name=${f##*/}
    [[ -e $RT/$name ]] && continue
    path=$(ldconfig -p 2>/dev/null | awk -v n="$name" '$1 == n { print $NF; exit }')
    if [[ -n $path && -f $path && -s $path ]]; then
      have=$((have + 1))
    else
      ln -s "$f" "$RT/$name"
      missing+=("$name")
    fi
  done < <(find "$LIB" -maxdepth 3 -name 'lib*.so.*' | grep -E '\.so\.[0-9]+$' | grep -vE '/openblas-(openmp|serial)/' | sort)
  echo "sonames the machine has already: $have; carried ones used (in rt/): ${#missing[@]}: ${missing[*]}"
  echo "${#missing[@]}" >"$DEPS/rt.count"
}
if [[ -d $DEBS ]] && ls "$DEBS"/*.deb >/dev/null 2>&1; then
  export -f unpack
  export DEPS LIB RT ROOT
  run_stage deps 60 bash -c unpack
  if ((RC == 0)); then
    KEY[deps]="$(ls "$DEBS"/*.deb | wc -l) debs ($(du -sh "$DEBS" | cut -f1)); $(cat "$DEPS/rt.count") carried sonames used, the machine's own for the rest"
    [[ -n ${FANIN_GPU_HIDDEN_FILES:-} ]] && KEY[deps]+="; system copies hidden: $FANIN_GPU_HIDDEN_FILES files"
    rpath_link="$LIB:$LIB/hdf5/serial:$LIB/openblas-pthread"
    DEPS_ARGS=(-DCMAKE_PREFIX_PATH="$DEPS/usr" -DCMAKE_LIBRARY_PATH="$LIB/openblas-pthread"
               -DCMAKE_INCLUDE_PATH="$DEPS/usr/include/x86_64-linux-gnu/openblas-pthread"
               -DHDF5_C_COMPILER_EXECUTABLE="$DEPS/usr/bin/h5cc"
               # ld resolves the libraries' own dependencies (libhdf5's libcurl, libcrypto,
               # libsz; libcurl's closure) in the carried tree first, without LD_LIBRARY_PATH
               # (which would reach the compiler and linker themselves).
               -DCMAKE_EXE_LINKER_FLAGS="-Wl,-rpath-link,$rpath_link"
               -DCMAKE_SHARED_LINKER_FLAGS="-Wl,-rpath-link,$rpath_link")
    RUN_LD=$RT
    has ninja || [[ ! -x $DEPS/usr/bin/ninja ]] || { PATH=$PATH:$DEPS/usr/bin; KEY[deps]+="; ninja: the carried one"; }
  fi
  write_summary
else
  skip deps SKIPPED "no .debs in $DEBS: the machine's own packages (tools/gpu-debs.sh fetches them)"
fi

# cuDNN: the toolkit's, else the one the image's Python (PyTorch) has from nvidia-cudnn-cu13.
CUDNN_ARGS=()
if ! ls /usr/local/cuda/lib64/libcudnn.so* /usr/local/cuda/lib/libcudnn.so* \
     /usr/lib/x86_64-linux-gnu/libcudnn.so* >/dev/null 2>&1; then
  cudnn_root=$(timeout 5 python3 -c 'import nvidia.cudnn as c; print(list(c.__path__)[0])' 2>/dev/null)
  cudnn_lib=$(ls "${cudnn_root:-/nonexistent}"/lib/libcudnn.so* 2>/dev/null | head -n 1)
  if [[ -n $cudnn_lib ]]; then
    CUDNN_ARGS=(-DFANIN_CUDNN_LIBRARY="$cudnn_lib" -DFANIN_CUDNN_INCLUDE_DIR="$cudnn_root/include")
    RUN_LD=${RUN_LD:+$RUN_LD:}$cudnn_root/lib
    say "cuDNN from Python: $cudnn_lib"
  fi
fi
RUN_ENV=(env "LD_LIBRARY_PATH=$RUN_LD${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}")

# ---- configure ------------------------------------------------------------------------------------
bench=OFF  # the benchmarks (fanin_compare) need Google Benchmark: built only when found
for dir in "$LIB/cmake/benchmark" /usr/lib/x86_64-linux-gnu/cmake/benchmark /usr/local/lib/cmake/benchmark \
           /usr/lib/cmake/benchmark /usr/local/lib64/cmake/benchmark; do
  [[ -f $dir/benchmarkConfig.cmake ]] && bench=ON
done
GEN=()
has ninja && GEN=(-G Ninja)
KEEP_GOING=(-k 0)  # keep building the other targets after one fails (make: -k)
has ninja || KEEP_GOING=(-k)
rm -f "$BUILD/CMakeCache.txt"
rm -rf "$BUILD/CMakeFiles"
run_stage configure 120 "${NICE[@]}" cmake -S . -B "$BUILD" "${GEN[@]}" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CUDA_ARCHITECTURES="$CUDA_ARCH" -DFANIN_CUDA=ON -DFANIN_BUILD_BENCH="$bench" \
  -DCMAKE_DISABLE_FIND_PACKAGE_MPI=ON -DCMAKE_GTEST_DISCOVER_TESTS_DISCOVERY_MODE=PRE_TEST \
  -DCMAKE_POLICY_VERSION_MINIMUM=3.5 "${CUDNN_ARGS[@]}" "${DEPS_ARGS[@]}"
((RC >= 0)) && KEY[configure]+="${GEN[1]:-Unix Makefiles}; benchmarks $bench; $(grep -hE 'fanin: (CUDA backend|cuDNN)' "$SD/configure.out" | sed 's/^-- fanin: //' | paste -sd';' | cut -c1-120)"
CONFIGURED=0
((RC == 0)) && CONFIGURED=1
write_summary

BIN=$BUILD/bin
build() {  # build NAME LIMIT TARGETS...
  local name=$1 limit=$2
  shift 2
  if ((!CONFIGURED)); then skip "$name" "NOT RUN" "configure did not pass"; return; fi
  touch "$SD/$name.start"
  run_stage "$name" "$limit" "${NICE[@]}" cmake --build "$BUILD" -j"$JOBS" --target "$@" -- "${KEEP_GOING[@]}"
  local t built=()
  for t in "$@"; do
    # After a failed build, a binary older than this build is stale: moved aside, so that
    # no stage runs it.
    if ((RC != 0)) && [[ -e $BIN/$t && $BIN/$t -ot $SD/$name.start ]]; then mv -f "$BIN/$t" "$BIN/$t.stale"; fi
    [[ -x $BIN/$t ]] && built+=("$t")
  done
  ((RC < 0)) && return
  KEY[$name]+="built: ${built[*]:-nothing}"
  if ((RC != 0)); then
    KEY[$name]+="; first error: $( { grep -E ': (fatal )?error|undefined reference|Error [0-9]|CMake Error' "$SD/$name.out" | grep -v collect2; grep -E 'error' "$SD/$name.out"; } | head -n 1 | cut -c1-160)"
  fi
  write_summary
}

# ---- build the CUDA tests and train_ball first ---------------------------------------------------
build build_core 300 fanin_cuda_tests fanin_op_tests train_ball

# ---- load: every built binary resolves its libraries and starts -----------------------------------
load_check() {
  local bad=0 b
  for b in "$@"; do
    [[ -e $b ]] || continue
    echo "== ldd $b (LD_LIBRARY_PATH=$LD_LIBRARY_PATH)"
    ldd "$b" | sed 's/ (0x[0-9a-f]*)//'
    if ldd "$b" | grep -q 'not found'; then echo "!! $b: a library is not found"; bad=1; fi
    if [[ -n ${ALL_LD:-} ]]; then
      # The unpacked tree and CUDA alone: every library outside them must be the C/C++ runtime.
      echo "== $b with LD_LIBRARY_PATH=the unpacked tree + CUDA only: libraries from elsewhere"
      LD_LIBRARY_PATH=$ALL_LD ldd "$b" | awk '$2 == "=>" { print $1, $3 }' |
        grep -vE " ($DEPS_DIR|$ROOT_DIR/build-gpu|/usr/local/cuda|/opt/)" |
        grep -vE '^(libc|libm|libdl|libpthread|librt|libresolv|libstdc\+\+|libgcc_s|ld-linux-x86-64|libcuda|libutil)\.so' |
        sed 's/^/   outside: /' >/tmp/gpu-check-outside.$$
      cat /tmp/gpu-check-outside.$$
      [[ -s /tmp/gpu-check-outside.$$ ]] && bad=1
      rm -f /tmp/gpu-check-outside.$$
      LD_LIBRARY_PATH=$ALL_LD ldd "$b" | grep 'not found' && bad=1
    fi
  done
  [[ -x $BIN_DIR/fanin_cuda_tests ]] && { "$BIN_DIR/fanin_cuda_tests" --gtest_list_tests >/tmp/gpu-check-list.$$ || bad=1; echo "fanin_cuda_tests lists $(grep -c '^  ' /tmp/gpu-check-list.$$) tests"; rm -f /tmp/gpu-check-list.$$; }
  [[ -x $BIN_DIR/train_ball ]] && { "$BIN_DIR/train_ball" --help; echo "train_ball --help: exit $?"; }
  [[ -x $BIN_DIR/fanin_compare ]] && { "$BIN_DIR/fanin_compare" --help 2>&1 | head -n 3; }
  return $bad
}
ALL_LD=""  # dry run: the unpacked tree and CUDA alone
[[ $DRY == 1 && -d $LIB ]] && ALL_LD="$LIB:$LIB/hdf5/serial:$LIB/openblas-pthread:/usr/local/cuda/lib64:/usr/local/cuda/targets/x86_64-linux/lib"
export -f load_check
load() {
  local all=$ALL_LD
  run_stage "$1" 60 "${RUN_ENV[@]}" ALL_LD="$all" DEPS_DIR="$DEPS" ROOT_DIR="$ROOT" BIN_DIR="$BIN" \
    bash -c 'load_check "$@"' _ \
    "$BIN/fanin_cuda_tests" "$BIN/fanin_op_tests" "$BIN/train_ball" "$BIN/fanin_compare" \
    "$BUILD/lib/libfanin.so" || return
  KEY[$1]+="$(grep -c '^== ldd' "$SD/$1.out") binaries; $(grep -c 'not found' "$SD/$1.out") not found$( [[ -n $all ]] && echo "; with the unpacked tree + CUDA only: $(grep -c 'outside:' "$SD/$1.out") libraries from outside (C/C++ runtime aside)"); $(grep -oE 'lists [0-9]+ tests' "$SD/$1.out")"
  write_summary
}
if [[ -x $BIN/fanin_cuda_tests || -x $BIN/train_ball ]]; then load load; else skip load "NOT RUN" "no binary built"; fi

gpu_stage() {  # gpu_stage NAME: false (and the row says why) when NAME cannot run here
  if [[ $DRY == 1 ]]; then skip "$1" "NOT RUN" "dry run"; return 1; fi
  return 0
}

# ---- the CUDA tests and the op cases on the CUDA targets: one process each, XML to $OUT -------
gtest_stage() {  # gtest_stage NAME BINARY ARGS...
  local name=$1 binary=$2 n_ok n_skip
  shift 2
  if [[ ! -x $BIN/$binary ]]; then skip "$name" "NOT RUN" "$binary not built"; return; fi
  gpu_stage "$name" || return
  if run_stage "$name" 150 "${RUN_ENV[@]}" "$BIN/$binary" --gtest_output="xml:$OUTDIR/$name.xml" "$@"; then
    KEY[$name]+=$(gtest_counts "$SD/$name.out")
    # Tests skip when they see no GPU: then the row is SKIPPED, not PASS.
    n_ok=$(grep -cE '^\[       OK \] .* \([0-9]+ ms\)$' "$SD/$name.out")
    n_skip=$(grep -cE '^\[  SKIPPED \] .* \([0-9]+ ms\)$' "$SD/$name.out")
    if ((RC == 0 && n_skip > 0)) && [[ -z $GPU_NAME ]] || ((RC == 0 && n_skip > n_ok)); then
      ST[$name]=SKIPPED; KEY[$name]+="; the tests saw no GPU"
    fi
  fi
  write_summary
}
gtest_stage cuda_tests fanin_cuda_tests
gtest_stage op_tests fanin_op_tests --gtest_filter='*/cuda*'

# ---- train_ball: the BLOCK model's step time on the GPU and on the CPU --------------------------
GPU_MS="" CPU_MS=""
train() {  # train ROW DEVICE
  local row=$1 device=$2 ms
  run_stage "$row" 90 "${RUN_ENV[@]}" "$BIN/train_ball" --device "$device" $TRAIN_ARGS || return
  ms=$(grep -oE '[0-9.]+ ms/step' "$SD/$row.out" | tail -n 1 | awk '{print $1}')
  [[ -n $ms ]] && KEY[$row]+="${ms} ms/step ($(grep 'ms/step' "$SD/$row.out" | tail -n 1 | sed -E 's/.*\(([0-9]+) steps in/\1 steps in/; s/\(?[0-9.]+ ms\/step\)? ?//' | cut -c1-100))"
  if [[ $device == cuda ]]; then GPU_MS=$ms; else CPU_MS=$ms; fi
  ((RC == 0)) && [[ -z $ms ]] && { ST[$row]=FAIL; KEY[$row]+="; no ms/step printed"; }
  ((RC != 0)) && KEY[$row]+="$(grep -v '^\s*$' "$SD/$row.out" | tail -n 1 | cut -c1-120)"
  write_summary
}
TRAIN_ARGS=${FANIN_TRAIN_ARGS:-"--epochs 20"}
if [[ ! -x $BIN/train_ball ]]; then
  skip train_gpu "NOT RUN" "train_ball not built"
  skip train_cpu "NOT RUN" "train_ball not built"
else
  gpu_stage train_gpu && train train_gpu cuda
  train train_cpu cpu
  if [[ -n $GPU_MS && -n $CPU_MS ]]; then
    KEY[train_cpu]+=$(awk -v c="$CPU_MS" -v g="$GPU_MS" 'BEGIN { if (g > 0) printf "; GPU/CPU speed-up %.2fx", c / g }')
  fi
fi

# ---- fanin_compare ----------------------------------------------------------------------------------
if [[ $bench == ON ]]; then
  build build_compare 150 fanin_compare
else
  skip build_compare SKIPPED "no Google Benchmark (FANIN_BUILD_BENCH=OFF)"
fi
if [[ -x $BIN/fanin_compare ]]; then  # its libraries, as the load stage checks the others
  ALL_LD="$ALL_LD" DEPS_DIR="$DEPS" ROOT_DIR="$ROOT" BIN_DIR=/nonexistent "${RUN_ENV[@]}" \
    bash -c 'load_check "$@"' _ "$BIN/fanin_compare" >"$SD/load_compare.out" 2>&1 ||
    { ST[build_compare]=FAIL; KEY[build_compare]+="; ldd: a library not found or from outside (load_compare.out)"; }
  cat "$SD/load_compare.out" >>"$LOG"
  write_summary
fi
if [[ ! -x $BIN/fanin_compare ]]; then
  skip compare "NOT RUN" "fanin_compare not built"
elif gpu_stage compare; then
  if run_stage compare 180 "${RUN_ENV[@]}" "$BIN/fanin_compare"; then
    rows=$(grep -E '^\| W[12] ' "$SD/compare.out" | grep -iE 'cuda|gpu|graph|compile')
    KEY[compare]+="$(grep -cE '^\| W[12] ' "$SD/compare.out") rows, $(grep -c . <<<"$rows") on the GPU (below)"
    if [[ -n $rows ]]; then
      EXTRA="fanin_compare, GPU rows (ms/step median, min, max ...):"$'\n'"$(grep -E '^\| (workload|---)' "$SD/compare.out" | head -n 2 | cut -d'|' -f1-9 | sed 's/$/|/')"$'\n'"$(cut -d'|' -f1-9 <<<"$rows" | sed 's/$/|/')"
    fi
  fi
  write_summary
fi

# ---- compute-sanitizer --------------------------------------------------------------------------
# memcheck: the largest op cases (1000 rows: column sums over more than 256 rows, gathers,
# Stats) and every recorded-step test (CudaRecordTest, BlockCacheTest, the recorded training
# step); racecheck: the kernels that reduce through shared memory.
# (TwoGpuRunsAreBitIdentical: shuffled mini-batches through GatherRows, a partial last batch.)
MEMCHECK_FILTER=${FANIN_MEMCHECK_FILTER:-'*Record*:*Graph*:CudaTrainingTest.TwoGpuRunsAreBitIdentical'}
OP_MEMCHECK_FILTER=${FANIN_OP_MEMCHECK_FILTER:-'Value.*rows=1000/cuda*'}
# (BlockModelLossesMatchCpu adds the Dense(1) layer's narrow bias-gradient path.)
RACECHECK_FILTER=${FANIN_RACECHECK_FILTER:-'*ColumnSum*:*BiasGrad*:CudaTrainingTest.BlockModelLossesMatchCpu'}
OP_RACECHECK_FILTER=${FANIN_OP_RACECHECK_FILTER:-'Value.activation.backward/*/bias_grad/*rows=1000/cuda:Value.stats/*rows=1000/cuda:Value.bce/*rows=1000/cuda'}
sanitize() {  # sanitize STAGE TOOL BINARY FILTER LIMIT ARGS...
  local stage=$1 tool=$2 binary=$3 filter=$4 limit=$5 errors
  shift 5
  if [[ ! -x $BIN/$binary ]]; then skip "$stage" "NOT RUN" "$binary not built"; return; fi
  gpu_stage "$stage" || return
  if [[ -z $SANITIZER ]]; then skip "$stage" SKIPPED "no compute-sanitizer"; return; fi
  run_stage "$stage" "$limit" "${RUN_ENV[@]}" "$SANITIZER" --tool "$tool" --error-exitcode 86 \
    --print-limit 50 "$@" "$BIN/$binary" --gtest_filter="$filter" || return
  errors=$(grep -oE 'ERROR SUMMARY: [0-9]+ error' "$SD/$stage.out" | tail -n 1 | grep -oE '[0-9]+')
  KEY[$stage]+="${errors:-?} errors (ERROR SUMMARY); tests: $(gtest_counts "$SD/$stage.out"); filter $filter"
  [[ -z $errors ]] && ST[$stage]=FAIL
  write_summary
}
sanitize memcheck memcheck fanin_cuda_tests "$MEMCHECK_FILTER" 90
sanitize op_memcheck memcheck fanin_op_tests "$OP_MEMCHECK_FILTER" 90
sanitize racecheck racecheck fanin_cuda_tests "$RACECHECK_FILTER" 60 --racecheck-report all
sanitize op_racecheck racecheck fanin_op_tests "$OP_RACECHECK_FILTER" 60 --racecheck-report all

# ---- only then: everything else -------------------------------------------------------------------
if [[ $DRY == 1 && ${FANIN_GPU_CHECK_DRY_FULL:-0} != 1 ]]; then
  skip build_rest "NOT RUN" "dry run (FANIN_GPU_CHECK_DRY_FULL=1 builds it)"
  skip ctest_cpu "NOT RUN" "dry run (FANIN_GPU_CHECK_DRY_FULL=1 runs it)"
else
  if ((CONFIGURED)); then
    run_stage build_rest 240 "${NICE[@]}" cmake --build "$BUILD" -j"$JOBS" -- "${KEEP_GOING[@]}" &&
      KEY[build_rest]+="$(ls "$BIN" 2>/dev/null | paste -sd' ' | cut -c1-150)"
    write_summary
  else
    skip build_rest "NOT RUN" "configure did not pass"
  fi
  if [[ -x $BIN/fanin_tests ]]; then
    run_stage ctest_cpu 150 "${RUN_ENV[@]}" ctest --test-dir "$BUILD" -j"$JOBS" --timeout 120 \
      --output-on-failure -E '^Cuda|/Cuda|^Rows/Cuda|/cuda(_[a-z0-9]+)?$' &&
      KEY[ctest_cpu]+="$(grep -E 'tests passed|tests failed' "$SD/ctest_cpu.out" | tail -n 1)"
    write_summary
  else
    skip ctest_cpu "NOT RUN" "fanin_tests not built"
  fi
fi
