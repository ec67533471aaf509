#!/usr/bin/env bash
# Adversarial training for the MLM synonym attack (docs/ATTACK.md, SEEDS.md §3.2):
#   1. attack the training split (configs/attack-advtrain.toml): successful adversarial
#      examples with their GOLD labels;
#   2. append them to the training data and retrain the victim (same architecture, seed, epochs);
#   3. attack the held-out test split with the original and the retrained victim.
# Prints both attack summaries. Usage:
#   scripts/attack_advtrain.sh DATASET ARCH MLM_DIR [POS_MODEL] [LANG]
# e.g. scripts/attack_advtrain.sh afrisenti-hau cnn runs/attack/mlm-afrisenti-hau models/tag/pos-hau.mvt hau
# Needs runs/attack-data/DATASET/{train,test}.jsonl (scripts/attack_data.py) and the victim
# runs/attack/victims/DATASET-ARCH (mavuno train-victim). MAVUNO overrides the binary.
set -euo pipefail
ds=$1 arch=$2 mlm=$3 pos=${4:-} lang=${5:-}
bin=${MAVUNO:-target/release/mavuno}
data=runs/attack-data/$ds
victim=runs/attack/victims/$ds-$arch
out=runs/attack/advtrain-$ds-$arch
mkdir -p "$out"

# No POS model / stopword language: drop the key from a copy of the config.
cfg=$out/advtrain.toml
drop=()
[ -z "$pos" ] && drop+=(-e '/^pos_model/d')
[ -z "$lang" ] && drop+=(-e '/^lang = /d')
sed "${drop[@]}" -e '' configs/attack-advtrain.toml >"$cfg"
sets=(--set "run.name=advtrain-$ds-$arch"
      --set "stages.train.paths=[\"$data/train.jsonl\"]"
      --set "stages.attack.victim=$victim" --set "stages.attack.mlm=$mlm")
if [ -n "$pos" ]; then sets+=(--set "stages.attack.pos_model=$pos"); fi
if [ -n "$lang" ]; then sets+=(--set "stages.attack.lang=$lang" --set "stages.train.lang=$lang"); fi
"$bin" run "$cfg" --workdir runs -q "${sets[@]}" >"$out/run.log" 2>&1 \
  || { cat "$out/run.log"; exit 1; }
adv=runs/advtrain-$ds-$arch/adversarial-train.jsonl
cat "$data/train.jsonl" "$adv" >"$out/train+adv.jsonl"
echo "adversarial training examples: $(wc -l <"$adv") (train: $(wc -l <"$data/train.jsonl"))"

"$bin" train-victim --arch "$arch" --train "$out/train+adv.jsonl" --dev-frac 0.1 \
  -o "$out/victim" >"$out/train.json"

common=(--mlm "$mlm" --top-k 50)
if [ -n "$pos" ]; then common+=(--pos-model "$pos"); fi
if [ -n "$lang" ]; then common+=(--lang "$lang"); fi
for v in before after; do
  dir=$victim; [ $v = after ] && dir=$out/victim
  echo "== $v adversarial training"
  "$bin" attack --victim "$dir" "$data/test.jsonl" -o "$out/test-$v.jsonl" "${common[@]}" \
    2>/dev/null | python3 -c 'import json,sys; s=json.load(sys.stdin); print(json.dumps({k: s[k] for k in ["original_accuracy","accuracy_under_attack","attack_success_rate","mean_queries","examples_per_s"]}))'
done
