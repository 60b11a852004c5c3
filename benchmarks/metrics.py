"""Time of a full 20-repeat text-to-motion evaluation of a test split, on 2 threads.

    python benchmarks/metrics.py [--data DIR] [--evaluator DIR ...] [--repeats 20]

The evaluation is that of `irgmotion eval`: embed every caption and ground-truth
and generated motion of the split once, then 20 repeats of R-precision, FID,
MM-Dist and Diversity. The generated motions here are the ground truth plus noise
(the cost does not depend on what they are). Without --evaluator, untrained
evaluators of the default presets are timed (the same cost as trained ones);
without --data, a toy dataset of 2,000 clips (400 in the test split) is written to
a temporary folder. Prints the figures and writes benchmarks/results/metrics.json.
"""
import argparse
import json
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from irgmotion.evaluator import GuoConfig, GuoEvaluator, TMRConfig, TMREvaluator, load_evaluator  # noqa: E402
from irgmotion.evaluator.protocol import Generated, SplitScorer, load_split  # noqa: E402
from irgmotion.evaluator.text import PosTagger, WordVectors  # noqa: E402
from irgmotion.evaluator.toy import write_toy_dataset  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "metrics.json"


def untrained(kind, normalizer):
    torch.manual_seed(0)
    if kind == "guo":
        words = ["unk", "sos", "eos"] + [f"w{i}" for i in range(1000)]
        vectors = WordVectors(words, np.random.default_rng(0).normal(size=(len(words), 50)))
        return GuoEvaluator(GuoConfig.preset("default", normalizer.dim), normalizer, vectors, PosTagger())
    return TMREvaluator(TMRConfig.preset("default", normalizer.dim), normalizer)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=None)
    ap.add_argument("--split", default="test")
    ap.add_argument("--evaluator", nargs="+", default=None)
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=str(RESULTS))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    tmp = None
    data = args.data
    if data is None:
        tmp = tempfile.TemporaryDirectory()
        data = write_toy_dataset(Path(tmp.name) / "toy", n_clips=2000, seed=0, split_fractions=(0.7, 0.1))
    split = load_split(data, args.split)
    rng = np.random.default_rng(0)
    generated = Generated("noisy", {c.id: c.motion + rng.normal(0, 0.05, c.motion.shape).astype(np.float32)
                                    for c in split.clips}, {}, {})
    if args.evaluator:
        evaluators = [(Path(p).name, load_evaluator(p)) for p in args.evaluator]
    else:
        evaluators = [(f"untrained {k} (default preset)", untrained(k, split_normalizer(data))) for k in ("guo", "tmr")]
    results = []
    for name, ev in evaluators:
        if ev.kind == "tmr":  # load the sentence encoder outside the timed region, as a warm process would
            ev.embed_texts(["warm up"])
        t0 = time.perf_counter()
        scorer = SplitScorer(ev, split, [generated])
        t1 = time.perf_counter()
        rows = scorer.run(args.repeats, seed=0)
        t2 = time.perf_counter()
        r = {"evaluator": name, "kind": ev.kind, "clips": len(scorer.ids),
             "captions": int(scorer.n_caps.sum()), "repeats": args.repeats,
             "embed_seconds": round(t1 - t0, 3), "repeats_seconds": round(t2 - t1, 3),
             "total_seconds": round(t2 - t0, 3), "gt_top1": rows["Ground truth"]["top1"]["mean"]}
        results.append(r)
        print(f"{name}: {r['clips']} clips, {r['captions']} captions, {args.repeats} repeats: "
              f"embedding {r['embed_seconds']:.2f} s + repeats {r['repeats_seconds']:.2f} s = "
              f"{r['total_seconds']:.2f} s ({args.threads} threads)")
    out = {"data": str(args.data or "toy dataset, 2000 clips"), "split": args.split, "threads": args.threads,
           "results": results}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {args.out}")
    if tmp is not None:
        tmp.cleanup()


def split_normalizer(data):
    from irgmotion.motion.normalize import Normalizer
    return Normalizer.from_dir(data)


if __name__ == "__main__":
    main()
