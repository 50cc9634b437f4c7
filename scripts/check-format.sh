#!/usr/bin/env bash
# Fails when a C++ file of the repository differs from what .clang-format makes of it
# (CTest: format_check). Fix with:
#   git ls-files '*.cpp' '*.h' | xargs clang-format-14 -i
set -euo pipefail
cd "$(dirname "$0")/.."
CLANG_FORMAT="${CLANG_FORMAT:-clang-format-14}"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files '*.cpp' '*.h')
else
  mapfile -t files < <(find app core ui tests fuzz -name '*.cpp' -o -name '*.h')
fi
if ! out=$("$CLANG_FORMAT" --dry-run -Werror "${files[@]}" 2>&1); then
  echo "$out" | grep -E "error:" | cut -d: -f1 | sort -u | sed 's/^/not formatted: /'
  echo "check-format.sh: run  git ls-files '*.cpp' '*.h' | xargs $CLANG_FORMAT -i" >&2
  exit 1
fi
echo "check-format.sh: ${#files[@]} files follow .clang-format"
