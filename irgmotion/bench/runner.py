"""`irgmotion bench`: the system's benchmark on a dataset's test split.

Rows (each one motion per test clip, generated from one caption of it):
ground truth; stage-1 direct generation; stage-1 composed pipeline; stage-2
first motion; stage-2 final motion; stage-2 with a random first motion;
a random-motion floor. Every row is scored under each evaluator with the
20-repeat protocol (mean and 95% CI), plus mean generations per trace and
generation latency/throughput.
"""
from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..data.humanml3d import MotionTextDataset
from ..evaluator import load_evaluator
from ..evaluator.protocol import Generated, evaluate
from ..fileio import write_text
from ..llm.model import MotionLLM
from ..reason.decoding import DecodeOptions
from ..reason.pipeline import Reasoner

COLUMNS = (("top1", "R@1"), ("top2", "R@2"), ("top3", "R@3"), ("fid", "FID"), ("mm_dist", "MM-Dist"),
           ("diversity", "Diversity"))


@dataclass
class BenchConfig:
    data: str
    bundle: str
    evaluators: list[str]
    stage1: str | None = None
    extra_llms: dict | None = None  # name -> MotionLLM dir (e.g. a stage-3 model)
    limit: int | None = 320
    repeats: int = 20
    batch_size: int = 32
    max_new_tokens: int = 1400  # six rounds of ~210 tokens (restate, describe, check, judge) + analysis
    max_rounds: int = 6
    seed: int = 0
    out: str = "docs/results"
    bundle_rows: bool = True  # the stage-2 rows of the bundle's own LLM (and the robustness and random rows)


def _motions(reasoner: Reasoner, results, attr: str) -> tuple[dict, list[int]]:
    """id -> features for one attribute (first/final motion) of reasoning results; and generation counts."""
    feats, counts = {}, []
    for cid, r in results:
        ids = getattr(r, attr)
        feats[cid] = reasoner.decode(ids) if ids else np.zeros((40, reasoner.vq.config.input_dim), np.float32)
        counts.append(r.trace.n_generations)
    return feats, counts


def _bundle_rows(cfg, bundle, s2, ids, captions, opts, rows, timed, log) -> dict:
    """Stage-2 first/final motion, the random-first-motion test and the random floor."""
    log(f"stage 2: interleaved reasoning on {len(ids)} goals")
    res, secs = timed(lambda: s2.interleaved(captions, opts, cfg.max_rounds))
    pairs = list(zip(ids, res))
    first, counts = _motions(s2, pairs, "first_motion")
    final, _ = _motions(s2, pairs, "final_motion")
    latency = {"stage-2 trace": {"seconds_per_goal": secs / len(ids), "goals_per_second": len(ids) / secs,
                                 "tokens_per_second": sum(len(bundle.llm.tokenizer(r.text)["input_ids"]) for r in res) / secs}}
    rows["Stage-2 first motion"] = (first, counts, secs)
    rows["Stage-2 final motion"] = (final, counts, secs)
    pool = [bundle.vq.encode(c.motion)[0].tolist() for c in MotionTextDataset(cfg.data, "train", normalize=False,
                                                                              limit=500).clips]
    log("stage 2 with a random first motion")
    randoms = s2.random_motions(len(ids), pool, cfg.seed)
    res, secs = timed(lambda: s2.robustness(captions, randoms, opts, cfg.max_rounds))
    feats, counts = _motions(s2, list(zip(ids, res)), "final_motion")
    rows["Stage-2 random first motion"] = (feats, counts, secs)
    rows["Random motion (floor)"] = ({cid: s2.decode(m) for cid, m in zip(ids, randoms)}, None, 0.0)
    return latency


def run_bench(cfg: BenchConfig, log=print) -> dict:
    from ..reason.bundle import load_bundle
    bundle = load_bundle(cfg.bundle)
    split = MotionTextDataset(cfg.data, "test", normalize=False)
    rng = random.Random(cfg.seed)
    clips = list(split.clips)
    rng.shuffle(clips)
    if cfg.limit:
        clips = clips[: cfg.limit]
    split.clips = clips
    goals = [(c.id, rng.choice(c.texts).caption) for c in clips]
    ids, captions = [g[0] for g in goals], [g[1] for g in goals]
    opts = DecodeOptions(max_new_tokens=cfg.max_new_tokens, batch_size=cfg.batch_size)
    rows: dict[str, tuple[dict, list[int] | None, float]] = {}

    def timed(fn):
        t = time.perf_counter()
        out = fn()
        return out, time.perf_counter() - t

    s2 = Reasoner(bundle.llm, bundle.vq)
    latency = {}
    if cfg.bundle_rows:
        latency.update(_bundle_rows(cfg, bundle, s2, ids, captions, opts, rows, timed, log))
    if cfg.stage1:
        s1 = Reasoner(MotionLLM.from_pretrained(cfg.stage1), bundle.vq)
        log("stage 1: direct generation")
        res, secs = timed(lambda: s1.direct(captions, DecodeOptions(max_new_tokens=64, batch_size=cfg.batch_size)))
        feats, counts = _motions(s1, list(zip(ids, res)), "final_motion")
        rows["Stage-1 direct"] = (feats, counts, secs)
        latency["stage-1 direct"] = {"seconds_per_goal": secs / len(goals), "goals_per_second": len(goals) / secs}
        log("stage 1: composed pipeline")
        res, secs = timed(lambda: s1.composed(captions, DecodeOptions(max_new_tokens=64, batch_size=cfg.batch_size)))
        feats, counts = _motions(s1, list(zip(ids, res)), "final_motion")
        rows["Stage-1 composed"] = (feats, counts, secs)
    for name, path in (cfg.extra_llms or {}).items():
        r3 = Reasoner(MotionLLM.from_pretrained(path), bundle.vq)
        log(f"{name}: interleaved reasoning")
        res, secs = timed(lambda: r3.interleaved(captions, opts, cfg.max_rounds))
        pairs = list(zip(ids, res))
        f1, counts = _motions(r3, pairs, "first_motion")
        f2, _ = _motions(r3, pairs, "final_motion")
        rows[f"{name} first motion"] = (f1, counts, secs)
        rows[f"{name} final motion"] = (f2, counts, secs)

    generated = [Generated(name, feats, dict(zip(ids, captions)), {}) for name, (feats, _, _) in rows.items()]
    report = {"data": cfg.data, "bundle": cfg.bundle, "clips": len(ids), "repeats": cfg.repeats,
              "latency": latency, "rounds": {}, "evaluators": {}}
    for name, (_, counts, _) in rows.items():
        if counts is not None:
            report["rounds"][name] = {"mean": float(np.mean(counts)),
                                      "histogram": {str(k): int(np.sum(np.array(counts) == k)) for k in range(0, 8)}}
    for ev_path in cfg.evaluators:
        ev = load_evaluator(ev_path)
        log(f"scoring under {ev.kind} ({ev_path})")
        report["evaluators"][ev.kind] = evaluate(ev, split, generated, cfg.repeats, cfg.seed, ev_path)
    return report


def results_markdown(report: dict, command: str) -> str:
    lines = ["# Benchmark results", "",
             f"Produced by `{command}` on {report['clips']} test clips of `{report['data']}`, "
             f"{report['repeats']} repeats, mean ± 95% CI (1.96·sd/√n).", ""]
    for kind, result in report["evaluators"].items():
        lines += [f"## {kind} evaluator", "", "| row | " + " | ".join(c[1] for c in COLUMNS) + " | mean generations |",
                  "|---|" + "---|" * (len(COLUMNS) + 1)]
        for row, metrics in result["rows"].items():
            cells = [f"{metrics[k]['mean']:.3f} ± {metrics[k]['ci']:.3f}" if k in metrics else "–" for k, _ in COLUMNS]
            rounds = report["rounds"].get(row, {}).get("mean")
            lines.append(f"| {row} | " + " | ".join(cells) + f" | {rounds:.2f} |" if rounds is not None
                         else f"| {row} | " + " | ".join(cells) + " | – |")
        lines.append("")
    lines += ["## Generations per trace", "", "| row | " + " | ".join(str(k) for k in range(8)) + " |",
              "|---|" + "---|" * 8]
    for row, r in report["rounds"].items():
        lines.append(f"| {row} | " + " | ".join(str(r["histogram"][str(k)]) for k in range(8)) + " |")
    lines += ["", "## Latency (2 CPU cores, batched)", ""]
    for name, lat in report["latency"].items():
        lines.append(f"- {name}: " + ", ".join(f"{k.replace('_', ' ')} {v:.3f}" for k, v in lat.items()))
    return "\n".join(lines) + "\n"


def bench_main(args) -> int:
    import shlex
    import sys
    evaluators = args.evaluator or []
    if not evaluators:
        print("error: give at least one --evaluator DIR", file=sys.stderr)
        return 2
    extra = dict(e.split("=", 1) for e in (args.llm or []))
    cfg = BenchConfig(data=args.data, bundle=args.bundle, evaluators=evaluators, stage1=args.stage1,
                      extra_llms=extra, limit=args.limit, repeats=args.repeats, batch_size=args.batch_size,
                      seed=args.seed, out=args.out, bundle_rows=not args.only_llm)
    report = run_bench(cfg)
    command = "irgmotion " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    write_text(Path(args.out + ".json"), json.dumps(report, indent=2))
    write_text(Path(args.out + ".md"), results_markdown(report, command))
    print(results_markdown(report, command))
    return 0


def add_parsers(sub) -> None:
    p = sub.add_parser("bench", help="benchmark the bundle (and stage-1 / other models) on the test split")
    p.add_argument("--bundle", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--evaluator", action="append", help="evaluator directory (repeat for several)")
    p.add_argument("--stage1", default=None, help="stage-1 MotionLLM directory for the stage-1 rows")
    p.add_argument("--llm", action="append", help="NAME=DIR: another MotionLLM to add rows for (e.g. Stage-3)")
    p.add_argument("--limit", type=int, default=320, help="test clips used (multiples of 32)")
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--only-llm", action="store_true", help="score only the --llm (and --stage1) rows")
    p.add_argument("--out", default="docs/results", help="writes OUT.md and OUT.json")
    p.set_defaults(func=bench_main)
