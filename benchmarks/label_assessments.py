"""How well caption-only assessments agree with the truth that labels give, on labelled real mocap.

    python benchmarks/label_assessments.py --data runs/mocap/bandai [--pairs 3000] [--comparer-from FILE]

Draws (goal, candidate) pairs of train clips (seeded; a third with the same content label, so that close pairs
are common), takes the level the labels imply (`LabelComparer`: 3 same labels, 2 another style only, 1 another
content sharing a word, 0 otherwise) and the level the caption comparer gives from the two captions, and prints
the confusion matrix and the agreement. `--comparer-from` loads `CaptionComparer` from another version of
irgmotion/engine/annotators.py (e.g. `git show main:irgmotion/engine/annotators.py > old.py`), to measure what
a change did. Writes benchmarks/results/label_assessments.json (or --out).
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import random
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from irgmotion.data.bvh_dataset import read_clip_labels  # noqa: E402
from irgmotion.data.humanml3d import MotionTextDataset  # noqa: E402
from irgmotion.engine.annotators import CaptionComparer, LabelComparer  # noqa: E402


def load_comparer(path: str | None):
    if path is None:
        return CaptionComparer
    spec = importlib.util.spec_from_file_location("irgmotion.engine.annotators_under_test", path)
    module = importlib.util.module_from_spec(spec)
    module.__package__ = "irgmotion.engine"  # its relative imports resolve to this tree's modules
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module.CaptionComparer


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True, help="a dataset imported with labels (`irgmotion data import-bvh`)")
    ap.add_argument("--pairs", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--comparer-from", default=None)
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "label_assessments.json"))
    args = ap.parse_args()
    labels = read_clip_labels(args.data)
    clips = [c for c in MotionTextDataset(args.data, "train", normalize=False, min_len=1, max_len=10**6).clips
             if c.id in labels]
    if len(clips) < 2:
        print(f"error: {args.data}: fewer than two labelled train clips", file=sys.stderr)
        return 2
    rng = random.Random(args.seed)
    by_content: dict[str, list] = {}
    for c in clips:
        by_content.setdefault(labels[c.id]["content"], []).append(c)
    truth_of, caption_of = LabelComparer(args.seed), load_comparer(args.comparer_from)(args.seed)
    confusion = np.zeros((4, 4), dtype=int)  # rows: label level, columns: caption level
    for k in range(args.pairs):
        goal = rng.choice(clips)
        pool = by_content[labels[goal.id]["content"]] if k % 3 == 0 else clips
        cand = rng.choice([c for c in pool if c.id != goal.id] or clips)
        g, c = rng.choice(goal.texts), rng.choice(cand.texts)
        truth = truth_of(g.caption, c.caption, labels[goal.id], labels[cand.id]).level
        got = caption_of(g.caption, c.caption, list(g.tokens), list(c.tokens)).level
        confusion[truth, got] += 1
    agree = float(np.trace(confusion) / confusion.sum())
    within_one = float(sum(confusion[i, j] for i in range(4) for j in range(4) if abs(i - j) <= 1) / confusion.sum())
    print(f"{args.pairs} pairs of {len(clips)} labelled train clips ({args.comparer_from or 'this tree'}'s "
          f"CaptionComparer against the labels)")
    print("label level \\ caption level:   poor partial close perfect")
    for i, name in enumerate(("poor", "partial", "close", "perfect")):
        print(f"  {name:>8} ({confusion[i].sum():4d} pairs): " + " ".join(f"{v:6d}" for v in confusion[i]))
    print(f"exact agreement {agree:.3f}, within one level {within_one:.3f}")
    result = {"data": args.data, "pairs": args.pairs, "seed": args.seed, "comparer_from": args.comparer_from,
              "confusion": confusion.tolist(), "agreement": agree, "within_one_level": within_one}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
