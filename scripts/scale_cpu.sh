#!/usr/bin/env bash
# Total CPU time of a sharded run against the single run of the same config
# (docs/SCALING.md, "CPU time"). Builds the corpus of scripts/scale_corpus.sh (DOCS
# documents; dedup_exact then dedup_near), runs it once unsharded, then as the job chain
# `mavuno slurm --shards SHARDS --band-ranges RANGES` writes (shard arrays, the exact
# reduce split in RANGES key ranges, the near reduce split in RANGES band ranges and its
# cluster step), each task of each script one after another with its SLURM_ARRAY_TASK_ID,
# as sbatch would run them. Every command runs under /usr/bin/time; CPU = user + sys.
# Both runs use one worker thread (`run.threads=1`, what `--cpus-per-task 1` gives each
# task), so the comparison counts work, not idle spinning. Finally checks that the shards'
# outputs, sorted, equal the single run's output, sorted. With CURRICULUM=1 a global
# `order_curriculum` (unigram_ppl) follows dedup_near: the chain then ends with its reduce,
# the last shard step and the merge job, and the merged output must equal the single run's
# byte for byte.
#
#   MAVUNO=target/release/mavuno DOCS=100000 SHARDS=4 RANGES=4 bash scripts/scale_cpu.sh
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
MAVUNO=$(realpath "${MAVUNO:-$REPO/target/release/mavuno}")
DOCS=${DOCS:-100000}
SHARDS=${SHARDS:-4}
RANGES=${RANGES:-4}
if [ "${CURRICULUM:-0}" = 1 ]; then
  OUT_INPUT=curriculum
  EXTRA_STAGES='[stages.curriculum]
type = "order_curriculum"
inputs = ["near"]
scorer = "unigram_ppl"
path = "curriculum.json"'
fi
. "$REPO/scripts/scale_corpus.sh"
TIMES="$WORK/times.tsv"
: > "$TIMES"
# timed STEP CMD…: runs CMD under /usr/bin/time, appends "STEP user sys maxrss_kb".
timed() {
  local step=$1
  shift
  /usr/bin/time -f "$step %U %S %M" -a -o "$TIMES" "$@" > /dev/null 2>> "$WORK/stderr.log"
}
timed single "$MAVUNO" run "$WORK/scale.toml" --workdir "$WORK/single" --quiet --set run.threads=1
"$MAVUNO" slurm "$WORK/scale.toml" --workdir "$WORK/sharded" --shards "$SHARDS" \
  --band-ranges "$RANGES" --dry-run > /dev/null
for s in "$WORK"/sharded/scale/slurm/*.sbatch; do
  n=$(sed -n 's/^#SBATCH --array=0-\([0-9]*\)$/\1/p' "$s")
  for t in $(seq 0 "${n:-0}"); do
    SLURM_ARRAY_TASK_ID=$t timed "$(basename "$s" .sbatch)" bash "$s"
  done
done
awk '{ cpu[$1] += $2 + $3; tasks[$1]++; if ($4 > rss[$1]) rss[$1] = $4; }
     END {
       printf "%-24s %6s %10s %12s\n", "step", "tasks", "CPU s", "max RSS MiB"
       for (s in cpu) printf "%-24s %6d %10.2f %12.1f\n", s, tasks[s], cpu[s], rss[s] / 1024 | "sort"
       close("sort")
       for (s in cpu) if (s != "single") total += cpu[s]
       printf "sharded total %.2f CPU s, single %.2f CPU s: %.3fx\n", total, cpu["single"], total / cpu["single"]
     }' "$TIMES"
if [ "${CURRICULUM:-0}" = 1 ]; then
  if cmp "$WORK/single/scale/out.jsonl" "$WORK/sharded/scale/out.jsonl" &&
    cmp "$WORK/single/scale/curriculum.json" "$WORK/sharded/scale/curriculum.json"; then
    echo "outputs equal: the merged out.jsonl and curriculum.json are the single run's bytes"
  else
    echo "OUTPUTS DIFFER" >&2
    exit 1
  fi
else
  single_md5=$(sort "$WORK/single/scale/out.jsonl" | md5sum)
  sharded_md5=$(cat "$WORK"/sharded/scale/shard-*-of-"$SHARDS"/out.jsonl | sort | md5sum)
  if [ "$single_md5" = "$sharded_md5" ]; then
    echo "outputs equal (sorted union of the shards = sorted single run): $single_md5"
  else
    echo "OUTPUTS DIFFER: single $single_md5, shards $sharded_md5" >&2
    exit 1
  fi
fi
echo "work dir: $WORK"
