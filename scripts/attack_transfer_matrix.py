#!/usr/bin/env python3
"""Transfer matrix of an attack sweep: each arm's successful adversarial examples replayed on
every other victim of the same search, with `mavuno attack transfer` (docs/EXPERIMENTS.md,
"Synonym attack: first-flip vs min-prob").

Usage: python3 scripts/attack_transfer_matrix.py SWEEP_DIR OUT_PREFIX [--mavuno BIN]

SWEEP_DIR is a `mavuno sweep` directory whose arms set `stages.attack.victim` (and, through a
named arm or an axis, `stages.attack.search`); its `results.jsonl` names the runs. For every
succeeded run A and every other victim B of the same search, the script runs

    mavuno attack transfer --adversarial SWEEP_DIR/<run A>/adversarial.jsonl --victim B ...

and writes OUT_PREFIX.jsonl (one line per (search, A, B): the command and its report, as
`mavuno attack transfer` printed it) and OUT_PREFIX.md (the table). Nothing is computed here
but the layout: every number is a field of a report.
"""

import argparse
import json
import os
import subprocess
import sys


def short(victim):
    """`runs/attack/victims/afrisenti-hau-cnn` -> `afrisenti-hau-cnn`."""
    return os.path.basename(victim.rstrip("/"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sweep_dir")
    ap.add_argument("out_prefix")
    ap.add_argument("--mavuno", default="target/release/mavuno")
    a = ap.parse_args()

    runs = []
    with open(os.path.join(a.sweep_dir, "results.jsonl"), encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            if r["status"] != "succeeded":
                print(f"skipping {r['run']}: {r['status']}", file=sys.stderr)
                continue
            arm = r["arm"]
            victim = arm.get("stages.attack.victim")
            search = arm.get("stages.attack.search")
            if victim is None or search is None:
                sys.exit(f"{r['run']}: its arm does not set stages.attack.victim and .search")
            runs.append((search.strip('"'), victim.strip('"'), r["run"]))

    rows = []
    for search, victim, run in runs:
        others = [v for s, v, _ in runs if s == search and v != victim]
        if not others:
            continue
        adv = os.path.join(a.sweep_dir, run, "adversarial.jsonl")
        cmd = [a.mavuno, "-q", "attack", "transfer", "--adversarial", adv]
        for v in others:
            cmd += ["--victim", v]
        print(" ".join(cmd), file=sys.stderr)
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        for rep in json.loads(out):
            rows.append({"search": search, "source": victim, "target": rep["victim"],
                         "command": " ".join(cmd), "report": rep})

    with open(a.out_prefix + ".jsonl", "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    with open(a.out_prefix + ".md", "w", encoding="utf-8") as f:
        f.write("# Transfer matrix\n\n```sh\npython3 " + " ".join(sys.argv) + "\n```\n\n")
        f.write("| search | A → B | examples | B acc orig | B acc adv | flip | success on "
                "correct | mean confidence drop |\n|---|---|---|---|---|---|---|---|\n")
        for r in rows:
            p = r["report"]
            f.write(f"| {r['search']} | {short(r['source'])} → {short(r['target'])} | "
                    f"{p['examples']} | {p['accuracy_original']:.4f} | "
                    f"{p['accuracy_adversarial']:.4f} | {p['flip_rate']:.4f} | "
                    f"{p['success_rate_on_correct']:.4f} | {p['mean_confidence_drop']:.4f} |\n")
        f.write(search_agreement(a.sweep_dir, runs))


def search_agreement(sweep_dir, runs):
    """Per victim with two searches: do they succeed on the same examples, and how often do
    they substitute the same word? (Read from the runs' `adversarial.jsonl`, line by line: the
    runs attack the same input in the same order.)"""
    by_victim = {}
    for search, victim, run in runs:
        by_victim.setdefault(victim, {})[search] = run
    out = ["\n## Searches compared on the same examples\n",
           "| victim | searches | examples | successes (each) | successes in both | same "
           "substitution, of those |", "|---|---|---|---|---|---|"]
    for victim, arms in by_victim.items():
        if len(arms) != 2:
            continue
        (s1, r1), (s2, r2) = sorted(arms.items())
        rows = []
        for r in (r1, r2):
            with open(os.path.join(sweep_dir, r, "adversarial.jsonl"), encoding="utf-8") as f:
                rows.append([json.loads(line) for line in f])
        if len(rows[0]) != len(rows[1]) or any(
                x["text"] != y["text"] for x, y in zip(rows[0], rows[1])):
            sys.exit(f"{victim}: the two runs did not attack the same examples in the same order")
        both = [(x, y) for x, y in zip(*rows) if x["success"] and y["success"]]
        same = sum(x["substitutions"] == y["substitutions"] for x, y in both)
        each = " / ".join(str(sum(x["success"] for x in rs)) for rs in rows)
        out.append(f"| {short(victim)} | {s1} / {s2} | {len(rows[0])} | {each} | {len(both)} | "
                   f"{same} |")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    main()
