#!/usr/bin/env python3
"""Prepares the labelled splits used by docs/ATTACK.md from ../shared/data (nothing is committed).

Usage: python3 scripts/attack_data.py DATA_DIR OUT_DIR

Writes OUT_DIR/<name>/{train,test}.jsonl ({"text", "label"} per line, 80/20 split, seed 42) and
OUT_DIR/<name>/mlm.txt (one text per line: the train split plus raw monolingual text where the
shared data has some: masakhane_raw_text/hau.txt, FLoRes v1 Sinhala dev) for:

- afrisenti-hau: AfriSenti Hausa dev tweets (negative/neutral/positive).
- masakhanews-hau: MasakhaNEWS Hausa dev+test, text = headline + " " + text (7 topics).
- sinhala-hate: Sinhala tweets racism/sexism (Neutral/Racist/Sexism).
- tamil-codemix: DravidianCodeMix Tamil-English comments, Positive/Negative only (the other
  classes are noisy or not about sentiment: "unknown state", "not-Tamil").

The test split is never in mlm.txt, so the candidate MLM has not seen the attacked texts.
"""

import csv
import json
import os
import random
import sys


def split_write(rows, out, raw_lines=()):
    random.Random(42).shuffle(rows)
    n_test = len(rows) // 5
    test, train = rows[:n_test], rows[n_test:]
    os.makedirs(out, exist_ok=True)
    for name, part in (("train", train), ("test", test)):
        with open(os.path.join(out, f"{name}.jsonl"), "w", encoding="utf-8") as f:
            for text, label in part:
                f.write(json.dumps({"text": text, "label": label}, ensure_ascii=False) + "\n")
    with open(os.path.join(out, "mlm.txt"), "w", encoding="utf-8") as f:
        for text, _ in train:
            f.write(text.replace("\n", " ") + "\n")
        for line in raw_lines:
            if line.strip():
                f.write(line.strip() + "\n")
    print(f"{out}: train {len(train)}, test {len(test)}")


def main():
    data, out = sys.argv[1], sys.argv[2]
    p = lambda *a: os.path.join(data, *a)

    rows = []
    with open(p("afrisenti", "hau", "dev.tsv"), encoding="utf-8") as f:
        next(f)
        for line in f:
            t, lab = line.rstrip("\n").split("\t")
            rows.append((t, lab.strip()))
    raw = open(p("masakhane_raw_text", "hau.txt"), encoding="utf-8").read().splitlines()
    split_write(rows, os.path.join(out, "afrisenti-hau"), raw)

    rows = []
    for split in ("dev.tsv", "test.tsv"):
        with open(p("masakhanews", "hau", split), encoding="utf-8") as f:
            r = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
            for x in r:
                rows.append((x["headline"].strip() + " " + x["text"].strip(), x["category"]))
    split_write(rows, os.path.join(out, "masakhanews-hau"), raw)

    rows = []
    with open(p("sinhala_hate_speech", "sinhala_tweets_racism_sexism.csv"), encoding="utf-8") as f:
        r = csv.reader(f)
        next(r)
        for x in r:
            rows.append((x[1].strip('"').strip(), x[2]))
    raw = open(p("flores_v1_si_en", "wikipedia.dev.si-en.si"), encoding="utf-8").read().splitlines()
    split_write(rows, os.path.join(out, "sinhala-hate"), raw)

    rows = []
    with open(p("dravidiancodemix_tamil", "tamil_sentiment_full_dev.csv"), encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split(";")
            if len(parts) < 3:
                continue
            text, lab = ";".join(parts[:-2]), parts[-2]
            if lab in ("Positive", "Negative"):
                rows.append((text.strip(), lab))
    split_write(rows, os.path.join(out, "tamil-codemix"))


if __name__ == "__main__":
    main()
