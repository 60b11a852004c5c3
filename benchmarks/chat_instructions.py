"""Held-out chat instructions: does `MotionReasoner.steer` change a motion the way a user's own words ask?

    OMP_NUM_THREADS=1 python benchmarks/chat_instructions.py [--bundle DIR] [--limit N] [--samples K]
        [--out benchmarks/results/chat_instructions.json]

(one thread per process: on 2 shared cores torch's default threads made it ten times slower)

Each case is a goal, the motion the bundle generates for it (`MotionReasoner.generate`, the default answer, handed on
as its features, as chat and the web studio hand it to steer), and
an instruction written as a user would say it, not in the engine's grammar ("use the left hand instead", "jump
higher", "take more steps", "turn the other way"). Two ways of applying the instruction are compared:
- steer: `MotionReasoner.steer` (the words read as an edit of the goal, the canonical instruction and the
  updated goal given to the instructed refinement);
- thin: the user's words given to the instructed refinement unchanged, with the original goal (`refine`).
An independent kinematic judge (`irgmotion.bench.changes`: joint positions only, no model, no evaluator) decides
whether the motion after shows the named change against the motion before. Prints the success rate of both,
per category, and writes every case's measurements to the --out JSON.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from irgmotion.bench.changes import judge, measure  # noqa: E402

# (category, goal, the user's words, the check the kinematic judge applies; see irgmotion/bench/changes.py)
CASES = [
    ("hand", "a person raises their right arm above their head", "use the left hand instead", ["hand", "left"]),
    ("hand", "a person raises their left arm above their head", "now the other arm", ["hand", "right"]),
    ("hand", "someone lifts the right arm overhead", "do it with both arms", ["hand", "both"]),
    ("hand", "a man raises his left arm over his head", "right arm please, not the left", ["hand", "right"]),
    ("hand", "a person waves with the right hand three times", "wave with your left hand instead", ["hand", "left"]),
    ("hand", "a person waves their left hand", "switch hands", ["hand", "right"]),
    ("hand", "a person waves with the right hand", "use both hands", ["hand", "both"]),
    ("hand", "a man punches twice with his right hand", "punch with the left fist", ["hand", "left", "active"]),
    ("hand", "someone throws a ball overhand with the right hand", "throw it with the other hand",
     ["hand", "left", "active"]),
    ("hand", "a person raises both arms above the head", "only the right arm", ["hand", "right"]),
    ("leg", "a person kicks forward with the right leg", "kick with your left leg", ["leg", "kick", "left"]),
    ("leg", "a person hops on the right leg three times", "hop on the other foot", ["leg", "hop", "left"]),
    ("leg", "a person lunges forward with the left leg", "lunge with the right leg instead", ["leg", "lunge", "right"]),
    ("leg", "a man kicks sideways with his left leg", "use the right leg", ["leg", "kick", "right"]),
    ("count", "a person jumps twice", "jump more times", ["count", "jump", "more"]),
    ("count", "a person jumps once", "make it three jumps", ["count", "jump", "3"]),
    ("count", "a person jumps four times", "fewer jumps please", ["count", "jump", "fewer"]),
    ("count", "a person walks forward four steps", "take more steps", ["count", "walk", "more"]),
    ("count", "a man walks forward ten steps", "not so many steps", ["count", "walk", "fewer"]),
    ("count", "a person squats once", "do three squats", ["count", "squat", "3"]),
    ("count", "a person does three jumping jacks", "just one jumping jack", ["count", "jumping_jacks", "1"]),
    ("count", "a person claps twice", "clap more", ["count", "clap", "more"]),
    ("count", "a person hops on the left leg twice", "a couple more hops", ["count", "hop", "more"]),
    ("count", "a person waves with the right hand five times", "wave only once", ["count", "wave", "fewer"]),
    ("size", "a person jumps in place", "jump higher", ["size", "jump", "up"]),
    ("size", "a person jumps up high", "smaller jumps", ["size", "jump", "down"]),
    ("size", "a person squats down slightly", "squat deeper", ["size", "squat", "up"]),
    ("size", "a person does a deep squat", "not so low", ["size", "squat", "down"]),
    ("size", "a person kicks forward with the right leg", "kick higher", ["size", "kick", "up"]),
    ("size", "a man jumps forward", "a bigger jump", ["size", "jump", "up"]),
    ("direction", "a person walks forward four steps", "go backwards instead", ["walk", "backward"]),
    ("direction", "a person walks backward", "walk forwards", ["walk", "forward"]),
    ("direction", "a man walks to the left", "go the other way", ["walk", "right"]),
    ("direction", "a person walks forward", "walk to the left", ["walk", "left"]),
    ("direction", "a person turns left", "turn the other way", ["turn", "flip"]),
    ("direction", "a person turns 90 degrees to the right", "turn counterclockwise", ["turn", "flip"]),
    ("direction", "a person spins around to the left", "spin the opposite way", ["turn", "flip"]),
    ("direction", "a person jumps forward twice", "jump backwards", ["walk", "backward"]),
    ("direction", "a person side steps to the left", "step to the right instead", ["walk", "right"]),
    ("direction", "a person runs forward", "run backwards", ["walk", "backward"]),
    ("speed", "a person walks forward", "walk faster", ["speed", "up"]),
    ("speed", "a person runs forward quickly", "slow down", ["speed", "down"]),
    ("add/remove", "a person walks forward while waving with the right hand", "stop waving", ["absent", "wave"]),
    ("add/remove", "a person jumps twice", "and then clap", ["present", "clap"]),
    ("add/remove", "a person squats and then jumps", "skip the squat", ["absent", "squat"]),
    ("add/remove", "a person walks forward", "also squat at the end", ["present", "squat"]),
]


def rates(rows: list[dict], key: str) -> dict:
    by = defaultdict(list)
    for r in rows:
        by[r["category"]].append(r[key]["passed"])
    flags = [r[key]["passed"] for r in rows]
    return {"success_rate": sum(flags) / len(flags), "passed": sum(flags), "n": len(flags),
            "by_category": {c: {"success_rate": sum(v) / len(v), "passed": sum(v), "n": len(v)}
                            for c, v in by.items()}}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundle", default=None, help="bundle directory (default: the embedded one)")
    ap.add_argument("--limit", type=int, default=None, help="the first N cases only")
    ap.add_argument("--samples", type=int, default=None, help="steer's drawn candidates (default: steer's default)")
    ap.add_argument("--out", default=str(Path(__file__).with_name("results") / "chat_instructions.json"))
    args = ap.parse_args(argv)
    from irgmotion.api import MotionReasoner
    from irgmotion.fileio import write_text
    started = time.perf_counter()
    reasoner = MotionReasoner.from_pretrained(args.bundle)
    cases = CASES[: args.limit] if args.limit else CASES
    goals = sorted({c[1] for c in cases})
    made = dict(zip(goals, reasoner.generate(goals)))
    rows = []
    for category, goal, words, check in cases:
        motion = made[goal]
        before = measure(motion.joints)
        row = {"category": category, "goal": goal, "instruction": words, "check": check,
               "before": before.to_dict()}
        answer = motion.rounds[motion.answer_round]
        extra = {} if args.samples is None else {"samples": args.samples}
        steered = reasoner.steer(goal, motion.features, words, assessment=answer.assessment, **extra)
        thin = reasoner.refine(motion.features, words, goals=goal)
        for key, result, extra in (("steer", steered.motion, {"updated_goal": steered.goal, "canonical":
                                                               steered.canonical, "edits": steered.edits,
                                                               "warnings": steered.warnings}),
                                   ("thin", thin, {})):
            if result.joints is None:
                row[key] = {"passed": False, "why": "no motion", **extra}
                continue
            after = measure(result.joints)
            ok, why = judge(check, before, after)
            row[key] = {"passed": ok, "why": why, "after": after.to_dict(), **extra}
        rows.append(row)
        print(f"{category:10} {'PASS' if row['steer']['passed'] else 'fail'} / thin "
              f"{'PASS' if row['thin']['passed'] else 'fail'}  {words!r} on {goal!r}: {row['steer']['why']}"
              f" | {steered.canonical}")
    seconds = time.perf_counter() - started
    result = {"cases": len(rows), "seconds": round(seconds, 1), "samples": args.samples, "steer": rates(rows, "steer"),
              "thin": rates(rows, "thin"), "rows": rows}
    print()
    print(f"{len(rows)} held-out instructions, {seconds:.0f} s")
    print(f"{'category':12} {'n':>3} {'steer':>7} {'thin':>7}")
    for c in result["steer"]["by_category"]:
        s, t = result["steer"]["by_category"][c], result["thin"]["by_category"][c]
        print(f"{c:12} {s['n']:>3} {s['success_rate']:>7.1%} {t['success_rate']:>7.1%}")
    print(f"{'all':12} {len(rows):>3} {result['steer']['success_rate']:>7.1%} {result['thin']['success_rate']:>7.1%}"
          f"   (steer {result['steer']['passed']}/{len(rows)}, thin {result['thin']['passed']}/{len(rows)})")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_text(out, json.dumps(result, indent=1))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
