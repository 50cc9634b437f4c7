#!/usr/bin/env bash
# Fetches real photographs shipped in Debian packages (the only source reachable here:
# see shared/ENVIRONMENT.md) into a cache directory, for depictqa-datagen --photos.
#
#   scripts/fetch_photos.sh [CACHE_DIR]        (default ~/.cache/depictqa/photos)
#
# apt-get download + dpkg -x (no installation, no root needed), then the image files of
# each package are copied to CACHE_DIR/<package>/..., its copyright file to
# CACHE_DIR/licenses/<package>.copyright, and one line per image goes into
# CACHE_DIR/MANIFEST.tsv: path, package, version, sha256, licence(s) named in the
# package's copyright file. Idempotent: a package whose version is already there is
# skipped. Nothing is written into the repository.
set -euo pipefail

CACHE="${1:-${HOME}/.cache/depictqa/photos}"
mkdir -p "$CACHE/licenses"
CACHE="$(cd "$CACHE" && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# package | find -path patterns (relative to the unpacked root) | mode
#   mode "all": every image; "largest": the largest image per directory (wallpapers
#   that ship one picture in many resolutions)
PACKAGES=(
  "lomiri-wallpapers-16.04|*/usr/share/*|all"
  "lomiri-wallpapers-20.04|*/usr/share/*|all"
  "mate-backgrounds|*/backgrounds/mate/nature/*|all"
  "plasma-workspace-wallpapers|*/usr/share/wallpapers/*/contents/images/*|largest"
  "scratch|*/Media/Backgrounds/*|all"
  "gnome-control-center-data|*/pixmaps/faces/*|all"
  "kphotoalbum|*/kphotoalbum/demo/*|all"
  "opencv-doc|*/examples/data/*|all"
  "python3-skimage|*/skimage/data/*|all"
  "libdlib-dev|*/examples/faces/*|all"
)

licences_of() {  # copyright file -> "A; B" (distinct License: names, DEP-5 or not)
  local f="$1"
  [ -f "$f" ] || { echo "unknown (no copyright file)"; return; }
  local l
  l=$(grep -E '^License:' "$f" | sed -E 's/^License:[[:space:]]*//' | awk 'NF' | sort -u | paste -sd ';' - | sed 's/;/; /g')
  if [ -z "$l" ]; then
    l="see licenses/$(basename "$f")"
  fi
  echo "$l"
}

manifest_tmp="$WORK/manifest.tsv"
[ -f "$CACHE/MANIFEST.tsv" ] && grep -v '^#' "$CACHE/MANIFEST.tsv" > "$manifest_tmp" || : > "$manifest_tmp"

total_new=0
for entry in "${PACKAGES[@]}"; do
  IFS='|' read -r pkg pattern mode <<<"$entry"
  version=$(apt-cache policy "$pkg" 2>/dev/null | awk '/Candidate:/ {print $2}')
  if [ -z "$version" ] || [ "$version" = "(none)" ]; then
    echo "skip $pkg: not known to apt (run apt-get update?)" >&2
    continue
  fi
  marker="$CACHE/$pkg/.version"
  if [ -f "$marker" ] && [ "$(cat "$marker")" = "$version" ]; then
    echo "have $pkg $version"
    continue
  fi
  echo "fetch $pkg $version"
  ( cd "$WORK" && apt-get download -q "$pkg" >/dev/null 2>&1 ) || { echo "  download failed: $pkg" >&2; continue; }
  deb=$(ls "$WORK"/"${pkg}"_*.deb 2>/dev/null | head -n1)
  [ -n "$deb" ] || { echo "  no .deb for $pkg" >&2; continue; }
  root="$WORK/root-$pkg"
  mkdir -p "$root"
  dpkg -x "$deb" "$root"
  cp "$root/usr/share/doc/$pkg/copyright" "$CACHE/licenses/$pkg.copyright" 2>/dev/null || true
  lic=$(licences_of "$CACHE/licenses/$pkg.copyright")
  rm -rf "$CACHE/$pkg"
  mkdir -p "$CACHE/$pkg"
  grep -v -P "^\Q$pkg/\E" "$manifest_tmp" > "$manifest_tmp.new" || true
  mv "$manifest_tmp.new" "$manifest_tmp"
  list="$WORK/list-$pkg"
  find "$root" -type f -path "$pattern" \( -iname '*.jpg' -o -iname '*.jpeg' -o -iname '*.png' \) | sort > "$list"
  if [ "$mode" = "largest" ]; then
    while read -r d; do
      grep -F "$d/" "$list" | while read -r f; do [ "$(dirname "$f")" = "$d" ] && echo "$(stat -c %s "$f") $f"; done \
        | sort -n | tail -n1 | cut -d' ' -f2-
    done < <(xargs -r -d '\n' dirname < "$list" | sort -u) > "$list.sel"
    mv "$list.sel" "$list"
  fi
  n=0
  while read -r f; do
    [ -n "$f" ] || continue
    rel="${f#"$root"/}"
    dest="$CACHE/$pkg/${rel//\//__}"
    cp "$f" "$dest"
    sum=$(sha256sum "$dest" | cut -d' ' -f1)
    printf '%s\t%s\t%s\t%s\t%s\n' "$pkg/$(basename "$dest")" "$pkg" "$version" "$sum" "$lic" >> "$manifest_tmp"
    n=$((n + 1))
  done < "$list"
  echo "$version" > "$marker"
  echo "  $n images ($lic)"
  total_new=$((total_new + n))
  rm -rf "$root" "$deb"
done

{
  printf '# path\tpackage\tversion\tsha256\tlicence (from the package copyright file; full text in licenses/)\n'
  sort -u "$manifest_tmp"
} > "$CACHE/MANIFEST.tsv"
echo "$(grep -vc '^#' "$CACHE/MANIFEST.tsv") images in $CACHE (MANIFEST.tsv); $total_new new"
