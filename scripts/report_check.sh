#!/usr/bin/env bash
# Renders the demo run's report.html in headless Chromium and fails on a console error, on a
# figure that drew nothing, or on a blank screenshot. Screenshots are left for people to look
# at: $OUT/report-top.png (funnel, stages), report-measures.png (measures and thresholds of
# filter, langid and dedup_near), report-dropped.png (dropped samples) and
# report-clusters.png (near-duplicate clusters, when the run has them).
#
#   bash scripts/report_check.sh [RUN_DIR]
#
# Without RUN_DIR it runs the pipeline of configs/demo.toml (no training) into a temporary
# work directory first. Needs Debian's `chromium` (apt-get install -y chromium) and
# ../shared/data; MAVUNO overrides the binary (default target/release/mavuno, else debug).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${MAVUNO:-target/release/mavuno}
[ -x "$BIN" ] || BIN=target/debug/mavuno
CHROME=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROME" ]; then
  echo "error: chromium not found (apt-get install -y chromium)" >&2
  exit 2
fi
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"
if [ $# -ge 1 ]; then
  RUN=$1
else
  "$BIN" run configs/demo.toml --workdir "$OUT/runs" -q
  RUN="$OUT/runs/demo"
fi
"$BIN" report "$RUN" >/dev/null
PAGE="file://$(cd "$RUN" && pwd)/report.html"
flags=(--headless --no-sandbox --disable-gpu --hide-scrollbars --enable-logging=stderr --v=0)
"$CHROME" "${flags[@]}" --screenshot="$OUT/report-top.png" --window-size=1300,2000 "$PAGE" \
  2>"$OUT/chromium.log" >/dev/null
"$CHROME" "${flags[@]}" --dump-dom "$PAGE" 2>>"$OUT/chromium.log" >"$OUT/dom.html"
# Headless screenshots ignore #fragments: each later section is shot from a copy of the
# page that starts at it (same <head> and style).
for part in measures dropped clusters; do
  python3 - "$RUN/report.html" "$part" >"$OUT/$part.html" <<'PY'
import sys
html = open(sys.argv[1], encoding="utf-8").read()
head, _, _ = html.partition("<body>")
at = html.find(f'<h2 id="{sys.argv[2]}"')
print(head + "<body>" + (html[at:] if at >= 0 else ""))
PY
  grep -q "<h2 id=\"$part\"" "$RUN/report.html" || continue
  "$CHROME" "${flags[@]}" --screenshot="$OUT/report-$part.png" --window-size=1300,2000 \
    "file://$OUT/$part.html" 2>>"$OUT/chromium.log" >/dev/null
done
python3 - "$OUT" <<'PY'
import re, sys, zlib, struct, pathlib
out = pathlib.Path(sys.argv[1])
fail = []
log = (out / "chromium.log").read_text(errors="replace")
console = [l for l in log.splitlines() if "CONSOLE" in l or "Uncaught" in l or "net::ERR" in l]
if console:
    fail.append("console errors:\n  " + "\n  ".join(console))
dom = (out / "dom.html").read_text()
figs = re.findall(r'<svg class="fig".*?</svg>', dom, re.S)
if not figs:
    fail.append("no figures in the report")
for f in figs:
    label = re.search(r'aria-label="([^"]*)"', f)
    marks = len(re.findall(r"<rect[^>]*width=\"(?!0[\". ])", f))
    if marks == 0 or "no data" in f:
        fail.append(f"empty figure: {label.group(1) if label else '?'}")
for needle in ["Funnel", "Measures and thresholds", "What was dropped", "threshold"]:
    if needle not in dom:
        fail.append(f"missing section: {needle}")
def ink(png):
    """Share of pixels that are not white in an 8-bit RGB(A) PNG."""
    b = png.read_bytes()
    w, h, depth, ctype = struct.unpack(">IIBB", b[16:26])
    data, i = b"", 8
    while i < len(b):
        n, t = struct.unpack(">I4s", b[i:i + 8])
        if t == b"IDAT":
            data += b[i + 8:i + 8 + n]
        i += 12 + n
    raw = zlib.decompress(data)
    bpp = {2: 3, 6: 4}[ctype]
    stride = w * bpp
    prev = bytearray(stride)
    dark = 0
    pos = 0
    for _ in range(h):
        f = raw[pos]; line = bytearray(raw[pos + 1:pos + 1 + stride]); pos += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            up = prev[x]; c = prev[x - bpp] if x >= bpp else 0
            if f == 1: line[x] = (line[x] + a) & 255
            elif f == 2: line[x] = (line[x] + up) & 255
            elif f == 3: line[x] = (line[x] + (a + up) // 2) & 255
            elif f == 4:
                p = a + up - c; pa, pb, pc = abs(p - a), abs(p - up), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else up if pb <= pc else c)) & 255
        dark += sum(1 for x in range(0, stride, bpp) if min(line[x:x + 3]) < 200)
        prev = line
    return dark / (w * h)
share = ink(out / "report-top.png")
if share < 0.02:
    fail.append(f"screenshot nearly blank ({share:.3%} of pixels drawn)")
print(f"{len(figs)} figures, {share:.1%} of the first screen drawn; screenshots in {out}")
if fail:
    print("FAIL:\n" + "\n".join(fail), file=sys.stderr)
    sys.exit(1)
PY
