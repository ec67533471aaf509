#!/usr/bin/env python3
"""datasketch MinHashLSH near-duplicate pass, the same algorithm as mavuno's `dedup_near`.

Same shingles: grapheme-cluster 5-grams (regex `\\X`, spaces included) of the raw text (mavuno
runs with `normalize = "none"`); a text shorter than 5 clusters is one shingle. Same LSH:
16 bands × 7 rows (num_perm 112), threshold 0.8 on the MinHash estimate. Same decision
rule: documents in input order; a document is a near duplicate of the earliest kept
candidate whose estimated Jaccard is ≥ 0.8, otherwise it is kept and indexed.

Usage: bench_dedup_datasketch.py INPUT.txt PAIRS_OUT.jsonl [--bands 16 --rows 7 --threshold 0.8 --n 5]
Prints one JSON line: {"seconds", "docs", "pairs"}. Pairs use 1-based line numbers.
"""

import argparse
import json
import time

import regex
from datasketch import MinHash, MinHashLSH


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("input")
    ap.add_argument("pairs_out")
    ap.add_argument("--bands", type=int, default=16)
    ap.add_argument("--rows", type=int, default=7)
    ap.add_argument("--threshold", type=float, default=0.8)
    ap.add_argument("--n", type=int, default=5)
    a = ap.parse_args()
    num_perm = a.bands * a.rows
    with open(a.input, encoding="utf-8") as f:
        docs = [l.rstrip("\n") for l in f]
    t0 = time.perf_counter()
    lsh = MinHashLSH(threshold=a.threshold, num_perm=num_perm, params=(a.bands, a.rows))
    kept = {}
    pairs = []
    gc = regex.compile(r"\X")
    for i, text in enumerate(docs, 1):
        if not text.strip():
            continue
        g = gc.findall(text)
        if len(g) <= a.n:
            sh = {"".join(g)}
        else:
            sh = {"".join(g[j:j + a.n]) for j in range(len(g) - a.n + 1)}
        m = MinHash(num_perm=num_perm, seed=13)
        m.update_batch([s.encode("utf-8") for s in sh])
        dup_of = None
        for c in sorted(lsh.query(m)):
            if kept[c].jaccard(m) >= a.threshold:
                dup_of = c
                break
        if dup_of is None:
            lsh.insert(i, m)
            kept[i] = m
        else:
            pairs.append((i, dup_of))
    dt = time.perf_counter() - t0
    with open(a.pairs_out, "w") as f:
        for i, j in pairs:
            f.write(json.dumps({"id": i, "dup_of": j}) + "\n")
    print(json.dumps({"seconds": dt, "docs": len(docs), "pairs": len(pairs)}))


if __name__ == "__main__":
    main()
