#!/bin/bash
# Renders docs/screenshots/*.png from the real window under Xvfb (xcb platform, not
# offscreen). Inputs: OpenCV's sample photo fruits.jpg (Debian package opencv-doc,
# examples/data), distorted with ImageMagick; the tiny LLaVA fixture (random weights,
# so the text is gibberish) with its context raised to 2048 positions, because
# DepictQA's system prompt alone exceeds the fixture's 256 under its 512-piece tokenizer.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$ROOT/build-gui}
F=$ROOT/../shared/fixtures/hf-reference
W=${WORK:-/tmp/depictqa-screenshots}
S=$ROOT/docs/screenshots
mkdir -p "$W/model"
if [ ! -f "$W/fruits.jpg" ]; then
  (cd "$W" && apt-get download opencv-doc >/dev/null && dpkg -x opencv-doc_*.deb doc &&
   cp doc/usr/share/doc/opencv-doc/examples/data/fruits.jpg .)
fi
[ -f "$W/fruits_noise.png" ] || /usr/bin/convert "$W/fruits.jpg" -attenuate 0.5 +noise Gaussian "$W/fruits_noise.png"
[ -f "$W/fruits_blur.jpg" ] || /usr/bin/convert "$W/fruits.jpg" -blur 0x2.5 -quality 15 "$W/fruits_blur.jpg"
ln -sf "$F/llava-tiny/model.safetensors" "$W/model/model.safetensors"
sed 's/"max_position_embeddings": 256/"max_position_embeddings": 2048/' "$F/llava-tiny/config.json" > "$W/model/config.json"
if [ -z "${DISPLAY:-}" ]; then
  Xvfb :99 -screen 0 1600x1000x24 >/dev/null 2>&1 & XVFB=$!
  trap 'kill $XVFB' EXIT
  export DISPLAY=:99
  sleep 1
fi
G="$BUILD/bin/depictqa-gui --settings $W/settings.ini --model $W/model --tokenizer $F/sentencepiece/tiny.model --size 1400x900 --max-tokens 80"
I=$W
$G --reference $I/fruits.jpg --a $I/fruits_noise.png --b $I/fruits_blur.jpg --task comparison --region whole --ask --attention 3 --screenshot $S/comparison-attention.png
$G --reference $I/fruits.jpg --a $I/fruits_blur.jpg --task description --ask --attention whole --screenshot $S/description.png
$G --reference $I/fruits.jpg --a $I/fruits_noise.png --b $I/fruits_blur.jpg --task reasoning --preference "I can't tolerate noise." --region 0.3,0.25,0.4,0.4 --ask --attention 0 --screenshot $S/reasoning.png
$G --a $I/fruits_noise.png --b $I/fruits_blur.jpg --task comparison --short --region whole --ask --screenshot $S/comparison-short-no-reference.png
$G --reference $I/fruits.jpg --a $I/fruits_noise.png --b $I/fruits_blur.jpg --difference --screenshot $S/difference-view.png
