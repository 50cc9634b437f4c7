#!/usr/bin/env bash
# Starts N data-parallel ranks of depictqa-train on this machine, the way torchrun does:
# each with RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR and MASTER_PORT
# set. Ctrl-C / SIGTERM go to every rank. Exits 0 when every rank did, else with the
# status of the first rank that failed (docs/distributed.md).
#
#   scripts/train-distributed.sh 2 -- --photos photos --data-manifest val/manifest.json \
#       --tokenizer tok.model --out runs/dp --batch 8
#   scripts/train-distributed.sh 2 --port 29600 -- <depictqa-train arguments>
#
# The program: $DEPICTQA_TRAIN, else build/bin/depictqa-train of this checkout, else PATH.
set -uo pipefail

usage() {
  echo "usage: $0 N [--port PORT] [--addr ADDRESS] -- <depictqa-train arguments>" >&2
  exit 2
}
[[ $# -ge 1 && $1 =~ ^[1-9][0-9]*$ ]] || usage
ranks=$1
shift
port=${MASTER_PORT:-29500}
addr=${MASTER_ADDR:-127.0.0.1}
while [[ $# -gt 0 && $1 != "--" ]]; do
  case $1 in
    --port) port=${2:?--port needs a number}; shift 2 ;;
    --addr) addr=${2:?--addr needs an address}; shift 2 ;;
    *) usage ;;
  esac
done
[[ ${1:-} == "--" ]] || usage
shift

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
program=${DEPICTQA_TRAIN:-}
if [[ -z $program ]]; then
  if [[ -x $here/build/bin/depictqa-train ]]; then program=$here/build/bin/depictqa-train
  else program=$(command -v depictqa-train) || { echo "$0: depictqa-train not found (set DEPICTQA_TRAIN)" >&2; exit 2; }
  fi
fi

pids=()
forward() {
  for pid in "${pids[@]}"; do kill -"$1" "$pid" 2>/dev/null; done
}
trap 'forward INT' INT
trap 'forward TERM' TERM
trap 'forward HUP' HUP

for ((r = 0; r < ranks; ++r)); do
  RANK=$r WORLD_SIZE=$ranks LOCAL_RANK=$r LOCAL_WORLD_SIZE=$ranks MASTER_ADDR=$addr MASTER_PORT=$port \
    "$program" "$@" &
  pids+=($!)
done

# Wait for every rank (a signal interrupts `wait`: wait again until each has ended).
status=0
for ((r = 0; r < ranks; ++r)); do
  while :; do
    wait "${pids[r]}"
    s=$?
    kill -0 "${pids[r]}" 2>/dev/null || break
  done
  if [[ $s -ne 0 ]]; then
    echo "$0: rank $r exited with status $s" >&2
    [[ $status -eq 0 ]] && status=$s
  fi
done
exit "$status"
