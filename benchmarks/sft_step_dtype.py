"""Seconds per training step of the tiny MotionLLM in float32 and under bf16 autocast on this CPU.

bf16 pays only where the CPU computes it natively (AVX512-BF16 or AMX); elsewhere it is emulated. The tiny
pipeline preset trains in float32 because of what this prints on an AVX2-only machine.

    python benchmarks/sft_step_dtype.py [--steps 3] [--batch 16] [--length 768] [--threads 2]
"""
import argparse
import statistics
import time

import torch

from irgmotion.llm.model import MotionLLM, get_preset


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--length", type=int, default=768)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    llm = MotionLLM.create(get_preset("tiny"), 256, ["a person walks forward and waves"] * 10)
    model = llm.model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    ids = torch.randint(0, model.config.vocab_size, (a.batch, a.length))
    for bf16 in (False, True):
        times = []
        for _ in range(a.steps):
            started = time.perf_counter()
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                loss = model(input_ids=ids, labels=ids).loss
            loss.backward()
            opt.step()
            opt.zero_grad()
            times.append(time.perf_counter() - started)
        print(f"{'bf16 autocast' if bf16 else 'float32'}: median {statistics.median(times):.2f} s/step "
              f"over {a.steps} steps of {a.batch} x {a.length} tokens ({a.threads} threads)", flush=True)


if __name__ == "__main__":
    main()
