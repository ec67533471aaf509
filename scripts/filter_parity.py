#!/usr/bin/env python3
"""Differential test of mavuno's `filter` against datatrove 0.10.1's Gopher, C4 and
FineWeb filters on the same documents from ../shared/data.

Run it through scripts/filter_parity.sh, which makes the scratch venv (datatrove, spaCy,
indic-nlp-library) outside the repository. Per rule, both tools run with only that rule
on (datatrove's other thresholds set to None / values that cannot fire, mavuno's filter
with only the matching option), and the keep/drop decisions are compared per document;
C4's line rules are compared on the rewritten text. Then each preset against the filter's
defaults, and the four filters chained (datatrove's FineWeb order: Gopher repetition,
Gopher quality, C4, FineWeb) for the CPU-seconds comparison.

Documents (nothing is copied into the repository; the JSONL goes to --out):
  latin: masakhanews articles (eng hau ibo lug pcm run sna som swa xho yor),
         masakhane_raw_text (hau pcm swa wol yor) in chunks of 10 lines,
         FLORES v1 si-en English side (chunks of 10 lines of one Wikipedia article)
  amh:   masakhanews amh articles, masakhane_raw_text amh chunks
  sin:   FLORES v1 si-en Sinhala side (chunks of 10 lines of one article)
  tam:   UD Tamil-TTB sentences (chunks of 10), si_ta_sentence_similarity Tamil pairs

datatrove's decisions are cached in --out (they take most of the time); each disagreement
gets a class, checked where possible by rerunning datatrove with that one difference removed
(see explain()); the table of classes follows the agreement table.

Usage: filter_parity.py --bin target/release/mavuno [--out DIR] [--data ../shared/data]
       [--langs eng,amh] [--no-chain] [--speed-docs N] [--datatrove-only]
"""

import argparse
import collections
import csv
import functools
import hashlib
import json
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

csv.field_size_limit(1 << 30)

# datatrove tokenizer language per document language (its tokenizer_assignment.csv; pcm
# and wol are assigned Stanza there, which needs a model download: English and the
# multilingual spaCy tokenizer stand in).
DT_LANG = {
    "eng": "eng", "hau": "hau", "ibo": "ibo", "lug": "lug", "pcm": "eng", "run": "run",
    "sna": "sna", "som": "som", "swa": "swh", "xho": "xho", "yor": "yor", "wol": "som",
    "amh": "amh", "sin": "sin", "tam": "tam",
}
GROUP = {l: "latin" for l in DT_LANG}
GROUP.update({"amh": "amh", "sin": "sin", "tam": "tam"})


def chunks(lines, n):
    for i in range(0, len(lines), n):
        block = [l for l in lines[i:i + n] if l.strip()]
        if block:
            yield "\n".join(block)


def load_docs(data: Path):
    docs = []

    def add(lang, text, src):
        text = text.strip()
        if text:
            docs.append({"id": f"{src}#{len(docs)}", "text": text, "lang": lang})

    for f in sorted((data / "masakhanews").glob("*/*.tsv")):
        lang = f.parent.name
        if lang not in DT_LANG:
            continue
        with open(f, encoding="utf-8") as fh:
            for row in csv.DictReader(fh, delimiter="\t"):
                add(lang, row["text"], f"masakhanews/{lang}/{f.stem}")
    for lang in ["hau", "pcm", "swa", "wol", "yor", "amh"]:
        lines = (data / "masakhane_raw_text" / f"{lang}.txt").read_text(encoding="utf-8").splitlines()
        for t in chunks(lines, 10):
            add(lang, t, f"masakhane_raw_text/{lang}")
    fl = data / "flores_v1_si_en"
    ids = (fl / "wikipedia.dev.si-en.doc_id").read_text(encoding="utf-8").splitlines()
    for side, lang in [("en", "eng"), ("si", "sin")]:
        lines = (fl / f"wikipedia.dev.si-en.{side}").read_text(encoding="utf-8").splitlines()
        by_doc = collections.OrderedDict()
        for d, l in zip(ids, lines):
            by_doc.setdefault(d, []).append(l)
        for d, ls in by_doc.items():
            for t in chunks(ls, 10):
                add(lang, t, f"flores_v1_si_en/{side}")
    tam = []
    for split in ["train", "dev", "test"]:
        p = data / "ud" / "UD_Tamil-TTB" / f"ta_ttb-ud-{split}.conllu"
        tam += [l[len("# text = "):] for l in p.read_text(encoding="utf-8").splitlines() if l.startswith("# text = ")]
    for t in chunks(tam, 10):
        add("tam", t, "ud/UD_Tamil-TTB")
    with open(data / "si_ta_sentence_similarity" / "tamil_test.csv", encoding="utf-8-sig") as fh:
        pairs = [r["sentence1"] + "\n" + r["sentence2"] for r in csv.DictReader(fh)]
    for t in chunks(pairs, 5):
        add("tam", t, "si_ta_sentence_similarity/tamil")
    return docs


def stopword_list(repo: Path, lang: str):
    if lang in ("eng",):
        return None  # Gopher's 8 English stopwords (datatrove's default)
    p = repo / "configs" / "stopwords" / f"{lang}.txt"
    if not p.exists():
        return []
    return [l.strip() for l in p.read_text(encoding="utf-8").splitlines() if l.strip() and not l.startswith("#")]


GOPHER_SW = ["the", "be", "to", "of", "and", "that", "have", "with"]
TOP = ((2, 0.2), (3, 0.18), (4, 0.16))
DUP = ((5, 0.15), (6, 0.14), (7, 0.13), (8, 0.12), (9, 0.11), (10, 0.10))
GQ_OFF = dict(min_doc_words=None, max_doc_words=None, min_avg_word_length=None, max_avg_word_length=None,
              max_symbol_word_ratio=None, max_bullet_lines_ratio=None, max_ellipsis_lines_ratio=None,
              max_non_alpha_words_ratio=None, min_stop_words=None)
GR_OFF = dict(dup_line_frac=None, dup_para_frac=None, dup_line_char_frac=None, dup_para_char_frac=None,
              top_n_grams=(), dup_n_grams=())
C4_OFF = dict(split_paragraph=True, remove_citations=False, filter_no_terminal_punct=False, min_num_sentences=-1,
              min_words_per_line=-1, max_word_length=-1, filter_lorem_ipsum=False, filter_javascript=False,
              filter_curly_bracket=False, filter_policy=False)
FW_OFF = dict(line_punct_thr=0.0, short_line_thr=1.0, char_duplicates_ratio=1.0, new_line_ratio=1e18)


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    raise TypeError(v)


# rule name -> (family, datatrove kwargs, mavuno options, compare text)
def rules():
    r = {}
    r["gopher_quality/words 50-100000"] = ("gq", dict(min_doc_words=50, max_doc_words=100000), dict(min_words=50, max_words=100000), False)
    r["gopher_quality/mean word length 3-10"] = ("gq", dict(min_avg_word_length=3, max_avg_word_length=10), dict(min_mean_word_length=3.0, max_mean_word_length=10.0), False)
    r["gopher_quality/# and ellipsis per word 0.1"] = ("gq", dict(max_symbol_word_ratio=0.1), dict(max_symbol_ratio=0.1), False)
    r["gopher_quality/bullet lines 0.9"] = ("gq", dict(max_bullet_lines_ratio=0.9), dict(max_bullet_line_frac=0.9), False)
    r["gopher_quality/ellipsis lines 0.3"] = ("gq", dict(max_ellipsis_lines_ratio=0.3), dict(max_ellipsis_line_frac=0.3), False)
    r["gopher_quality/alphabetic words 0.8"] = ("gq", dict(max_non_alpha_words_ratio=0.8), dict(min_alpha_word_frac=0.8), False)
    r["gopher_quality/stopwords 2"] = ("gq", dict(min_stop_words=2), dict(min_distinct_stopwords=2), False)
    r["gopher_repetition/dup paragraphs"] = ("gr", dict(dup_para_frac=0.3, dup_para_char_frac=0.2), dict(max_dup_para_frac=0.3, max_dup_para_char_frac=0.2), False)
    r["gopher_repetition/dup lines"] = ("gr", dict(dup_line_frac=0.3, dup_line_char_frac=0.2), dict(max_dup_line_frac=0.3, max_dup_line_char_frac=0.2), False)
    r["gopher_repetition/top 2-4-grams"] = ("gr", dict(top_n_grams=TOP), dict(top_ngram_frac=[list(x) for x in TOP]), False)
    r["gopher_repetition/dup 5-10-grams"] = ("gr", dict(dup_n_grams=DUP), dict(dup_ngram_frac=[list(x) for x in DUP]), False)
    r["c4/line: terminal punctuation"] = ("c4", dict(filter_no_terminal_punct=True), dict(line_require_terminal=True), True)
    r["c4/line: >= 3 words"] = ("c4", dict(min_words_per_line=3), dict(line_min_words=3), True)
    r["c4/line: javascript"] = ("c4", dict(filter_javascript=True), dict(line_drop_javascript=True), True)
    r["c4/line: policy"] = ("c4", dict(filter_policy=True), dict(line_drop_policy=True), True)
    r["c4/line: citations"] = ("c4", dict(remove_citations=True), dict(remove_citations=True), True)
    r["c4/doc: lorem ipsum"] = ("c4", dict(filter_lorem_ipsum=True), dict(drop_lorem_ipsum=True), False)
    r["c4/doc: curly bracket"] = ("c4", dict(filter_curly_bracket=True), dict(drop_curly_bracket=True), False)
    r["c4/doc: >= 5 sentences"] = ("c4", dict(min_num_sentences=5), dict(min_sentences=5), False)
    r["fineweb/line punctuation 0.12"] = ("fw", dict(line_punct_thr=0.12), dict(min_line_punct_frac=0.12), False)
    # datatrove's count of a line that ends in punctuation and then spaces (unterminated).
    r["fineweb/line punctuation 0.12, line_punct_exact"] = ("fw", dict(line_punct_thr=0.12), dict(min_line_punct_frac=0.12, line_punct_exact=True), False)
    r["fineweb/short lines 0.67"] = ("fw", dict(short_line_thr=0.67), dict(max_short_line_frac=0.67, short_line_chars=30), False)
    r["fineweb/dup line chars 0.01"] = ("fw", dict(char_duplicates_ratio=0.01), dict(max_dup_line_char_ratio=0.01), False)
    r["fineweb/list ratio 0.3"] = ("fw", dict(new_line_ratio=0.3), dict(max_newline_word_ratio=0.3), False)
    return r


PRESETS = {"gopher_quality": "gq", "gopher_repetition": "gr", "c4": "c4", "fineweb": "fw"}
# datatrove's FineWeb order.
CHAIN = ["gopher_repetition", "gopher_quality", "c4", "fineweb"]
CHAIN_CASE = ("chain: all four presets, FineWeb order", "chain", None, [{"preset": p} for p in CHAIN], True)


def dt_filter(family, kw, lang, sw):
    from datatrove.pipeline.filters import (C4QualityFilter, FineWebQualityFilter, GopherQualityFilter,
                                            GopherRepetitionFilter)
    if family == "gq":
        args = dict(GQ_OFF, **kw) if kw is not None else {}
        if sw is not None:
            args["stop_words"] = sw
        return GopherQualityFilter(language=lang, **args)
    if family == "gr":
        return GopherRepetitionFilter(language=lang, **(dict(GR_OFF, **kw) if kw is not None else {}))
    if family == "c4":
        return C4QualityFilter(language=lang, **(dict(C4_OFF, **kw) if kw is not None else {}))
    return FineWebQualityFilter(language=lang, **(dict(FW_OFF, **kw) if kw is not None else {}))


def dt_run(filters, doc):
    """Runs datatrove filters in order; returns (kept, text, reason)."""
    from datatrove.data import Document
    d = Document(text=doc["text"], id=doc["id"])
    for f in filters:
        try:
            r = f.filter(d)
        except Exception as e:  # datatrove divides by zero on texts without words/lines
            return False, None, f"error:{type(e).__name__}"
        if r is not True:
            return False, None, (r[1] if isinstance(r, tuple) else "dropped")
    return True, d.text, None


def mavuno_run(binary, workdir, name, docs_path, stages, threads=1):
    """Runs reader -> filter stages -> jsonl_writer; returns ({id: text}, cpu seconds, manifest)."""
    cfg = [f'[run]\nname = "{name}"\nthreads = {threads}\n',
           f'[stages.raw]\ntype = "jsonl_reader"\npaths = [{json.dumps(str(docs_path))}]\n']
    prev = "raw"
    for i, opts in enumerate(stages):
        lines = [f'[stages.f{i}]', 'type = "filter"', f'inputs = ["{prev}"]']
        lines += [f"{k} = {toml_value(v)}" for k, v in opts.items()]
        cfg.append("\n".join(lines) + "\n")
        prev = f"f{i}"
    cfg.append(f'[stages.out]\ntype = "jsonl_writer"\ninputs = ["{prev}"]\npath = "kept.jsonl"\n')
    cfg_path = workdir / f"{name}.toml"
    cfg_path.write_text("\n".join(cfg), encoding="utf-8")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.run([str(binary), "run", str(cfg_path), "--quiet", "--workdir", str(workdir / "runs")],
                       capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        sys.exit(f"mavuno run {name} failed:\n{p.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    run_dir = workdir / "runs" / name
    kept = {}
    with open(run_dir / "kept.jsonl", encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            kept[r["id"]] = r["text"]
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    return kept, cpu, manifest


@functools.lru_cache(maxsize=None)
def _case_filters(name, fam, dkw, lang, sw):
    dkw = dict(dkw) if dkw is not None else None
    sw = list(sw) if sw is not None else None
    if fam == "chain":
        return [dt_filter(PRESETS[p], None, DT_LANG[lang], sw if p == "gopher_quality" else None) for p in CHAIN]
    return [dt_filter(fam, dkw, DT_LANG[lang], sw if fam == "gq" else None)]


def case_filters(name, fam, dkw, lang, sw):
    """datatrove's filters for one case (one filter, or the chain) on one language."""
    return _case_filters(name, fam, tuple(sorted(dkw.items())) if dkw is not None else None, lang,
                         tuple(sw) if sw is not None else None)


def dt_decisions(out, lang, ds, cases, sw):
    """datatrove's (kept, text, reason) per case and document, cached in --out.

    datatrove is ~100x slower than mavuno, so its decisions are kept on disk keyed by the
    documents, the cases and datatrove's version: rerunning the comparison after a change
    to mavuno only reruns mavuno.
    """
    from importlib.metadata import version
    key = hashlib.sha256(json.dumps([version("datatrove"), DT_LANG[lang], sw,
                                     [(c[0], c[1], c[2]) for c in cases],
                                     [(d["id"], d["text"]) for d in ds]], ensure_ascii=False).encode()).hexdigest()[:16]
    path = out / f"datatrove-{lang}-{key}.json"
    if path.exists():
        return json.loads(path.read_text(encoding="utf-8"))
    filters = {name: case_filters(name, fam, dkw, lang, sw) for name, fam, dkw, _, _ in cases}
    res = {name: [] for name in filters}
    for d in ds:
        # Per document all cases in the fixed order (C4 last, see main): datatrove's word
        # split cache then behaves as in a single pipeline.
        for name, *_ in cases:
            dk, dtext, why = dt_run(filters[name], d)
            res[name].append((dk, dtext if dtext != d["text"] else None, why))
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(res, ensure_ascii=False), encoding="utf-8")
    tmp.rename(path)
    return res


# Ethiopic, Indic, Sinhala, Arabic and CJK sentence ends that datatrove's C4 ignores.
NON_LATIN_TERMINALS = "።፧፨।॥෴؟۔။。！？"
# (ZWJ and ZWNJ are not here: Sinhala and Tamil spell with them.)
ZERO_WIDTH = "\ufeff\u200b\u00ad"


INDIC_LETTER = r"[\w\u0B80-\u0BFF\u0D80-\u0DFF\u200c\u200d]"


def join_indic_initials(text):
    """Drops the dots of initials (a word of <= 4 code points before ". ") and inside
    abbreviations, so that any tokenizer keeps them one word."""
    text = re.sub(rf"(?<={INDIC_LETTER})\.(?={INDIC_LETTER})", "", text)
    return re.sub(rf"(?<!\S)({INDIC_LETTER}{{1,4}})\.(?=\s)", r"\1", text)


def dt_decision_with(filters, text, words_fix=None, text_fix=None):
    """datatrove's decision on `text` with its tokens or its text changed one way: when the
    decision then matches mavuno's, that change is the cause of the disagreement."""
    from datatrove.pipeline.filters import fineweb_quality_filter, gopher_quality_filter, gopher_repetition_filter
    mods = [gopher_quality_filter, gopher_repetition_filter, fineweb_quality_filter]
    orig = [m.split_into_words for m in mods]
    if words_fix:
        for m, o in zip(mods, orig):
            m.split_into_words = lambda t, lang, o=o: words_fix(o(t, lang))
    try:
        return dt_run(filters, {"id": "explain", "text": text_fix(text) if text_fix else text})[0]
    finally:
        for m, o in zip(mods, orig):
            m.split_into_words = o


def explain(rule, lang, text, dt_kept, mv_kept, dt_reason, filters):
    """The class of one disagreement. Where a class can be checked, it is: datatrove is rerun
    with that one difference removed and must then decide as mavuno did.

    Classes are checked most specific first; "other" is what nobody has explained.
    """
    from datatrove.utils.text import PUNCTUATION_SET, split_into_words
    words = split_into_words(text, DT_LANG[lang])
    lines = [l for l in text.split("\n") if l.strip()]
    chain = rule.startswith("chain")
    if dt_kept != mv_kept and any("\n" in w for w in words):
        if dt_decision_with(filters, text, words_fix=lambda ws: [x for w in ws for x in w.split()]) == mv_kept:
            return "IndicNLP joins the words on both sides of a line break into one token (checked)"
    if rule.startswith("c4/") or rule == "preset c4" or chain:
        if any(l.rstrip().endswith(tuple(NON_LATIN_TERMINALS)) for l in lines):
            return "non-Latin sentence end (። । ෴ …): datatrove's C4 removes the line"
        if dt_reason and "ValueError" in dt_reason:
            return "datatrove raised inside its sentence splitter (counted as a drop)"
        if dt_reason == "too_few_sentences" and lang in ("sin", "tam"):
            return "sentence count: IndicNLP's splitter finds fewer than 5"
    if "top" in rule or rule == "preset gopher_repetition" or chain:
        if dt_reason and dt_reason.startswith("top_") and not dt_kept:
            n = int(dt_reason.split("_")[1])
            grams = [" ".join(words[i:i + n]) for i in range(len(words) - n + 1)]
            if grams and collections.Counter(grams).most_common(1)[0][1] == 1:
                return "datatrove: most common n-gram occurs once (no repetition; checked)"
    if dt_kept != mv_kept and any(l != l.rstrip() for l in text.split("\n")):
        if dt_decision_with(filters, text, text_fix=lambda t: "\n".join(l.rstrip() for l in t.split("\n"))) == mv_kept:
            return "line ends in punctuation + trailing space: datatrove counts it unterminated (checked)"
    if dt_kept != mv_kept and any(z in text for z in ZERO_WIDTH):
        if dt_decision_with(filters, text, text_fix=lambda t: "".join(c for c in t if c not in ZERO_WIDTH)) == mv_kept:
            return "BOM / zero-width space inside a word: spaCy splits there (checked)"
    if dt_kept != mv_kept and DT_LANG[lang] in ("sin", "tam") and "." in text:
        # Initials and abbreviations ("கே. பாலகிருஷ்ணன்", "தி.மு.க."): IndicNLP cuts at every
        # dot; mavuno keeps them one token, as spaCy keeps "J." and "U.S.". (Python's \w
        # does not match Tamil/Sinhala vowel signs, hence the explicit blocks.)
        if dt_decision_with(filters, text, text_fix=join_indic_initials) == mv_kept:
            return "IndicNLP cuts initials and abbreviations (கே., தி.மு.க.) at every dot (checked)"
    if "\u1361" in text:
        return "Ethiopic wordspace ፡ (፡፡ as full stop, 2፡14፡04 times)"
    if GROUP[lang] == "latin" and lang != "eng" and (
            any(len(w) > 1 and w[0] in "'’ʼ" and w[1:2].isalpha() for w in words) or any(w in ("'", "’") for w in words)):
        return "apostrophe word split ('yan, ƙa'ida): spaCy makes ' a token"
    if "alphabetic" in rule or rule == "preset gopher_quality" or chain:
        ratio = sum(any(c.isalpha() for c in w) for w in words) / max(len(words), 1)
        if abs(ratio - 0.8) < 0.02:
            return "at the threshold: alphabetic share within 0.02 of 0.8"
    if "words 50" in rule or rule == "preset gopher_quality" or chain:
        n = len([w for w in words if any(ch not in PUNCTUATION_SET for ch in w)])
        if abs(n - 50) <= 3:
            return "at the threshold: word count within 3 of 50"
    if "word length" in rule:
        ws = [w for w in words if any(ch not in PUNCTUATION_SET for ch in w)]
        mean = sum(len(w) for w in ws) / max(len(ws), 1)
        if min(abs(mean - 3), abs(mean - 10)) < 0.3:
            return "at the threshold: mean word length within 0.3 of 3 or 10"
    return "other"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", help="mavuno binary (required unless --datatrove-only)")
    ap.add_argument("--data", default=None, help="default: ../shared/data from the repository root")
    ap.add_argument("--out", default="/tmp/mavuno-filter-parity")
    ap.add_argument("--examples", type=int, default=3, help="disagreeing documents shown per rule")
    ap.add_argument("--speed-docs", type=int, default=2000, help="documents in the chained CPU-time run")
    ap.add_argument("--langs", default=None, help="only these document languages (comma-separated)")
    ap.add_argument("--no-chain", action="store_true", help="skip the per-document comparison of the four presets chained")
    ap.add_argument("--datatrove-only", action="store_true",
                    help="only compute (and cache in --out) datatrove's decisions; needs no mavuno binary")
    args = ap.parse_args()
    repo = Path(__file__).resolve().parent.parent
    data = Path(args.data) if args.data else repo.parent / "shared" / "data"
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if not args.bin and not args.datatrove_only:
        ap.error("--bin is required")
    binary = Path(args.bin).resolve() if args.bin else None

    docs = load_docs(data)
    if args.langs:
        keep = set(args.langs.split(","))
        docs = [d for d in docs if d["lang"] in keep]
    by_lang = collections.defaultdict(list)
    for d in docs:
        by_lang[d["lang"]].append(d)
    paths = {}
    for lang, ds in by_lang.items():
        paths[lang] = out / f"docs-{lang}.jsonl"
        with open(paths[lang], "w", encoding="utf-8") as fh:
            for d in ds:
                fh.write(json.dumps(d, ensure_ascii=False) + "\n")
    counts = collections.Counter(GROUP[d["lang"]] for d in docs)
    print(f"documents: {len(docs)} ({', '.join(f'{g} {n}' for g, n in sorted(counts.items()))}); "
          f"languages: {', '.join(f'{l} {len(v)}' for l, v in sorted(by_lang.items()))}")

    from datatrove.utils.text import split_into_words
    for lang in sorted(set(DT_LANG[l] for l in by_lang)):
        split_into_words("warm up the tokenizer.", lang)

    # Per rule and per preset: decisions of both tools.
    table = []
    examples = []
    cases = [(name, fam, dkw, mkw, text) for name, (fam, dkw, mkw, text) in rules().items()]
    cases += [(f"preset {p}", fam, None, {"preset": p}, p == "c4") for p, fam in PRESETS.items()]
    # C4 last: its per-line sentence splits would evict the cached word split of a text
    # from datatrove's small lru_cache, which the other filters share.
    cases.sort(key=lambda c: c[1] == "c4")
    all_cases = cases + ([] if args.no_chain else [CHAIN_CASE])
    stats = {c[0]: collections.defaultdict(collections.Counter) for c in all_cases}
    classes = collections.Counter()
    for lang, ds in sorted(by_lang.items()):
        sw = stopword_list(repo, lang)
        sw = GOPHER_SW if sw is None else sw
        dt = dt_decisions(out, lang, ds, cases, sw)
        # Cached apart, so that adding the chain did not invalidate the per-rule cache.
        if not args.no_chain:
            dt.update(dt_decisions(out, lang, ds, [CHAIN_CASE], sw))
        print(f"{lang}: datatrove decisions ready", flush=True)
        if args.datatrove_only:
            continue
        g = GROUP[lang]
        mv = {}
        for name, fam, dkw, mkw, cmp_text in all_cases:
            if fam == "chain":
                stages = [dict(o, stopwords=sw) if o["preset"] == "gopher_quality" else o for o in mkw]
            else:
                stages = [dict(mkw, stopwords=sw) if fam == "gq" else dict(mkw)]
            tag = "".join(c if c.isalnum() else "_" for c in name) + "_" + lang
            mv[name] = mavuno_run(binary, out, tag, paths[lang], stages)[0]
        for i, d in enumerate(ds):
            for name, fam, dkw, mkw, cmp_text in all_cases:
                st = stats[name][g]
                kept = mv[name]
                dk, dtext, why = dt[name][i]
                if dk and dtext is None:
                    dtext = d["text"]
                mk = d["id"] in kept
                st["docs"] += 1
                st["dt_drop"] += not dk
                st["mv_drop"] += not mk
                same = dk == mk
                if cmp_text and dk and mk:
                    st["text_total"] += 1
                    same_text = dtext == kept[d["id"]]
                    st["text_same"] += same_text
                    same = same and same_text
                st["agree"] += same
                if not same:
                    cls = explain(name, lang, d["text"], dk, mk, why, case_filters(name, fam, dkw, lang, sw))
                    classes[(name, g, cls)] += 1
                    examples.append((name, g, d["id"], dk, mk, why, d["text"][:300], dtext, kept.get(d["id"]), cls))
        print(f"{lang}: {len(ds)} documents compared", flush=True)
    if args.datatrove_only:
        return
    for name, fam, dkw, mkw, cmp_text in all_cases:
        for g, st in sorted(stats[name].items()):
            row = dict(rule=name, group=g, docs=st["docs"], dt_drop=st["dt_drop"], mv_drop=st["mv_drop"],
                       agree=st["agree"] / st["docs"])
            if cmp_text:
                row["text_same"] = f"{st['text_same']}/{st['text_total']}"
            table.append(row)

    with open(out / "disagreements.jsonl", "w", encoding="utf-8") as fh:
        for e in examples:
            fh.write(json.dumps(dict(zip(["rule", "group", "id", "dt_kept", "mv_kept", "dt_reason", "text",
                                          "dt_text", "mv_text", "class"], e)), ensure_ascii=False) + "\n")
    print("\n| rule | group | docs | datatrove drops | mavuno drops | agreement | C4 text identical |")
    print("|---|---|---|---|---|---|---|")
    for r in table:
        print(f"| {r['rule']} | {r['group']} | {r['docs']} | {r['dt_drop']} | {r['mv_drop']} | "
              f"{r['agree'] * 100:.2f} % | {r.get('text_same', '')} |")
    print("\n| rule | group | disagreement class | documents |")
    print("|---|---|---|---|")
    for (name, g, cls), n in sorted(classes.items(), key=lambda x: (x[0][0], x[0][1], -x[1])):
        print(f"| {name} | {g} | {cls} | {n} |")
    shown = collections.Counter()
    sys.stdout.flush()
    print(f"\nDisagreements: {len(examples)} (all in {out / 'disagreements.jsonl'}); first {args.examples} per rule and group:")
    for e in examples:
        key = (e[0], e[1])
        if shown[key] >= args.examples:
            continue
        shown[key] += 1
        print(f"- {e[0]} [{e[1]}] {e[2]}: datatrove {'keeps' if e[3] else 'drops (' + str(e[5]) + ')'}, "
              f"mavuno {'keeps' if e[4] else 'drops'} [{e[9]}]: {e[6][:160]!r}")
    # Speed: the four filters chained, all rules on, every document.
    if args.speed_docs <= 0:
        return
    sample = docs[:: max(1, len(docs) // args.speed_docs)][: args.speed_docs]
    all_path = out / "docs-speed.jsonl"
    with open(all_path, "w", encoding="utf-8") as fh:
        for d in sample:
            fh.write(json.dumps(d, ensure_ascii=False) + "\n")
    chain = CHAIN
    eng_sw = {"preset": "gopher_quality", "stopwords": GOPHER_SW}
    mv_stages = [{"preset": p} if p != "gopher_quality" else eng_sw for p in chain]
    kept, mv_cpu, manifest = mavuno_run(binary, out, "chain", all_path, mv_stages)
    dt_filters = {}
    t0 = time.process_time()
    dt_kept = 0
    for d in sample:
        lang = DT_LANG[d["lang"]]
        fs = dt_filters.get(lang)
        if fs is None:
            fs = dt_filters[lang] = [dt_filter(PRESETS[p], None, lang, GOPHER_SW if p == "gopher_quality" else None) for p in chain]
        dt_kept += dt_run(fs, d)[0]
    dt_cpu = time.process_time() - t0
    mb = sum(len(d["text"].encode()) for d in sample) / 1e6
    speed = (f"all four filters chained (Gopher repetition → Gopher quality → C4 → FineWeb, defaults, English "
             f"stopwords), {len(sample)} documents (every k-th of all), {mb:.1f} MB: datatrove {dt_cpu:.2f} CPU-s (kept {dt_kept}), "
             f"mavuno {mv_cpu:.2f} CPU-s (whole `mavuno run` process incl. JSONL read/write, 1 thread; kept {len(kept)}) "
             f"= {dt_cpu / max(mv_cpu, 1e-9):.0f}x per CPU second")
    print(speed)


if __name__ == "__main__":
    main()
