"""The model as a reward model: `MotionReasoner.assess` on held-out (text, motion) pairs, batched.

    python benchmarks/assess_pairs.py --engine-test runs/engine_test [--pairs 1000] [--bundle DIR]

The pairs are those the data engine built on the corpus's test split (`irgmotion build all --data runs/corpus
--split test --limit 200 --out runs/engine_test --assessment-style aligned`): a goal caption, a candidate motion
(ranked retrieval or a controlled near-miss) and the engine's exact alignment level. The motions go in as
features, as a user's files would. Printed and written to benchmarks/results/assess_pairs.json:
- wall time and pairs per second of one batched `assess` call;
- level agreement with the engine's level (95% Wilson interval), per level, and the confusion;
- the score (level / 3) against the bundle's evaluator: Spearman correlation of the score with the evaluator's
  text-motion cosine, next to the same correlation for the engine's true level, so the reward can be compared
  with the evaluator a paper would report."""
from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from irgmotion import MotionReasoner
from irgmotion.bench.stage1 import check_engine_build, level_confusion, wilson_interval
from irgmotion.data.annotations import read_annotations
from irgmotion.tokenizer.catalog import MotionCatalog

REPO = Path(__file__).resolve().parents[1]


def held_out(engine_test: Path, vq, n: int, seed: int):
    entries = read_annotations(engine_test / "stage1" / "TM2T_assessment_analysis_annots.json")
    roots = json.loads((engine_test / "engine.json").read_text())["motion_roots"]
    catalog = MotionCatalog(roots, vq)
    cands = [c for e in entries for c in e.candidates]
    random.Random(seed).shuffle(cands)
    cands = cands[:n]
    return ([c.text["<Goal_Caption>"][0] for c in cands], [catalog.features(c.motions["<Generated_Motion>"])
                                                          for c in cands], [c.meta["level"] for c in cands])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--engine-test", type=Path, required=True)
    ap.add_argument("--pairs", type=int, default=1000)
    ap.add_argument("--bundle", type=Path, default=None)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--perception", choices=("describer", "model"), default=None,
                    help="who writes what each motion shows (default: the bundle's describer where it has one)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "assess_pairs.json")
    args = ap.parse_args()
    check_engine_build(args.engine_test)
    reasoner = MotionReasoner.from_pretrained(args.bundle, perception=args.perception)
    reasoner.batch_size = args.batch_size
    texts, motions, truth = held_out(args.engine_test, reasoner.bundle.vq, args.pairs, args.seed)
    started = time.perf_counter()
    rows = reasoner.assess(texts, motions)
    seconds = time.perf_counter() - started
    levels = [r["level"] for r in rows]
    hits = sum(a == b for a, b in zip(levels, truth))
    sims = reasoner.similarity(texts, motions)
    cosine = [s["similarity"] for s in sims] if sims else None
    scored = [(r["score"], c, t) for r, c, t in zip(rows, cosine or [None] * len(rows), truth) if r["score"] is not None]
    report = {
        "pairs": len(rows), "verdict": reasoner.verdict, "perception": reasoner.reasoner.perception,
        "batch_size": args.batch_size,
        "seconds": round(seconds, 2), "pairs_per_second": round(len(rows) / seconds, 2),
        "level_agreement": hits / len(rows), "level_agreement_ci95": wilson_interval(hits, len(rows)),
        "no_level": sum(lv is None for lv in levels),
        "per_level_agreement": {str(k): float(np.mean([a == b for a, b in zip(levels, truth) if b == k]))
                                for k in range(4) if k in truth},
        "confusion": level_confusion(levels, truth),
        "score_mapping": "score = level / 3 (poor 0, partial 1/3, close 2/3, perfect 1); None when no level",
    }
    if cosine:
        report["evaluator"] = sims[0]["evaluator"]
        report["spearman_score_vs_evaluator_cosine"] = float(spearmanr([s for s, _, _ in scored],
                                                                        [c for _, c, _ in scored]).statistic)
        report["spearman_true_level_vs_evaluator_cosine"] = float(spearmanr(truth, cosine).statistic)
        report["spearman_score_vs_true_level"] = float(spearmanr([s for s, _, _ in scored],
                                                                  [t for _, _, t in scored]).statistic)
    lo, hi = report["level_agreement_ci95"]
    print(f"{len(rows)} pairs assessed in {seconds:.1f} s ({report['pairs_per_second']} pairs/s, batch "
          f"{args.batch_size}, {reasoner.verdict} verdict, perception: {reasoner.reasoner.perception})")
    print(f"level agreement with the engine's level: {report['level_agreement']:.3f} (95% CI {lo:.3f}-{hi:.3f}); "
          f"no level stated: {report['no_level']}")
    print("per true level: " + ", ".join(f"{k}: {v:.3f}" for k, v in report["per_level_agreement"].items()))
    if cosine:
        print(f"Spearman vs the {report['evaluator']} evaluator's cosine: score {report['spearman_score_vs_evaluator_cosine']:.3f}, "
              f"true level {report['spearman_true_level_vs_evaluator_cosine']:.3f}; score vs true level "
              f"{report['spearman_score_vs_true_level']:.3f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
