"""How well the kinematic checker (irgmotion/bench/kinematic.py) agrees with a corpus's ground truth.

    python benchmarks/kinematic_checker_accuracy.py [CORPUS] [--n 300] [--split test] [--seed 0] [--noise M] [--json OUT]

Reads N clips of a corpus's split (new_joints/ID.npy, programs/ID.json) and reports
(a) own program: how often each clip's joints pass its own program (overall, and per action type: how
    often the verdict of an action of that type passes);
(b) another clip's program: the joints checked against the program of a different clip whose actions or
    sides differ (overall pass rate; the same for the pairs where the other program asks for an action or
    side the clip does not have at all -- a pass there is a checker error, while a program whose actions
    the clip all has may rightly pass; and per action type: how often an action of that type that the clip
    does not contain is found anyway -- the detector's false-positive rate);
(c) near misses: the clip's own program with one action changed -- its side/direction flipped, or the
    action replaced by another -- and how often the changed action still passes.
--noise adds i.i.d. Gaussian jitter to the joints (a crude stand-in for a generator's).
Numpy only (no torch); one thread is plenty. Caveat: the checker's thresholds were set by looking at clips
of this same procedural generator (runs/pipe/corpus test, val and part of train), so these figures measure
agreement with the corpus's own rendering of each action, not with human judgement of free-form motion.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from irgmotion.bench.kinematic import DEFAULTS, Analysis, check_motion  # noqa: E402

SIDE_KEYS = ("direction", "hand", "leg", "foot", "knee", "first", "turn")
FLIP = {"left": "right", "right": "left", "forward": "backward", "backward": "forward",
        "forward_left": "forward_right", "forward_right": "forward_left", "backward_left": "backward_right",
        "backward_right": "backward_left", "in_place": "forward", "sideways": "forward", "both": "left",
        "overhead": "sideways"}


def signature(prog: dict) -> tuple:
    out = []
    for a in prog["actions"]:
        p = {**DEFAULTS[a["name"]], **a.get("params", {})}
        out.append((a["name"],) + tuple(str(p.get(k)) for k in SIDE_KEYS))
        if a.get("upper"):
            up = a["upper"]
            q = {**DEFAULTS[up["name"]], **up.get("params", {})}
            out.append((up["name"],) + tuple(str(q.get(k)) for k in SIDE_KEYS))
    return tuple(out)


def strip(prog: dict) -> dict:
    acts = []
    for a in prog["actions"]:
        d = {"name": a["name"], "params": dict(a.get("params", {}))}
        if a.get("upper"):
            d["upper"] = {"name": a["upper"]["name"], "params": dict(a["upper"].get("params", {}))}
        acts.append(d)
    return {"actions": acts}


def near_miss(prog: dict, rng: random.Random, pool: list) -> tuple[dict, str, int] | None:
    """One action changed: a side/direction flipped, else the action replaced by another one."""
    prog = strip(prog)
    i = rng.randrange(len(prog["actions"]))
    a = prog["actions"][i]
    p = {**DEFAULTS[a["name"]], **a["params"]}
    flips = [k for k in SIDE_KEYS if k in a["params"] and str(p[k]) in FLIP and k in DEFAULTS[a["name"]]]
    if a["name"] in ("walk", "jog", "run") and p.get("path") != "straight":
        flips = [k for k in flips if k == "turn"]
    elif a["name"] in ("walk", "jog", "run"):
        flips = [k for k in flips if k == "direction"]
    if flips and rng.random() < 0.6:
        k = rng.choice(flips)
        new = FLIP[str(p[k])]
        if a["name"] == "jump" and k == "direction" and p[k] == "forward":
            new = "in_place"
        if a["name"] == "hop" and k == "direction":
            new = "forward" if p[k] == "in_place" else "in_place"
        if a["name"] in ("kick",) and k == "direction":
            new = "sideways" if p[k] == "forward" else "forward"
        if a["name"] == "raise_arm" and k == "direction":
            new = {"overhead": "sideways", "sideways": "forward", "forward": "overhead"}[p[k]]
        if a["name"] == "arm_circles" and k == "direction":
            new = "backward" if p[k] == "forward" else "forward"
        a["params"][k] = new
        return prog, f"{a['name']}.{k}", i
    names = [n for n in {x["name"] for x in pool} if n != a["name"]]
    if i > 0:
        names = [n for n in names if n != prog["actions"][i - 1]["name"]]
    if i + 1 < len(prog["actions"]):
        names = [n for n in names if n != prog["actions"][i + 1]["name"]]
    cands = [x for x in pool if x["name"] in names]
    if not cands:
        return None
    repl = rng.choice(cands)
    prog["actions"][i] = {"name": repl["name"], "params": dict(repl.get("params", {}))}
    return prog, f"replaced->{repl['name']}", i


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", nargs="?", default="runs/pipe/corpus")
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--split", default="test")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", default=None, help="write the figures here")
    ap.add_argument("--show-failures", type=int, default=0, help="print this many own-program failures")
    ap.add_argument("--noise", type=float, default=0.0,
                    help="add Gaussian noise of this std (metres, i.i.d. per frame and joint) to the joints, "
                         "a crude stand-in for a generator's jitter")
    args = ap.parse_args(argv)
    root = Path(args.corpus)
    ids = (root / f"{args.split}.txt").read_text().split()[: args.n]
    rng = random.Random(args.seed)
    np_rng = np.random.default_rng(args.seed)
    progs = {i: json.loads((root / "programs" / f"{i}.json").read_text()) for i in ids}
    pool = [a for i in ids for a in strip(progs[i])["actions"]]
    t0 = time.time()
    own_pass, own_act = [], defaultdict(list)
    mis_pass, mis_pass_disjoint, mis_act = [], [], defaultdict(list)
    nm_pass, nm_kind = [], defaultdict(list)
    failures = []
    for i in ids:
        joints = np.load(root / "new_joints" / f"{i}.npy")
        if args.noise > 0:
            joints = joints + np_rng.normal(0.0, args.noise, joints.shape).astype(joints.dtype)
        an = Analysis(joints)
        prog = strip(progs[i])
        r = check_motion(joints, prog, analysis=an)
        own_pass.append(r.passed)
        for v in r.actions:
            own_act[v.name].append(v.passed)
            if v.upper is not None:
                own_act["(upper) " + v.upper.name].append(v.upper.passed)
        if not r.passed:
            failures.append((i, r))
        # (b) another clip's program whose actions or sides differ
        sig = signature(prog)
        others = [j for j in ids if j != i and signature(progs[j]) != sig]
        j = rng.choice(others)
        other = strip(progs[j])
        r2 = check_motion(joints, other, analysis=an)
        mis_pass.append(r2.passed)
        if not set(signature(other)) <= set(sig):  # the other program asks for something this clip lacks
            mis_pass_disjoint.append(r2.passed)
        mine = set(sig)
        k = 0
        other_sig = signature(other)
        for v in r2.actions:
            if other_sig[k] not in mine:
                mis_act[v.name].append(v.passed)
            k += 1
            if v.upper is not None:
                if other_sig[k] not in mine:
                    mis_act["(upper) " + v.upper.name].append(v.upper.passed)
                k += 1
        # (c) near miss
        nm = near_miss(progs[i], rng, pool)
        if nm is not None:
            p3, kind, idx = nm
            if signature(p3) != sig:
                r3 = check_motion(joints, p3, analysis=an)
                nm_pass.append(r3.passed)
                nm_kind[kind.split("->")[0] if kind.startswith("replaced") else kind].append(r3.actions[idx].passed)
    dt = time.time() - t0

    def rate(x):
        return round(float(np.mean(x)), 3) if len(x) else None

    out = {"corpus": str(root), "split": args.split, "clips": len(ids), "noise": args.noise, "seconds": round(dt, 1),
           "own_program_pass": rate(own_pass),
           "own_action_pass": {k: [rate(v), len(v)] for k, v in sorted(own_act.items())},
           "other_program_pass": rate(mis_pass),
           "other_program_pass_not_contained": rate(mis_pass_disjoint),
           "other_action_false_pass": {k: [rate(v), len(v)] for k, v in sorted(mis_act.items())},
           "near_miss_program_pass": rate(nm_pass),
           "near_miss_changed_action_pass": {k: [rate(v), len(v)] for k, v in sorted(nm_kind.items())}}
    print(f"{len(ids)} clips of {root} ({args.split}){f', noise {args.noise} m' if args.noise else ''} in {dt:.1f}s")
    print(f"(a) own program passes:            {out['own_program_pass']}")
    print(f"(b) other clip's program passes:   {out['other_program_pass']}  "
          f"(when it asks for an action/side the clip lacks: {out['other_program_pass_not_contained']})")
    print(f"(c) near-miss program passes:      {out['near_miss_program_pass']}")
    print(f"{'action':28s} {'own pass':>12s} {'other: false pass':>18s}")
    names = sorted(set(own_act) | set(mis_act))
    for k in names:
        a = out["own_action_pass"].get(k, [None, 0])
        b = out["other_action_false_pass"].get(k, [None, 0])
        fa = "-" if a[0] is None else f"{a[0]:.2f} ({a[1]})"
        fb = "-" if b[0] is None else f"{b[0]:.2f} ({b[1]})"
        print(f"{k:28s} {fa:>12s} {fb:>18s}")
    print("near misses (the changed action still passes):")
    for k, (v, n) in sorted(out["near_miss_changed_action_pass"].items()):
        print(f"  {k:26s} {v:.2f} ({n})")
    for i, r in failures[: args.show_failures]:
        print(i, r.summary())
        for v in r.actions:
            if not v.passed or (v.upper is not None and not v.upper.passed):
                print("    found:", json.dumps(v.found)[:400])
                if v.upper is not None:
                    print("    upper found:", json.dumps(v.upper.found)[:300])
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1) + "\n")
    return out


if __name__ == "__main__":
    main()
