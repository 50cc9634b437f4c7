#!/usr/bin/env bash
# One command, fresh Debian 12: install the packages, build, and start DepictQA on the
# bundled default model. Without a display it starts a virtual one (Xvfb) and the
# window is drawn there; pass --cli to ask one question in the terminal instead.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"
bin="${DEPICTQA_BUILD_DIR:-$root/build}/bin"
fixtures="$root/../shared/fixtures/hf-reference"

# The bundled model (models/default) once it is trained; until then the LLaVA test
# fixture (random weights: the answers are real model output, but gibberish).
model_args=()
if [[ ! -f "$root/models/default/config.json" && -z "${DEPICTQA_MODEL:-}" ]]; then
  echo "run: no bundled model yet; using the LLaVA test fixture (random weights)" >&2
  model_args=(--model "$fixtures/llava-tiny" --tokenizer "$fixtures/sentencepiece/tiny.model" --context-length 2048)
fi

if [[ "${1:-}" == "--cli" || ! -x "$bin/depictqa-gui" ]]; then
  shift || true
  exec "$bin/depictqa" "${model_args[@]}" "$@"
fi

if [[ -z "${DISPLAY:-}" ]]; then
  export DISPLAY=:77
  Xvfb "$DISPLAY" -screen 0 1600x1000x24 >/dev/null 2>&1 &
  sleep 1
  echo "run: no display; the window is on the virtual display $DISPLAY" >&2
fi
exec "$bin/depictqa-gui" "${model_args[@]}" "$@"
