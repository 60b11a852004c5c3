"""In-process throughput of interleaved reasoning: one goal at a time against batches, on the same test goals.

    python benchmarks/decoding_throughput.py [--data runs/corpus] [--goals 64] [--batch 16] [--bundle DIR]
                                             [--verdict rule|model] [--threads 2] [--device auto|cpu|cuda|mps]
                                             [--out FILE.json]

Goals are test-split captions of DATA (a corpus from `irgmotion data synth`), seeded as `irgmotion bench`
draws them. Each setting runs once after a warm-up goal; prints goals per second, user and system CPU time
(system time counts the page faults of memory that decoding allocates and frees), the speed-up over one goal at a
time, and how many traces came out identical token for token (greedy decoding: all should; on a GPU in bf16, rows
decoded together may round differently from a row alone). Batch 1 gives the latency of one goal.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from irgmotion.data.humanml3d import MotionTextDataset  # noqa: E402
from irgmotion.devices import DeviceError, describe_device, resolve_device  # noqa: E402
from irgmotion.reason.bundle import load_bundle  # noqa: E402
from irgmotion.reason.decoding import DecodeOptions  # noqa: E402


def test_goals(data: str, n: int, seed: int = 0) -> list[str]:
    split = MotionTextDataset(data, "test", normalize=False)
    rng = random.Random(seed)
    clips = list(split.clips)
    rng.shuffle(clips)
    return [rng.choice(c.texts).caption for c in clips[:n]]


def run(reasoner, goals: list[str], batch: int, max_new_tokens: int) -> tuple[list[str], dict]:
    opts = DecodeOptions(max_new_tokens=max_new_tokens, batch_size=batch)
    before, started = os.times(), time.perf_counter()
    texts = [r.text for r in reasoner.interleaved(goals, opts)]  # up to `batch` traces decode at once
    wall = time.perf_counter() - started
    after = os.times()
    return texts, {"wall": wall, "user": after.user - before.user, "system": after.system - before.system}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="runs/corpus")
    ap.add_argument("--bundle", default=None, help="bundle directory (default: the embedded bundle)")
    ap.add_argument("--goals", type=int, default=64)
    ap.add_argument("--batch", type=int, action="append", help="batch sizes to compare with 1 (default 16)")
    ap.add_argument("--verdict", default=None, choices=("rule", "model"))
    ap.add_argument("--max-new-tokens", type=int, default=1400)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="auto", help="auto (cuda, else mps, else cpu), cpu, cuda or mps")
    ap.add_argument("--out", default=None, help="also write the figures to this JSON file")
    a = ap.parse_args()
    if not Path(a.data, "test.txt").is_file():
        sys.exit(f"--data {a.data}: no test split there; build a corpus with `irgmotion data synth --out {a.data}`")
    try:
        device = resolve_device(a.device)
    except DeviceError as exc:
        sys.exit(f"error: --device: {exc}")
    torch.set_num_threads(a.threads)
    reasoner = load_bundle(a.bundle, device=device).reasoner(verdict=a.verdict)
    goals = test_goals(a.data, a.goals)
    run(reasoner, goals[:1], 1, a.max_new_tokens)  # warm-up: first-call allocations and lazy imports
    base_texts, base = run(reasoner, goals, 1, a.max_new_tokens)
    where = describe_device(device)
    print(f"{len(goals)} goals, {reasoner.verdict} verdict, {where}")
    print(f"batch  1: {len(goals) / base['wall']:.2f} goals/s, {base['wall'] / len(goals):.3f} s per goal  "
          f"(wall {base['wall']:.1f} s, user {base['user']:.1f} s, system {base['system']:.1f} s)")
    report = {"goals": len(goals), "verdict": reasoner.verdict, "device": where, "max_new_tokens": a.max_new_tokens,
              "batches": {"1": {"goals_per_second": len(goals) / base["wall"],
                                "seconds_per_goal": base["wall"] / len(goals), **base}}}
    for b in a.batch or [16]:
        texts, t = run(reasoner, goals, b, a.max_new_tokens)
        same = sum(x == y for x, y in zip(texts, base_texts))
        print(f"batch {b:2d}: {len(goals) / t['wall']:.2f} goals/s  (wall {t['wall']:.1f} s, user {t['user']:.1f} s, "
              f"system {t['system']:.1f} s = {100 * t['system'] / max(t['user'], 1e-9):.0f}% of user)  "
              f"speed-up {base['wall'] / t['wall']:.2f}x  identical traces {same}/{len(goals)}")
        report["batches"][str(b)] = {"goals_per_second": len(goals) / t["wall"], "speed_up": base["wall"] / t["wall"],
                                     "identical_traces": same, **t}
    if a.out:
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        Path(a.out).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
