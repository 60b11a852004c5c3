"""Milliseconds per decoding step of the embedded LLM against the number of rows decoded together.

    python benchmarks/decoding_step_cost.py [--threads 2] [--context 600] [--attention sdpa|eager]

Each setting: a context of CONTEXT tokens per row prefilled into the growing cache (reason/kv_cache.py), then 60
one-token steps; prints the median step and the cost per row. The ratio of one row's step to a full batch's bounds
what batching can gain.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from irgmotion.reason.bundle import load_bundle  # noqa: E402
from irgmotion.reason.kv_cache import growing_cache  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--context", type=int, default=600)
    ap.add_argument("--attention", default=None, choices=("sdpa", "eager"))
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    model = load_bundle().llm.model.eval()
    if a.attention:
        model.set_attn_implementation(a.attention)
    for rows in (1, 4, 8, 16, 32):
        cache = growing_cache(model)
        ids = torch.randint(10, 1000, (rows, a.context))
        mask = torch.ones(rows, a.context, dtype=torch.long)
        times = []
        with torch.no_grad():
            model(input_ids=ids, attention_mask=mask, cache=cache, use_cache=True, logits_to_keep=1)
            for _ in range(60):
                mask = torch.cat([mask, torch.ones(rows, 1, dtype=torch.long)], 1)
                started = time.perf_counter()
                model(input_ids=ids[:, :1], attention_mask=mask, position_ids=mask.sum(-1, keepdim=True) - 1,
                      cache=cache, use_cache=True, logits_to_keep=1)
                times.append(time.perf_counter() - started)
        step = statistics.median(times) * 1000
        print(f"{rows:2d} rows: {step:.2f} ms per step, {step / rows:.2f} ms per row")


if __name__ == "__main__":
    main()
