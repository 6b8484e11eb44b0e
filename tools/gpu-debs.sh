#!/usr/bin/env bash
# Fetches, as Debian 12 .deb files, every build and run dependency of fanin that the GPU
# machine's image (CUDA toolkit, driver, PyTorch, CMake, ninja; no network there) may lack,
# into gpu-debs/ (git-ignored: .gitignore's /gpu-debs/), then proves the set is complete by
# running the device check's dry run here, which unpacks them into build-gpu/deps, configures
# and LINKS against them alone (the same packages installed here hidden from the build in a
# private mount namespace) and checks the binaries with ldd:
#
#   tools/gpu-debs.sh                 # here, where apt reaches Debian; then, on the device:
#   run(command="tools/gpu-check.sh", carry=["gpu-debs"], timeout_s=540)   (see gpu-check.sh)
#
#   FANIN_GPU_DEBS_VERIFY=0 tools/gpu-debs.sh   # download only, no dry run
#
# The set: the -dev packages the build reads (headers, CMake configs, link-time .so links)
# listed by hand, and the runtime libraries with their whole dependency closure computed by
# apt, less the C and C++ runtime (libc6, libstdc++6, libgcc-s1, gcc-12-base) which any
# machine with a compiler has. CMake is not carried: the image has it (KINDS.md, seen
# 2026-11-04), and Debian's cmake would bring libicu72 (10 MB) and more; ninja is (120 kB),
# as a fallback. tools/gpu-check.sh puts on the loader path only the carried libraries whose
# soname the machine lacks, so the device's own libssl/zlib/... stay in use where present.
set -euo pipefail
cd "$(dirname "$0")/.."

dev_packages=(
  libdnnl-dev ocl-icd-opencl-dev opencl-c-headers opencl-clhpp-headers  # oneDNN (its CMake
                                                  # config asks for OpenCL: find_package(OpenCL))
  libgtest-dev libgmock-dev                       # the test binaries
  libbenchmark-dev                                # FANIN_BUILD_BENCH needs find_package(benchmark)
  libhdf5-dev hdf5-helpers libaec-dev             # HDF5 (h5cc: FindHDF5's flags)
  libcurl4-openssl-dev libssl-dev zlib1g-dev      # HDF5's link line: -lcrypto -lcurl -lsz -lz
  nlohmann-json3-dev libcli11-dev                 # checkpoints; every program's command line
  libtomlplusplus-dev                             # fanin_experiment's spec files
  libopenblas-dev libopenblas-pthread-dev         # fanin_compare's OpenBLAS baseline
  ninja-build                                     # used only when the machine has no ninja
)
runtime_roots=(
  libdnnl2 ocl-icd-libopencl1 libbenchmark1debian libhdf5-103-1 libhdf5-hl-100 libsz2 libaec0
  libcurl4 libssl3 zlib1g libopenblas0-pthread libgfortran5 libquadmath0 libgomp1
  libtomlplusplus3                                # Debian's toml++ is compiled, not header-only
)
# Not carried: the C and C++ runtime, and OpenBLAS's other two builds (apt lists every
# alternative of a dependency; the pthread one is the one libopenblas-pthread-dev links).
base='^(libc6|libstdc\+\+6|libgcc-s1|gcc-12-base|debconf.*|libcrypt1|libopenblas0(-openmp|-serial)?)$'

sudo_cmd=()
[[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
echo "gpu-debs: apt-get update" >&2
"${sudo_cmd[@]}" apt-get update -qq

mapfile -t runtime < <(apt-cache depends --recurse --no-recommends --no-suggests \
  --no-conflicts --no-breaks --no-replaces --no-enhances "${runtime_roots[@]}" |
  grep -E '^[a-z0-9]' | grep -vE "$base" | sort -u)
packages=("${dev_packages[@]}" "${runtime[@]}")

if ! grep -qx '/gpu-debs/' .gitignore; then
  echo "gpu-debs: WARNING: .gitignore lacks /gpu-debs/; add it before committing" >&2
fi
rm -rf gpu-debs
mkdir -p gpu-debs
# apt's sandbox user cannot write into a root-owned checkout; the packages come from the
# signed indexes either way.
(cd gpu-debs && apt-get download -q -o APT::Sandbox::User=root "${packages[@]}" >/dev/null)
printf '%s\n' "${packages[@]}" >gpu-debs/PACKAGES.txt
echo "gpu-debs: $(ls gpu-debs/*.deb | wc -l) packages, $(du -sh gpu-debs | cut -f1) in gpu-debs/" >&2
total=$(du -sb gpu-debs | cut -f1)
if ((total > 48 * 1024 * 1024)); then
  echo "gpu-debs: WARNING: $total bytes; a device run carries at most 64 MiB with the tree" >&2
fi

if [[ ${FANIN_GPU_DEBS_VERIFY:-1} == 1 ]]; then
  echo "gpu-debs: verifying with FANIN_GPU_CHECK_DRY_RUN=1 tools/gpu-check.sh" >&2
  FANIN_GPU_CHECK_DRY_RUN=1 FANIN_GPU_DEBS=gpu-debs tools/gpu-check.sh
fi
