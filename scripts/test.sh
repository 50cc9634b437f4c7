#!/usr/bin/env bash
# One command, fresh Debian 12: install the packages, build, run every test suite.
#   sudo ./scripts/test.sh            (CTest labels: unit, model, gui)
#   ./scripts/test.sh -L unit         (extra arguments go to ctest)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"
build="${DEPICTQA_BUILD_DIR:-$root/build}"
cd "$build"
export QT_QPA_PLATFORM=offscreen
ctest --output-on-failure --timeout 900 "$@"
