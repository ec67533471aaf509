#!/usr/bin/env python3
"""Noise-injection benchmark for `mavuno clean`.

For each language, clean sentences (test portions of MAFAND-MT, FLORES v1 si, UD Tamil-TTB
test+dev under ../shared/data; for zul xho lug som kin, whose test splits are kept aside by
the data owner, the lines the LID model holds out: MAFAND dev, MasakhaNEWS dev sentences,
every 5th AfriSenti kin train tweet and the odd UDHR kin paragraphs) are mixed with
labelled noise. Tweets enter as their text: the `@user` handles and `https://t.co/…` links
that AfriSenti keeps are removed first, and a tweet with fewer than two words left is not
used (a line of handles and a link is not a clean sentence of any language).

  wrong_lang   sentences of the other languages (and English); for a language with close
               neighbours (NEIGHBOURS: Kirundi for kin, Xhosa/chiShona for zul, …) half of
               them come from those neighbours
  boilerplate  cookie notices, "Click here to subscribe", "All rights reserved" …
  html         a clean sentence (not otherwise in the file) wrapped in tags / entities
  mojibake     a clean sentence with non-ASCII letters, UTF-8 bytes decoded as CP-1252
  exact_dup    a second copy of a clean line, placed after it
  near_dup     a copy of a clean line with one word replaced, or one word appended
  url_only     a line that is just a URL
  number_only  a line that is just numbers (dates, prices, phone-like)

The truth (one label per input line) stays in the temp dir; nothing is committed. The
script runs `mavuno clean --lang L in.txt -o out.jsonl` and maps each output sentence back
to its input line through the record id (`<file>:<line>#<sentence>`), then reports per
noise type the share removed (for html/mojibake: the share repaired and kept, i.e. the
output text equals the normalised clean original), all noise together, and the share of
clean lines kept: all of them, those of 2+ words (the `min_words` floor), and the unique
ones, i.e. those with no earlier clean line at a grapheme 5-gram Jaccard of 0.5 or more
(the sources hold re-translations and edited copies of the same sentence; removing the
second copy is near-dedup doing its job, so that column tells it apart from a real loss).

Usage: scripts/noise_benchmark.py [--bin target/release/mavuno] [--langs yor,hau,…]
       [--data ../shared/data] [--tmp DIR] [--per-type 100] [--seed 13]
"""

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import unicodedata
from collections import Counter, defaultdict

BOILERPLATE = [
    "Click here to subscribe to our newsletter",
    "This website uses cookies to improve your experience. Accept all cookies",
    "All rights reserved. Copyright 2023",
    "Privacy Policy | Terms of Use | Contact Us",
    "Sign up for free and get the latest news",
    "Read more",
    "Share this article on Facebook Twitter WhatsApp",
    "Log in to leave a comment",
    "We use cookies to personalise content and ads",
    "Please enable JavaScript to view the comments",
    "Terms and conditions apply",
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit",
    "Subscribe to our YouTube channel for more videos",
    "Click here to read the full story",
]

HTML_WRAPS = [
    "<p>{}</p>",
    '<div class="article-body"><span>{}</span></div>',
    "<b>{}</b><br/>",
    '<p style="text-align:justify">{}</p>',
    "<li><a href=\"/news/1234\">{}</a></li>",
]


def read_lines(path):
    with open(path, encoding="utf-8") as f:
        return [l.strip() for l in f if l.strip()]


def conllu_texts(path):
    out = []
    with open(path, encoding="utf-8") as f:
        for l in f:
            if l.startswith("# text = "):
                out.append(l[len("# text = "):].strip())
    return out


# Real neighbours, used as half of the wrong-language noise. run and sna are noise only.
NEIGHBOURS = {
    "zul": ["xho", "sna"],
    "xho": ["zul", "sna"],
    "kin": ["run", "lug"],
    "lug": ["kin", "run", "swa"],
    "som": ["swa", "hau", "eng"],
}
NOISE_ONLY = ["run", "sna"]


def news_sentences(path, min_words=3):
    """Headlines and article sentences of a MasakhaNEWS TSV (quoted fields span lines), as
    scripts/build_lid_model.sh splits them."""
    import csv
    csv.field_size_limit(1 << 30)
    out = []
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            parts = [row.get("headline") or ""]
            for para in (row.get("text") or "").split("\n"):
                parts += re.split(r"(?<=[.!?])\s+", para.strip())
            out += [" ".join(p.split()) for p in parts if len(p.split()) >= min_words]
    return out


def tweet_text(t):
    """A tweet without its platform artefacts: handles, links and a leading `RT`."""
    t = re.sub(r"@\w+|https?://\S+", " ", t)
    return " ".join(re.sub(r"^\s*RT\b:?", " ", t).split())


def shingles(s, n=5):
    """Character n-grams of the normalised, casefolded text (code points, close enough to
    graphemes for a similarity floor)."""
    s = " ".join(unicodedata.normalize("NFKC", s).casefold().split())
    return {s[i : i + n] for i in range(max(1, len(s) - n + 1))}


def unique_flags(texts, floor=0.5):
    """For each text, False if an earlier one has a shingle Jaccard >= floor with it."""
    index = defaultdict(list)  # shingle -> earlier text indices
    sets, out = [], []
    for i, t in enumerate(texts):
        sh = shingles(t)
        common = Counter(j for g in sh for j in index.get(g, ()))
        dup = any(c / (len(sh) + len(sets[j]) - c) >= floor for j, c in common.items())
        out.append(not dup)
        sets.append(sh)
        for g in sh:
            index[g].append(i)
    return out


TAG_OR_ENTITY = re.compile(r"</?[a-zA-Z][^>]*>|&#?[a-zA-Z0-9]+;")
# A UTF-8 lead byte read as CP-1252/Latin-1 followed by a continuation byte read the same
# way ("Ã©", "â€™", "á»"): what `mojibake()` makes, and never a real letter pair here.
MOJIBAKE = re.compile("[\u00c2-\u00f4][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122]")


def noise_gone(lab, got):
    """Whether an injected noise line left no noise in the output: the line is gone, or for
    html/mojibake the text kept has no markup / no mojibake left (a kept line may still lose
    a sentence, e.g. the English one in a code-switched tweet: "repaired" counts exact
    repairs only)."""
    if not got:
        return True
    if lab == "html":
        return not TAG_OR_ENTITY.search(got)
    if lab == "mojibake":
        return not MOJIBAKE.search(got)
    return False


def tsv_col(path, col=0):
    with open(path, encoding="utf-8") as f:
        next(f, None)
        return [r.rstrip("\n").split("\t")[col] for r in f if r.strip()]


def sources(data, split):
    """Clean sentences per language. `split = "dev"` is for tuning thresholds: MAFAND dev,
    UD Tamil-TTB train; FLORES v1 si has one split only, so Sinhala is the same in both."""
    m = os.path.join(data, "mafand_mt")
    src = {l: read_lines(os.path.join(m, f"en-{l}", f"{split}.{l}")) for l in ["yor", "hau", "ibo", "swa", "amh", "pcm"]}
    src["sin"] = read_lines(os.path.join(data, "flores_v1_si_en", "wikipedia.dev.si-en.si"))
    ud = os.path.join(data, "ud", "UD_Tamil-TTB")
    tam = ["ta_ttb-ud-test.conllu", "ta_ttb-ud-dev.conllu"] if split == "test" else ["ta_ttb-ud-train.conllu"]
    src["tam"] = [t for f in tam for t in conllu_texts(os.path.join(ud, f))]
    # English from a pair whose other side is not in the set (no translation overlap matters).
    src["eng"] = read_lines(os.path.join(m, "en-swa", f"{split}.en"))
    # Languages with train/dev only: the dev split (held out from LID training) in both modes.
    for l in ["zul", "lug", "xho"]:
        src[l] = read_lines(os.path.join(m, f"en-{l}", f"dev.{l}"))
    news = os.path.join(data, "masakhanews")
    for l in ["xho", "som", "run", "sna"]:
        src[l] = src.get(l, []) + news_sentences(os.path.join(news, l, "dev.tsv"))
    tweets = [t for t in (tweet_text(x) for x in tsv_col(os.path.join(data, "afrisenti", "kin", "train.tsv"))) if len(t.split()) >= 2]
    udhr = [r.split("\t") for r in read_lines(os.path.join(data, "udhr", "udhr_paragraphs.tsv"))[1:]]
    src["kin"] = tweets[4::5] + [r[3] for r in udhr if r[0] == "kin" and int(r[2]) % 2 == 1]
    return src


def norm(s):
    """What `normalize` does to clean text: NFC and whitespace collapse."""
    return " ".join(unicodedata.normalize("NFC", s).split())


def dup_key(s):
    return "".join(c for c in unicodedata.normalize("NFKC", s).casefold() if c.isalnum())


def mojibake(s):
    """UTF-8 bytes read as Windows-1252; the 5 undefined bytes map to U+0080–U+009F as
    browsers and most real-world mojibake do."""
    out = []
    for b in s.encode("utf-8"):
        try:
            out.append(bytes([b]).decode("cp1252"))
        except UnicodeDecodeError:
            out.append(chr(b))
    return "".join(out)


def html_wrap(rng, s):
    s2 = s.replace("&", "&amp;")
    # Entities for a quote or apostrophe when the sentence has one: the normaliser decodes them.
    s2 = s2.replace('"', "&quot;", 1).replace("'", "&#39;", 1)
    return rng.choice(HTML_WRAPS).format(s2)


def near_dup(rng, s, vocab):
    words = s.split()
    if len(words) >= 4 and rng.random() < 0.5:
        i = rng.randrange(len(words))
        words[i] = rng.choice(vocab)
        return " ".join(words)
    return s + " " + rng.choice(vocab)


def url_line(rng):
    host = rng.choice(["www.bbc.com", "punchng.com", "www.taifaleo.co.ke", "example.org", "news.lk"])
    return f"https://{host}/news/{rng.randint(2010, 2024)}/{rng.randint(1, 12):02d}/article-{rng.randint(1000, 99999)}.html"


def number_line(rng):
    k = rng.randrange(4)
    if k == 0:
        return f"{rng.randint(1, 28)}/{rng.randint(1, 12)}/{rng.randint(1990, 2024)} {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}"
    if k == 1:
        return " ".join(str(rng.randint(0, 99999)) for _ in range(rng.randint(2, 6)))
    if k == 2:
        return f"{rng.randint(1, 999)},{rng.randint(0, 999):03d}.{rng.randint(0, 99):02d}"
    return f"+234 {rng.randint(700, 909)} {rng.randint(100, 999)} {rng.randint(1000, 9999)}"


def build(lang, src, rng, per_type, n_clean):
    # Unique up to case, punctuation and spacing (order kept): the sources repeat some lines
    # with only a comma or a space changed, and dropping such a copy is dedup doing its job.
    seen, pool = set(), []
    for s in src[lang]:
        if dup_key(s) not in seen:
            seen.add(dup_key(s))
            pool.append(s)
    rng.shuffle(pool)
    # Small sources (kin: 679 lines) keep 30 % back for the html and mojibake items.
    n_clean = min(n_clean, int(len(pool) * 0.7))
    clean = pool[:n_clean]
    spare = pool[n_clean:]
    vocab = [w for s in clean for w in s.split() if w.isalpha()] or ["na"]
    items = []  # (key, label, text, truth)
    key_of = {}
    for i, s in enumerate(clean):
        k = rng.random()
        key_of[i] = k
        items.append((k, "clean", s, s))
    others = [l for l in src if l != lang and l not in NOISE_ONLY]
    near = NEIGHBOURS.get(lang, [])
    for j in range(per_type):
        o = near[(j // 2) % len(near)] if near and j % 2 == 0 else others[j % len(others)]
        items.append((rng.random(), "wrong_lang", rng.choice(src[o]), None))
    for _ in range(per_type // 2):
        items.append((rng.random(), "boilerplate", rng.choice(BOILERPLATE), None))
    # HTML and mojibake come from sentences outside the clean set so they are not duplicates.
    h = spare[:per_type]
    for s in h:
        items.append((rng.random(), "html", html_wrap(rng, s), s))
    moj_pool = [s for s in spare[per_type:] if any(ord(c) > 127 for c in s)][:per_type]
    for s in moj_pool:
        items.append((rng.random(), "mojibake", mojibake(s), s))
    for i in rng.sample(range(len(clean)), min(per_type, len(clean))):
        k = key_of[i]
        items.append((k + (1 - k) * rng.random(), "exact_dup", clean[i], clean[i]))
    for i in rng.sample(range(len(clean)), min(per_type, len(clean))):
        k = key_of[i]
        items.append((k + (1 - k) * rng.random(), "near_dup", near_dup(rng, clean[i], vocab), clean[i]))
    for _ in range(per_type // 3):
        items.append((rng.random(), "url_only", url_line(rng), None))
    for _ in range(per_type // 3):
        items.append((rng.random(), "number_only", number_line(rng), None))
    items.sort(key=lambda t: t[0])
    return [(lab, txt, tru) for _, lab, txt, tru in items]


def run_lang(args, lang, src, rng):
    d = os.path.join(args.tmp, lang)
    os.makedirs(d, exist_ok=True)
    lines = build(lang, src, rng, args.per_type, args.n_clean)
    inp = os.path.join(d, "in.txt")
    with open(inp, "w", encoding="utf-8") as f:
        for _, t, _ in lines:
            f.write(t.replace("\n", " ") + "\n")
    with open(os.path.join(d, "truth.jsonl"), "w", encoding="utf-8") as f:
        for n, (lab, t, tru) in enumerate(lines, 1):
            f.write(json.dumps({"line": n, "label": lab, "text": t, "clean": tru}, ensure_ascii=False) + "\n")
    out = os.path.join(d, "out.jsonl")
    if os.path.exists(out):
        os.remove(out)
    cmd = [args.bin, "clean", "--lang", lang, inp, "-o", out, "--workdir", os.path.join(d, "runs"),
           "--report", os.path.join(d, "report"), "--quiet"]
    for kv in args.set:
        cmd += ["--set", kv]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stderr}")
    kept = defaultdict(list)  # input line → [(sentence index, text)]
    with open(out, encoding="utf-8") as f:
        for l in f:
            rec = json.loads(l)
            base, _, sent = rec["id"].rpartition("#")
            line = int(base.rsplit(":", 1)[1])
            kept[line].append((int(sent or 0), rec["text"]))
    # Line numbers: text_reader counts file lines from 1 (no blank lines are written).
    stats = defaultdict(Counter)
    lost = []
    clean_lines = [n for n, (lab, _, _) in enumerate(lines, 1) if lab == "clean"]
    unique = dict(zip(clean_lines, unique_flags([lines[n - 1][1] for n in clean_lines])))
    for n, (lab, t, tru) in enumerate(lines, 1):
        got = " ".join(x for _, x in sorted(kept.get(n, [])))
        c = stats[lab]
        c["n"] += 1
        if not got:
            c["removed"] += 1
            if lab == "clean":
                lost.append(t)
        else:
            c["kept"] += 1
            if tru is not None and got == norm(tru):
                c["intact"] += 1
        # Clean lines of 2+ words: what the sentence-length floor (`min_words = 2`) allows,
        # so that dropping a one-word heading by that documented rule is told apart.
        if lab == "clean" and len(t.split()) >= 2:
            c2 = stats["clean2"]
            c2["n"] += 1
            c2["kept"] += bool(got)
        if lab == "clean" and unique[n]:
            cu = stats["clean_unique"]
            cu["n"] += 1
            cu["kept"] += bool(got)
        if lab != "clean":
            cn = stats["noise"]
            cn["n"] += 1
            cn["removed"] += noise_gone(lab, got)
    return stats, lost


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--bin", default=os.environ.get("MAVUNO_BIN", os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(here, "..", "target")), "release", "mavuno")))
    ap.add_argument("--data", default=os.path.join(here, "..", "..", "shared", "data"))
    ap.add_argument("--langs", default="yor,hau,ibo,swa,amh,pcm,sin,tam,zul,xho,lug,som,kin")
    ap.add_argument("--tmp", default=None)
    ap.add_argument("--per-type", type=int, default=100)
    ap.add_argument("--n-clean", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--split", choices=["test", "dev"], default="test", help="clean sentences from this split (tune on dev, report test)")
    ap.add_argument("--set", action="append", default=[], help="passed to mavuno clean (--set KEY=VALUE), repeatable")
    ap.add_argument("--show-lost", type=int, default=0, help="print this many lost clean lines per language")
    args = ap.parse_args()
    if args.tmp is None:
        args.tmp = tempfile.mkdtemp(prefix="mavuno-noise-")
    src = sources(args.data, args.split)
    print(f"data in {args.tmp}", file=sys.stderr)
    print("| lang | clean kept | clean ≥2 words kept | clean unique kept | clean intact | noise removed | wrong_lang removed | boilerplate removed | html repaired | mojibake repaired | exact_dup removed | near_dup removed | url_only removed | number_only removed |")
    print("|---|" + "---|" * 13)
    total = defaultdict(Counter)
    for lang in args.langs.split(","):
        rng = random.Random(f"{args.seed}-{lang}")
        st, lost = run_lang(args, lang, src, rng)
        for k, c in st.items():
            total[k].update(c)

        def f(lab, what, st=st):
            c = st.get(lab)
            if not c or not c["n"]:
                return "–"
            return f"{c[what] / c['n']:.3f} ({c['n']})"
        row = [f("clean", "kept"), f("clean2", "kept"), f("clean_unique", "kept"), f("clean", "intact"), f("noise", "removed"), f("wrong_lang", "removed"), f("boilerplate", "removed"),
               f("html", "intact"), f("mojibake", "intact"), f("exact_dup", "removed"), f("near_dup", "removed"),
               f("url_only", "removed"), f("number_only", "removed")]
        print(f"| {lang} | " + " | ".join(row) + " |", flush=True)
        for t in lost[: args.show_lost]:
            print(f"    lost {lang}: {t[:140]}", file=sys.stderr)

    def g(lab, what):
        c = total[lab]
        return f"{c[what] / c['n']:.3f}" if c["n"] else "–"
    print("| **all** | " + " | ".join([g("clean", "kept"), g("clean2", "kept"), g("clean_unique", "kept"), g("clean", "intact"), g("noise", "removed"), g("wrong_lang", "removed"), g("boilerplate", "removed"),
                                       g("html", "intact"), g("mojibake", "intact"), g("exact_dup", "removed"), g("near_dup", "removed"),
                                       g("url_only", "removed"), g("number_only", "removed")]) + " |")


if __name__ == "__main__":
    main()
