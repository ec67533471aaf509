#!/usr/bin/env bash
# `make demo`: the whole chain on Yoruba news text from ../shared/data.
#   1. configs/demo.toml: read → normalize → split → langid → filter → domain → exact and
#      near dedup → POS and NER tags → tokenizer → LEM mask plans → curriculum → stats → write
#   2. mavuno pretrain: a tiny masked LM on the curated corpus with LEM masking
#   3. mavuno eval: MLM loss and pseudo-perplexity on FLORES Yoruba sentences it never saw
# Rerunning resumes: complete pipeline stages and training checkpoints are reused.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d ../shared/data ]; then
  echo "error: ../shared/data not found (the demo reads its corpus from there)" >&2
  exit 2
fi
BIN=target/release/mavuno
RUN=runs/demo
"$BIN" run configs/demo.toml --workdir runs "$@"
echo
echo "== Pre-training a tiny masked LM with LEM masking on the curated corpus"
"$BIN" pretrain "$RUN/corpus.jsonl.zst" -o "$RUN/model" --tokenizer "$RUN/tokenizer.json" \
  --masking lem --size tiny --steps "${DEMO_STEPS:-150}" --batch-size 16 --max-len 64 --seed 13
echo
echo "== Evaluating on held-out FLORES Yoruba sentences"
FLORES=$(ls ../shared/data/flores101_yor_devtest/* | grep -E 'yor|yo' | grep -v -i readme | head -n 1)
head -n 100 "$FLORES" > "$RUN/heldout.txt"
"$BIN" eval --model "$RUN/model" --task mlm --data "$RUN/heldout.txt" | tee "$RUN/eval_mlm.json"
echo
echo "Results in $RUN/: corpus.parquet, corpus.jsonl.zst, tokenizer.json, curriculum.json,"
echo "stats/report.html, report.html, manifest.json, rejects.jsonl, model/ (HF layout,"
echo "metrics.jsonl), eval_mlm.json"
