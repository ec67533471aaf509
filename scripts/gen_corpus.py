#!/usr/bin/env python3
"""Generate a synthetic multilingual JSONL corpus, zstd-compressed, for the I/O benchmark.

Each record is {"id", "text", "lang", "source", "n"}: the text joins 1-4 lines drawn
(seeded) from the shared raw-text files plus a counter, so records are distinct and
look like real multilingual text (Latin with diacritics, Ge'ez, ...). Nothing from the
data is written into the repository: the corpus goes where --out says.

Usage: scripts/gen_corpus.py --out /tmp/corpus.jsonl.zst --mb 1024 [--data ../shared/data]
Compression: python `zstandard` if installed, else the `zstd` CLI (level 3).
"""

import argparse
import json
import os
import random
import shutil
import subprocess
import sys

LANGS = {
    "masakhane_raw_text/hau.txt": "hau",
    "masakhane_raw_text/swa.txt": "swa",
    "masakhane_raw_text/yor.txt": "yor",
    "masakhane_raw_text/amh.txt": "amh",
    "masakhane_raw_text/pcm.txt": "pcm",
    "masakhane_raw_text/wol.txt": "wol",
}


def load(data):
    pools = []
    for rel, lang in LANGS.items():
        p = os.path.join(data, rel)
        if not os.path.exists(p):
            continue
        with open(p, encoding="utf-8", errors="replace") as f:
            lines = [line.strip() for line in f if line.strip()]
        if lines:
            pools.append((lang, lines))
    if not pools:
        sys.exit(f"gen_corpus: no text found under {data}")
    return pools


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="output .jsonl.zst path")
    ap.add_argument("--mb", type=float, default=1024, help="uncompressed JSONL size in MB (10^6 bytes)")
    ap.add_argument("--data", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data"))
    ap.add_argument("--seed", type=int, default=13)
    a = ap.parse_args()

    rng = random.Random(a.seed)
    pools = load(a.data)
    target = int(a.mb * 1_000_000)

    try:
        import zstandard  # type: ignore

        raw = open(a.out, "wb")
        out = zstandard.ZstdCompressor(level=3, threads=-1).stream_writer(raw)
        proc = None
    except ImportError:
        if not shutil.which("zstd"):
            sys.exit("gen_corpus: need python zstandard or the zstd CLI (apt-get install zstd)")
        proc = subprocess.Popen(["zstd", "-q", "-3", "-T0", "-f", "-o", a.out], stdin=subprocess.PIPE)
        out = proc.stdin

    written = 0
    n = 0
    buf = []
    while written < target:
        lang, lines = pools[rng.randrange(len(pools))]
        k = rng.randint(1, 4)
        start = rng.randrange(len(lines))
        text = " ".join(lines[(start + i) % len(lines)] for i in range(k)) + f" ({n})"
        rec = {"id": f"gen-{n:09d}", "text": text, "lang": lang, "source": f"gen:{n}", "n": n}
        line = (json.dumps(rec, ensure_ascii=False) + "\n").encode("utf-8")
        buf.append(line)
        written += len(line)
        n += 1
        if len(buf) >= 4096:
            out.write(b"".join(buf))
            buf.clear()
    out.write(b"".join(buf))
    out.close()
    if proc is not None:
        if proc.wait() != 0:
            sys.exit("gen_corpus: zstd failed")
    else:
        raw.close()
    print(f"{a.out}: {n} records, {written / 1e6:.1f} MB uncompressed, {os.path.getsize(a.out) / 1e6:.1f} MB compressed")


if __name__ == "__main__":
    main()
