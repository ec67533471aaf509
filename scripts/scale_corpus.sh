# The corpus and config of the scaling measurements (docs/SCALING.md), sourced by
# scripts/scale_reduce.sh and scripts/scale_cpu.sh: DOCS documents built from the shared
# Masakhane raw text (each document joins the first half of one line with the second half
# of another, so documents are distinct; 1 % exact copies in another case and 1 % one-word
# edits are injected) in 16 files under $WORK/in, and $WORK/scale.toml: text_reader →
# dedup_exact → dedup_near → jsonl_writer (the writer reads OUT_INPUT, default near;
# EXTRA_STAGES, TOML, is appended). Expects REPO and DOCS; sets WORK if unset.
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
inputs = ["${OUT_INPUT:-near}"]
path = "out.jsonl"
${EXTRA_STAGES:-}
EOF
