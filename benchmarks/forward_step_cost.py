"""One decoding step of the bundle's LLM through the inference-only forward (llm/llama_inference.py) and through
transformers' LlamaForCausalLM, side by side on the same inputs (a 400-token left-padded context, then 100 cached
greedy steps), at 1 and 16 rows; each pair is run twice.

    python benchmarks/forward_step_cost.py [--bundle-llm DIR]
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM

from irgmotion.llm.llama_inference import LlamaInference
from irgmotion.reason.kv_cache import growing_cache

LLM = Path(__file__).resolve().parents[1] / "irgmotion" / "assets" / "bundle" / "llm"


def ms_per_step(model, rows: int, context: int = 400, steps: int = 100) -> float:
    torch.manual_seed(0)
    ids = torch.randint(3, 1800, (rows, context))
    mask = torch.ones(rows, context, dtype=torch.long)
    mask[1:, :20] = 0
    cache = growing_cache(model)
    with torch.no_grad():
        pos = (mask.cumsum(-1) - 1).clamp(min=0)
        logits = model(input_ids=ids, attention_mask=mask, position_ids=pos, cache=cache, use_cache=True,
                       logits_to_keep=1).logits
        started = time.perf_counter()
        for _ in range(steps):
            nxt = logits[:, -1].argmax(-1, keepdim=True)
            mask, pos = torch.cat([mask, torch.ones_like(nxt)], 1), pos[:, -1:] + 1
            logits = model(input_ids=nxt, attention_mask=mask, position_ids=pos, cache=cache, use_cache=True,
                           logits_to_keep=1).logits
    return (time.perf_counter() - started) / steps * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundle-llm", type=Path, default=LLM)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    models = {"transformers": AutoModelForCausalLM.from_pretrained(str(args.bundle_llm)).eval(),
              "inference-only": LlamaInference.from_pretrained(args.bundle_llm)}
    for rows in (1, 16):
        for _ in range(2):
            for name, model in models.items():
                print(f"{rows:2d} rows, {name}: {ms_per_step(model, rows):.2f} ms/step")


if __name__ == "__main__":
    main()
