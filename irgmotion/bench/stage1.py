"""`irgmotion bench-stage1`: the stage-1 model's single-step abilities on held-out data.

- direct text-to-motion, scored with the evaluator protocol (R-precision, FID, ...);
- assessment: the alignment level the model states vs the engine's exact level,
  on held-out (goal, candidate) pairs built by the engine from the test split;
- refinement instruction: whether "No refinements needed." is said exactly when it should be;
- captioning: BLEU-1/4, ROUGE-L, CIDEr against the test captions.
"""
from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import numpy as np

from ..data.annotations import read_annotations
from ..data.humanml3d import MotionTextDataset
from ..engine.assessment import LEVELS, level_of
from ..engine.descriptions import DESCRIBED, self_consistency
from ..evaluator import load_evaluator
from ..evaluator.metrics import caption_scores
from ..evaluator.protocol import Generated, evaluate
from ..fileio import write_text
from ..llm.model import MotionLLM
from ..llm.trace import is_no_refinement
from ..reason.decoding import DecodeOptions
from ..reason.pipeline import ASSESSMENT_MAX_TOKENS, Reasoner
from ..tokenizer.catalog import MotionCatalog
from ..tokenizer.pretrained import MotionTokenizer




def description_accuracy(said: list[str], truth: list[str], levels: list | None = None,
                         truth_levels: list | None = None) -> dict:
    """How often the model restates the goal and describes the motion exactly as the engine does,
    the two steps its assessment reasons from (assessments that restate nothing count as wrong).
    With levels: the level accuracy on the pairs where both were exact, which isolates the comparison step."""
    levels = levels or [None] * len(said)
    truth_levels = truth_levels or [None] * len(said)
    rows = [(DESCRIBED.search(s or ""), DESCRIBED.search(t), lv, tl)
            for s, t, lv, tl in zip(said, truth, levels, truth_levels)]
    rows = [r for r in rows if r[1]]
    if not rows:
        return {}
    goal_ok = [bool(s) and s.group(1) == t.group(1) for s, t, _, _ in rows]
    motion_ok = [bool(s) and s.group(2) == t.group(2) for s, t, _, _ in rows]
    out = {"goal_restated_exactly": float(np.mean(goal_ok)), "motion_described_exactly": float(np.mean(motion_ok)),
           "motion_description_errors": description_errors([s.group(2) if s else "" for s, _, _, _ in rows],
                                                           [t.group(2) for _, t, _, _ in rows])}
    both = [(lv, tl) for (_, _, lv, tl), g, m in zip(rows, goal_ok, motion_ok) if g and m and tl is not None]
    if both:
        out["pairs_described_exactly"] = len(both)
        out["level_accuracy_when_described_exactly"] = float(np.mean([lv == tl for lv, tl in both]))
    return out


def description_errors(said: list[str], truth: list[str]) -> dict:
    """Which slot a wrong description of the motion gets wrong: the engine's own comparison of the described
    program against the true one, counted by kind (wrong_side, wrong_count, amplitude, missing, extra, order, ...;
    one pair may count under several), as shares of all pairs. `unreadable`: not in canonical words;
    `within_tolerance`: words differ but the rule sees no difference (step counts one or two apart)."""
    from ..engine.descriptions import read_description
    from ..engine.programs import compare_programs
    counts: dict[str, int] = {}
    for s, t in zip(said, truth):
        if s == t:
            continue
        described, true = read_description(s), read_description(t)
        if described is None or true is None:
            kinds = {"unreadable"}
        else:
            kinds = {d.kind for d in compare_programs(true, described)[1]} or {"within_tolerance"}
        for kind in kinds:
            counts[kind] = counts.get(kind, 0) + 1
    return {kind: round(n / max(len(said), 1), 4) for kind, n in sorted(counts.items(), key=lambda kv: -kv[1])}


def wilson_interval(hits: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% interval of a proportion (Wilson score; unlike the normal approximation it stays inside [0, 1]
    and is honest for a few hundred pairs)."""
    if n == 0:
        return 0.0, 1.0
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, float(centre - half)), min(1.0, float(centre + half))  # clamp float round-off


def level_confusion(said: list, truth: list) -> dict:
    """How often each true level is stated as each level ("none" where no level was stated), so a card can
    say what a missed level is mistaken for."""
    names = {None: "none", **dict(enumerate(LEVELS))}
    return {LEVELS[t]: {names[s]: sum(1 for a, b in zip(said, truth) if b == t and a == s)
                        for s in (*range(len(LEVELS)), None)} for t in sorted(set(truth))}


def check_engine_build(path: str | Path, flag: str = "--engine-test") -> Path:
    """An engine build (`irgmotion build`) with the files `held_out_pairs` reads; ValueError naming the flag."""
    path = Path(path)
    for need in ("engine.json", "stage1/TM2T_assessment_analysis_annots.json"):
        if not (path / need).is_file():
            raise ValueError(f"{flag} {path}: not an engine build (no {need}; make one with `irgmotion build`)")
    return path


def held_out_pairs(engine_test: Path, vq: MotionTokenizer, pairs: int, rng: random.Random):
    """`pairs` (goal, candidate) pairs the engine built on a held-out split, shuffled by `rng`: the annotation
    candidates (goal caption, exact assessment and level) and the candidates' motion token ids."""
    entries = read_annotations(Path(engine_test) / "stage1" / "TM2T_assessment_analysis_annots.json")
    roots = json.loads((Path(engine_test) / "engine.json").read_text())["motion_roots"]
    catalog = MotionCatalog(roots, vq)
    cands = [c for e in entries for c in e.candidates]
    rng.shuffle(cands)
    cands = cands[:pairs]
    return cands, [catalog(c.motions["<Generated_Motion>"]) for c in cands]


def run_stage1_bench(llm_dir, vq_dir, data, engine_test, evaluator, limit=320, pairs=400, seed=0, beams=1,
                     assessment_only=False, log=print) -> dict:
    """`beams` > 1 decodes the assessment and the refinement instruction with beam search (the other
    tasks stay greedy); `assessment_only` skips text-to-motion and captioning."""
    if beams < 1:
        raise ValueError(f"beams must be >= 1, got {beams}")
    vq = MotionTokenizer.from_pretrained(vq_dir)
    reasoner = Reasoner(MotionLLM.from_pretrained(llm_dir), vq)
    split = MotionTextDataset(data, "test", normalize=False)
    rng = random.Random(seed)
    clips = list(split.clips)
    rng.shuffle(clips)
    split.clips = clips[:limit]
    goals = [(c.id, rng.choice(c.texts).caption) for c in split.clips]
    report = {"llm": str(llm_dir), "clips": len(goals), "assessment_beams": beams}
    judge_opts = dict(batch_size=max(1, 32 // beams), num_beams=beams)  # same beams x prompts per batch as greedy

    if not assessment_only:
        log("direct text-to-motion")
        res = reasoner.direct([g for _, g in goals], DecodeOptions(max_new_tokens=64, batch_size=32))
        motions = {cid: (reasoner.decode(r.final_motion) if r.final_motion else np.zeros((40, 263), np.float32))
                   for (cid, _), r in zip(goals, res)}
        ev = load_evaluator(evaluator)
        result = evaluate(ev, split, [Generated("Stage-1 direct", motions, dict(goals), {})], 20, seed, str(evaluator))
        report["t2m"] = result["rows"]

    log("assessment and refinement instruction on held-out pairs")
    engine_test = Path(engine_test)
    cands, motions_ids = held_out_pairs(engine_test, vq, pairs, rng)
    goals_text = [c.text["<Goal_Caption>"][0] for c in cands]
    said = reasoner.assess(goals_text, motions_ids, DecodeOptions(max_new_tokens=ASSESSMENT_MAX_TOKENS, **judge_opts))
    truth = [c.meta["level"] for c in cands]
    levels = [level_of(s) for s in said]
    hits = sum(a == b for a, b in zip(levels, truth))
    style = json.loads((engine_test / "engine.json").read_text())["config"].get("assessment_style", "compare")
    report["assessment"] = {"pairs": len(cands), "level_accuracy": hits / len(cands),
                            "level_accuracy_ci95": wilson_interval(hits, len(cands)),
                            "unparsed": int(sum(lv is None for lv in levels)),
                            "per_level_accuracy": {str(k): float(np.mean([a == b for a, b in zip(levels, truth) if b == k]))
                                                   for k in range(4) if k in truth},
                            "confusion": level_confusion(levels, truth),
                            # the stated level against the level the model's own two descriptions imply
                            "self_consistency": self_consistency(said, style),
                            **description_accuracy(said, [c.text["<Assessment_Analysis>"][0] for c in cands], levels, truth)}
    instr = reasoner.instruct(goals_text, motions_ids, DecodeOptions(max_new_tokens=96, **judge_opts))
    report["instruction"] = {"no_refinement_accuracy": float(np.mean([is_no_refinement(s) == (t == 3)
                                                                      for s, t in zip(instr, truth)]))}

    report["examples"] = {"assessment": [{"goal": g, "said": s, "truth_level": t}
                                         for g, s, t in list(zip(goals_text, said, truth))[:5]]}
    if assessment_only:
        return report

    log("captioning")
    caps = reasoner.caption([vq.encode(c.motion)[0].tolist() for c in split.clips],
                            DecodeOptions(max_new_tokens=48, batch_size=32))
    refs = {c.id: [t.caption for t in c.texts] for c in split.clips}
    report["captioning"] = caption_scores({c.id: p for c, p in zip(split.clips, caps)}, refs)
    report["examples"]["captions"] = [{"truth": refs[c.id][0], "said": p} for c, p in list(zip(split.clips, caps))[:5]]
    return report


def bench_stage1_main(args) -> int:
    from ..data.humanml3d import DatasetError, check_dataset_dir
    from ..fileio import OutputPathError, check_output_path
    try:  # before any model is read
        for flag, path in (("--llm", args.llm), ("--vq", args.vq), ("--evaluator", args.evaluator)):
            if not (Path(path) / "config.json").is_file():
                raise ValueError(f"{flag} {path}: not a model directory (no config.json)")
        check_dataset_dir(args.data, ("test",))
        check_engine_build(args.engine_test)
        check_output_path(args.out)
        report = run_stage1_bench(args.llm, args.vq, args.data, args.engine_test, args.evaluator, args.limit,
                                  args.pairs, args.seed, args.beams, args.assessment_only)
    except (DatasetError, OutputPathError, OSError, ValueError) as exc:
        print(f"error: bench-stage1: {exc}", file=sys.stderr)
        return 2
    write_text(Path(args.out), json.dumps(report, indent=2))
    if "t2m" in report:
        t2m = report["t2m"]["Stage-1 direct"]
        gt = report["t2m"]["Ground truth"]
        print(f"direct T2M R-precision top-1/2/3: {t2m['top1']['mean']:.3f} / {t2m['top2']['mean']:.3f} / "
              f"{t2m['top3']['mean']:.3f} (ground truth {gt['top3']['mean']:.3f} top-3), FID {t2m['fid']['mean']:.3f}")
    lo, hi = report["assessment"]["level_accuracy_ci95"]
    print(f"assessment level accuracy: {report['assessment']['level_accuracy']:.3f} (95% CI {lo:.3f}-{hi:.3f}) "
          f"on {report['assessment']['pairs']} pairs")
    sc = report["assessment"]["self_consistency"]
    if sc["contradiction_rate"] is not None:
        print(f"assessment self-consistency: {sc['contradiction_rate']:.3f} of {sc['readable']} readable assessments "
              "contradict their own descriptions")
    for key in ("goal_restated_exactly", "motion_described_exactly", "level_accuracy_when_described_exactly"):
        if key in report["assessment"]:
            print(f"assessment {key.replace('_', ' ')}: {report['assessment'][key]:.3f}")
    if report["assessment"].get("motion_description_errors"):
        print("wrong motion descriptions, by slot (share of pairs): " + ", ".join(
            f"{k} {v:.3f}" for k, v in report["assessment"]["motion_description_errors"].items()))
    if "pairs_described_exactly" in report["assessment"]:
        print(f"(pairs with both descriptions exact: {report['assessment']['pairs_described_exactly']})")
    print(f"'No refinements needed.' said exactly when right: {report['instruction']['no_refinement_accuracy']:.3f}")
    if "captioning" in report:
        print("captioning: " + ", ".join(f"{k} {v:.3f}" for k, v in report["captioning"].items()))
    print(f"wrote {args.out}")
    return 0
