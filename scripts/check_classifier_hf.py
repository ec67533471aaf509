#!/usr/bin/env python3
"""Checks that a `mavuno finetune --task classify` directory is a working HF checkpoint.

Loads it with `transformers.AutoModelForSequenceClassification` and `AutoTokenizer` (offline,
fp32, eval mode, truncation at the `mavuno.max_len` the config records), scores the texts of a
`mavuno predict` output and compares class probabilities with mavuno's, label by label. Prints
one JSON line with the largest absolute difference and exits 1 when it exceeds `--tol`.

    mavuno predict --model DIR -o /tmp/pred.jsonl test.jsonl --device cpu
    HF_HUB_OFFLINE=1 .venv/bin/python scripts/check_classifier_hf.py DIR /tmp/pred.jsonl
"""
import argparse
import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import torch  # noqa: E402
from transformers import AutoModelForSequenceClassification, AutoTokenizer  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model", help="mavuno finetune --task classify output directory")
    ap.add_argument("predictions", help="mavuno predict JSONL (text, probs)")
    ap.add_argument("--tol", type=float, default=1e-4)
    args = ap.parse_args()
    with open(args.predictions, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    model = AutoModelForSequenceClassification.from_pretrained(args.model).eval()
    tok = AutoTokenizer.from_pretrained(args.model)
    max_len = (getattr(model.config, "mavuno", None) or {}).get("max_len", 512)
    enc = tok(
        [r["text"] for r in rows],
        padding=True,
        truncation=True,
        max_length=max_len,
        return_tensors="pt",
    )
    with torch.no_grad():
        probs = torch.softmax(model(**enc).logits, dim=-1)
    id2label = model.config.id2label
    worst = 0.0
    for row, p in zip(rows, probs.tolist()):
        for i, value in enumerate(p):
            worst = max(worst, abs(value - row["probs"][id2label[i]]))
    print(json.dumps({"texts": len(rows), "max_abs_prob_diff": worst, "tol": args.tol}))
    return 0 if worst <= args.tol else 1


if __name__ == "__main__":
    sys.exit(main())
