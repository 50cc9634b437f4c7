#!/bin/bash
# Renders docs/screenshots/*.png from the real window under Xvfb (xcb platform, not
# offscreen) with the bundled model (models/default). Inputs: OpenCV's sample photo
# fruits.jpg (Debian package opencv-doc, examples/data), distorted with ImageMagick:
# noise, blur + JPEG, and a split pair for whole-image mode (A noisy on the left half,
# B blurred on the right half).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$ROOT/build}
W=${WORK:-/tmp/depictqa-screenshots}
S=$ROOT/docs/screenshots
M=${MODEL:-$ROOT/models/default}
mkdir -p "$W"
if [ ! -f "$W/fruits.jpg" ]; then
  (cd "$W" && apt-get download opencv-doc >/dev/null && dpkg -x opencv-doc_*.deb doc &&
   cp doc/usr/share/doc/opencv-doc/examples/data/fruits.jpg .)
fi
C=/usr/bin/convert
[ -f "$W/fruits_noise.png" ] || $C "$W/fruits.jpg" -attenuate 0.5 +noise Gaussian "$W/fruits_noise.png"
[ -f "$W/fruits_blur.jpg" ] || $C "$W/fruits.jpg" -blur 0x2.5 -quality 15 "$W/fruits_blur.jpg"
[ -f "$W/split_a.png" ] || $C "$W/fruits.jpg" \( +clone -gravity west -crop 50%x100%+0+0 +repage -attenuate 0.6 +noise Gaussian \) \
  -gravity west -composite "$W/split_a.png"
[ -f "$W/split_b.png" ] || $C "$W/fruits.jpg" \( +clone -gravity east -crop 50%x100%+0+0 +repage -blur 0x2.5 \) \
  -gravity east -composite "$W/split_b.png"
if [ -z "${DISPLAY:-}" ]; then
  Xvfb :99 -screen 0 1600x1000x24 >/dev/null 2>&1 & XVFB=$!
  trap 'kill $XVFB' EXIT
  export DISPLAY=:99
  sleep 1
fi
G="$BUILD/bin/depictqa-gui --settings $W/settings.ini --model $M --size 1400x900"
I=$W
$G --reference $I/fruits.jpg --a $I/fruits_noise.png --b $I/fruits_blur.jpg --task comparison --ask --attention 0 --screenshot $S/comparison-attention.png
$G --reference $I/fruits.jpg --a $I/fruits_blur.jpg --task description --ask --attention whole --screenshot $S/description.png
$G --reference $I/fruits.jpg --a $I/fruits_noise.png --b $I/fruits_blur.jpg --task reasoning --preference "I can't tolerate noise." --ask --attention 0 --screenshot $S/reasoning.png
$G --a $I/fruits_noise.png --b $I/fruits_blur.jpg --task comparison --short --ask --screenshot $S/comparison-short-no-reference.png
$G --reference $I/fruits.jpg --a $I/fruits_noise.png --b $I/fruits_blur.jpg --difference --screenshot $S/difference-view.png
$G --reference $I/fruits.jpg --a $I/split_a.png --b $I/split_b.png --whole --screenshot $S/whole-image-map.png
$G --reference $I/fruits.jpg --a $I/split_a.png --b $I/split_b.png --whole --tile 2,3 --attention whole --screenshot $S/whole-image-tile.png
# Colour management and HEIF (issue 17): Little CMS's jpgicc (liblcms2-utils) converts the
# photo to Adobe RGB (1998) and ProPhoto RGB and embeds the profile (colord-data's
# profiles); libheif's heif-enc (libheif-examples) writes HEIC and AVIF.
for tool in jpgicc heif-enc; do
  command -v $tool >/dev/null || { echo "make-screenshots.sh: $tool missing: apt-get install liblcms2-utils colord-data libheif-examples" >&2; exit 2; }
done
P=/usr/share/color/icc/colord
[ -f "$W/fruits-adobergb.jpg" ] || jpgicc -t1 -q95 -e -o$P/AdobeRGB1998.icc "$W/fruits.jpg" "$W/fruits-adobergb.jpg" >/dev/null
[ -f "$W/fruits-prophoto.jpg" ] || jpgicc -t1 -q95 -e -o$P/ProPhotoRGB.icc "$W/fruits.jpg" "$W/fruits-prophoto.jpg" >/dev/null
[ -f "$W/fruits.png" ] || /usr/bin/python3 -c "import cv2, sys; cv2.imwrite(sys.argv[2], cv2.imread(sys.argv[1]))" "$W/fruits.jpg" "$W/fruits.png"
[ -f "$W/fruits.heic" ] || heif-enc -q 30 "$W/fruits.png" -o "$W/fruits.heic" >/dev/null
[ -f "$W/fruits.avif" ] || heif-enc -A -q 20 "$W/fruits.png" -o "$W/fruits.avif" >/dev/null
$G --size 1600x900 --reference $I/fruits.jpg --a $I/fruits-adobergb.jpg --b $I/fruits-prophoto.jpg --task comparison --ask --region whole --screenshot $S/colour-profiles.png
$G --size 1600x900 --reference $I/fruits.jpg --a $I/fruits.heic --b $I/fruits.avif --task reasoning --ask --region whole --screenshot $S/heif-avif.png
# A camera RAW beside a phone's HEIC (issue 17): the photo written as a Bayer DNG
# (linearised sRGB as the sensor's values) by depictqa-bench-images, developed by LibRaw.
[ -f "$W/fruits.dng" ] || "$BUILD/bin/depictqa-bench-images" --dng-from "$W/fruits.jpg" "$W/fruits.dng"
$G --size 1600x900 --reference $I/fruits.jpg --a $I/fruits.dng --b $I/fruits.heic --task comparison --ask --region whole --screenshot $S/raw-heic.png
