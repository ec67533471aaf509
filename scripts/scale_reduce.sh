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
WORK=${WORK:-$(mktemp -d /tmp/mavuno-scale.XXXXXX)}
mkdir -p "$WORK/in"
python3 - "$REPO/../shared/data/masakhane_raw_text" "$WORK/in" "$DOCS" <<'PY'
import sys, pathlib, random
data, out, docs = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), int(sys.argv[3])
lines = []
for p in sorted(data.glob("*.txt")):
    lines += [l.split() for l in p.read_text().splitlines() if len(l.split()) >= 8]
rng = random.Random(7)
files, written = 16, 0
fs = [open(out / f"part-{f:02}.txt", "w") for f in range(files)]
recent = []
for i in range(docs):
    r = rng.random()
    if r < 0.01 and recent:
        t = rng.choice(recent).upper()
    elif r < 0.02 and recent:
        w = rng.choice(recent).split(); w[len(w) // 2] = "kalmaa"; t = " ".join(w)
    else:
        a, b = rng.choice(lines), rng.choice(lines)
        t = " ".join(a[: len(a) // 2] + b[len(b) // 2:])
        recent.append(t); recent = recent[-1000:]
    fs[i % files].write(t + "\n")
PY
cat > "$WORK/scale.toml" <<EOF
[run]
name = "scale"

[stages.raw]
type = "text_reader"
paths = ["$WORK/in/*.txt"]

[stages.exact]
type = "dedup_exact"
inputs = ["raw"]

[stages.near]
type = "dedup_near"
inputs = ["exact"]

[stages.out]
type = "jsonl_writer"
inputs = ["near"]
path = "out.jsonl"
EOF
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
