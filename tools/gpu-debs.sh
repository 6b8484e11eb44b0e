#!/usr/bin/env bash
# Fetches the Debian packages that fanin's GPU check needs and that the GPU machines' image
# (CUDA, PyTorch, CMake; no network there) does not have, into gpu-debs/ (ignored by git),
# for a device run to carry:
#
#   tools/gpu-debs.sh                          # here, where apt reaches Debian
#   run(carry=["gpu-debs"], command="FANIN_GPU_DEBS=gpu-debs tools/gpu-check.sh")
#
# tools/gpu-check.sh unpacks them with dpkg -x into build-gpu/deps (never into /) and points
# CMake and the loader there. About 25 MB: within the 64 MiB a device run may carry.
set -euo pipefail
cd "$(dirname "$0")/.."
packages=(
  libdnnl2 libdnnl-dev ocl-icd-libopencl1 ocl-icd-opencl-dev opencl-c-headers
  opencl-clhpp-headers                                       # oneDNN and the headers it wants
  libgtest-dev libgmock-dev libbenchmark1debian libbenchmark-dev  # tests, benchmarks
  libhdf5-103-1 libhdf5-hl-100 libhdf5-dev hdf5-helpers libsz2 libaec0 libaec-dev  # HDF5
  nlohmann-json3-dev                                         # checkpoints
  libopenblas0 libopenblas0-pthread libopenblas-pthread-dev libopenblas-dev libgfortran5
)                                                            # the benchmarks' baseline
mkdir -p gpu-debs
grep -qx '/gpu-debs/' .gitignore || echo '/gpu-debs/' >>.gitignore
# apt's sandbox user cannot write into a root-owned checkout; the download is plain HTTP
# of signed-index packages either way.
(cd gpu-debs && apt-get download -o APT::Sandbox::User=root "${packages[@]}")
du -sh gpu-debs
