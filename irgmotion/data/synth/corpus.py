"""Writing the procedural corpus in the HumanML3D layout.

    OUT/new_joints/ID.npy       (T, 22, 3) float32, the motion after the dataset's normalisation
                                (uniform skeleton, floor, origin, facing +Z), one row per feature row
    OUT/new_joint_vecs/ID.npy   (T, 263) float32
    OUT/texts/ID.txt            3-4 lines "caption#word/POS ...#0.0#0.0"
    OUT/programs/ID.json        the program (explicit body and seed), action frame spans, split
    OUT/train.txt val.txt test.txt
    OUT/Mean.npy Std.npy        (263,) on the train split; Std grouped per feature block as HumanML3D does
    OUT/splits.json             sizes, held-out combinations and compositions, test ids holding them

new_joints are the exact normalised joints rather than features_to_joints(new_joint_vecs): the
two agree to float32 precision except where the (Gaussian-smoothed) facing crosses 180 degrees from
the start (full turns, spins, circles), where the dataset's root-rotation encoding (arcsin of the
quaternion's y part) makes the recovered joints jump. The features keep that encoding unchanged.

Sample i depends only on (seed, i): its split, program, render seed and
captions come from random streams derived from them, so the worker count does
not change a byte. The corpus is written into OUT.partial and renamed at the end.
"""
from __future__ import annotations

import json
import os
import shutil
import time
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from ...motion.features import joints_to_features, uniform_skeleton
from ...motion.quaternion import qbetween, qrot
from ...motion.skeleton import HUMANML3D
from .captions import caption_lines, caption_program
from .compose import render
from .program import Action, Program, ProgramError, sample_action, sample_program, validate_program

VERSION = 1
MIN_FRAMES, MAX_FRAMES = 40, 196  # feature rows per motion (HumanML3D's range)
SPLIT_FRACTIONS = (("train", 0.80), ("val", 0.05), ("test", 0.15))

# Combinations that occur only in the test split. An action matches when its
# name and the listed parameters agree (upper-body actions are matched too);
# "upper" also requires that upper-body action during it.
HELD_OUT_ACTIONS = (
    {"name": "hop", "params": {"leg": "left"}},
    {"name": "walk", "params": {"direction": "backward"}, "upper": {"name": "wave", "params": {"hand": "both"}}},
    {"name": "kick", "params": {"leg": "left", "direction": "sideways"}},
    {"name": "turn", "params": {"direction": "right", "angle": 270}},
    {"name": "clap", "params": {"count": 5}},
    {"name": "raise_arm", "params": {"hand": "left", "direction": "sideways"}},
)
# Ordered pairs of consecutive actions that occur only in the test split.
HELD_OUT_COMPOSITIONS = (
    ("squat", "jump"), ("wave", "sit_down"), ("kick", "turn"), ("run", "kneel"), ("jumping_jacks", "bow"),
)
TEST_HELD_OUT_RATE = 0.5  # share of test motions built around a held-out item

_SPLIT, _PROGRAM, _CAPTION = 11, 12, 13


def _rng(seed, stream, i):
    return np.random.default_rng([int(seed), stream, int(i)])


def render_seed(seed: int, index: int) -> int:
    return int(np.random.SeedSequence([int(seed), 17, int(index)]).generate_state(1)[0])


def split_of(seed: int, index: int) -> str:
    u = _rng(seed, _SPLIT, index).random()
    acc = 0.0
    for name, frac in SPLIT_FRACTIONS:
        acc += frac
        if u < acc:
            return name
    return "train"


def _matches(action: Action, spec: dict) -> bool:
    if action is None or action.name != spec["name"]:
        return False
    if any(action.params.get(k) != v for k, v in spec.get("params", {}).items()):
        return False
    if "upper" in spec:
        return _matches(action.upper, spec["upper"])
    return True


def held_out_items(program: Program) -> list[str]:
    """Keys of the held-out items a program contains ("action:<i>", "composition:<i>")."""
    found = []
    for k, spec in enumerate(HELD_OUT_ACTIONS):
        for a in program.actions:
            if _matches(a, spec) or ("upper" not in spec and _matches(a.upper, spec)):
                found.append(f"action:{k}")
                break
    names = program.names
    for k, (a, b) in enumerate(HELD_OUT_COMPOSITIONS):
        if any(names[i] == a and names[i + 1] == b for i in range(len(names) - 1)):
            found.append(f"composition:{k}")
    return found


def held_out_description() -> dict:
    return {"actions": [dict(s) for s in HELD_OUT_ACTIONS],
            "compositions": [list(c) for c in HELD_OUT_COMPOSITIONS],
            "keys": {**{f"action:{k}": s for k, s in enumerate(HELD_OUT_ACTIONS)},
                     **{f"composition:{k}": list(c) for k, c in enumerate(HELD_OUT_COMPOSITIONS)}}}


def _force(rng, program: Program, key: str) -> Program:
    """Put one held-out item into a random program."""
    acts = list(program.actions)
    kind, k = key.split(":")
    k = int(k)
    if kind == "action":
        spec = HELD_OUT_ACTIONS[k]
        a = sample_action(rng, spec["name"], scale=0.6 if len(acts) > 1 else 1.0)
        params = {**a.params, **spec.get("params", {})}
        if spec["name"] in ("walk", "jog", "run"):
            params["path"] = "straight"
        upper = None
        if "upper" in spec:
            u = sample_action(rng, spec["upper"]["name"], scale=0.6)
            upper = Action(u.name, {**u.params, **spec["upper"].get("params", {})})
        acts[int(rng.integers(0, len(acts)))] = Action(spec["name"], params, upper)
    else:
        a, b = HELD_OUT_COMPOSITIONS[k]
        if len(acts) < 2:
            acts.append(None)
        j = int(rng.integers(0, len(acts) - 1))
        scale = 0.6 if len(acts) <= 2 else 0.4
        acts[j] = sample_action(rng, a, scale=scale)
        acts[j + 1] = sample_action(rng, b, scale=scale)
    return validate_program(Program(tuple(acts)).to_dict())


def make_sample(seed: int, index: int):
    """(split, program, render seed, Rendered, held-out keys) for sample `index`."""
    split = split_of(seed, index)
    rng = _rng(seed, _PROGRAM, index)
    rseed = render_seed(seed, index)
    for attempt in range(200):
        prog = sample_program(rng, check_length=False)
        if split == "test" and rng.random() < TEST_HELD_OUT_RATE:
            keys = [f"action:{k}" for k in range(len(HELD_OUT_ACTIONS))] + \
                   [f"composition:{k}" for k in range(len(HELD_OUT_COMPOSITIONS))]
            try:
                prog = _force(rng, prog, keys[int(rng.integers(0, len(keys)))])
            except ProgramError:
                continue
        held = held_out_items(prog)
        if held and split != "test":
            continue
        r = render(prog, rseed, frame_range=(MIN_FRAMES + 1, MAX_FRAMES + 1))
        if r is not None:
            return split, prog, rseed, r, held
    raise RuntimeError(f"sample {index}: no program of {MIN_FRAMES}-{MAX_FRAMES} frames in 200 tries")


def normalise_joints(joints: np.ndarray) -> np.ndarray:
    """The dataset's normalisation of a motion (what `joints_to_features` encodes), (T, 22, 3) float64."""
    spec = HUMANML3D
    pos = uniform_skeleton(np.asarray(joints, dtype=np.float64), spec)
    pos[..., 1] -= pos[..., 1].min()
    pos -= pos[0, 0] * np.array([1.0, 0.0, 1.0])
    r_hip, l_hip, r_sdr, l_sdr = spec.face_joints
    first = pos[0]
    across = (first[r_hip] - first[l_hip]) + (first[r_sdr] - first[l_sdr])
    forward = np.cross(np.array([0.0, 1.0, 0.0]), across / np.linalg.norm(across))
    init = qbetween(np.asarray(forward / np.linalg.norm(forward), np.float32),
                    np.array([0.0, 0.0, 1.0], np.float32)).astype(np.float64)
    return qrot(np.broadcast_to(init, pos.shape[:-1] + (4,)), pos)


def _sample_id(index: int) -> str:
    return f"{index:06d}"


def build_sample(seed: int, index: int):
    """Everything written for one sample (arrays, texts, program record)."""
    split, prog, rseed, r, held = make_sample(seed, index)
    feats = joints_to_features(r.joints.astype(np.float64)).astype(np.float32)
    new_joints = normalise_joints(r.joints)[:-1].astype(np.float32)
    T = len(feats)
    captions = caption_program(prog, _rng(seed, _CAPTION, index), n=3 + int(_rng(seed, _CAPTION + 100, index).random() < 0.3))
    record = {"id": _sample_id(index), "split": split, "seed": rseed, "length": T, "fps": HUMANML3D.fps,
              "body": {k: round(float(v), 6) for k, v in r.body.factors.items()}, "actions": []}
    for a, span in zip(prog.actions, r.spans):
        d = a.to_dict()
        d["start"], d["end"] = int(min(span["start"], T)), int(min(span["end"], T))
        if "upper_start" in span:
            d["upper_start"], d["upper_end"] = int(min(span["upper_start"], T)), int(min(span["upper_end"], T))
        record["actions"].append(d)
    if held:
        record["held_out"] = held
    return {"index": index, "split": split, "feats": feats, "joints": new_joints, "raw": r.joints,
            "texts": caption_lines(captions), "record": record, "held": held}


def _write_sample(root: Path, s) -> None:
    sid = s["record"]["id"]
    np.save(root / "new_joint_vecs" / f"{sid}.npy", s["feats"])
    np.save(root / "new_joints" / f"{sid}.npy", s["joints"])
    (root / "texts" / f"{sid}.txt").write_text(s["texts"], encoding="utf-8")
    (root / "programs" / f"{sid}.json").write_text(json.dumps(s["record"], indent=1) + "\n", encoding="utf-8")


def _job(args):
    root, seed, index = args
    s = build_sample(seed, index)
    _write_sample(Path(root), s)
    f = s["feats"].astype(np.float64)
    stats = (f.sum(0), (f * f).sum(0), len(f)) if s["split"] == "train" else None
    return index, s["split"], stats, s["held"], len(f)


def grouped_std(std: np.ndarray, joints_num: int = 22) -> np.ndarray:
    """HumanML3D's Std.npy: each feature block shares its mean std."""
    s = std.copy()
    J = joints_num
    bounds = [0, 1, 3, 4, 4 + (J - 1) * 3, 4 + (J - 1) * 9, 4 + (J - 1) * 9 + J * 3, len(s)]
    for a, b in zip(bounds[:-1], bounds[1:]):
        s[a:b] = s[a:b].mean()
    return s


def write_corpus(out_dir, n: int, seed: int = 0, workers: int | None = None, progress: bool = False) -> dict:
    """Write `n` motions into `out_dir` (which must not exist or be empty); returns a summary."""
    out = Path(out_dir)
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FileExistsError(f"{out}: already exists and is not empty")
    part = out.with_name(out.name + ".partial")
    if part.exists():
        shutil.rmtree(part)
    for sub in ("new_joints", "new_joint_vecs", "texts", "programs"):
        (part / sub).mkdir(parents=True)
    workers = max(1, int(workers or (os.cpu_count() or 1)))
    t0 = time.time()
    splits = {"train": [], "val": [], "test": []}
    held_ids: dict[str, list[str]] = {}
    total = np.zeros(263)
    total_sq = np.zeros(263)
    count = 0
    frames = 0
    jobs = [(str(part), int(seed), i) for i in range(n)]
    if workers == 1:
        results = map(_job, jobs)
        pool = None
    else:
        pool = get_context("fork" if hasattr(os, "fork") else "spawn").Pool(workers)
        results = pool.imap(_job, jobs, chunksize=8)
    try:
        for done, (index, split, stats, held, T) in enumerate(results, 1):
            sid = _sample_id(index)
            splits[split].append(sid)
            frames += T
            for key in held:
                held_ids.setdefault(key, []).append(sid)
            if stats is not None:
                total += stats[0]
                total_sq += stats[1]
                count += stats[2]
            if progress and done % 1000 == 0:
                rate = done / (time.time() - t0)
                print(f"  {done}/{n} motions ({rate:.1f}/s)", flush=True)
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    if count == 0:  # tiny corpora may draw no train sample: use everything
        for sid in splits["val"] + splits["test"]:
            f = np.load(part / "new_joint_vecs" / f"{sid}.npy").astype(np.float64)
            total += f.sum(0)
            total_sq += (f * f).sum(0)
            count += len(f)
    mean = total / count
    std = np.sqrt(np.maximum(total_sq / count - mean * mean, 0.0))
    np.save(part / "Mean.npy", mean.astype(np.float32))
    np.save(part / "Std.npy", grouped_std(std).astype(np.float32))
    for name, ids in splits.items():
        (part / f"{name}.txt").write_text("".join(f"{i}\n" for i in ids), encoding="utf-8")
    summary = {"version": VERSION, "n": n, "seed": int(seed), "fps": HUMANML3D.fps,
               "sizes": {k: len(v) for k, v in splits.items()}, "frames": frames,
               "held_out": held_out_description(), "test_ids_by_held_out": held_ids,
               "test_held_out_rate": TEST_HELD_OUT_RATE}
    (part / "splits.json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    if out.exists():
        out.rmdir()
    os.replace(part, out)
    summary["seconds"] = time.time() - t0
    return summary


def compositional_ids(root: str | Path, split: str = "test", min_actions: int = 2, max_actions: int = 4) -> list[str]:
    """Clips of `split` that chain `min_actions`..`max_actions` actions in an order of action names that no
    training program has: compositions the model has never seen. Needs the corpus's programs/ folder."""
    root = Path(root)

    def names(sid: str) -> tuple[str, ...]:
        record = json.loads((root / "programs" / f"{sid}.json").read_text(encoding="utf-8"))
        return tuple(a["name"] for a in record["actions"])

    def ids(name: str) -> list[str]:
        return [line.strip() for line in (root / f"{name}.txt").read_text(encoding="utf-8").splitlines() if line.strip()]

    if not (root / "programs").is_dir():
        raise FileNotFoundError(f"{root}/programs: missing; the compositional split needs a procedural corpus")
    seen = {names(sid) for sid in ids("train")}
    out = []
    for sid in ids(split):
        chain = names(sid)
        if min_actions <= len(chain) <= max_actions and chain not in seen:
            out.append(sid)
    return out
