"""Did a motion change in the way an instruction named? A kinematic judge of two motions, before and after.

It reads joint positions only (HumanML3D's 22 joints, metres, Y up, 20 fps), through the signals and occurrences
of `kinematic` (no model, no learned evaluator). Each check compares one measured quantity of the motion before
and after, or states what the motion after must show:

- `hand` SIDE: the arm(s) of SIDE (left, right, both) are used and the other is not. An arm is used when its
  wrist rises above its shoulder (`raised`, for raises and waves) or moves away from where it started by at least
  60% of the arm's length (`active`, for punches and throws).
- `leg` ACTION SIDE: an occurrence of ACTION (kick, hop, lunge, stomp, kneel, balance) with that leg, foot or knee.
- `count` ACTION more|fewer|N: the repetitions of ACTION (its occurrences' counts; steps for walk, jog, run: the
  foot lifts of all locomotion) rise, fall, or equal N (steps: within max(1, 25%) of N).
- `size` jump|squat|kick up|down: the highest pelvis rise above standing height (jump), the deepest pelvis drop
  (squat) or the highest foot lift (kick) grows or shrinks by at least 10% and 2 cm.
- `walk` forward|backward|left|right: the feet's net displacement, in the heading they start with, goes at least
  0.3 m that way and more that way than any other.
- `turn` flip: the heading change of the whole motion turns sign and is at least 30 degrees.
- `speed` up|down: the pelvis's mean ground speed, over the frames it moves faster than 0.2 m/s, rises or falls
  by at least 15%.
- `present` / `absent` ACTION: ACTION occurs after (and did not before) / occurred before and no longer does.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .kinematic import FPS, PELVIS, Analysis

LOCOMOTION = ("walk", "jog", "run")


@dataclass
class Measures:
    """What the checks read from one motion."""
    raised: tuple[bool, bool]  # (left, right) wrist above the shoulder for >= 4 frames
    active: tuple[bool, bool]  # wrist moved >= 60% of the arm's length from its start
    counts: dict[str, int]
    sides: dict[str, list[str]]  # action -> the sides of its occurrences (leg, foot, knee, hand)
    apex: float  # highest pelvis rise above standing height (m)
    depth: float  # deepest pelvis drop below standing height (m)
    foot: float  # highest foot lift (m)
    displacement: tuple[float, float]  # (left, forward) of the feet from the first to the last frame (m)
    heading: float  # heading change, first to last frame (degrees, + left)
    speed: float  # mean ground speed of the pelvis while it moves (m/s)

    def to_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


def measure(joints, fps: float = FPS) -> Measures:
    an = Analysis(joints, fps)
    S = an.S
    start = np.median(S.wrist[:4], axis=0)  # (2, 3)
    moved = np.linalg.norm(S.wrist - start, axis=-1).max(0) / S.arm_len
    counts: dict[str, int] = {}
    sides: dict[str, list[str]] = {}
    for name, occs in an.occ.items():
        for o in occs:
            key = o.attrs.get("gait", name) if name == "locomotion" else name
            n = o.attrs.get("count", o.attrs.get("steps", o.attrs.get("turns", 1)))
            counts[key] = counts.get(key, 0) + int(n)
            if name == "locomotion":
                counts["steps"] = counts.get("steps", 0) + int(o.attrs.get("steps", 0))
            for attr in ("leg", "foot", "knee", "hand"):
                if attr in o.attrs:
                    sides.setdefault(name, []).append(o.attrs[attr])
    pelvis = S.j[:, PELVIS][:, [0, 2]]
    v = np.linalg.norm(np.diff(pelvis, axis=0), axis=1) * S.fps
    moving = v > 0.2
    left, fwd = S.ground_disp(0, S.T - 1)
    return Measures(raised=tuple(bool((S.arm_up[:, k] > 0).sum() >= 4) for k in (0, 1)),
                    active=tuple(bool(moved[k] >= 0.6) for k in (0, 1)), counts=counts, sides=sides,
                    apex=float(max(0.0, (S.ph - S.hs).max())), depth=float(max(0.0, S.drop.max())),
                    foot=float(S.fh.max()), displacement=(left, fwd),
                    heading=float(np.degrees(S.psi[-1] - S.psi[0])),
                    speed=float(v[moving].mean()) if moving.any() else 0.0)


def _count(m: Measures, action: str) -> int:
    return m.counts.get("steps", 0) if action in LOCOMOTION else m.counts.get(action, 0)


def _grew(before: float, after: float, up: bool, rel: float, absolute: float) -> bool:
    if up:
        return after >= before * (1 + rel) and after - before >= absolute
    return after <= before * (1 - rel) and before - after >= absolute


def judge(check: list, before: Measures, after: Measures) -> tuple[bool, str]:
    """Whether the motion after shows the change `check` names (see the module's list), and what was measured."""
    kind, *args = check
    if kind == "hand":
        side = args[0]
        use = after.raised if (len(args) < 2 or args[1] == "raised") else after.active
        want = {"left": (True, False), "right": (False, True), "both": (True, True)}[side]
        return tuple(use) == want, f"arms used (left, right): before {before.raised}/{before.active}, after " \
                                   f"{after.raised}/{after.active}"
    if kind == "leg":
        action, side = args
        found = after.sides.get(action, [])
        return side in found, f"{action} sides: before {before.sides.get(action, [])}, after {found}"
    if kind == "count":
        action, how = args
        b, a = _count(before, action), _count(after, action)
        if how == "more":
            ok = a > b
        elif how == "fewer":
            ok = 0 < a < b
        else:
            n = int(how)
            ok = abs(a - n) <= max(1, round(0.25 * n)) if action in LOCOMOTION else a == n
        return ok, f"{action} count: before {b}, after {a}"
    if kind == "size":
        what, how = args
        attr = {"jump": "apex", "squat": "depth", "kick": "foot"}[what]
        b, a = getattr(before, attr), getattr(after, attr)
        return _grew(b, a, how == "up", 0.10, 0.02), f"{attr}: before {b:.3f} m, after {a:.3f} m"
    if kind == "walk":
        way = args[0]
        left, fwd = after.displacement
        vec = {"forward": (0.0, 1.0), "backward": (0.0, -1.0), "left": (1.0, 0.0), "right": (-1.0, 0.0)}[way]
        along = left * vec[0] + fwd * vec[1]
        across = abs(left * vec[1] - fwd * vec[0])
        return along >= 0.3 and along > across, (f"displacement (left, forward): before "
                                                 f"({before.displacement[0]:.2f}, {before.displacement[1]:.2f}) m, "
                                                 f"after ({left:.2f}, {fwd:.2f}) m")
    if kind == "turn":
        b, a = before.heading, after.heading
        return abs(a) >= 30 and math.copysign(1, a) != math.copysign(1, b), \
            f"heading change: before {b:.0f} deg, after {a:.0f} deg"
    if kind == "speed":
        b, a = before.speed, after.speed
        return _grew(b, a, args[0] == "up", 0.15, 0.0), f"ground speed: before {b:.2f} m/s, after {a:.2f} m/s"
    if kind == "present":
        b, a = _count(before, args[0]), _count(after, args[0])
        return a > 0 and (b == 0 or a > b), f"{args[0]} count: before {b}, after {a}"
    if kind == "absent":
        b, a = _count(before, args[0]), _count(after, args[0])
        return a == 0, f"{args[0]} count: before {b}, after {a}"
    raise ValueError(f"unknown check {kind!r}")
