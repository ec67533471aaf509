#!/usr/bin/env bash
# I/O benchmark: mavuno reading .jsonl.zst -> 3 passthrough -> zstd Parquet, against
# `zstd -dc FILE > /dev/null` and polars' streaming `scan_ndjson(FILE).sink_parquet(...)`
# (zstd level 3, 65,536-row groups, as mavuno's defaults) on the same file in the same run,
# plus peak RSS at 1x and 4x input.
#
# Usage: scripts/bench_io.sh [MB_1X]        (default 250: 1x = 250 MB, 4x = 1000 MB of JSONL)
# Env:   THREADS (run.threads, default 2), MAVUNO (binary, default target/release/mavuno; built with cargo if missing),
#        BENCH_DIR (scratch, default /tmp/mavuno-bench), DATA (default ../shared/data),
#        POLARS_VENV (scratch venv with polars, default /tmp/mavuno-polars-venv; made with pip if
#        missing; NO_POLARS=1 skips polars).
# Needs: zstd, GNU time (/usr/bin/time), python3.  apt-get install -y zstd time
# Throughput is uncompressed JSONL MB (10^6 bytes) per wall-clock second.
set -euo pipefail

cd "$(dirname "$0")/.."
MB1=${1:-250}
MB4=$((MB1 * 4))
DIR=${BENCH_DIR:-/tmp/mavuno-bench}
DATA=${DATA:-../shared/data}
TARGET=${CARGO_TARGET_DIR:-target}
MAVUNO=${MAVUNO:-$TARGET/release/mavuno}
mkdir -p "$DIR"

for tool in zstd python3; do
  command -v "$tool" >/dev/null || { echo "bench_io: $tool not found (apt-get install -y zstd time)" >&2; exit 2; }
done
[ -x /usr/bin/time ] || { echo "bench_io: /usr/bin/time not found (apt-get install -y time)" >&2; exit 2; }
if [ ! -x "$MAVUNO" ]; then
  echo "== building $MAVUNO" >&2
  cargo build --release --bins
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
mbps() { python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):.1f}')" "$@"; }

C1="$DIR/corpus-${MB1}mb.jsonl.zst"
C4="$DIR/corpus-${MB4}mb.jsonl.zst"
gen "$MB1" "$C1"
gen "$MB4" "$C4"

bench() { # bench LABEL FILE
  local label=$1 file=$2 raw_bytes mb t0 t1 zs ms rss
  raw_bytes=$(zstd -dc "$file" | wc -c)
  mb=$(python3 -c "print($raw_bytes / 1e6)")
  /usr/bin/time -f "%e %U %S" -o "$DIR/ztime.txt" sh -c "zstd -dc '$file' > /dev/null"
  read -r zs zu zsy < "$DIR/ztime.txt"
  rm -rf "$DIR/runs"
  /usr/bin/time -f "%M %e %U %S" -o "$DIR/time.txt" \
    "$MAVUNO" run configs/examples/bench-io.toml --quiet --workdir "$DIR/runs" \
      --set "stages.raw.paths=[\"$file\"]" --set run.threads="${THREADS:-2}"
  read -r rss ms mu msy < "$DIR/time.txt"
  local out="$DIR/runs/bench-io/corpus.parquet"
  printf '%-4s input %8.1f MB JSONL (%s compressed) | zstd -dc: %6.2f s %7s MB/s | mavuno: %6.2f s %7s MB/s (%s of zstd) | peak RSS %s MB | parquet %s MB\n' \
    "$label" "$mb" "$(du -m "$file" | cut -f1) MB" "$zs" "$(mbps "$mb" "$zs")" "$ms" "$(mbps "$mb" "$ms")" \
    "$(python3 -c "print(f'{($mb/$ms)/($mb/$zs)*100:.0f}%')")" "$((rss / 1024))" "$(du -m "$out" | cut -f1)"
  # CPU seconds (user + sys) show the work done whatever else loads the machine.
  printf '     CPU: zstd -dc %.2f s (%s MB per CPU-s) | mavuno %.2f s (%s MB per CPU-s) | mavuno stage wall (manifest) %s s\n' \
    "$(python3 -c "print($zu + $zsy)")" "$(mbps "$mb" "$(python3 -c "print($zu + $zsy)")")" \
    "$(python3 -c "print($mu + $msy)")" "$(mbps "$mb" "$(python3 -c "print($mu + $msy)")")" \
    "$(python3 -c "import json; print(round(json.load(open('$DIR/runs/bench-io/manifest.json'))['wall_seconds'], 2))")"
  echo "$rss" > "$DIR/rss-$label.txt"
  if [ -n "$PY_POLARS" ]; then
    rm -f "$DIR/polars.parquet"
    /usr/bin/time -f "%M %e %U %S" -o "$DIR/ptime.txt" "$PY_POLARS" -c "
import sys, time, polars as pl
t = time.perf_counter()
pl.scan_ndjson(sys.argv[1]).sink_parquet(sys.argv[2], compression='zstd', compression_level=3, row_group_size=65536)
print(f'{time.perf_counter() - t:.2f}')" "$file" "$DIR/polars.parquet" > "$DIR/pcall.txt"
    read -r prss ps pu psy < "$DIR/ptime.txt"
    printf '     polars %s: %6.2f s wall (%s s inside sink_parquet, the rest is Python start-up and import) | %.2f CPU-s | peak RSS %s MB | parquet %s MB | mavuno wall / polars wall = %s\n' \
      "$("$PY_POLARS" -c "import polars; print(polars.__version__)")" "$ps" "$(cat "$DIR/pcall.txt")" \
      "$(python3 -c "print($pu + $psy)")" "$((prss / 1024))" "$(du -m "$DIR/polars.parquet" | cut -f1)" \
      "$(python3 -c "print(f'{$ms / $ps:.2f}x')")"
  fi
}

echo "== mavuno $("$MAVUNO" --version) on $(nproc) cores; corpus in $DIR"
bench 1x "$C1"
bench 4x "$C4"
r1=$(cat "$DIR/rss-1x.txt"); r4=$(cat "$DIR/rss-4x.txt")
python3 -c "
r1, r4 = $r1, $r4
print(f'peak RSS 4x / 1x = {r4 / r1:.2f} (goal: flat, < 1.5x + 20 MB: {\"ok\" if r4 < 1.5 * r1 + 20 * 1024 else \"NOT FLAT\"})')
"
