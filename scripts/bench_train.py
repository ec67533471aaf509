#!/usr/bin/env python3
"""Training throughput: `mavuno pretrain` (tch) vs HF `transformers` (PyTorch), same model and data.

Both sides train CLIMB's small model (RoBERTa pre-LN, 8 layers, hidden 256, 8 heads, FFN 2048,
vocab 8192, untied) with batch 32 x 128 tokens, fp32, on the CPU with the same thread count,
AdamW (lr 5e-4, wd 0.01), linear schedule, clipping at 1.0, 15% masking 80/10/10. The corpus is
a real one (default: Masakhane Swahili raw text) with lines joined so every sequence fills 128
tokens; the Python side tokenizes with the tokenizer.json that the Rust run trained and builds
its model from the Rust run's config.json, so model, vocabulary and data are identical.

Tokens/s counts non-pad input tokens over steps 11-30 (steps 1-10 warm up the allocator).
One difference is deliberate and reported: mavuno runs the vocabulary projection only on the
~15% masked rows, HF's *ForMaskedLM on all rows.

Usage: scripts/bench_train.py [--mavuno target/debug/mavuno] [--threads 2] [--steps 30]
"""
import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path


def make_corpus(src: Path, dst: Path, lines: int, words: int) -> None:
    out, cur = [], []
    for line in src.read_text(encoding="utf-8").splitlines():
        cur.extend(line.split())
        if len(cur) >= words:
            out.append(" ".join(cur))
            cur = []
            if len(out) >= lines:
                break
    dst.write_text("\n".join(out) + "\n", encoding="utf-8")


def run_rust(mavuno: str, corpus: Path, out: Path, threads: int, steps: int) -> float:
    cmd = [mavuno, "pretrain", str(corpus), "-o", str(out), "--size", "small", "--steps", str(steps),
           "--batch-size", "32", "--max-len", "128", "--threads", str(threads), "--vocab-size", "8192",
           "--tokenizer-type", "bpe", "--eval-fraction", "0", "--eval-every", "100000",
           "--checkpoint-every", "100000", "--no-resume", "--device", "cpu", "--warmup", "3"]
    print("+", " ".join(cmd), file=sys.stderr)
    subprocess.run(cmd, check=True)
    rows = [json.loads(l) for l in (out / "metrics.jsonl").read_text().splitlines() if l.strip()]
    windows = [r["tokens_per_s"] for r in rows if r["step"] > 10 and "tokens_per_s" in r]
    return sum(windows) / len(windows)


def run_hf(model_dir: Path, corpus: Path, threads: int, steps: int) -> float:
    import torch
    from tokenizers import Tokenizer
    from transformers import AutoConfig, AutoModelForMaskedLM, get_linear_schedule_with_warmup

    torch.set_num_threads(threads)
    torch.manual_seed(42)
    tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tok.enable_truncation(128)
    pad, mask_id = tok.token_to_id("<pad>"), tok.token_to_id("<mask>")
    vocab = tok.get_vocab_size()
    texts = corpus.read_text(encoding="utf-8").splitlines()
    encs = [e.ids for e in tok.encode_batch(texts)]
    config = AutoConfig.from_pretrained(model_dir)
    model = AutoModelForMaskedLM.from_config(config).train()
    decay = [p for n, p in model.named_parameters() if not (n.endswith("bias") or "LayerNorm" in n or "layer_norm" in n)]
    no_decay = [p for n, p in model.named_parameters() if n.endswith("bias") or "LayerNorm" in n or "layer_norm" in n]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}], lr=5e-4)
    sched = get_linear_schedule_with_warmup(opt, 3, steps)
    g = torch.Generator().manual_seed(0)
    tokens, t_start = 0, None
    for step in range(steps):
        if step == 10:
            tokens, t_start = 0, time.perf_counter()
        idx = torch.randint(len(encs), (32,), generator=g).tolist()
        batch = [encs[i] for i in idx]
        width = max(len(b) for b in batch)
        ids = torch.full((32, width), pad, dtype=torch.long)
        for i, b in enumerate(batch):
            ids[i, : len(b)] = torch.tensor(b)
        attn = (ids != pad).long()
        # DataCollatorForLanguageModeling: 15% selected, 80/10/10 (specials 0-4 never selected).
        labels = ids.clone()
        sel = (torch.rand(ids.shape, generator=g) < 0.15) & (ids > 4)
        labels[~sel] = -100
        r = torch.rand(ids.shape, generator=g)
        inputs = ids.clone()
        inputs[sel & (r < 0.8)] = mask_id
        rnd = sel & (r >= 0.8) & (r < 0.9)
        inputs[rnd] = torch.randint(vocab, ids.shape, generator=g)[rnd]
        loss = model(input_ids=inputs, attention_mask=attn, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        tokens += int(attn.sum())
        if step % 10 == 9:
            print(f"hf step {step + 1} loss {loss.item():.4f}", file=sys.stderr)
    return tokens / (time.perf_counter() - t_start)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mavuno", default=os.environ.get("MAVUNO", "target/debug/mavuno"))
    root = Path(__file__).resolve().parent.parent
    ap.add_argument("--data", default=str(root / "../shared/data/masakhane_raw_text/swa.txt"))
    ap.add_argument("--work", default="/tmp/mavuno-bench-train")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=30)
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    corpus = work / "corpus.txt"
    make_corpus(Path(args.data), corpus, lines=2000, words=160)
    rust = run_rust(args.mavuno, corpus, work / "rust", args.threads, args.steps)
    hf = run_hf(work / "rust", corpus, args.threads, args.steps)
    print(json.dumps({"threads": args.threads, "batch": "32x128", "model": "CLIMB small (pre-LN 8x256, FFN 2048, vocab 8192)",
                      "mavuno_tokens_per_s": round(rust, 1), "transformers_tokens_per_s": round(hf, 1),
                      "ratio": round(rust / hf, 3)}))


if __name__ == "__main__":
    main()
