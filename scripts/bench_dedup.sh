#!/usr/bin/env bash
# Near-duplicate removal: mavuno `dedup_near` vs datasketch MinHashLSH, same shingles and LSH.
#
# Input: N documents (default 30000; datasketch runs ~400 docs/s) built from ../shared/data/masakhane_raw_text/*.txt:
# the original lines, then documents made of the first half of one line and the second
# half of another (new, mostly unique texts), and 15 % near duplicates of an earlier
# document (one word replaced, or one word appended) whose source is recorded.
# Both tools: grapheme 5-grams of the raw text (mavuno normalize = "none"), 16 bands ×
# 7 rows (112 permutations), threshold 0.8 on the MinHash estimate, keep-first in input
# order (scripts/bench_dedup_datasketch.py). Reported: docs/s (wall time of the whole
# mavuno command; datasketch: shingling + MinHash + LSH loop, file reading excluded),
# F1 between the two tools' duplicate pairs (datasketch as reference) and between the
# sets of removed documents, recall of the injected near duplicates, and mavuno's peak RSS
# at N and 4N documents (their difference / 3N = marginal bytes per indexed document).
#
# Usage: scripts/bench_dedup.sh [N]     env: MAVUNO_BIN, DT_PY (python with datasketch + regex), DATA
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-30000}
BIN=${MAVUNO_BIN:-${CARGO_TARGET_DIR:-target}/release/mavuno}
DATA=${DATA:-../shared/data}
DT_PY=${DT_PY:-/tmp/dt-venv/bin/python}
TMP=$(mktemp -d /tmp/mavuno-bench-dedup.XXXXXX)
echo "work dir: $TMP" >&2

# shellcheck source=scripts/lib/poll_anon.sh
source scripts/lib/poll_anon.sh  # the cwd is the repository root (cd above)

gen() { # gen N OUT.txt TRUTH.jsonl
  python3 - "$DATA/masakhane_raw_text" "$1" "$2" "$3" <<'PY'
import json, os, random, sys
src, n, out, truth = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
rng = random.Random(13)
pool = []
for l in ["amh", "hau", "pcm", "swa", "wol", "yor"]:
    with open(os.path.join(src, f"{l}.txt"), encoding="utf-8") as f:
        pool += [x.strip() for x in f if len(x.split()) >= 8]
pool = list(dict.fromkeys(pool))
rng.shuffle(pool)
docs, inj = [], []
for k in range(n):
    if docs and rng.random() < 0.15:
        j = rng.randrange(len(docs))
        w = docs[j].split()
        if rng.random() < 0.5:
            w[rng.randrange(len(w))] = rng.choice(rng.choice(pool).split())
        else:
            w.append(rng.choice(rng.choice(pool).split()))
        docs.append(" ".join(w)); inj.append((k + 1, j + 1))
    elif k < len(pool):
        docs.append(pool[k])
    else:
        a, b = rng.choice(pool).split(), rng.choice(pool).split()
        docs.append(" ".join(a[: len(a) // 2] + b[len(b) // 2 :]))
with open(out, "w", encoding="utf-8") as f:
    f.write("\n".join(docs) + "\n")
with open(truth, "w") as f:
    for i, j in inj:
        f.write(json.dumps({"id": i, "src": j}) + "\n")
PY
}

config() { # config INPUT OUTDIR THREADS > file
  cat <<TOML
[run]
name = "bench-near"
seed = 13
threads = $3
[stages.raw]
type = "text_reader"
paths = ["$1"]
[stages.near]
type = "dedup_near"
inputs = ["raw"]
normalize = "none"
shingle = "char"
n = 5
bands = 16
rows = 7
threshold = 0.8
[stages.out]
type = "text_writer"
inputs = ["near"]
path = "$2/kept.txt"
TOML
}

run_mavuno() { # run_mavuno TAG INPUT THREADS → prints "wall rss_kb"
  local tag=$1 input=$2 th=$3
  config "$input" "$TMP/m-$tag" "$th" > "$TMP/near-$tag.toml"
  rm -rf "$TMP/runs-$tag"
  /usr/bin/time -v -o "$TMP/time-$tag.txt" "$BIN" run -q "$TMP/near-$tag.toml" --workdir "$TMP/runs-$tag" &
  poll_anon $! "$TMP/anon-$tag.txt"
  wait
  local busy
  busy=$(python3 -c "import json; m=json.load(open('$TMP/runs-$tag/bench-near/manifest.json')); print([s['busy_seconds'] for s in m['stages'] if s['id']=='near'][0])")
  awk -F': ' -v a="$(cat "$TMP/anon-$tag.txt")" -v b="$busy" '/Elapsed \(wall clock\)/ {n=split($2,x,":"); s=0; for(i=1;i<=n;i++) s=s*60+x[i]; w=s} /Maximum resident set size/ {r=$2} END {print w, r, a, b}' "$TMP/time-$tag.txt"
}

gen "$N" "$TMP/in.txt" "$TMP/truth.jsonl"
read -r W1 R1 A1 B1 < <(run_mavuno t1 "$TMP/in.txt" 1)
read -r W2 R2 A2 B2 < <(run_mavuno t2 "$TMP/in.txt" 2)
"$DT_PY" scripts/bench_dedup_datasketch.py "$TMP/in.txt" "$TMP/ds-pairs.jsonl" > "$TMP/ds.json"

python3 - "$TMP" "$N" "$W1" "$W2" "$R1" "$A1" "$B1" <<'PY'
import json, sys
tmp, n, w1, w2, r1 = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
a1, b1 = float(sys.argv[6]), float(sys.argv[7])
def line(id_):  # mavuno ids are "<file>:<line>"
    return int(str(id_).rsplit(":", 1)[1]) if isinstance(id_, str) else int(id_)
m = set()
with open(f"{tmp}/runs-t1/bench-near/dedup_near_clusters.jsonl") as f:
    for l in f:
        r = json.loads(l); m.add((line(r["id"]), line(r["dup_of"])))
d = set()
with open(f"{tmp}/ds-pairs.jsonl") as f:
    for l in f:
        r = json.loads(l); d.add((r["id"], r["dup_of"]))
ds = json.load(open(f"{tmp}/ds.json"))
def f1(a, b):
    tp = len(a & b); p = tp / len(a) if a else 1.0; r = tp / len(b) if b else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)
truth = [json.loads(l) for l in open(f"{tmp}/truth.jsonl")]
removed_m, removed_d = {i for i, _ in m}, {i for i, _ in d}
rec = lambda s: sum(t["id"] in s for t in truth) / max(1, len(truth))
pp, pr, pf = f1(m, d); dp, dr, df = f1(removed_m, removed_d)
print(f"| tool | threads | docs | seconds | docs/s | near dups found | recall of injected near dups |")
print(f"|---|---|---|---|---|---|---|")
print(f"| mavuno dedup_near | 1 | {n} | {w1:.2f} | {n / w1:,.0f} | {len(m)} | {rec(removed_m):.3f} |")
print(f"| mavuno dedup_near | 2 | {n} | {w2:.2f} | {n / w2:,.0f} | (same) | |")
print(f"| datasketch 2.0.0 MinHashLSH | 1 | {n} | {ds['seconds']:.2f} | {n / ds['seconds']:,.0f} | {len(d)} | {rec(removed_d):.3f} |")
print()
print(f"speed-up (1 thread vs datasketch): {ds['seconds'] / w1:.1f}x")
print(f"pair-level agreement (datasketch = reference): precision {pp:.3f}, recall {pr:.3f}, F1 {pf:.3f}")
print(f"removed-document agreement: precision {dp:.3f}, recall {dr:.3f}, F1 {df:.3f}")
print(f"injected near duplicates: {len(truth)}")
print(f"mavuno dedup_near stage busy time (1 thread): {b1:.2f} s = {n / b1:,.0f} docs/s (start-up, reading, writing excluded; datasketch's time also excludes reading)")
print(f"mavuno peak RSS at N (1 thread): {r1 / 1024:.0f} MB; peak anonymous memory {a1 / 1024:.1f} MB")
PY

if [[ "${SKIP_4X:-0}" != 1 ]]; then
  gen $((N * 4)) "$TMP/in4.txt" "$TMP/truth4.jsonl"
  read -r W4 R4 A4 B4 < <(run_mavuno t4 "$TMP/in4.txt" 1)
  python3 -c "
n=$N; a1=$A1*1024; a4=$A4*1024
print(f'mavuno at 4N ({4*n} docs, 1 thread): {$W4:.2f} s wall = {4*n/$W4:,.0f} docs/s; stage busy {$B4:.2f} s = {4*n/$B4:,.0f} docs/s; peak RSS {$R4/1024:.0f} MB, peak anonymous {a4/2**20:.1f} MB; marginal (anon(4N)-anon(N))/3N = {(a4-a1)/(3*n):.0f} bytes/doc')"
fi
