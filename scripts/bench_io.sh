#!/usr/bin/env bash
# I/O benchmark, mavuno against polars on the same file in the same run:
#   JSONL -> zstd Parquet   mavuno `jsonl_reader -> 3 passthrough -> parquet_writer`
#                           (configs/examples/bench-io.toml), polars streaming
#                           `scan_ndjson(F).sink_parquet(...)` and eager
#                           `read_ndjson(F).write_parquet(...)` (zstd level 3, 65,536-row
#                           groups, as mavuno's defaults);
#   JSONL -> JSONL          the same mavuno pipeline with a `jsonl_writer`, polars
#                           `scan_ndjson(F).sink_ndjson(...)`;
# with `zstd -dc F > /dev/null` as the floor, each at 1x and 4x input (peak RSS must stay
# flat for mavuno's streaming path). Input: a .jsonl.zst corpus made by scripts/gen_corpus.py.
#
# Usage: scripts/bench_io.sh [MB_1X]        (default 250: 1x = 250 MB, 4x = 1000 MB of JSONL)
# Env:   THREADS (run.threads, default 2), MAVUNO (binary, default target/release/mavuno; built with cargo if missing),
#        BENCH_DIR (scratch, default /tmp/mavuno-bench), DATA (default ../shared/data),
#        POLARS_VENV (scratch venv with polars, default /tmp/mavuno-polars-venv; made with pip if
#        missing; NO_POLARS=1 skips polars), ONLY_1X=1 skips the 4x input.
# Needs: zstd, GNU time (/usr/bin/time), python3.  apt-get install -y zstd time
# MB/s is uncompressed JSONL MB (10^6 bytes) per wall-clock second of the whole command
# (process start-up included: mavuno links libtorch, polars imports in Python);
# CPU-s = user + sys of the process, which shows the work done whatever else loads the machine.
set -euo pipefail

cd "$(dirname "$0")/.."
MB1=${1:-250}
MB4=$((MB1 * 4))
DIR=${BENCH_DIR:-/tmp/mavuno-bench}
DATA=${DATA:-../shared/data}
TARGET=${CARGO_TARGET_DIR:-target}
MAVUNO=${MAVUNO:-$TARGET/release/mavuno}
THREADS=${THREADS:-2}
mkdir -p "$DIR"

for tool in zstd python3; do
  command -v "$tool" >/dev/null || { echo "bench_io: $tool not found (apt-get install -y zstd time)" >&2; exit 2; }
done
[ -x /usr/bin/time ] || { echo "bench_io: /usr/bin/time not found (apt-get install -y time)" >&2; exit 2; }
if [ ! -x "$MAVUNO" ]; then
  echo "== building $MAVUNO" >&2
  cargo build --release --bin mavuno
fi

PY_POLARS=""
if [ -z "${NO_POLARS:-}" ]; then
  PV=${POLARS_VENV:-/tmp/mavuno-polars-venv}
  if ! "$PV/bin/python" -c "import polars" 2>/dev/null; then
    echo "== making $PV (polars)" >&2
    python3 -m venv "$PV" && "$PV/bin/pip" install -q polars
  fi
  PY_POLARS="$PV/bin/python"
fi

gen() { # gen MB FILE
  [ -s "$2" ] || python3 scripts/gen_corpus.py --out "$2" --mb "$1" --data "$DATA"
}

# measure LABEL OUTPUT CMD...: runs CMD under GNU time and appends one row to $DIR/rows.tsv.
measure() {
  local label=$1 out=$2
  shift 2
  rm -rf "$DIR/runs" "$out"
  /usr/bin/time -f "%M %e %U %S" -o "$DIR/time.txt" "$@" > /dev/null
  local rss wall user sys size
  read -r rss wall user sys < "$DIR/time.txt"
  size=0
  [ -e "$out" ] && size=$(du -sb "$out" | cut -f1)
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$wall" "$user" "$sys" "$rss" "$size" >> "$DIR/rows.tsv"
}

POLARS_PARQUET="compression='zstd', compression_level=3, row_group_size=65536"
bench() { # bench LABEL FILE
  local label=$1 file=$2 raw_bytes
  raw_bytes=$(zstd -dc "$file" | wc -c)
  : > "$DIR/rows.tsv"
  measure "zstd -dc > /dev/null" "" sh -c "zstd -dc '$file' > /dev/null"
  local run=(run configs/examples/bench-io.toml --quiet --workdir "$DIR/runs"
    --set "stages.raw.paths=[\"$file\"]" --set run.threads="$THREADS")
  measure "mavuno jsonl_reader -> parquet_writer" "$DIR/runs/bench-io/corpus.parquet" "$MAVUNO" "${run[@]}"
  if [ -n "$PY_POLARS" ]; then
    measure "polars scan_ndjson -> sink_parquet (streaming)" "$DIR/polars.parquet" "$PY_POLARS" -c "
import sys, polars as pl
pl.scan_ndjson(sys.argv[1]).sink_parquet(sys.argv[2], $POLARS_PARQUET)" "$file" "$DIR/polars.parquet"
    measure "polars read_ndjson -> write_parquet (eager)" "$DIR/polars-eager.parquet" "$PY_POLARS" -c "
import sys, polars as pl
pl.read_ndjson(sys.argv[1]).write_parquet(sys.argv[2], $POLARS_PARQUET)" "$file" "$DIR/polars-eager.parquet"
  fi
  measure "mavuno jsonl_reader -> jsonl_writer" "$DIR/runs/bench-io/corpus.jsonl" \
    "$MAVUNO" "${run[@]}" --set 'stages.out.type="jsonl_writer"' --set 'stages.out.path="corpus.jsonl"'
  if [ -n "$PY_POLARS" ]; then
    measure "polars scan_ndjson -> sink_ndjson (streaming)" "$DIR/polars.jsonl" "$PY_POLARS" -c "
import sys, polars as pl
pl.scan_ndjson(sys.argv[1]).sink_ndjson(sys.argv[2])" "$file" "$DIR/polars.jsonl"
  fi
  python3 - "$label" "$raw_bytes" "$(du -sb "$file" | cut -f1)" "$DIR/rows.tsv" <<'EOF'
import sys
label, raw, packed, rows = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
mb = raw / 1e6
print(f"\n{label}: {mb:.1f} MB JSONL ({packed / 1e6:.1f} MB .jsonl.zst)\n")
print("| command | wall s | MB/s | CPU-s | MB per CPU-s | peak RSS MiB | output MB |")
print("|---|---|---|---|---|---|---|")
for line in open(rows, encoding="utf-8"):
    name, wall, user, sys_, rss, size = line.rstrip("\n").split("\t")
    wall, cpu = float(wall), float(user) + float(sys_)
    out = f"{int(size) / 1e6:.1f}" if int(size) else "–"
    print(f"| {name} | {wall:.2f} | {mb / wall:.0f} | {cpu:.2f} | {mb / max(cpu, 1e-9):.0f} | {int(rss) / 1024:.0f} | {out} |")
EOF
  cp "$DIR/rows.tsv" "$DIR/rows-$label.tsv"
}

echo "== mavuno $("$MAVUNO" --version) ($THREADS threads)${PY_POLARS:+, polars $("$PY_POLARS" -c "import polars; print(polars.__version__)")}; $(nproc) cores; corpus in $DIR"
C1="$DIR/corpus-${MB1}mb.jsonl.zst"
gen "$MB1" "$C1"
bench 1x "$C1"
if [ -z "${ONLY_1X:-}" ]; then
  C4="$DIR/corpus-${MB4}mb.jsonl.zst"
  gen "$MB4" "$C4"
  bench 4x "$C4"
  python3 - "$DIR/rows-1x.tsv" "$DIR/rows-4x.tsv" <<'EOF'
import sys
rss = [{l.split("\t")[0]: int(l.split("\t")[4]) for l in open(p, encoding="utf-8")} for p in sys.argv[1:]]
print()
for name in rss[0]:
    if name in rss[1] and not name.startswith("zstd"):
        r1, r4 = rss[0][name], rss[1][name]
        flat = "flat" if r4 < 1.5 * r1 + 20 * 1024 else "grows with input"
        print(f"peak RSS 4x / 1x, {name}: {r1 / 1024:.0f} -> {r4 / 1024:.0f} MiB = {r4 / r1:.2f} ({flat})")
EOF
fi
