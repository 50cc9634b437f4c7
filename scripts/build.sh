#!/usr/bin/env bash
# Configures and builds DepictQA into build/ (Release with debug info, Ninja).
# Extra arguments go to CMake, e.g. scripts/build.sh -DDEPICTQA_BUILD_GUI=OFF
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${DEPICTQA_BUILD_DIR:-$root/build}"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
# Each torch translation unit takes ~1.4 GB to compile: cap parallel jobs by memory.
jobs=$(nproc)
mem_gb=$(awk '/MemAvailable/ {print int($2/1048576)}' /proc/meminfo)
(( mem_gb / 2 < jobs )) && jobs=$(( mem_gb / 2 > 0 ? mem_gb / 2 : 1 ))
cmake --build "$build" -j "$jobs"
