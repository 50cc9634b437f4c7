#!/usr/bin/env bash
# Builds the libFuzzer targets in fuzz/ (a standalone clang project, not part of the
# default build) and runs each for a while. CI runs the short default; a long campaign:
#   scripts/fuzz.sh 600            # 10 minutes per target
#   scripts/fuzz.sh 60 fuzz_config # one target
# Environment: FUZZ_BUILD_DIR (default build-fuzz), FUZZ_JOBS (libFuzzer -jobs/-workers,
# default 1), FUZZ_NICE (default 10), FUZZ_TIMEOUT (seconds, default 10), CXX (default
# clang++-14).
# Exit status: non-zero when a target found a crash (its reproducer is in the build dir's
# artifacts/<target>/) or did not build. Corpora grow in <build>/corpus/<target>.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${FUZZ_BUILD_DIR:-$ROOT/build-fuzz}"
SECONDS_EACH="${1:-20}"
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=(fuzz_safetensors_header fuzz_pickle fuzz_config fuzz_image_decode fuzz_prompt)
# fuzz_torch_archive (needs libtorch, ~2 min to build) runs only when named.
CXX_BIN="${CXX:-clang++-14}"
NICE="${FUZZ_NICE:-10}"
TIMEOUT="${FUZZ_TIMEOUT:-10}"

if ! command -v "$CXX_BIN" >/dev/null; then
  echo "fuzz.sh: $CXX_BIN not found; install clang-14 and libclang-rt-14-dev" >&2
  exit 2
fi

cmake -S "$ROOT/fuzz" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER="$CXX_BIN" >/dev/null
nice -n "$NICE" ninja -C "$BUILD" -j "${FUZZ_BUILD_JOBS:-2}" "${TARGETS[@]}"

status=0
summary=""
for t in "${TARGETS[@]}"; do
  corpus="$BUILD/corpus/$t"
  artifacts="$BUILD/artifacts/$t"
  mkdir -p "$corpus" "$artifacts"
  cp -n "$ROOT/fuzz/seeds/$t/"* "$corpus/" 2>/dev/null || true
  max_len=65536
  asan_extra=""
  if [ "$t" = fuzz_torch_archive ]; then
    # The converter's own fixtures: torch.save files, a Hugging Face pytorch_model.bin and
    # a TorchScript archive (OpenAI CLIP's layout, 780 KB).
    for f in "$ROOT"/tests/data/convert/*.pt "$ROOT"/tests/data/convert/vicuna-tiny/pytorch_model.bin; do
      cp -n "$f" "$corpus/fixture-$(basename "$(dirname "$f")")-$(basename "$f")"
    done
    max_len=1048576
    # libtorch has no frame pointers: unwind fully so that fuzz/lsan.supp can name the
    # leak inside its zip reader.
    asan_extra=":fast_unwind_on_malloc=0"
  fi
  log="$BUILD/$t.log"
  echo "== $t: ${SECONDS_EACH}s"
  set +e
  # -rss_limit_mb: the image target decodes up to 4 MP; anything above 2 GB is a finding.
  # -timeout: one input taking >10 s is a hang. It is wall-clock time: at nice 10 on cores
  # busy with builds, an input needing 0.2 s of CPU has taken 15 s (raise FUZZ_TIMEOUT there).
  ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1$asan_extra}" \
  LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$ROOT/fuzz/lsan.supp}" \
  UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}" \
  nice -n "$NICE" "$BUILD/$t" "$corpus" -max_total_time="$SECONDS_EACH" -timeout="$TIMEOUT" \
    -rss_limit_mb=2048 -max_len="$max_len" -print_final_stats=1 \
    -artifact_prefix="$artifacts/" >"$log" 2>&1
  rc=$?
  set -e
  execs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}' | tail -1)
  rate=$(grep -E '^stat::average_exec_per_sec' "$log" | awk '{print $2}' | tail -1)
  crashes=$(ls "$artifacts" | wc -l)
  line="$t: ${execs:-?} executions (${rate:-?}/s), corpus $(ls "$corpus" | wc -l) files, artifacts $crashes, exit $rc"
  echo "$line"
  summary+="$line"$'\n'
  if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ]; then
    status=1
    tail -40 "$log"
  fi
done
echo
echo "== fuzz summary"
printf '%s' "$summary"
exit $status
