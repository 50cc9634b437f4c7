#!/usr/bin/env bash
# Recipe of the bundled default model (models/default): reproduces it from nothing but
# Debian packages, with the project's own tools. Deterministic for a given seed on the
# same libtorch build; takes about 1 h 30 min on 2 cores.
#
#   models/train-default.sh [WORK_DIR]        (default ~/.cache/depictqa/train-default)
#
# Steps: fetch photos (apt-get download), generate shards (depictqa-datagen), train a
# SentencePiece tokenizer on the corpus (spm_train), pre-train the vision encoder on the
# human scores (stage 1), train the whole model on the three tasks (stage 2), sharpen the
# A/B verdict (stage 3), evaluate,
# copy the result to models/default.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${DEPICTQA_BUILD_DIR:-$root/build}/bin"
work="${1:-$HOME/.cache/depictqa/train-default}"
mkdir -p "$work"
cd "$work"

# Model shape (both stages must agree).
shape=(--image-size 98 --vision-width 192 --vision-layers 4 --vision-heads 3 --vision-mlp 768
       --width 192 --layers 3 --heads 4 --kv-heads 4 --mlp 512 --context 1024 --seed 1
       --input-features image,difference,abs_difference,highpass_magnitude)
# One thread: with two, libtorch's OpenMP barriers stall whenever anything else runs on
# the second core (measured: 1 sample/s instead of 16 with a compiler running beside).
THREADS=${THREADS:-1}

"$root/scripts/fetch_photos.sh" "$work/photos"
[[ -f shards/manifest.json ]] || "$bin/depictqa-datagen" --photos "$work/photos" -o shards \
    -n 48000 --val 1500 --val-types 1500 -j "$(nproc)" --patch-sizes 64,96 --seed 1
[[ -f tok.model ]] || {
  "$bin/depictqa-train" --train shards/train --write-corpus corpus.txt
  spm_train --input=corpus.txt --model_prefix=tok --vocab_size=2048 --model_type=bpe \
    --byte_fallback=true --character_coverage=1.0 --unk_id=0 --bos_id=1 --eos_id=2 --pad_id=-1 \
    --normalization_rule_name=identity --remove_extra_whitespaces=false --split_digits=true \
    --input_sentence_size=2000000 --shuffle_input_sentence=true --minloglevel=2
}
# Stage 1: encoder + score head on human scores (regression + pairwise ranking).
"$bin/depictqa-train" --mode encoder --train shards/train --val shards/val --tokenizer tok.model \
  --out stage1 --steps 600 --batch 64 --lr 1e-3 --warmup 40 --eval-every 100 \
  --eval-examples 512 --save-every 100 --threads 2 "${shape[@]}"
# Stage 2: everything, next-token loss on the answers (+ the score loss, weight 0.5).
"$bin/depictqa-train" --mode full --init stage1/model --train shards/train --val shards/val_types \
  --tokenizer tok.model --out stage2 --steps 3000 --batch 16 --lr 1e-3 --warmup 60 \
  --eval-every 250 --eval-examples 256 --save-every 100 --threads "$THREADS" "${shape[@]}"
# Stage 3: everything again, shorter, with an extra cross-entropy on the verdict letter of
# short comparison answers: after stage 2 the letter barely depends on the images (P(A)
# stays near 0.5), because one token per comparison is a few percent of the loss.
"$bin/depictqa-train" --mode full --init stage2/model --train shards/train --val shards/val \
  --tokenizer tok.model --out stage3 --steps 1000 --batch 16 --lr 5e-4 --warmup 30 --verdict-weight 2 \
  --eval-every 200 --eval-examples 256 --save-every 100 --threads 2 "${shape[@]}"
rm -rf "$root/models/default"
cp -r stage3/model "$root/models/default"
"$bin/depictqa-eval" --model "$root/models/default" --shards shards/val --out eval-val --label "validation: unseen photos"
"$bin/depictqa-eval" --model "$root/models/default" --shards shards/val_types --out eval-types --label "unseen distortion types"
