#!/usr/bin/env python3
"""TextAttack's closest recipe to `mavuno attack`, on the same victim, MLM and examples.

What it compares (docs/ATTACK.md, "TextAttack comparison"): the one-word MLM synonym attack of
SEEDS.md §3 as TextAttack 0.3.11 builds it from stock parts, against `mavuno attack`:
  - victim: a `mavuno finetune --task classify` directory (HF `BertForSequenceClassification`)
    through `HuggingFaceModelWrapper`, truncated at the same max length as mavuno (64);
  - candidates: `WordSwapMaskedLM(method="bae", max_candidates=50, min_confidence=0)` over the
    same `mavuno pretrain` RoBERTa directory (loaded with `AutoModelForMaskedLM`);
  - search: `GreedyWordSwapWIR(wir_method="delete")`, goal `UntargetedClassification`;
  - constraints: `RepeatModification`, `StopwordModification` with mavuno's stopword list
    (plus `--protect` words), `MaxWordsPerturbed(max_num_words=1)`, and one small custom
    constraint with mavuno's candidate-side filters (no stopword, protected word or 1-character
    replacement; stock TextAttack only protects the attacked positions).
Reported per tool: examples/s (attack time only, models already loaded), success rate
(successes / originally correct), accuracy under attack, mean queries per success.
`--mavuno-output` reads a `mavuno attack -o` JSONL of the same examples and prints both rows.

Known recipe differences (also in docs/ATTACK.md): TextAttack splits words with its own regex,
tries further words while no swap has lowered the gold probability (mavuno: `try_words = 1`),
attacks 1-character words, keeps sub-word continuation tokens (`n`, `da` inside a word) as
candidates, and does not deduplicate them; mavuno may add a POS-equality filter.

Install (outside the repo; never upgrades torch/transformers of the main venv):
  .venv/bin/python -m venv /tmp/ta-venv
  echo "$PWD/.venv/lib/python3.11/site-packages" > /tmp/ta-venv/lib/python3.11/site-packages/main.pth
  /tmp/ta-venv/bin/pip install --no-deps textattack==0.3.11 flair "datasets<4" "dill<0.3.9"
  then `--no-deps` the modules its imports name (see docs/ATTACK.md for the list).
TextAttack builds NLTK's English stopword set at import time; offline, point NLTK_DATA at a
folder holding an empty `corpora/stopwords/english` (this script creates one with
`--nltk-stub DIR`); the recipe passes its own stopwords, so the English list is never used.

Run (offline, one thread, the first N lines of the test split):
  head -n 100 runs/attack-data/afrisenti-hau/test.jsonl > /tmp/sample.jsonl
  OMP_NUM_THREADS=1 mavuno attack /tmp/sample.jsonl --victim V --mlm M --lang hau \
    --protect user -o /tmp/mavuno.jsonl
  HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 OMP_NUM_THREADS=1 /tmp/ta-venv/bin/python \
    scripts/bench_attack_textattack.py --victim V --mlm M --data /tmp/sample.jsonl \
    --stopwords configs/stopwords/hau.txt --protect user --nltk-stub /tmp/ta-nltk \
    --out /tmp/textattack.json --mavuno-output /tmp/mavuno.jsonl
"""

import argparse
import json
import os
import sys
import time


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def read_stopwords(path):
    with open(path, encoding="utf-8") as f:
        return {w.strip().lower() for w in f if w.strip() and not w.startswith("#")}


def stub_nltk(folder):
    """An empty English stopword list so `import textattack` works without a download."""
    target = os.path.join(folder, "corpora", "stopwords")
    os.makedirs(target, exist_ok=True)
    english = os.path.join(target, "english")
    if not os.path.exists(english):
        open(english, "w").close()
    os.environ["NLTK_DATA"] = folder


def summarize(rows):
    """rows: dicts with status in {success, failure, skipped} and queries."""
    n = len(rows)
    succ = [r for r in rows if r["status"] == "success"]
    fail = [r for r in rows if r["status"] == "failure"]
    correct = len(succ) + len(fail)
    return {
        "examples": n,
        "clean_accuracy": correct / n if n else 0.0,
        "successes": len(succ),
        "success_rate": len(succ) / correct if correct else 0.0,
        "accuracy_under_attack": len(fail) / n if n else 0.0,
        "queries_per_success": sum(r["queries"] for r in succ) / len(succ) if succ else 0.0,
        "queries_per_attacked": (
            sum(r["queries"] for r in succ + fail) / correct if correct else 0.0
        ),
    }


def mavuno_rows(path):
    rows = []
    for r in read_jsonl(path):
        status = "skipped" if r["skipped"] else ("success" if r["success"] else "failure")
        rows.append({"status": status, "queries": r["queries"]})
    return rows


def build_attack(args, victim, vtok, mlm, mtok, stopwords):
    import textattack
    from textattack.constraints.overlap import MaxWordsPerturbed
    from textattack.constraints.pre_transformation import (
        RepeatModification,
        StopwordModification,
    )
    from textattack.goal_functions import UntargetedClassification
    from textattack.models.wrappers import HuggingFaceModelWrapper
    from textattack.search_methods import GreedyWordSwapWIR
    from textattack.transformations import WordSwapMaskedLM

    class MavunoCandidateFilter(textattack.constraints.Constraint):
        """mavuno's candidate-side filters that stock TextAttack lacks: no stopword or
        protected word and nothing shorter than 2 characters as a *replacement*."""

        def __init__(self, words, min_chars):
            super().__init__(compare_against_original=True)
            self.words = words
            self.min_chars = min_chars

        def _check_constraint(self, transformed_text, reference_text):
            idx = transformed_text.attack_attrs.get("newly_modified_indices", set())
            new = [transformed_text.words[i] for i in idx]
            return all(len(w) >= self.min_chars and w.lower() not in self.words for w in new)

    wrapper = HuggingFaceModelWrapper(victim, vtok)
    goal = UntargetedClassification(wrapper, model_batch_size=args.batch_size)
    swap = WordSwapMaskedLM(
        method="bae",
        masked_language_model=mlm,
        tokenizer=mtok,
        max_length=args.max_len,
        max_candidates=args.top_k,
        min_confidence=0.0,
        batch_size=args.batch_size,
    )
    constraints = [
        RepeatModification(),
        StopwordModification(stopwords=stopwords),
        MaxWordsPerturbed(max_num_words=1),
        MavunoCandidateFilter(stopwords, args.min_chars),
    ]
    search = GreedyWordSwapWIR(wir_method="delete")
    return textattack.Attack(goal, constraints, swap, search)


def load_models(args):
    import torch
    from tokenizers import AddedToken
    from transformers import (
        AutoModelForMaskedLM,
        AutoModelForSequenceClassification,
        AutoTokenizer,
        PreTrainedTokenizerFast,
    )

    class MetaspaceAsWordStart(PreTrainedTokenizerFast):
        """TextAttack's RoBERTa branch strips GPT-2's `Ġ` word-start marker; mavuno's Unigram
        vocabulary marks word starts with `▁`. Removing it here gives TextAttack the same
        strings its own RoBERTa path would produce. A lone `▁` stays (TextAttack indexes the
        first character, and rejects it as a non-word)."""

        def convert_ids_to_tokens(self, ids, skip_special_tokens=False):
            out = super().convert_ids_to_tokens(ids, skip_special_tokens)
            strip = lambda t: t[1:] if len(t) > 1 and t[0] == "\u2581" else t  # noqa: E731
            return strip(out) if isinstance(out, str) else [strip(t) for t in out]

    torch.set_num_threads(args.threads)
    victim = AutoModelForSequenceClassification.from_pretrained(args.victim).eval()
    vtok = AutoTokenizer.from_pretrained(args.victim)
    # HuggingFaceModelWrapper pads every batch to model_max_length: use mavuno's truncation.
    vtok.model_max_length = args.max_len
    mlm = AutoModelForMaskedLM.from_pretrained(args.mlm).eval()
    mtok = MetaspaceAsWordStart(
        tokenizer_file=os.path.join(args.mlm, "tokenizer.json"),
        bos_token="<s>",
        eos_token="</s>",
        cls_token="<s>",
        sep_token="</s>",
        unk_token="<unk>",
        pad_token="<pad>",
        # RoBERTa's convention: the mask absorbs the space before it (no lone `▁` token).
        mask_token=AddedToken("<mask>", lstrip=True, special=True),
    )
    return victim, vtok, mlm, mtok


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--victim", required=True, help="mavuno finetune --task classify dir")
    ap.add_argument("--mlm", required=True, help="mavuno pretrain RoBERTa dir")
    ap.add_argument("--data", required=True, help="JSONL with text and label")
    ap.add_argument("--stopwords", help="mavuno stopword file (configs/stopwords/LANG.txt)")
    ap.add_argument("--protect", action="append", default=[], help="never attacked/inserted")
    ap.add_argument("--top-k", type=int, default=50)
    ap.add_argument("--max-len", type=int, default=64)
    ap.add_argument("--min-chars", type=int, default=2, help="mavuno's min_word_chars")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--nltk-stub", help="create/use an empty NLTK English stopword list here")
    ap.add_argument("--out", help="write the TextAttack summary and per-example rows here")
    ap.add_argument("--mavuno-output", help="`mavuno attack -o` JSONL of the same examples")
    args = ap.parse_args()
    if args.nltk_stub:
        stub_nltk(args.nltk_stub)

    data = read_jsonl(args.data)
    stopwords = read_stopwords(args.stopwords) if args.stopwords else set()
    stopwords |= {w.lower() for w in args.protect}
    victim, vtok, mlm, mtok = load_models(args)
    import textattack  # after the NLTK stub

    attack = build_attack(args, victim, vtok, mlm, mtok, stopwords)
    label2id = {v: int(k) for k, v in victim.config.id2label.items()}
    unknown = sorted({ex.get("label") for ex in data} - set(label2id))
    if unknown:
        sys.exit(f"labels {unknown} are not the victim's labels {sorted(label2id)}")
    rows = []
    t0 = time.perf_counter()
    for ex in data:
        text = ex.get("text") or ex.get("tweet") or ""
        result = attack.attack(text, label2id[ex["label"]])
        if isinstance(result, textattack.attack_results.SkippedAttackResult):
            status = "skipped"
        elif isinstance(result, textattack.attack_results.SuccessfulAttackResult):
            status = "success"
        else:
            status = "failure"
        rows.append(
            {
                "status": status,
                "queries": result.num_queries,
                "adversarial": result.perturbed_result.attacked_text.text,
            }
        )
    seconds = time.perf_counter() - t0
    summary = summarize(rows)
    summary.update({"seconds": seconds, "examples_per_s": len(rows) / seconds})
    report = {"tool": "textattack", "threads": args.threads, "summary": summary}
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            json.dump({**report, "rows": rows}, f, ensure_ascii=False, indent=1)
    print(json.dumps(report))
    if args.mavuno_output:
        m = summarize(mavuno_rows(args.mavuno_output))
        summ = args.mavuno_output[: -len(".jsonl")] + ".summary.json"
        if args.mavuno_output.endswith(".jsonl") and os.path.exists(summ):
            with open(summ, encoding="utf-8") as f:
                m["examples_per_s"] = json.load(f).get("examples_per_s")
        print(json.dumps({"tool": "mavuno", "summary": m}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
