#!/usr/bin/env bash
# Trains the ready-made taggers (the `make models` recipe) and prints an eval table.
#
#   POS: MasakhaPOS yor hau swa ibo pcm wol; UD Tamil TTB; UD Sinhala STB and UD Tamil
#        MWTT (test-only treebanks: seeded 70/10/20 split with `mavuno tag split`).
#   NER: MasakhaNER 2.0 yor hau swa ibo pcm wol; MasakhaNER 1.0 Amharic.
#   POS + NER zul xho lug (MasakhaPOS / MasakhaNER 2.0 train and dev only; their test
#        splits are kept aside by the data owner): a seeded tenth of the train split picks
#        the epoch, and the official dev split is the score (it never steers training).
#
# Env: DATA (default ../shared/data), OUT (models/tag), WORK (split files; default
# $CARGO_TARGET_DIR/tag-data, never inside the repo), SEED (42), EPOCHS (12),
# MAVUNO (path of a built binary; default: cargo build --release),
# ONLY ("zul xho lug": retrain just these languages, keeping the other rows of the table).
# Output: $OUT/<task>-<lang>.mvt, $OUT/eval/<task>-<lang>.json, $OUT/eval/table.tsv.
set -euo pipefail

DATA=${DATA:-$(dirname "$0")/../../shared/data}
OUT=${OUT:-models/tag}
TARGET=${CARGO_TARGET_DIR:-target}
WORK=${WORK:-$TARGET/tag-data}
SEED=${SEED:-42}
EPOCHS=${EPOCHS:-12}
if [[ -z "${MAVUNO:-}" ]]; then
  cargo build --release --quiet --bins
  MAVUNO=$TARGET/release/mavuno
fi
ONLY=${ONLY:-}
mkdir -p "$OUT/eval" "$WORK"
TABLE=$OUT/eval/table.tsv
if [[ -n $ONLY && -f $TABLE ]]; then
  # Keep the rows of the languages not retrained now.
  awk -F'\t' -v only=" $ONLY " 'NR==1 || index(only, " " $2 " ") == 0' "$TABLE" > "$TABLE.tmp"
  mv "$TABLE.tmp" "$TABLE"
else
  printf 'task\tlang\tmetric\tscore\ttrain_tokens\tepochs\ttrain_s\tmodel_bytes\ttok_per_s_1core\n' > "$TABLE"
fi
wanted() { [[ -z $ONLY || " $ONLY " == *" $1 "* ]]; }

# run TASK LANG FORMAT TRAIN DEV TEST
run() {
  local task=$1 lang=$2 fmt=$3 train=$4 dev=$5 test=$6
  wanted "$lang" || return 0
  local model=$OUT/$task-$lang.mvt
  echo "== $task $lang" >&2
  local info
  info=$("$MAVUNO" tag train --task "$task" --format "$fmt" --train "$train" --dev "$dev" \
           -o "$model" --epochs "$EPOCHS" --seed "$SEED" 2>/dev/null)
  "$MAVUNO" tag eval --model "$model" --test "$test" --format "$fmt" > "$OUT/eval/$task-$lang.json"
  local metric score speed
  if [[ $task == pos ]]; then metric=accuracy; else metric=f1; fi
  score=$(jq -r ".$metric" "$OUT/eval/$task-$lang.json")
  speed=$("$MAVUNO" tag bench --model "$model" --test "$test" --format "$fmt" --repeat 3 | jq -r .tokens_per_second_one_core)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%.1f\t%s\t%s\n' "$task" "$lang" "$metric" "$score" \
    "$(jq -r .train.tokens <<<"$info")" "$(jq -r .train.best_epoch <<<"$info")/$(jq -r .train.epochs_run <<<"$info")" \
    "$(jq -r .train_seconds <<<"$info")" "$(jq -r .bytes <<<"$info")" "$speed" >> "$TABLE"
}

for l in yor hau swa ibo pcm wol; do
  d=$DATA/masakhapos/$l
  run pos "$l" conll "$d/train.txt" "$d/dev.txt" "$d/test.txt"
done
u=$DATA/ud
run pos tam conllu "$u/UD_Tamil-TTB/ta_ttb-ud-train.conllu" "$u/UD_Tamil-TTB/ta_ttb-ud-dev.conllu" "$u/UD_Tamil-TTB/ta_ttb-ud-test.conllu"
for tb in UD_Sinhala-STB/si_stb UD_Tamil-MWTT/ta_mwtt; do
  name=$(basename "$tb")
  "$MAVUNO" tag split --input "$u/$tb-ud-test.conllu" -o "$WORK/$name" --seed "$SEED" --dev-frac 0.1 --test-frac 0.2 2>/dev/null
  run pos "$name" conllu "$WORK/$name/train.conllu" "$WORK/$name/dev.conllu" "$WORK/$name/test.conllu"
done

for l in yor hau swa ibo pcm wol; do
  d=$DATA/masakhaner2/$l
  run ner "$l" conll "$d/train.txt" "$d/dev.txt" "$d/test.txt"
done
d=$DATA/masakhaner1_amh/amh
run ner amh conll "$d/train.txt" "$d/dev.txt" "$d/test.txt"

# zul xho lug: no test split here. Train on nine tenths of train (seeded), pick the epoch
# on the other tenth, score on the official dev split.
for l in zul xho lug; do
  wanted "$l" || continue
  for task in pos ner; do
    if [[ $task == pos ]]; then d=$DATA/masakhapos/$l; else d=$DATA/masakhaner2/$l; fi
    w=$WORK/$task-$l
    mkdir -p "$w"
    # MasakhaNER xho train has two token lines whose token is a lone space (` O`): the
    # reader rightly rejects them, so they are dropped here (and counted).
    awk 'NF == 1 && /^[[:space:]]/ {bad++; next} {print} END {if (bad) print FILENAME ": dropped " bad " token lines without a token" > "/dev/stderr"}' \
      "$d/train.txt" > "$w/all.txt"
    "$MAVUNO" tag split --input "$w/all.txt" -o "$w" --seed "$SEED" --dev-frac 0.1 --test-frac 0 2>/dev/null
    run "$task" "$l" conll "$w/train.txt" "$w/dev.txt" "$d/dev.txt"
  done
done

column -t -s $'\t' "$TABLE"
for t in pos ner; do
  awk -F'\t' -v t=$t '$1==t && $2 ~ /^(yor|hau|swa|ibo|pcm|wol)$/ {s+=$4; n++} END {if (n) printf "%s mean over MasakhaPOS/NER 2.0 languages: %.4f (n=%d)\n", t, s/n, n}' "$TABLE"
done
