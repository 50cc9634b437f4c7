#!/usr/bin/env bash
# Installs the Debian 12 packages DepictQA needs to build, test and run. Idempotent.
# Run as root (or with sudo). See ../shared/ENVIRONMENT.md for why each one is here:
# libopenblas0-openmp replaces the reference BLAS (30x faster matmul), xvfb/xauth let
# the GUI run without a display; libgloo-dev holds the gloo headers that libtorch's
# ProcessGroupGloo.hpp includes (data-parallel training, docs/distributed.md); Little
# CMS, libheif and LibRaw read colour profiles, HEIC/AVIF and camera RAW (core/image;
# libavif only writes the 10-bit AVIF test fixture);
# clang-format-14 checks that the C++ follows .clang-format (CTest format_check).
set -euo pipefail
packages=(
  build-essential cmake ninja-build pkg-config
  libtorch-dev libopenblas0-openmp libgloo-dev
  qt6-base-dev qt6-base-dev-tools
  libsentencepiece-dev sentencepiece
  libopencv-dev libopencv-contrib-dev opencv-data
  liblcms2-dev libheif-dev libraw-dev zlib1g-dev libxcb1-dev libavif-dev
  nlohmann-json3-dev libcli11-dev
  xvfb xauth
  desktop-file-utils appstream
  clang-format-14 git
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
