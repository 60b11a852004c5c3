"""`irgmotion diagnose`: where the interleaved trace loses, step by step, on held-out pairs whose truth is known.

Each pair is a goal caption and a candidate motion the data engine built on a held-out split, with the exact
assessment (the goal's and the candidate's canonical descriptions, the level, the fix). The bundle's
interleaved model gets the candidate as its first motion and continues for one refinement, under each
verdict. Every step is scored on its own:
- perception: does it restate the goal and describe the motion exactly as the engine does?
- comparison: is its stated level the one its own two descriptions imply (self-consistency)?
- judgement: is the level right against the truth (all pairs; pairs with both descriptions exact)?
- stop decision: does it ask for a refinement exactly when the truth is below "perfect"?
- instruction: when a refinement is due, is it the engine's fix, word for word (prefixes aside)?
- refinement: is the refined motion closer to the goal than the candidate under an evaluator (a proxy: the
  refined motion's true program is unknown)?
"""
from __future__ import annotations

import json
import random
import re
import shlex
import sys
from pathlib import Path

from ..engine.assessment import level_of
from ..engine.descriptions import DESCRIBED, implied_level
from ..evaluator import load_evaluator
from ..fileio import write_text
from ..llm.trace import is_no_refinement
from ..reason.decoding import DecodeOptions
from ..reason.pipeline import RULE_STYLES, VERDICTS, Reasoner  # noqa: F401 (Reasoner: diagnose_verdict's argument)
from .judges import judge_label, judges
from .stage1 import check_engine_build, description_errors, held_out_pairs, wilson_interval

_PREFIX = re.compile(r"^(please |to fix it, )", re.IGNORECASE)


def _instruction(text: str) -> str:
    return _PREFIX.sub("", (text or "").strip()).rstrip(".").strip().lower()


def _share(flags: list[bool]) -> dict:
    n, hits = len(flags), int(sum(flags))
    return {"n": n, "rate": hits / n if n else None, "ci95": wilson_interval(hits, n) if n else None}


def diagnose_verdict(reasoner: Reasoner, cands, motions, evaluator, opts: DecodeOptions) -> dict:
    goals = [c.text["<Goal_Caption>"][0] for c in cands]
    truth = [DESCRIBED.search(c.text["<Assessment_Analysis>"][0]) for c in cands]
    truth_level = [c.meta["level"] for c in cands]
    truth_fix = [_instruction(c.text["<Refinement_Instruction>"][0]) for c in cands]
    results = reasoner.robustness(goals, motions, opts, max_rounds=2)
    rows = []
    for res, t, lv, fix in zip(results, truth, truth_level, truth_fix):
        first = res.trace.rounds[0] if res.trace.rounds else None
        said = first.assessment if first else ""
        found = DESCRIBED.search(said)
        stated = level_of(said)
        own = implied_level(said, reasoner.assessment_style)
        rows.append({"readable": bool(found), "described": found.group(2) if found else "",
                     "goal_exact": bool(found and t and found.group(1) == t.group(1)),
                     "motion_exact": bool(found and t and found.group(2) == t.group(2)),
                     "stated": stated, "own": own, "truth": lv,
                     "asks": bool(first and first.refinement and not is_no_refinement(first.refinement)),
                     "instruction_exact": bool(first and _instruction(first.refinement) == fix),
                     "refined": res.trace.rounds[1].motion if len(res.trace.rounds) > 1 else None})
    both = [r for r in rows if r["goal_exact"] and r["motion_exact"]]
    out = {
        "pairs": len(rows),
        "perception": {"readable": _share([r["readable"] for r in rows]),
                       "goal_restated_exactly": _share([r["goal_exact"] for r in rows]),
                       "motion_described_exactly": _share([r["motion_exact"] for r in rows]),
                       "both_exact": _share([r["goal_exact"] and r["motion_exact"] for r in rows]),
                       "motion_description_errors": description_errors(
                           [r["described"] for r in rows], [t.group(2) if t else "" for t in truth])},
        "comparison": {"level_follows_own_descriptions": _share([r["stated"] == r["own"] for r in rows
                                                                  if r["own"] is not None])},
        "judgement": {"level_right": _share([r["stated"] == r["truth"] for r in rows]),
                      "level_right_when_both_exact": _share([r["stated"] == r["truth"] for r in both])},
        "stop_decision": {"asks_exactly_when_due": _share([r["asks"] == (r["truth"] < 3) for r in rows])},
        "instruction": {"engine_fix_when_due_and_asked": _share([r["instruction_exact"] for r in rows
                                                                 if r["truth"] < 3 and r["asks"]])},
    }
    refined = [(i, r["refined"]) for i, r in enumerate(rows) if r["truth"] < 3 and r["refined"]]
    if refined:
        idx = [i for i, _ in refined]
        before = evaluator.match_distance([goals[i] for i in idx], [reasoner.decode(motions[i]) for i in idx])
        after = evaluator.match_distance([goals[i] for i in idx], [reasoner.decode(m) for _, m in refined])
        out["refinement"] = {"closer_to_goal_under_evaluator": _share(list(after < before)),
                             "mean_distance_before": float(before.mean()), "mean_distance_after": float(after.mean())}
    return out


def run_diagnosis(bundle_dir, engine_test, evaluator, pairs: int = 300, seed: int = 0, batch_size: int = 32,
                  verdicts=VERDICTS, log=print) -> dict:
    from ..reason.bundle import load_bundle
    bundle = load_bundle(bundle_dir)
    if bundle.assessment_style not in RULE_STYLES:
        raise ValueError(f"{bundle.root}/manifest.json records assessment style {bundle.assessment_style!r}; the "
                         f"diagnosis reads descriptions that carry every judged slot ({' or '.join(RULE_STYLES)})")
    cands, motions = held_out_pairs(Path(engine_test), bundle.vq, pairs, random.Random(seed))
    ev = load_evaluator(evaluator)
    # one assessment (~260 tokens), one refinement and its motion: 640 tokens leave room; a larger budget only lets
    # a row that never closes hold its whole batch
    opts = DecodeOptions(max_new_tokens=640, batch_size=batch_size)
    report = {"bundle": str(bundle_dir), "engine_test": str(engine_test), "evaluator": str(evaluator),
              "assessment_style": bundle.assessment_style, "verdicts": {}}
    for verdict, perception in judges(bundle, verdicts):
        label = judge_label(verdict, perception)
        log(f"{label}: {len(cands)} held-out pairs")
        reasoner = bundle.reasoner(verdict, "last", perception)
        report["verdicts"][label] = diagnose_verdict(reasoner, cands, motions, ev, opts)
    return report


_ROWS = (("perception", "readable", "perception: both descriptions written and readable"),
         ("perception", "goal_restated_exactly", "perception: goal restated exactly"),
         ("perception", "motion_described_exactly", "perception: motion described exactly"),
         ("perception", "both_exact", "perception: both exact"),
         ("comparison", "level_follows_own_descriptions",
          "comparison: level follows its own two descriptions (rule verdict: by construction)"),
         ("judgement", "level_right", "judgement: level right"),
         ("judgement", "level_right_when_both_exact", "judgement: level right when both descriptions are exact"),
         ("stop_decision", "asks_exactly_when_due", "stop decision: asks for a refinement exactly when due"),
         ("instruction", "engine_fix_when_due_and_asked",
          "instruction: the engine's fix, when due and asked (rule verdict: follows from perception)"),
         ("refinement", "closer_to_goal_under_evaluator", "refinement: refined motion closer to the goal (evaluator)"))


def diagnosis_markdown(report: dict, command: str) -> str:
    verdicts = list(report["verdicts"])
    lines = ["# Where the interleaved trace loses: a step-by-step diagnosis", "",
             f"Produced by `{command}`. The bundle's model gets a held-out candidate motion as its first motion "
             f"(assessment style `{report['assessment_style']}`) and continues for one refinement. Each cell: share "
             "(95% Wilson interval, pairs counted).", "",
             "| step | " + " | ".join(verdicts) + " |", "|---|" + "---|" * len(verdicts)]
    for section, key, title in _ROWS:
        cells = []
        for v in verdicts:
            m = report["verdicts"][v].get(section, {}).get(key)
            cells.append("–" if not m or m["rate"] is None else
                         f"{m['rate']:.3f} ({m['ci95'][0]:.3f}-{m['ci95'][1]:.3f}, n={m['n']})")
        lines.append(f"| {title} | " + " | ".join(cells) + " |")
    for v in verdicts:  # the descriptions come before the verdict: one line per perception
        errors = report["verdicts"][v].get("perception", {}).get("motion_description_errors")
        if errors and (v == verdicts[0] or "describer" in v):
            lines += ["", f"Wrong descriptions of the motion ({v}), by the slot they miss (share of all pairs; the "
                      "engine's comparison of the described program against the true one; a pair may miss several): "
                      + ", ".join(f"{k} {x:.3f}" for k, x in errors.items()) + "."]
    return "\n".join(lines) + "\n"


def diagnose_main(args) -> int:
    from ..fileio import OutputPathError, check_output_path
    try:  # before any model is read
        for flag, path in (("--bundle", args.bundle), ("--evaluator", args.evaluator)):
            if not Path(path).is_dir():
                raise ValueError(f"{flag} {path}: not a directory")
        check_engine_build(args.engine_test)
        for suffix in (".json", ".md"):
            check_output_path(args.out + suffix)
        report = run_diagnosis(args.bundle, args.engine_test, args.evaluator, args.pairs, args.seed, args.batch_size,
                               verdicts=tuple(args.verdict or VERDICTS))
    except (OSError, ValueError, KeyError, OutputPathError) as exc:  # a bundle, build or evaluator that cannot be read
        print(f"error: diagnose: {exc}", file=sys.stderr)
        return 2
    command = "irgmotion " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    write_text(Path(args.out + ".json"), json.dumps(report, indent=2))
    text = diagnosis_markdown(report, command)
    write_text(Path(args.out + ".md"), text)
    print(text)
    return 0
