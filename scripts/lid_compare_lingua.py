#!/usr/bin/env python3
"""Runs lingua (PyPI `lingua-language-detector`) on the lines of a `mavuno lid eval
--predictions` file and scores both side by side, per language and macro-F1.

The predictions TSV (gold, predicted, confidence, text) is what scripts/build_lid_model.sh
writes to target/lid-eval/<set>.mavuno.tsv, so lingua sees exactly the lines mavuno saw.
lingua labels are mapped to ISO 639-3; a language lingua does not know scores 0, as for
lid.176 in docs/LID.md. `und` (lingua: no answer) counts as wrong.

Usage: python scripts/lid_compare_lingua.py target/lid-eval/noisy.mavuno.tsv [...]
       (needs `pip install lingua-language-detector`; low-accuracy mode with --fast)
"""

import sys
import time
from collections import Counter


def scores(gold, pred):
    labels = sorted(set(gold))
    tp, fp, fn = Counter(), Counter(), Counter()
    for g, p in zip(gold, pred):
        if g == p:
            tp[g] += 1
        else:
            fn[g] += 1
            fp[p] += 1
    out = {}
    for l in labels:
        p = tp[l] / (tp[l] + fp[l]) if tp[l] + fp[l] else 0.0
        r = tp[l] / (tp[l] + fn[l]) if tp[l] + fn[l] else 0.0
        out[l] = (p, r, 2 * p * r / (p + r) if p + r else 0.0, tp[l] + fn[l])
    return out, sum(v[2] for v in out.values()) / len(out)


def main():
    from lingua import LanguageDetectorBuilder

    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    b = LanguageDetectorBuilder.from_all_languages()
    if "--fast" in sys.argv:
        b = b.with_low_accuracy_mode()
    det = b.build()
    for path in args:
        rows = [l.rstrip("\n").split("\t", 3) for l in open(path, encoding="utf-8")]
        rows = [r for r in rows if len(r) == 4]
        gold = [r[0] for r in rows]
        ours = [r[1] for r in rows]
        t0 = time.time()
        theirs = []
        for r in rows:
            lang = det.detect_language_of(r[3])
            theirs.append(lang.iso_code_639_3.name.lower() if lang else "und")
        secs = time.time() - t0
        ms, mm = scores(gold, ours)
        ls, lm = scores(gold, theirs)
        print(f"== {path}: {len(rows)} lines; macro-F1 mavuno {mm:.3f}, lingua {lm:.3f} "
              f"(lingua {len(rows) / secs:,.0f} lines/s)")
        print("| lang | mavuno F1 | lingua P | lingua R | lingua F1 | support |")
        print("|---|---|---|---|---|---|")
        for l in ms:
            p, r, f, n = ls[l]
            print(f"| {l} | {ms[l][2]:.3f} | {p:.3f} | {r:.3f} | {f:.3f} | {n} |")


if __name__ == "__main__":
    main()
