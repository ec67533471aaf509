#!/usr/bin/env python3
"""HTML main text and WARC input, measured side by side with Python trafilatura.

1. Writes test WARC files with `warcio` (into --dir, default target/bench-web; nothing is
   committed): the 121 pages of ../shared/data/article_extraction_benchmark and the 12
   UDHR pages of ../shared/data/udhr/html as `response` records (with a warcinfo and a
   request record per page, as crawlers write them).
2. Extraction, like for like: Python trafilatura 2.3 (`trafilatura.extract` on each page's
   bytes, its own charset decoding included; CPU time of the calls) against
   `mavuno run configs/examples/bench-extract.toml` (warc_reader -> extract_html -> JSONL,
   one thread) on a WARC that holds exactly the same 121 pages (CPU time of the whole
   process: start, WARC reading, charset decoding, extraction, JSONL writing). Also
   reported: the same run minus the reader alone (configs/examples/bench-warc-read.toml) on
   that WARC, i.e. the CPU of extract_html + the writer; and, labelled as the whole
   pipeline, the run on the 121 pages plus the 12 UDHR pages (the figure earlier sessions
   reported). The rounds (--repeat) interleave the tools, since the machine is shared;
   in each round both tools go over the 121 pages --passes times (trafilatura calls
   `extract` on each page that many times, mavuno reads a WARC holding the pages that many
   times under new URLs), so that a measurement is seconds long, not a tenth of one.
   Score: the benchmark's token-bag metric, whitespace tokens per page,
   precision/recall/F1 per page averaged over the 121 pages. Speed: pages per CPU-second
   (user + sys).
3. WARC throughput on a bigger file (the pages repeated --copies times): `zcat FILE >
   /dev/null` against the reader alone (configs/examples/bench-warc-read.toml), and the
   whole `mavuno clean --lang eng` pipeline (warc_reader -> extract_html -> url_filter ->
   normalize -> split_sentences -> langid -> filter -> dedup -> stats -> writer) with its
   peak RSS, on that file and on one --scale times bigger (memory must stay flat).

Setup (scratch venv, outside the repository):
    python3 -m venv /tmp/venv-web && /tmp/venv-web/bin/pip install 'trafilatura==2.3.*' lxml_html_clean warcio
    cargo build --release --bin mavuno
    /tmp/venv-web/bin/python scripts/bench_extract.py    # --repeat 3, --extract-only, --dir DIR
Needs /usr/bin/time (apt-get install -y time) and zcat.
"""
import argparse
import collections
import gzip
import io
import json
import os
import resource
import shutil
import subprocess
import sys
import time
import uuid


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "..", "shared", "data")
BENCH = os.path.join(DATA, "article_extraction_benchmark")
UDHR = os.path.join(DATA, "udhr", "html")


def load_pages():
    gt = json.load(open(os.path.join(BENCH, "ground-truth.json")))
    pages = []
    for key in sorted(gt):
        with gzip.open(os.path.join(BENCH, "html", key + ".html.gz")) as f:
            pages.append((key, gt[key]["url"], f.read()))
    udhr = []
    for name in sorted(os.listdir(UDHR)):
        with open(os.path.join(UDHR, name), "rb") as f:
            code = name.rsplit(".", 1)[0]
            udhr.append((code, f"https://udhr.invalid/{code}.html", f.read()))
    return gt, pages, udhr


def write_warc(path, pages, copies=1):
    """One gzip member per record, as Common Crawl writes them."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    with open(path, "wb") as out:
        w = WARCWriter(out, gzip=True)
        w.write_record(w.create_warcinfo_record(os.path.basename(path), {"software": "bench_extract.py"}))
        for c in range(copies):
            for key, url, html in pages:
                u = url if c == 0 else f"{url}#copy{c}"
                req = StatusAndHeaders("GET / HTTP/1.1", [("Host", "bench.invalid")], protocol="HTTP/1.1")
                w.write_record(w.create_warc_record(u, "request", http_headers=req))
                http = StatusAndHeaders("200 OK", [("Content-Type", "text/html"), ("Content-Length", str(len(html)))], protocol="HTTP/1.1")
                rid = f"<urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, u)}>"
                rec = w.create_warc_record(u, "response", payload=io.BytesIO(html), http_headers=http,
                                           warc_headers_dict={"WARC-Record-ID": rid})
                w.write_record(rec)


def f1(true, pred):
    t, p = collections.Counter(true.split()), collections.Counter(pred.split())
    tp, nt, np_ = sum((t & p).values()), sum(t.values()), sum(p.values())
    if nt == 0 and np_ == 0:
        return 1.0, 1.0, 1.0
    if tp == 0:
        return 0.0, 0.0, 0.0
    prec, rec = tp / np_, tp / nt
    return prec, rec, 2 * prec * rec / (prec + rec)


def score(gt, pred):
    s = [f1(gt[k]["articleBody"], pred.get(k, "")) for k in gt]
    n = len(s)
    return tuple(sum(x[i] for x in s) / n for i in range(3))


def timed(cmd, **kw):
    """Runs cmd under /usr/bin/time: (wall s, CPU s, peak RSS MiB)."""
    tf = os.path.join(ARGS.dir, "time.txt")
    t0 = time.time()
    subprocess.run(["/usr/bin/time", "-f", "%U %S %M", "-o", tf] + cmd, check=True, **kw)
    wall = time.time() - t0
    u, s, m = open(tf).read().split()[-3:]
    return wall, float(u) + float(s), int(m) / 1024


def mavuno(*args):
    return [ARGS.mavuno, *args]


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def run_extract(warc, runs):
    """mavuno warc_reader -> extract_html -> JSONL on `warc`: (CPU s, records by URL)."""
    shutil.rmtree(runs, ignore_errors=True)
    _, cpu, _ = timed(mavuno("run", os.path.join(ROOT, "configs/examples/bench-extract.toml"), "--quiet",
                             "--workdir", runs, "--set", f'stages.pages.paths=["{warc}"]'))
    recs = {}
    with open(os.path.join(runs, "bench-extract", "extracted.jsonl")) as f:
        for line in f:
            r = json.loads(line)
            recs[r["url"]] = r
    return cpu, recs


def run_reader(warc, runs):
    """mavuno warc_reader alone on `warc`: CPU s."""
    shutil.rmtree(runs, ignore_errors=True)
    _, cpu, _ = timed(mavuno("run", os.path.join(ROOT, "configs/examples/bench-warc-read.toml"), "--quiet",
                             "--workdir", runs, "--set", f'stages.pages.paths=["{warc}"]'))
    return cpu


def main():
    os.makedirs(ARGS.dir, exist_ok=True)
    gt, pages, udhr = load_pages()
    by_url = {url: key for key, url, _ in pages}
    # Like for like: exactly the pages trafilatura gets. Whole pipeline: plus the UDHR pages.
    same = os.path.join(ARGS.dir, f"bench121x{ARGS.passes}.warc.gz")
    write_warc(same, pages, copies=ARGS.passes)
    bench = os.path.join(ARGS.dir, "bench.warc.gz")
    write_warc(bench, pages + udhr)
    runs = os.path.join(ARGS.dir, "runs")
    import trafilatura

    n, n_all = len(pages), len(pages) + len(udhr)
    k = ARGS.passes
    rounds = []
    for _ in range(ARGS.repeat):
        # Python trafilatura on the page bytes.
        pred_t = {}
        t0 = time.process_time()
        for _ in range(k):
            for key, _, html in pages:
                pred_t[key] = trafilatura.extract(html) or ""
        cpu_t = time.process_time() - t0
        cpu_m, recs = run_extract(same, runs)
        pred_m = {by_url[u]: r["text"] for u, r in recs.items() if u in by_url}
        cpu_r = run_reader(same, runs)
        cpu_all, recs_all = run_extract(bench, runs)
        rounds.append((cpu_t, cpu_m, cpu_r, cpu_all))
    udhr_m = {u: r for u, r in recs_all.items() if u not in by_url}
    pred_all = {by_url[u]: r["text"] for u, r in recs_all.items() if u in by_url}
    if pred_all != pred_m:
        sys.exit("bench_extract: the 121 pages gave different text with and without the UDHR pages")

    pt, rt, ft = score(gt, pred_t)
    pm, rm, fm = score(gt, pred_m)
    print(f"extraction, {n} benchmark pages (token-bag P / R / F1 averaged per page):")
    print(f"  trafilatura {trafilatura.__version__:8} P {pt:.3f} R {rt:.3f} F1 {ft:.3f}")
    print(f"  mavuno               P {pm:.3f} R {rm:.3f} F1 {fm:.3f}  ({len(pred_m)} pages with text)")
    print(f"speed, pages per CPU-second (user + sys), {ARGS.repeat} interleaved rounds, "
          f"{k} pass(es) over the pages per round:")
    print(f"  (A) trafilatura.extract calls, {k} x 121 pages")
    print(f"  (B) mavuno whole process, {k} x 121 pages: start + WARC read + decode + extract_html + JSONL")
    print("  (C) mavuno extract_html + JSONL writer: (B) minus the reader alone on the same WARC")
    print(f"  (D) mavuno whole process on {n_all} pages (121 + {len(udhr)} UDHR), counted as {n} pages "
          "(the figure of earlier sessions)")
    print("  round |    (A) |    (B)  B/A |    (C)  C/A |    (D)  D/A | CPU-s A, B, reader, D")
    for i, (cpu_t, cpu_m, cpu_r, cpu_all) in enumerate(rounds, 1):
        a, b = k * n / cpu_t, k * n / cpu_m
        c = k * n / (cpu_m - cpu_r) if cpu_m > cpu_r else float("inf")
        d = n / cpu_all
        print(f"  {i:5} | {a:6.1f} | {b:6.1f} {b / a:4.1f}x | {c:6.1f} {c / a:4.1f}x | {d:6.1f} {d / a:4.1f}x | "
              f"{cpu_t:.2f}, {cpu_m:.2f}, {cpu_r:.2f}, {cpu_all:.2f}")
    ratios = [t / m for t, m, _, _ in rounds]
    ratios_c = [t / (m - r) for t, m, r, _ in rounds if m > r]
    # (C) is the work (A) measures: page bytes to text. (B) adds what (A) leaves out: process
    # start, gunzip and WARC parsing.
    if ratios_c:
        print(f"  extraction ratio (C/A): median {median(ratios_c):.1f}x, min {min(ratios_c):.1f}x, "
              f"max {max(ratios_c):.1f}x")
    print(f"  whole-process ratio, same pages (B/A): median {median(ratios):.1f}x, min {min(ratios):.1f}x, "
          f"max {max(ratios):.1f}x")
    langs = ", ".join(f"{r['url'].rsplit('/', 1)[1][:-5]}={r.get('html_lang', '?')}" for r in udhr_m.values())
    print(f"  UDHR pages with text: {len(udhr_m)}/{len(udhr)} ({langs})")
    if ARGS.extract_only:
        return

    # WARC throughput.
    big = os.path.join(ARGS.dir, "big.warc.gz")
    write_warc(big, pages + udhr, copies=ARGS.copies)
    raw = 0
    with gzip.open(big) as f:
        while chunk := f.read(1 << 24):
            raw += len(chunk)
    wall_z, cpu_z, _ = timed(["sh", "-c", f"zcat '{big}' > /dev/null"])
    shutil.rmtree(runs, ignore_errors=True)
    wall_r, cpu_r, rss_r = timed(mavuno("run", os.path.join(ROOT, "configs/examples/bench-warc-read.toml"), "--quiet",
                                        "--workdir", runs, "--set", f'stages.pages.paths=["{big}"]'))
    mb = raw / 1e6
    print(f"WARC throughput, {os.path.getsize(big) / 1e6:.0f} MB gzip / {mb:.0f} MB WARC, {ARGS.copies * (len(pages) + len(udhr))} pages:")
    print(f"  zcat > /dev/null       {wall_z:6.2f} s wall {mb / wall_z:6.0f} MB/s | {cpu_z:6.2f} CPU-s")
    print(f"  mavuno warc_reader     {wall_r:6.2f} s wall {mb / wall_r:6.0f} MB/s | {cpu_r:6.2f} CPU-s | "
          f"{(mb / wall_r) / (mb / wall_z):.2f}x zcat speed | peak RSS {rss_r:.0f} MiB")
    def clean(path, copies):
        out = os.path.join(ARGS.dir, "clean-eng.jsonl")
        if os.path.exists(out):
            os.remove(out)
        shutil.rmtree(runs, ignore_errors=True)
        wall_c, cpu_c, rss_c = timed(mavuno("clean", "--lang", "eng", path, "-o", out, "--quiet", "--workdir", runs,
                                            "--threads", str(ARGS.threads)))
        kept = sum(1 for _ in open(out))
        n_pages = copies * (len(pages) + len(udhr))
        print(f"  mavuno clean --lang eng, {n_pages} pages, {os.path.getsize(path) / 1e6:.0f} MB gzip "
              f"(warc -> extract_html -> langid -> filter -> dedup, {ARGS.threads} threads): "
              f"{wall_c:.2f} s wall, {cpu_c:.2f} CPU-s, {n_pages / cpu_c:.0f} pages/CPU-s, "
              f"peak RSS {rss_c:.0f} MiB, {kept} sentences kept")
        return rss_c

    rss_1 = clean(big, ARGS.copies)
    if ARGS.scale > 1:
        # Memory must not grow with the input: the same pipeline on a file ARGS.scale times
        # bigger (the repeated pages have new URLs, so the reader and extractor see them all).
        bigger = os.path.join(ARGS.dir, "bigger.warc.gz")
        write_warc(bigger, pages + udhr, copies=ARGS.copies * ARGS.scale)
        rss_n = clean(bigger, ARGS.copies * ARGS.scale)
        print(f"  peak RSS {ARGS.scale}x input / 1x: {rss_n:.0f} / {rss_1:.0f} MiB = {rss_n / rss_1:.2f}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mavuno", default=os.environ.get("MAVUNO", os.path.join(ROOT, "target/release/mavuno")))
    ap.add_argument("--dir", default=os.path.join(ROOT, "target", "bench-web"))
    ap.add_argument("--copies", type=int, default=10, help="repeats of the pages in the throughput WARC")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--scale", type=int, default=4,
                    help="also run the clean pipeline on a WARC this many times bigger, for peak RSS (1: skip)")
    ap.add_argument("--repeat", type=int, default=3, help="rounds of the extraction comparison")
    ap.add_argument("--passes", type=int, default=5, help="passes over the 121 pages per tool and round")
    ap.add_argument("--extract-only", action="store_true", help="skip the WARC throughput part")
    ap.add_argument("--score", metavar="PRED.json",
                    help="only score a {page id: text} JSON file (scripts/extract_candidates) and exit")
    ARGS = ap.parse_args()
    if ARGS.score:
        gt = json.load(open(os.path.join(BENCH, "ground-truth.json")))
        p, r, f = score(gt, json.load(open(ARGS.score)))
        print(f"{ARGS.score}: P {p:.3f} R {r:.3f} F1 {f:.3f} ({len(gt)} pages)")
        sys.exit(0)
    if not os.path.exists(ARGS.mavuno):
        sys.exit(f"bench_extract: {ARGS.mavuno} not found (cargo build --release --bin mavuno)")
    main()
