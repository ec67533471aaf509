#!/usr/bin/env bash
# Measures what `mavuno reduce` costs per million documents (docs/SCALING.md): builds a
# corpus of DOCS documents from the shared Masakhane raw text (each document joins the
# first half of one line with the second half of another, so documents are distinct;
# 1 % exact copies and 1 % one-word edits are injected), runs the map phases of a
# 4-shard run with global dedup_exact and dedup_near, and times each reduce with
# /usr/bin/time -v (wall seconds, peak RSS). The reduce of dedup_near is run split in
# each K of RANGES band-range tasks (then its cluster step), one task after another.
#
#   bash scripts/scale_reduce.sh            DOCS=1000000 RANGES="1 4 8" by default
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
MAVUNO=${MAVUNO:-$REPO/target/release/mavuno}
DOCS=${DOCS:-1000000}
SHARDS=${SHARDS:-4}
RANGES=${RANGES:-1 4 8}
. "$REPO/scripts/scale_corpus.sh"
run_shards() {
  for i in $(seq 0 $((SHARDS - 1))); do
    "$MAVUNO" run "$WORK/scale.toml" --workdir "$WORK/runs" --shard "$i/$SHARDS" --quiet
  done
}
reduce() {
  local tag
  tag=$(echo "$*" | tr -c 'a-z0-9\n' '_')
  /usr/bin/time -v "$MAVUNO" reduce "$WORK/scale.toml" --workdir "$WORK/runs" --stage "$@" \
    > "$WORK/reduce-$tag.json" 2> "$WORK/reduce-$tag.time"
  echo "reduce $*: $(grep -E 'Elapsed|Maximum resident' "$WORK/reduce-$tag.time" | tr -s ' ' | paste -sd';')"
  cat "$WORK/reduce-$tag.json"
}
run_shards
reduce exact
run_shards
for K in $RANGES; do
  if [ "$K" = 1 ]; then
    reduce near
  else
    for k in $(seq 0 $((K - 1))); do reduce near --band-range "$k/$K"; done
    reduce near --cluster
  fi
done
echo "work dir: $WORK"
