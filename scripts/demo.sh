#!/usr/bin/env bash
# `make demo`: runs configs/demo.toml on data from ../shared/data and says where the
# results are. Rerunning it resumes: complete stages are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d ../shared/data ]; then
  echo "error: ../shared/data not found (the demo reads its corpus from there)" >&2
  exit 2
fi
BIN=target/release/mavuno
"$BIN" run configs/demo.toml --workdir runs "$@"
echo
echo "Results in runs/demo/: corpus.parquet, corpus.jsonl.zst, tokenizer.json, curriculum.json,"
echo "stats/report.html, report.html, manifest.json, rejects.jsonl"
