#!/usr/bin/env bash
# For the device check's dry run (tools/gpu-check.sh, FANIN_GPU_CHECK_DRY_RUN=1): hides from
# the build the Debian packages that the carried .debs also hold, so that configuring,
# compiling and linking here can only use the unpacked copies, as on the GPU machine.
#
#   unshare -m --propagation private tools/gpu-hide-system.sh DEBS_DIR -- COMMAND [ARGS...]
#
# Must run as root inside a private mount namespace (unshare -m): each regular file of every
# such package installed here gets /dev/null bind-mounted over it, for this namespace only
# (the rest of the machine, other users of it included, sees nothing). Kept visible: the
# packages whose libraries the toolchain here loads (cmake links libcurl4, libssl3 and their
# closure; gcc libgmp10, libzstd1 ...) and the compiler's own runtime (libgomp1,
# libquadmath0), which any machine with that compiler has. Then runs COMMAND.
set -euo pipefail
debs=$1
shift
[[ ${1:-} == -- ]] && shift
if [[ $(id -u) -ne 0 ]]; then
  echo "gpu-hide-system: needs root (mount)" >&2
  exit 2
fi

# Every library that the toolchain's programs load, by real path.
tools=()
for b in cmake ctest ninja make gcc g++ cc c++ ld ld.bfd as ar ranlib nvcc bash python3 \
         dpkg-deb tar gzip sed awk grep timeout nice du stat ldd objdump readelf; do
  p=$(command -v "$b" 2>/dev/null) && tools+=("$p")
done
for prog in cc1 cc1plus collect2 lto-wrapper lto1; do
  p=$(gcc -print-prog-name="$prog" 2>/dev/null) && [[ -x $p ]] && tools+=("$p")
done
for p in /usr/local/cuda/nvvm/bin/cicc /usr/local/cuda/bin/{ptxas,fatbinary,nvlink,cudafe++,bin2c,nvprune}; do
  [[ -x $p ]] && tools+=("$p")
done
declare -A tool_lib=()
while read -r lib; do
  tool_lib[$lib]=1
done < <(for t in "${tools[@]}"; do ldd "$t" 2>/dev/null; done |
         awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | sort -u | xargs -r readlink -f)

hidden_files=0
hidden=()
kept=()
for deb in "$debs"/*.deb; do
  pkg=$(dpkg-deb -f "$deb" Package)
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || continue
  case $pkg in libgomp1 | libquadmath0) kept+=("$pkg(compiler runtime)"); continue ;; esac
  mapfile -t files < <(dpkg -L "$pkg" | grep -vE '^/usr/share/(doc|man|lintian|bug)/')
  needed=""
  regular=()
  for f in "${files[@]}"; do
    [[ -f $f && ! -L $f ]] || continue
    real=$(readlink -f "$f")
    [[ -n ${tool_lib[$real]:-} ]] && needed=$real
    regular+=("$real")
  done
  if [[ -n $needed ]]; then
    kept+=("$pkg(loaded by the toolchain: ${needed##*/})")
    continue
  fi
  for f in $(printf '%s\n' "${regular[@]}" | sort -u); do
    [[ -f $f ]] && mount --bind /dev/null "$f" && hidden_files=$((hidden_files + 1))
  done
  hidden+=("$pkg")
done
echo "gpu-hide-system: hid $hidden_files files of ${#hidden[@]} installed packages: ${hidden[*]}"
echo "gpu-hide-system: left visible: ${kept[*]:-none}"
export FANIN_GPU_HIDDEN_PACKAGES="${hidden[*]}" FANIN_GPU_HIDDEN_FILES=$hidden_files
export FANIN_GPU_VISIBLE_PACKAGES="${kept[*]:-}"
exec "$@"
