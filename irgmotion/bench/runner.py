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
from ..data.synth.corpus import compositional_ids
from ..distributed import Processes, launched_main
from ..engine.descriptions import self_consistency
from ..devices import describe_device
from ..evaluator import load_evaluator
from ..evaluator.protocol import Generated, evaluate
from ..fileio import write_text
from ..llm.model import MotionLLM
from ..reason.decoding import DecodeOptions
from ..reason.options import PERCEPTIONS, RULE_STYLES, SELECTIONS, VERDICTS
from ..reason.pipeline import Reasoner, choose_round
from .freeform import freeform_markdown, load_prompts, run_freeform
from .judges import judge_label, judges

COLUMNS = (("top1", "R@1"), ("top2", "R@2"), ("top3", "R@3"), ("fid", "FID"), ("mm_dist", "MM-Dist"),
           ("diversity", "Diversity"))


@dataclass
class BenchConfig:
    data: str
    bundle: str
    evaluators: list[str]
    stage1: str | None = None
    extra_llms: dict | None = None  # name -> MotionLLM dir (e.g. a stage-3 model)
    procs: Processes | None = None  # under `accelerate launch`: every reasoning call runs on a share of the goals
    limit: int | None = 320
    repeats: int = 20
    batch_size: int = 32
    max_new_tokens: int = 1400  # six rounds of ~210 tokens (restate, describe, check, judge) + analysis
    max_rounds: int = 6
    seed: int = 0
    out: str = "docs/results"
    bundle_rows: bool = True  # the stage-2 rows of the bundle's own LLM (and the robustness and random rows)
    verdicts: tuple = VERDICTS  # stage-2 rows under each verdict
    perceptions: tuple = PERCEPTIONS  # under the rule verdict: the LLM's perception, the bundle's describer
    compositional: int = 0  # clips of the compositional split (unseen chains of 2-4 actions); 0 skips it
    freeform: int = 0  # free-form prompts judged by the kinematic checker (bench.freeform); 0 skips them
    standard: bool = True  # the standard test split (off: only the compositional and free-form sections)
    device: str = "cpu"  # where every model runs (a resolved device string, irgmotion.devices)


def _motions(reasoner: Reasoner, results, attr: str) -> tuple[dict, list[int]]:
    """id -> features for one attribute (first/final/answer motion) of reasoning results; and generation counts."""
    feats, counts = {}, []
    for cid, r in results:
        ids = getattr(r, attr)
        feats[cid] = reasoner.decode(ids) if ids else np.zeros((40, reasoner.vq.config.input_dim), np.float32)
        counts.append(r.trace.n_generations)
    return feats, counts


def _first_round(res) -> int | None:
    return next((k for k, r in enumerate(res.trace.rounds) if r.motion), None)


def _selected_rows(reasoner, pairs, counts, secs, rows, name: str) -> None:
    """One row per tie rule of the best-assessed selection (free after decoding); `name` has a {select} slot."""
    for select in ("best", "best-earliest"):
        for _, r in pairs:
            r.select = select
        feats, _ = _motions(reasoner, pairs, "answer_motion")
        rows[name.format(select=select)] = (feats, counts, secs)


def trace_statistics(results, style: str | None) -> dict:
    """How the traces used their assessments: self-consistency of every assessment (its stated level against
    the level its own two descriptions imply), how often the answer is not the first motion, and the rule
    verdict's fallbacks."""
    assessments = [r.assessment for res in results for r in res.trace.rounds if r.assessment]
    stats = {"assessments": len(assessments),
             "answer_is_not_first_motion": {sel: float(np.mean([choose_round(res.trace, sel) != _first_round(res)
                                                                for res in results])) for sel in SELECTIONS},
             "rule_fallbacks": sum("kept the model's own verdict" in w for res in results for w in res.warnings)}
    if style is not None:
        stats["self_consistency"] = self_consistency(assessments, style)
    return stats


def _interleaved_rows(cfg, bundle, ids, captions, opts, rows, stats, timed, log, robustness: bool) -> dict:
    """Stage-2 first motion, then the last and the best-assessed motion under each verdict; with
    `robustness`, the random-first-motion test (under the last verdict) and the random floor."""
    latency, style = {}, bundle.assessment_style
    pairs_of_judges = judges(bundle, cfg.verdicts, cfg.perceptions)
    for verdict, perception in pairs_of_judges:
        reasoner = bundle.reasoner(verdict, "best", perception)
        verdict = judge_label(verdict, perception)
        log(f"stage 2 ({verdict}): interleaved reasoning on {len(ids)} goals")
        res, secs = timed(lambda: cfg.procs.map(lambda c: reasoner.interleaved(c, opts, cfg.max_rounds), captions))
        pairs = list(zip(ids, res))
        if "Stage-2 first motion" not in rows:
            first, counts = _motions(reasoner, pairs, "first_motion")
            rows["Stage-2 first motion"] = (first, [1] * len(ids), secs)
        final, counts = _motions(reasoner, pairs, "final_motion")
        rows[f"Stage-2 final motion ({verdict})"] = (final, counts, secs)
        _selected_rows(reasoner, pairs, counts, secs, rows, f"Stage-2 {{select}} assessed motion ({verdict})")
        stats[verdict] = trace_statistics(res, style)
        latency[f"stage-2 trace ({verdict})"] = {
            "seconds_per_goal": secs / len(ids), "goals_per_second": len(ids) / secs,
            "tokens_per_second": sum(len(bundle.llm.tokenizer(r.text)["input_ids"]) for r in res) / secs}
    if not robustness:
        return latency
    # under the last verdict asked for (the rule, by default) and its first perception (the describer, by default)
    verdict, perception = next(j for j in pairs_of_judges if j[0] == pairs_of_judges[-1][0])
    reasoner = bundle.reasoner(verdict, "best", perception)
    verdict = judge_label(verdict, perception)
    pool = [bundle.vq.encode(c.motion)[0].tolist() for c in MotionTextDataset(cfg.data, "train", normalize=False,
                                                                              limit=500).clips]
    log(f"stage 2 with a random first motion ({verdict})")
    randoms = reasoner.random_motions(len(ids), pool, cfg.seed)
    res, secs = timed(lambda: cfg.procs.map(lambda c, m: reasoner.robustness(c, m, opts, cfg.max_rounds),
                                            captions, randoms))
    pairs = list(zip(ids, res))
    feats, counts = _motions(reasoner, pairs, "final_motion")
    rows[f"Stage-2 random first motion, final ({verdict})"] = (feats, counts, secs)
    _selected_rows(reasoner, pairs, counts, secs, rows,
                   f"Stage-2 random first motion, {{select}} assessed ({verdict})")
    rows["Random motion (floor)"] = ({cid: reasoner.decode(m) for cid, m in zip(ids, randoms)}, None, 0.0)
    return latency


def _split_goals(cfg: BenchConfig, keep: set[str] | None, limit: int | None):
    split = MotionTextDataset(cfg.data, "test", normalize=False)
    rng = random.Random(cfg.seed)
    clips = [c for c in split.clips if keep is None or c.source_id in keep]
    rng.shuffle(clips)
    if limit:
        clips = clips[:limit]
    split.clips = clips
    goals = [(c.id, rng.choice(c.texts).caption) for c in clips]
    return split, [g[0] for g in goals], [g[1] for g in goals]


def _run_split(cfg: BenchConfig, bundle, split, ids, captions, robustness: bool, log) -> dict:
    opts = DecodeOptions(max_new_tokens=cfg.max_new_tokens, batch_size=cfg.batch_size, progress=cfg.procs.is_main)
    rows: dict[str, tuple[dict, list[int] | None, float]] = {}
    stats: dict = {}

    def timed(fn):
        t = time.perf_counter()
        out = fn()
        return out, time.perf_counter() - t

    latency = {}
    if cfg.bundle_rows:
        latency.update(_interleaved_rows(cfg, bundle, ids, captions, opts, rows, stats, timed, log, robustness))
    if cfg.stage1:
        s1 = Reasoner(MotionLLM.from_pretrained(cfg.stage1, device=cfg.device), bundle.vq)
        s1_opts = DecodeOptions(max_new_tokens=64, batch_size=cfg.batch_size, progress=cfg.procs.is_main)
        log("stage 1: direct generation")
        res, secs = timed(lambda: cfg.procs.map(lambda c: s1.direct(c, s1_opts), captions))
        feats, counts = _motions(s1, list(zip(ids, res)), "final_motion")
        rows["Stage-1 direct"] = (feats, counts, secs)
        latency["stage-1 direct"] = {"seconds_per_goal": secs / len(ids), "goals_per_second": len(ids) / secs}
        log("stage 1: composed pipeline")
        res, secs = timed(lambda: cfg.procs.map(lambda c: s1.composed(c, s1_opts), captions))
        feats, counts = _motions(s1, list(zip(ids, res)), "final_motion")
        rows["Stage-1 composed"] = (feats, counts, secs)
    for name, path in (cfg.extra_llms or {}).items():
        r3 = Reasoner(MotionLLM.from_pretrained(path, device=cfg.device), bundle.vq)
        log(f"{name}: interleaved reasoning")
        res, secs = timed(lambda: cfg.procs.map(lambda c: r3.interleaved(c, opts, cfg.max_rounds), captions))
        pairs = list(zip(ids, res))
        f1, counts = _motions(r3, pairs, "first_motion")
        f2, _ = _motions(r3, pairs, "final_motion")
        rows[f"{name} first motion"] = (f1, counts, secs)
        rows[f"{name} final motion"] = (f2, counts, secs)

    generated = [Generated(name, feats, dict(zip(ids, captions)), {}) for name, (feats, _, _) in rows.items()]
    report = {"clips": len(ids), "device": describe_device(cfg.device), "latency": latency, "rounds": {},
              "traces": stats, "evaluators": {}}
    for name, (_, counts, _) in rows.items():
        if counts is not None:
            report["rounds"][name] = {"mean": float(np.mean(counts)),
                                      "histogram": {str(k): int(np.sum(np.array(counts) == k)) for k in range(0, 8)}}
    for ev_path in cfg.evaluators:
        ev = load_evaluator(ev_path, device=cfg.device)
        log(f"scoring under {ev.kind} ({ev_path})")
        report["evaluators"][ev.kind] = evaluate(ev, split, generated, cfg.repeats, cfg.seed, ev_path)
    return report


def run_bench(cfg: BenchConfig, log=print) -> dict:
    """The report; under `accelerate launch` the goals of every reasoning call are split over the processes and
    the results gathered back in order on each, so every process computes the one-process report."""
    from dataclasses import replace

    from ..reason.bundle import load_bundle
    if cfg.procs is None:
        cfg = replace(cfg, procs=Processes.start(device=cfg.device))
    if not cfg.procs.is_main:
        log = _silent
    bundle = load_bundle(cfg.bundle, device=cfg.device)
    report = {"data": cfg.data, "bundle": cfg.bundle, "repeats": cfg.repeats,
              "assessment_style": bundle.assessment_style}
    if cfg.standard:
        split, ids, captions = _split_goals(cfg, None, cfg.limit)
        report["standard"] = _run_split(cfg, bundle, split, ids, captions, robustness=True, log=log)
    if cfg.compositional:
        keep = set(compositional_ids(cfg.data))  # checked non-empty by bench_main before any work
        split, ids, captions = _split_goals(cfg, keep, cfg.compositional)
        log(f"compositional split: {len(ids)} of {len(keep)} test clips chaining 2-4 actions in an unseen order")
        report["compositional"] = {"available": len(keep),
                                   **_run_split(cfg, bundle, split, ids, captions, robustness=False, log=log)}
    if cfg.freeform:
        opts = DecodeOptions(max_new_tokens=cfg.max_new_tokens, batch_size=cfg.batch_size, progress=cfg.procs.is_main)
        stage1 = MotionLLM.from_pretrained(cfg.stage1, device=cfg.device) if cfg.stage1 else None
        report["freeform"] = {judge_label(v, p): run_freeform(bundle, opts, cfg.max_rounds, v, stage1 if k == 0 else None,
                                                              cfg.freeform, log, references=k == 0, seed=cfg.seed,
                                                              procs=cfg.procs, perception=p)
                              for k, (v, p) in enumerate(judges(bundle, cfg.verdicts, cfg.perceptions))}
    return report


def _silent(*_args, **_kwargs) -> None:
    pass


def _split_markdown(part: dict, title: str) -> list[str]:
    lines = []
    for kind, result in part["evaluators"].items():
        lines += [f"## {title}: {kind} evaluator", "",
                  "| row | " + " | ".join(c[1] for c in COLUMNS) + " | mean generations |",
                  "|---|" + "---|" * (len(COLUMNS) + 1)]
        for row, metrics in result["rows"].items():
            cells = [f"{metrics[k]['mean']:.3f} ± {metrics[k]['ci']:.3f}" if k in metrics else "–" for k, _ in COLUMNS]
            rounds = part["rounds"].get(row, {}).get("mean")
            lines.append(f"| {row} | " + " | ".join(cells) + (f" | {rounds:.2f} |" if rounds is not None else " | – |"))
        lines.append("")
    if part.get("traces"):
        lines += [f"## {title}: assessments in the traces", "",
                  "| verdict | assessments | readable | contradict their own descriptions | answer is not the first motion "
                  "(last / best / best-earliest) | rule fallbacks |", "|---|---|---|---|---|---|"]
        for verdict, st in part["traces"].items():
            sc = st.get("self_consistency") or {}
            rate = sc.get("contradiction_rate")
            lines.append(f"| {verdict} | {st['assessments']} | {sc.get('readable', '–')} | "
                         f"{'–' if rate is None else f'{rate:.3f}'} | "
                         f"{' / '.join(f'{v:.3f}' for v in st['answer_is_not_first_motion'].values())} | "
                         f"{st['rule_fallbacks']} |")
        lines.append("")
    lines += [f"## {title}: generations per trace", "", "| row | " + " | ".join(str(k) for k in range(8)) + " |",
              "|---|" + "---|" * 8]
    for row, r in part["rounds"].items():
        lines.append(f"| {row} | " + " | ".join(str(r["histogram"][str(k)]) for k in range(8)) + " |")
    lines += ["", f"## {title}: latency ({part.get('device') or '2 CPU cores'}, batched)", ""]
    for name, lat in part["latency"].items():
        lines.append(f"- {name}: " + ", ".join(f"{k.replace('_', ' ')} {v:.3f}" for k, v in lat.items()))
    return lines + [""]


def results_markdown(report: dict, command: str) -> str:
    lines = ["# Benchmark results", "", f"Produced by `{command}` on `{report['data']}`."
             + (f" R-precision and the other evaluator metrics: {report['repeats']} repeats, mean ± 95% CI "
                "(1.96·sd/√n)." if "standard" in report or "compositional" in report else ""), ""]
    if "standard" in report:
        lines += [f"Standard test split: {report['standard']['clips']} test clips.", ""]
        lines += _split_markdown(report["standard"], "Standard test split")
    if "compositional" in report:
        comp = report["compositional"]
        lines += [f"Compositional split: {comp['clips']} of the {comp['available']} test clips that chain 2-4 actions "
                  "in an order no training program has.", ""]
        lines += _split_markdown(comp, "Compositional split")
    for part in report.get("freeform", {}).values():
        lines += freeform_markdown(part)
    return "\n".join(lines) + "\n"


def bench_main(args) -> int:
    import shlex
    import sys
    evaluators = args.evaluator or []
    if args.no_standard and not (args.compositional or args.freeform):
        print("error: --no-standard needs --compositional N or --freeform N (nothing else to score)", file=sys.stderr)
        return 2
    if not evaluators and not (args.no_standard and not args.compositional):
        print("error: give at least one --evaluator DIR (the standard and compositional splits are scored by "
              "evaluators; only --no-standard --freeform N runs without)", file=sys.stderr)
        return 2
    if args.freeform and args.only_llm:
        print("error: --freeform runs the bundle's own LLM; it cannot be combined with --only-llm", file=sys.stderr)
        return 2
    n_prompts = len(load_prompts())
    if args.freeform > n_prompts:
        print(f"error: --freeform {args.freeform}: the prompt set holds {n_prompts} prompts", file=sys.stderr)
        return 2
    if args.compositional < 0:
        print(f"error: --compositional must be >= 0 (got {args.compositional})", file=sys.stderr)
        return 2
    for flag, value, low in (("--limit", args.limit, 0), ("--repeats", args.repeats, 1),
                             ("--batch-size", args.batch_size, 1)):
        if value < low:
            print(f"error: {flag} must be at least {low} (got {value})", file=sys.stderr)
            return 2
    if not 0 <= args.seed <= 2**32 - 1:
        print(f"error: --seed must be between 0 and {2**32 - 1} (got {args.seed})", file=sys.stderr)
        return 2
    bad_llm = [e for e in (args.llm or []) if "=" not in e or not e.split("=", 1)[0] or not e.split("=", 1)[1]]
    if bad_llm:
        print(f"error: --llm {bad_llm[0]!r}: expected NAME=DIR", file=sys.stderr)
        return 2
    from ..reason.bundle import BundleError, check_bundle
    try:  # every check load_bundle makes short of loading the weights: a bad bundle fails here, not hours in
        _, manifest, _ = check_bundle(args.bundle)
    except BundleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from ..evaluator.base import EvaluatorError, read_config
    for path in evaluators:  # a wrong --evaluator fails here, not after the reasoning
        try:
            read_config(path)
        except (EvaluatorError, FileNotFoundError) as exc:
            print(f"error: --evaluator {exc}", file=sys.stderr)
            return 2
    if args.compositional:
        try:
            available = len(compositional_ids(args.data))
        except (FileNotFoundError, KeyError, ValueError) as exc:
            print(f"error: --compositional needs a procedural corpus with programs/: {exc}", file=sys.stderr)
            return 2
        if available < 32:
            print(f"error: --compositional: {args.data} has {available} test clips chaining 2-4 actions in an unseen "
                  "order; R-precision needs at least 32", file=sys.stderr)
            return 2
    if not args.only_llm and "rule" in (args.verdict or ()) and len(args.verdict) == 1:
        style = manifest.get("assessment_style")
        if style not in RULE_STYLES:
            print(f"error: --verdict rule needs a bundle in the {' or '.join(RULE_STYLES)} assessment style; "
                  f"{args.bundle} records {style!r}", file=sys.stderr)
            return 2
    extra = dict(e.split("=", 1) for e in (args.llm or []))
    cfg = BenchConfig(data=args.data, bundle=args.bundle, evaluators=evaluators, stage1=args.stage1,
                      extra_llms=extra, limit=args.limit, repeats=args.repeats, batch_size=args.batch_size,
                      seed=args.seed, out=args.out, bundle_rows=not args.only_llm,
                      verdicts=tuple(args.verdict or VERDICTS), perceptions=tuple(args.perception or PERCEPTIONS),
                      compositional=args.compositional,
                      freeform=args.freeform, standard=not args.no_standard, max_rounds=args.max_rounds,
                      max_new_tokens=args.max_new_tokens, device=args.device)
    try:
        report = run_bench(cfg)
    except BundleError as exc:  # a part that passed the checks above and still does not load
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not launched_main():  # the other processes of a launch computed the same report; one writes it
        return 0
    command = "irgmotion " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    write_text(Path(args.out + ".json"), json.dumps(report, indent=2))
    write_text(Path(args.out + ".md"), results_markdown(report, command))
    print(results_markdown(report, command))
    return 0
