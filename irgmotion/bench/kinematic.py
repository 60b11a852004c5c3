"""An independent kinematic checker: does a motion show the actions a program asks for?

It reads joint positions only -- HumanML3D's 22 joints, (T, 22, 3) metres, Y up, 20 fps -- and no model,
learned evaluator or renderer. `check_motion(joints, program)` returns a `CheckResult` with one verdict per
program action and an overall pass: every action found with its main slots (action, side, direction, count
where countable) and the actions found in the program's order.

How it works: per-frame signals (foot heights and contacts, pelvis drop below standing height, heading from
the hip line and from the planted feet, trunk pitch/roll/twist, wrist positions relative to the shoulders
in the body frame) are turned into time-stamped occurrences of every action type with measured slots
(`analyse`); each program action is matched against the occurrences of its type, and an order-preserving
assignment (increasing occurrence centres, greedy) decides the order. An upper-body action carried during
locomotion ("upper") must overlap the occurrence of its base action.

Judged slots and tolerances (slots not listed -- speed, height, depth, hold, amount, march knee -- are not
judged; `ignore` drops more, for goals that leave them open):
- walk/jog/run: the gait (walk: foot swing <~10 cm, upright trunk, no flight phase; run vs jog: foot swing
  height, trunk lean and flight phases, see `Analysis._gait`); the direction of the net displacement in the
  heading at the start (within 25 degrees of the asked one of 8 directions) and whether the body faces its
  motion or backs away; the path: straight (heading change within 35 degrees of the one the direction
  implies, 55 for sideways/diagonal directions), curve (heading change within 35 degrees of the asked angle
  and side, chord within 35 degrees of half of it), circle (heading change >= 250 degrees on the asked
  side, away from the start); steps (foot lifts) within max(1, 25%).
- side_step: lateral displacement on the asked side with the heading kept (< 30 degrees); steps within 1.
- turn: heading change of the planted feet on the asked side within 30 degrees of the angle, displacement
  < 0.3 m, turning rate < 170 deg/s. spin: the same above 170 deg/s; turns = round(change / 360).
- jump: synchronous flight phases (both feet leave and land together, normal stance), count exact;
  direction from the displacement per jump (in place below 0.15 m). jumping_jacks: pairs of flights that
  land wide then narrow, count exact. hop: flights off one foot while the other stays up, leg = the
  supporting foot, count exact, forward when the support foot advances > 0.15 m per hop.
- march: alternating in-place foot lifts >= 10 cm, steps within max(1, 25%). stomp: in-place lifts >= 10 cm
  of one foot (left/right), or alternating with a pause on both feet between lifts (each foot up < 76% of
  the cycle, or < 90% when the lifts rise slower than they drop: "both"); count exact.
- squat / crouch / kneel / lunge / sit_down: pelvis dips with both feet planted, classified at the bottom:
  pelvis below 35% of standing height = sit; a knee within 12.5 cm of the floor = kneel (which knee, or
  both); feet split > 40 cm front/back = lunge (the front foot is the leg); both heels raised >= 3.5 cm =
  crouch; else squat. Counts (squat, lunge) exact.
- bow: trunk pitched forward > 12 degrees for >= 8 frames with the pelvis high, both feet planted and the
  hands away from the floor (not around a jump, a throw or a toe touch), count exact. touch_toes: both
  wrists within 18 cm of the floor while bent > 30 degrees, count exact. tiptoe: both heels raised >= 5 cm
  on planted toes with straight legs, count exact. lean: trunk roll > 5 degrees to the asked side with
  both feet planted, count exact.
- kick: a long lift of the kicking leg with the leg straightened (hip-ankle distance >= 90% of the leg)
  and the foot high, count = straightenings (exact), direction forward vs sideways by where the ankle goes.
  balance: a lift >= 1.2 s of one foot with the knee bent; the leg is the standing one (which may rise
  onto its toes, < 10 cm).
- torso_twist / look_around: alternating excursions of the chest's yaw relative to the hips, > 30 degrees
  with the forearms in front (twist) or 12..30 degrees with the arms low (look around); count = excursion
  pairs (exact); look_around's first side.
- wave: a raised bent arm whose forearm swings to and fro; hand; count within 1. raise_arm: an extended
  arm held (>= 6 frames) overhead / sideways / forward; hand. stretch: both arms held overhead with the
  head tipped back (head pitch >= 10 degrees below its resting value, or below 15 degrees; raise_arm both
  overhead keeps the head level). clap: wrists meeting in front (closing to < 15 cm
  from >= 15 cm further apart), count exact. punch: quick (<= 8 frames)
  forward extensions of one wrist from a guard, the other arm not extended; hand, count exact ("both" with
  one punch accepts either hand). throw: one wrist high, from behind the shoulder to far in front within
  0.75 s; hand. shrug: shoulders raised >= 2.5 cm (against the
  spine) with the arms low, count exact. arm_circles: the wrist's angle around the
  shoulder, count = turns (within 1), direction (forward = over the top towards the front), hand.
- idle: a still stretch (every joint slower than 0.15 m/s, standing, arms down) of >= max(0.7 s, 70% of
  the duration; a chained action's own lead-in and lead-out stillness can reach ~0.8 s).

Resting references come from the motion itself: the floor (10th percentile of the lowest foot joint), the
standing pelvis height (frames with planted feet, straight legs, heels down), the resting trunk pitch and
roll (their most common standing values, clamped to [-8, 3] and [-2, 2] degrees so a clip that is mostly
a bow or a lean cannot move them). Motions at other frame rates are resampled to 20 fps.

Numpy and scipy only: nothing here imports torch or the corpus code (`DEFAULTS` mirrors the corpus
schema's defaults; a test keeps them in sync).
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import numpy as np
from scipy.ndimage import gaussian_filter1d

FPS = 20.0
SMOOTH_FRAMES = 1.0
(PELVIS, L_HIP, R_HIP, SPINE1, L_KNEE, R_KNEE, SPINE2, L_ANKLE, R_ANKLE, SPINE3, L_FOOT, R_FOOT, NECK, L_COLLAR,
 R_COLLAR, HEAD, L_SHOULDER, R_SHOULDER, L_ELBOW, R_ELBOW, L_WRIST, R_WRIST) = range(22)
HIPS, KNEES, ANKLES, TOES = (L_HIP, R_HIP), (L_KNEE, R_KNEE), (L_ANKLE, R_ANKLE), (L_FOOT, R_FOOT)
SHOULDERS, ELBOWS, WRISTS = (L_SHOULDER, R_SHOULDER), (L_ELBOW, R_ELBOW), (L_WRIST, R_WRIST)
SIDE_NAMES = ("left", "right")
SIDE_SIGN = (1.0, -1.0)  # +x of the body frame is the body's left

# Defaults of every action's parameters (the corpus schema's; tests/test_kinematic_checker.py checks them).
DEFAULTS = {
    "walk": {"direction": "forward", "path": "straight", "turn": "left", "angle": 90, "steps": 4, "speed": 1.0},
    "jog": {"direction": "forward", "path": "straight", "turn": "left", "angle": 90, "steps": 6, "speed": 1.0},
    "run": {"direction": "forward", "path": "straight", "turn": "left", "angle": 90, "steps": 6, "speed": 1.0},
    "side_step": {"direction": "left", "steps": 2, "speed": 1.0},
    "turn": {"direction": "left", "angle": 90, "speed": 1.0},
    "spin": {"direction": "left", "turns": 1},
    "jump": {"direction": "in_place", "count": 1, "height": 0.25},
    "hop": {"leg": "right", "count": 3, "direction": "in_place"},
    "jumping_jacks": {"count": 3, "speed": 1.0},
    "march": {"steps": 6, "speed": 1.0, "knee": 1.0},
    "stomp": {"foot": "right", "count": 1},
    "squat": {"count": 1, "depth": 0.8, "speed": 1.0},
    "crouch": {"hold": 1.0, "depth": 1.0},
    "kneel": {"knee": "right", "hold": 1.0},
    "sit_down": {"hold": 1.5},
    "bow": {"count": 1, "depth": 0.6},
    "touch_toes": {"count": 1},
    "lean": {"direction": "left", "count": 1, "amount": 0.7},
    "lunge": {"leg": "right", "count": 1},
    "balance": {"leg": "left", "hold": 1.5},
    "kick": {"leg": "right", "direction": "forward", "count": 1, "height": 0.7},
    "tiptoe": {"count": 1},
    "torso_twist": {"count": 2},
    "idle": {"duration": 2.0},
    "wave": {"hand": "right", "count": 3},
    "raise_arm": {"hand": "right", "direction": "overhead", "hold": 1.0},
    "clap": {"count": 3},
    "punch": {"hand": "right", "count": 2},
    "throw": {"hand": "right"},
    "look_around": {"count": 1, "first": "left"},
    "stretch": {"hold": 1.2},
    "shrug": {"count": 1},
    "arm_circles": {"hand": "both", "count": 3, "direction": "forward"},
}

# The slots each action is judged on.
JUDGED = {
    "walk": ("direction", "path", "turn", "angle", "steps"), "jog": ("direction", "path", "turn", "angle", "steps"),
    "run": ("direction", "path", "turn", "angle", "steps"), "side_step": ("direction", "steps"),
    "turn": ("direction", "angle"), "spin": ("direction", "turns"), "jump": ("direction", "count"),
    "hop": ("leg", "count", "direction"), "jumping_jacks": ("count",), "march": ("steps",),
    "stomp": ("foot", "count"), "squat": ("count",), "crouch": (), "kneel": ("knee",), "sit_down": (),
    "bow": ("count",), "touch_toes": ("count",), "lean": ("direction", "count"), "lunge": ("leg", "count"),
    "balance": ("leg",), "kick": ("leg", "direction", "count"), "tiptoe": ("count",), "torso_twist": ("count",),
    "idle": ("duration",), "wave": ("hand", "count"), "raise_arm": ("hand", "direction"), "clap": ("count",),
    "punch": ("hand", "count"), "throw": ("hand",), "look_around": ("count", "first"), "stretch": (),
    "shrug": ("count",), "arm_circles": ("hand", "count", "direction"),
}

DIRECTION_ANGLE = {"forward": 0.0, "forward_left": 45.0, "left": 90.0, "backward_left": 135.0, "backward": 180.0,
                   "backward_right": -135.0, "right": -90.0, "forward_right": -45.0}
# heading change a straight walk in each direction implies (the body turns to face it; backwards it keeps
# facing the way it backs away from)
FACE_ANGLE = {"forward": 0.0, "forward_left": 45.0, "left": 90.0, "backward_left": -45.0, "backward": 0.0,
              "backward_right": 45.0, "right": -90.0, "forward_right": -45.0}


# --------------------------------------------------------------------------------------------- helpers

def _smooth(x, sigma):
    x = np.asarray(x, dtype=np.float64)
    return gaussian_filter1d(x, sigma, axis=0, mode="nearest") if sigma > 0 else x


def _runs(mask, min_len=1, max_gap=0):
    """[start, end) runs of True; gaps of <= max_gap False frames are bridged; shorter runs dropped."""
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return []
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
    runs = []
    for s, e in zip(starts, ends):
        if runs and s - runs[-1][1] <= max_gap:
            runs[-1] = (runs[-1][0], e)
        else:
            runs.append((s, e))
    return [(int(s), int(e)) for s, e in runs if e - s >= min_len]


def _wrap(a):
    return (np.asarray(a) + np.pi) % (2 * np.pi) - np.pi


def _wrap_deg(a):
    return (a + 180.0) % 360.0 - 180.0


def _group(items, gap, start=lambda x: x[0], end=lambda x: x[1]):
    """Consecutive items (sorted by start) whose gap to the previous group is <= gap."""
    groups = []
    for it in sorted(items, key=start):
        if groups and start(it) - max(end(g) for g in groups[-1]) <= gap:
            groups[-1].append(it)
        else:
            groups.append([it])
    return groups


def _mode(x, bin_width=0.5, sigma_bins=2.0):
    """The densest value of a sample (histogram smoothed with a Gaussian)."""
    x = np.asarray(x, dtype=np.float64)
    if len(x) < 3:
        return float(np.median(x)) if len(x) else 0.0
    lo, hi = x.min(), x.max()
    if hi - lo < bin_width:
        return float(np.median(x))
    edges = np.arange(lo, hi + bin_width, bin_width)
    h, edges = np.histogram(x, edges)
    k = int(np.argmax(gaussian_filter1d(h.astype(np.float64), sigma_bins, mode="constant")))
    return float(0.5 * (edges[k] + edges[k + 1]))


def _sector(angle_deg: float) -> str:
    """The nearest of the 8 direction names to an angle (0 forward, +90 left)."""
    return min(DIRECTION_ANGLE, key=lambda k: abs(_wrap_deg(angle_deg - DIRECTION_ANGLE[k])))


def _side_of(sides) -> str:
    sides = set(sides)
    if sides == {0, 1}:
        return "both"
    return SIDE_NAMES[sides.pop()] if sides else "none"


def _count_tol(n: int, expected: int, rel: float = 0.25) -> bool:
    return abs(n - expected) <= max(1, int(round(rel * expected)))


# --------------------------------------------------------------------------------------------- signals

class Signals:
    """Per-frame quantities derived from joint positions only."""

    def __init__(self, joints, fps: float = FPS):
        j = np.asarray(joints, dtype=np.float64)
        if j.ndim != 3 or j.shape[1:] != (22, 3):
            raise ValueError(f"expected joints of shape (T, 22, 3), got {j.shape}")
        if not np.isfinite(j).all():
            raise ValueError("joints contain non-finite values")
        if fps != FPS and len(j) >= 2:  # resample to 20 fps
            t_old = np.arange(len(j)) / float(fps)
            t_new = np.arange(0.0, t_old[-1] + 1e-9, 1.0 / FPS)
            j = np.stack([np.stack([np.interp(t_new, t_old, j[:, k, c]) for c in range(3)], -1)
                          for k in range(22)], 1)
        if len(j) < 8:
            raise ValueError(f"motion too short ({len(j)} frames at 20 fps)")
        self.fps = FPS
        self.T = T = len(j)
        # a light temporal smoothing (Gaussian, 1 frame): generated motions jitter, the detectors use
        # per-frame contacts and velocities
        j = _smooth(j, SMOOTH_FRAMES)
        feet = j[:, list(ANKLES + TOES), 1]
        j = j.copy()
        floor = np.percentile(feet.min(axis=1), 10)
        j[..., 1] -= floor
        self.j = j
        self.L = float(np.median(np.linalg.norm(j[:, HIPS] - j[:, KNEES], axis=-1).mean(1)
                                 + np.linalg.norm(j[:, KNEES] - j[:, ANKLES], axis=-1).mean(1)))
        self.arm_len = float(np.median(np.linalg.norm(j[:, SHOULDERS] - j[:, ELBOWS], axis=-1).mean(1)
                                       + np.linalg.norm(j[:, ELBOWS] - j[:, WRISTS], axis=-1).mean(1)))
        self.ankle_rest = np.percentile(j[:, ANKLES, 1], 5, axis=0)
        # lowest point of each foot: the toe, or the heel (ankle height above its resting height)
        self.fh = np.minimum(j[:, TOES, 1], j[:, ANKLES, 1] - self.ankle_rest)
        self.ground = self.fh < 0.03
        # heading from the hip line (forward = Y x (r_hip - l_hip)); 0 faces +Z, positive turns left
        across = j[:, R_HIP] - j[:, L_HIP]
        self.psi = _smooth(np.unwrap(np.arctan2(across[:, 2], -across[:, 0])), 1.0)
        # heading implied by the feet (ankle -> toe, both feet), exact while they are planted
        fv = j[:, TOES] - j[:, ANKLES]
        fy = np.arctan2(fv[..., 0], fv[..., 2])
        self.feet_psi = np.unwrap(np.arctan2(np.sin(fy).sum(1), np.cos(fy).sum(1)))
        # chest heading (shoulder line) relative to the hips: the torso's twist
        sh = j[:, R_SHOULDER] - j[:, L_SHOULDER]
        chest = np.unwrap(np.arctan2(sh[:, 2], -sh[:, 0]))
        self.twist = np.degrees(_wrap(chest - self.psi))
        self.ph = j[:, PELVIS, 1]
        self.leg_ext = np.linalg.norm(j[:, HIPS] - j[:, ANKLES], axis=-1) / self.L
        neck = self.rel(NECK)
        self.pitch = np.degrees(np.arctan2(neck[:, 2], neck[:, 1]))
        self.roll = np.degrees(np.arctan2(neck[:, 0], neck[:, 1]))
        head = self.rel(HEAD, NECK)
        self.head_pitch = np.degrees(np.arctan2(head[:, 2], head[:, 1]))  # + nodding forward
        upright = (j[:, HEAD, 1] - self.ph) > 0.4
        heels_down = (j[:, ANKLES, 1] - self.ankle_rest < 0.02).all(1)
        standing = self.ground.all(1) & (self.leg_ext > 0.95).all(1) & upright & heels_down
        self.standing = standing
        if standing.sum() >= 5:
            self.hs = float(np.percentile(self.ph[standing], 60))
            ref = standing & (np.abs(self.ph - self.hs) < 0.03)
            ref = ref if ref.sum() >= 3 else standing
        else:
            self.hs = float(np.percentile(self.ph, 90))
            ref = np.ones(T, dtype=bool)
        # resting trunk pitch/roll: the most common value while standing (a median would follow a long bow)
        # clamped to what an upright body can have (a clip made mostly of one lean/bow has its mode there;
        # a symmetric body stands with no roll, the HumanML3D rest pose with about -3 degrees of pitch)
        self.pitch0 = float(np.clip(_mode(self.pitch[ref]), -8.0, 3.0))
        self.roll0 = float(np.clip(_mode(self.roll[ref]), -2.0, 2.0))
        self.head_pitch0 = _mode(self.head_pitch[ref])
        shoulders = j[:, SHOULDERS, 1].mean(1) - j[:, SPINE3, 1]
        self.shrug = shoulders - float(np.median(shoulders[ref]))
        ank = self.rel(list(ANKLES))
        self.width = np.abs(ank[:, 0, 0] - ank[:, 1, 0])
        self.width0 = float(np.median(self.width[ref]))
        self.drop = _smooth(self.hs - self.ph, 0.7)
        # arms: wrist relative to the shoulder in the body frame, per side (T, 2, 3) as (left, up, forward)
        w = np.stack([self.rel(WRISTS[k], SHOULDERS[k]) for k in (0, 1)], 1)
        self.wrist = w
        self.arm_up = w[..., 1] / self.arm_len
        self.arm_fwd = w[..., 2] / self.arm_len
        self.arm_out = w[..., 0] * np.array(SIDE_SIGN) / self.arm_len
        self.arm_ext = np.linalg.norm(w, axis=-1) / self.arm_len
        ua = j[:, SHOULDERS] - j[:, ELBOWS]
        fa = j[:, WRISTS] - j[:, ELBOWS]
        cosb = np.sum(ua * fa, -1) / np.maximum(np.linalg.norm(ua, axis=-1) * np.linalg.norm(fa, axis=-1), 1e-9)
        self.elbow_bend = 180.0 - np.degrees(np.arccos(np.clip(cosb, -1, 1)))

    def local(self, v, psi=None):
        """World vectors (T, ..., 3) -> body frame (left, up, forward) with heading psi (T,) or a scalar."""
        psi = self.psi if psi is None else psi
        psi = np.asarray(psi, dtype=np.float64)
        c, s = np.cos(psi), np.sin(psi)
        if psi.ndim:
            c = c.reshape((-1,) + (1,) * (v.ndim - 2))
            s = s.reshape((-1,) + (1,) * (v.ndim - 2))
        x, y, z = v[..., 0], v[..., 1], v[..., 2]
        return np.stack([x * c - z * s, y, x * s + z * c], -1)

    def rel(self, joint, origin=PELVIS, psi=None):
        """Joint(s) relative to `origin` in the body frame; joint may be an index or a list."""
        o = self.j[:, origin]
        if np.ndim(joint):
            o = o[:, None]
        return self.local(self.j[:, joint] - o, psi)

    def stance_mid(self):
        """(T, 2) ground (x, z) midpoint of both feet (ankles and toes)."""
        return self.j[:, list(ANKLES + TOES)][:, :, [0, 2]].mean(1)

    def ground_disp(self, a: int, b: int, psi=None):
        """Displacement of the feet midpoint from frame a to b in the feet heading at a: (left, forward) metres."""
        mid = self.stance_mid()
        d = mid[b] - mid[a]
        psi = self.feet_psi[a] if psi is None else psi
        loc = self.local(np.array([[d[0], 0.0, d[1]]]), psi)[0]
        return float(loc[0]), float(loc[2])


# --------------------------------------------------------------------------------------------- analysis

@dataclass
class Occurrence:
    """One time-stamped occurrence of an action type with the slots measured on it."""
    name: str
    start: int
    end: int
    attrs: dict = field(default_factory=dict)

    @property
    def center(self) -> float:
        return 0.5 * (self.start + self.end)

    def to_dict(self) -> dict:
        return {"name": self.name, "start": self.start, "end": self.end, **self.attrs}


@dataclass
class Lift:
    side: int
    start: int
    end: int           # [start, end): frames the foot is off the ground
    height: float      # peak foot height (m)
    peak: float        # centroid of the frames >= 80% of the peak height
    fwd: float         # peak forward reach of the ankle from the pelvis (m, body frame)
    out: float         # peak outward reach of the ankle from the pelvis (m)
    ext: float         # peak hip-ankle distance / leg length while the foot is >= 20 cm up
    asym: float        # rise time over fall time, above 30% of the height (a stomp rises slowly, drops fast)

    @property
    def dur(self) -> int:
        return self.end - self.start



class Analysis:
    """All occurrences found in a motion, by action name."""

    def __init__(self, joints, fps: float = FPS):
        self.S = Signals(joints, fps)
        self.occ: dict[str, list[Occurrence]] = {name: [] for name in DEFAULTS}
        self._feet()
        self._dips()
        self._arms()
        self._bends()
        self._twists()
        self._idle()
        for v in self.occ.values():
            v.sort(key=lambda o: o.center)

    def add(self, name, start, end, **attrs):
        self.occ.setdefault(name, []).append(Occurrence(name, int(start), int(end), attrs))

    def near_flight(self, a: int, b: int, margin: int = 8) -> bool:
        return any(fa < b + margin and fb > a - margin for fa, fb in self.jump_flights)

    # ------------------------------------------------------------------ feet: lifts, flights, stepping
    def _lifts(self):
        S = self.S
        lifts = []
        for k in (0, 1):
            ank = S.rel(ANKLES[k])
            for a, b in _runs(~S.ground[:, k], 2, 1):
                h = S.fh[a:b, k]
                # the lift's "peak": the centroid of its top (>= 80% of the height), robust to jitter
                top = np.flatnonzero(h >= 0.8 * h.max())
                pk = a + float(np.average(top, weights=h[top]))
                above = np.flatnonzero(h >= 0.3 * h.max())
                rise, fall = pk - (a + above[0]) + 0.5, (a + above[-1]) - pk + 0.5
                high = h >= 0.2
                ext = float(S.leg_ext[a:b, k][high].max()) if high.any() else 0.0
                lifts.append(Lift(k, a, b, float(h.max()), pk, float(ank[a:b, 2].max()),
                                  float((SIDE_SIGN[k] * ank[a:b, 0]).max()), ext, rise / fall))
        return sorted(lifts, key=lambda l: l.start)

    def _feet(self):
        S = self.S
        T = S.T
        lifts = self._lifts()
        self.lifts = lifts

        def containing(side, a, b):
            for l in lifts:
                if l.side == side and l.start <= a and l.end >= b:
                    return l
            return None

        jump_fl, hop_fl = [], []
        run_frames = np.zeros(T, dtype=bool)
        for a, b in _runs(~S.ground.any(1), 2, 0):
            lL, lR = containing(0, a, b), containing(1, a, b)
            if lL is None or lR is None:
                continue
            if abs(lL.start - lR.start) <= 3 and abs(lL.end - lR.end) <= 3:
                jump_fl.append((a, b, lL, lR))
                continue
            kind = None
            for sup, free in ((lL, lR), (lR, lL)):
                if abs(sup.start - a) <= 3 and abs(sup.end - b) <= 3 and free.start <= a - 4 and free.end >= b + 4:
                    kind = (sup, free)
            if kind is not None and kind[1].height >= 0.12 and kind[0].height >= 0.1:
                hop_fl.append((a, b, kind[0], kind[1]))
            else:
                run_frames[a:b] = True
        for a, b in _runs(~S.ground.any(1), 1, 0):
            if b - a < 2:
                run_frames[a:b] = True
        self.jump_flights = [(a, b) for a, b, _, _ in jump_fl] + [(a, b) for a, b, _, _ in hop_fl]
        used = set()

        # jumps and jumping jacks
        for grp in _group(jump_fl, 25):
            for _, _, lL, lR in grp:
                used.add(id(lL)), used.add(id(lR))
            wide = []
            for a, b, lL, lR in grp:
                t = min(max(lL.end, lR.end) + 2, T - 1)
                wide.append(S.width[t] > S.width0 + 0.15)
            i = 0
            segs = []  # (kind, [flights])
            while i < len(grp):
                if wide[i]:
                    pair = grp[i:i + 2]
                    if segs and segs[-1][0] == "jacks":
                        segs[-1][1].extend(pair)
                    else:
                        segs.append(("jacks", list(pair)))
                    i += 2
                else:
                    if segs and segs[-1][0] == "jump":
                        segs[-1][1].append(grp[i])
                    else:
                        segs.append(("jump", [grp[i]]))
                    i += 1
            for kind, fl in segs:
                before = max(min(fl[0][2].start, fl[0][3].start) - 1, 0)
                after = min(max(fl[-1][2].end, fl[-1][3].end), T - 1)
                if kind == "jacks":
                    n = sum(1 for (a, b, lL, lR) in fl
                            if S.width[min(max(lL.end, lR.end) + 2, T - 1)] > S.width0 + 0.15)
                    self.add("jumping_jacks", before, after, count=n, flights=len(fl))
                else:
                    left, fwd = S.ground_disp(before, after)
                    per = math.hypot(left, fwd) / len(fl)
                    if per < 0.15:
                        direction = "in_place"
                    else:
                        ang = math.degrees(math.atan2(left, fwd))
                        direction = min(("forward", "left", "backward", "right"),
                                        key=lambda k: abs(_wrap_deg(ang - DIRECTION_ANGLE[k])))
                    self.add("jump", before, after, count=len(fl), direction=direction,
                             displacement=round(per * len(fl), 3))

        # hops: grouped by the free foot's lift
        groups = {}
        for a, b, sup, free in hop_fl:
            groups.setdefault(id(free), (free, []))[1].append((a, b, sup))
        for free, fl in groups.values():
            used.add(id(free))
            for _, _, sup in fl:
                used.add(id(sup))
            sup_side = fl[0][2].side
            before = max(fl[0][2].start - 1, 0)
            after = min(fl[-1][2].end, T - 1)
            d = S.j[after, ANKLES[sup_side]] - S.j[before, ANKLES[sup_side]]
            loc = S.local(np.array([[d[0], 0.0, d[2]]]), S.feet_psi[max(free.start - 1, 0)])[0]
            direction = "forward" if loc[2] / len(fl) > 0.15 else "in_place"
            self.add("hop", free.start, free.end, count=len(fl), leg=SIDE_NAMES[sup_side], direction=direction)

        steps = [l for l in lifts if id(l) not in used and not self.near_flight(l.start, l.end, 0)]
        self.step_lifts = steps
        single = self._single_lifts(steps)
        # a kick or a balance, and a support foot rising onto its toes meanwhile, are no steps
        spans = [(l.start, l.end) for l in single]
        self._stepping([l for l in steps if not any(a <= l.start and l.end <= b for a, b in spans)], run_frames)

    def _stepping(self, steps, run_frames):
        S = self.S
        T = S.T
        mid = S.stance_mid()
        for grp in _group(steps, 8, start=lambda l: l.start, end=lambda l: l.end):
            a = max(grp[0].start - 1, 0)
            b = min(max(l.end for l in grp), T - 1)
            sides = [l.side for l in grp]
            nL, nR = sides.count(0), sides.count(1)
            left, fwd = S.ground_disp(a, b)
            disp = math.hypot(left, fwd)
            path = float(np.linalg.norm(np.diff(mid[a:b + 1], axis=0), axis=1).sum())
            dpsi = float(np.degrees(S.feet_psi[b] - S.feet_psi[a]))
            hips = float(np.degrees(S.psi[b] - S.psi[a]))
            dpsi += 360.0 * round((hips - dpsi) / 360.0)  # the feet's mean heading can jump by 360 mid-turn
            dur = max(b - a, 1)
            both = nL > 0 and nR > 0
            extent = float(np.linalg.norm(mid[a:b + 1] - mid[a], axis=1).max())
            moved = disp >= 0.15 or (abs(dpsi) >= 250 and extent >= 0.5)
            if both and moved and path >= 0.15:
                ang = math.degrees(math.atan2(left, fwd))
                # how the body faces its motion: 0 forward, 180 backward, 90 sideways
                v = np.gradient(_smooth(S.j[:, PELVIS], 2.0), axis=0)[a:b + 1]
                vl = S.local(v, S.psi[a:b + 1])
                sp = np.hypot(vl[:, 0], vl[:, 2])
                rel = math.degrees(math.atan2(float(np.sum(vl[:, 0] * sp)), float(np.sum(vl[:, 2] * sp))))
                if abs(dpsi) < 30 and 55 <= abs(rel) <= 125 and abs(_wrap_deg(ang - math.copysign(90, left))) <= 40:
                    self.add("side_step", a, b, direction="left" if left > 0 else "right",
                             steps=int(round(len(grp) / 2)), lifts=len(grp))
                    continue
                backward = abs(rel) > 125
                gait, feats = self._gait(grp, a, b, backward, run_frames)
                if abs(dpsi) >= 250:
                    path_kind = "circle"
                else:
                    path_kind = None  # decided against the program (straight vs curve)
                self.add("locomotion", a, b, gait=gait, direction=_sector(ang), angle=round(ang, 1),
                         heading_change=round(dpsi, 1), path=path_kind, steps=len(grp),
                         displacement=round(disp, 3), facing="backward" if backward else "forward", **feats)
            elif both and abs(dpsi) >= 30 and disp < 0.3:
                rate = abs(dpsi) / (dur / S.fps)
                if rate >= 170:
                    self.add("spin", a, b, direction="left" if dpsi > 0 else "right",
                             turns=int(round(abs(dpsi) / 360.0)), angle=round(dpsi, 1), rate=round(rate))
                else:
                    self.add("turn", a, b, direction="left" if dpsi > 0 else "right", angle=round(dpsi, 1),
                             rate=round(rate))
            elif disp < 0.15 and abs(dpsi) < 30:
                high = [l for l in grp if 0.1 <= l.height and l.dur <= 24]
                if len(high) != len(grp) or not grp:
                    continue
                foot = _side_of(sides)
                if not both:  # one foot lifted again and again (a march alternates)
                    self.add("stomp", a, b, foot=foot, count=len(grp), lifts=len(grp))
                    continue
                alt = sum(1 for x, y in zip(sides[:-1], sides[1:]) if x != y) / (len(grp) - 1)
                if alt < 0.75:
                    continue
                # stomps with alternating feet vs a march: a stomp pauses with both feet down between lifts
                # (each foot is up < 76% of the cycle) and rises slower than it drops
                duty = float(np.mean([l.dur for l in grp])) / max((grp[-1].start - grp[0].start) / (len(grp) - 1), 1.0)
                asym = float(np.mean([l.asym for l in grp]))
                if duty < 0.76 or (duty < 0.9 and asym >= 1.2):
                    self.add("stomp", a, b, foot="both", count=int(round(len(grp) / 2)), lifts=len(grp))
                else:
                    self.add("march", a, b, steps=len(grp))

    def _gait(self, grp, a, b, backward, run_frames):
        """walk / jog / run from foot swing height, trunk lean and flight phases (not the arms: an upper-body
        action may drive them)."""
        S = self.S
        n = len(grp)
        top = max(l.height for l in grp)
        # a jog/run's first and last steps are shorter: the share of the full swing height the highest step
        # of an n-step bout reaches
        fh = top / {1: 0.67, 2: 0.7, 3: 0.86}.get(n, 1.0)
        q = (b - a) // 4
        pitch = float(np.median(S.pitch[a + q:b - q + 1])) - S.pitch0 + (3.4 if backward else 0.0)
        flights = int(run_frames[a:b + 1].sum())
        # scores: positive favours the faster gait
        fast = (top - 0.105) / 0.01 + (pitch - 4.0) / 1.5 + (2.0 if flights else 0.0)
        if fast < 0:
            gait = "walk"
        else:
            run = (fh - 0.178) / 0.02 + (pitch - 8.5) / 1.5 + (flights / n - 0.9) / 0.4
            gait = "run" if run > 0 else "jog"
        return gait, {"swing": round(top, 3), "lean": round(pitch, 1), "flight_frames": flights}

    def _single_lifts(self, steps):
        """kick and balance: long lifts of one foot while the other stands; returns the lifts used."""
        S = self.S
        used = []
        for l in steps:
            if l.dur < 15 or l.height < 0.25:
                continue
            other = 1 - l.side
            if S.fh[l.start:l.end, other].max() >= 0.1:
                continue  # the other foot stands (it may rise onto its toes)
            # straightenings of the raised leg
            e = S.leg_ext[l.start:l.end, l.side]
            h = S.fh[l.start:l.end, l.side]
            ext_runs = _runs((e >= 0.9) & (h >= 0.2), 1, 1)
            if ext_runs:
                ank = S.rel(ANKLES[l.side], HIPS[l.side])[l.start:l.end]
                pk = [r0 + int(np.argmax(e[r0:r1])) for r0, r1 in ext_runs]
                fwd = float(np.mean([ank[p, 2] for p in pk]))
                out = float(np.mean([SIDE_SIGN[l.side] * ank[p, 0] for p in pk]))
                self.add("kick", l.start, l.end, leg=SIDE_NAMES[l.side], count=len(ext_runs),
                         direction="forward" if fwd >= out else "sideways")
                used.append(l)
            elif l.dur >= 24:
                self.add("balance", l.start, l.end, leg=SIDE_NAMES[other], seconds=round(l.dur / S.fps, 2))
                used.append(l)
        return used

    # ------------------------------------------------------------------ pelvis dips
    def _dips(self):
        S = self.S
        ank = S.rel(list(ANKLES))
        dips = []
        for a, b in _runs(S.drop > 0.08, 4, 2):
            t = a + int(np.argmax(S.drop[a:b]))
            if not S.ground[t].all() or S.ground[a:b].all(1).mean() < 0.6:
                continue
            if self.near_flight(a, b, 6):
                continue
            if S.j[t, WRISTS, 1].max() < 0.18 and S.pitch[t] - S.pitch0 > 30 and S.ph[t] > 0.5 * S.hs:
                continue  # bent over to the toes
            knees = S.j[a:b, KNEES, 1].min(0)
            split = ank[t, 0, 2] - ank[t, 1, 2]
            heel = S.j[t, ANKLES, 1] - S.ankle_rest
            if S.ph[t] < 0.35 * S.hs:
                kind, attrs = "sit_down", {}
            elif knees.min() < 0.125:
                low = knees < 0.125
                kind, attrs = "kneel", {"knee": "both" if low.all() else SIDE_NAMES[int(np.argmin(knees))]}
            elif abs(split) > 0.4:
                kind, attrs = "lunge", {"leg": "left" if split > 0 else "right"}
            elif (heel >= 0.035).all():
                kind, attrs = "crouch", {}
            else:
                kind, attrs = "squat", {}
            dips.append((a, b, kind, attrs, round(float(S.drop[t]), 3)))
        self.dips = dips
        for grp in _group(dips, 40):
            # split a group where the kind or side changes
            segs = []
            for d in grp:
                if segs and segs[-1][0][2] == d[2] and segs[-1][0][3] == d[3] and d[2] in ("squat", "lunge"):
                    segs[-1].append(d)
                else:
                    segs.append([d])
            for seg in segs:
                kind, attrs = seg[0][2], seg[0][3]
                extra = {"count": len(seg)} if kind in ("squat", "lunge") else {}
                self.add(kind, seg[0][0], seg[-1][1], depth=max(d[4] for d in seg), **attrs, **extra)

    # ------------------------------------------------------------------ trunk: bows, toe touches, tiptoe, lean
    def _bends(self):
        S = self.S
        T = S.T
        pe = _smooth(S.pitch - S.pitch0, 1.0)
        both = S.ground.all(1)
        in_dip = np.zeros(T, dtype=bool)
        for a, b, *_ in self.dips:
            in_dip[a:b] = True
        wrist_min = S.j[:, WRISTS, 1].max(1)  # the higher wrist: both hands must be low for a toe touch
        toes = _runs((wrist_min < 0.18) & (pe > 30) & (S.ph > 0.5 * S.hs), 2, 2)
        for grp in _group(toes, 45):
            self.add("touch_toes", grp[0][0], grp[-1][1], count=len(grp))
        toe_mask = np.zeros(T, dtype=bool)
        for a, b in toes:
            toe_mask[max(a - 15, 0):b + 15] = True
        busy = toe_mask.copy()
        for o in self.occ.get("throw", []):
            busy[max(o.start - 5, 0):o.end + 15] = True
        bow = (pe > 12) & (S.drop < 0.1) & both & ~in_dip & ~busy
        bows = [(a, b) for a, b in _runs(bow, 8, 1) if not self.near_flight(a, b, 12)
                and S.j[a:b, WRISTS, 1].min() > 0.3]
        for grp in _group(bows, 30):
            self.add("bow", grp[0][0], grp[-1][1], count=len(grp),
                     pitch=round(float(max(pe[a:b].max() for a, b in grp)), 1))
        heel = S.j[:, ANKLES, 1] - S.ankle_rest
        tip = (heel >= 0.05).all(1) & both & (S.leg_ext > 0.95).all(1) & (S.drop < 0.03)
        tips = [(a, b) for a, b in _runs(tip, 2, 1) if not self.near_flight(a, b, 10)]
        for grp in _group(tips, 30):
            self.add("tiptoe", grp[0][0], grp[-1][1], count=len(grp))
        re = _smooth(S.roll - S.roll0, 1.0)
        calm = both & (S.drop < 0.06) & ~in_dip
        for sign, name in ((1.0, "left"), (-1.0, "right")):
            leans = [(a, b) for a, b in _runs((sign * re > 5) & calm, 4, 1) if not self.near_flight(a, b, 6)]
            for grp in _group(leans, 30):
                self.add("lean", grp[0][0], grp[-1][1], direction=name, count=len(grp),
                         roll=round(float(max(abs(re[a:b]).max() for a, b in grp)), 1))

    # ------------------------------------------------------------------ torso twist and looking around
    def _twists(self):
        S = self.S
        tw = _smooth(S.twist, 1.0)
        for o in self.occ.get("throw", []):  # a throw twists the chest too
            tw[max(o.start - 10, 0):o.end + 15] = 0.0
        hanging = S.arm_up.mean(1) < -0.3  # arms down (or swinging low while running)
        front = (S.arm_up.mean(1) >= -0.3) & (S.arm_fwd > 0.1).all(1)
        exc = []
        for sign in (1.0, -1.0):
            for a, b in _runs(sign * tw > 12, 4, 1):
                pk = a + int(np.argmax(sign * tw[a:b]))
                exc.append((a, b, sign, float(abs(tw[pk])), pk))
        exc.sort()
        for grp in _group(exc, 20):
            amp = float(np.median([e[3] for e in grp]))
            signs = [e[2] for e in grp]
            alternating = all(x != y for x, y in zip(signs[:-1], signs[1:]))
            if len(grp) < 2 or not alternating:
                continue
            pks = [e[4] for e in grp]
            n = int(math.ceil(len(grp) / 2))
            if amp >= 30 and front[pks].mean() >= 0.5:
                self.add("torso_twist", grp[0][0], grp[-1][1], count=n, amplitude=round(amp, 1))
            elif amp < 30 and hanging[pks].mean() >= 0.5:
                self.add("look_around", grp[0][0], grp[-1][1], count=n,
                         first="left" if signs[0] > 0 else "right", amplitude=round(amp, 1))

    # ------------------------------------------------------------------ arms
    def _arms(self):
        S = self.S
        up, fwd, out, ext, bend = S.arm_up, S.arm_fwd, S.arm_out, S.arm_ext, S.elbow_bend
        speed = np.linalg.norm(np.gradient(_smooth(S.wrist, 1.0), axis=0), axis=-1) * S.fps / S.arm_len  # (T, 2)
        # held arm poses: raise_arm / stretch
        held = {}
        for k in (0, 1):
            still = (speed[:, k] < 1.5) & (ext[:, k] >= 0.88)
            for pose, m in (("overhead", up[:, k] >= 0.7),
                            ("sideways", (out[:, k] >= 0.75) & (np.abs(up[:, k]) <= 0.3)),
                            ("forward", (fwd[:, k] >= 0.75) & (np.abs(up[:, k]) <= 0.3))):
                for a, b in _runs(still & m, 6, 1):
                    if any(o.start < b and o.end > a for o in self.occ.get("balance", [])):
                        continue  # arms out to keep balance on one leg
                    held.setdefault(pose, []).append((a, b, k))
        for pose, segs in held.items():
            for grp in _group(segs, 0):
                sides = {s for _, _, s in grp}
                a, b = min(x for x, _, _ in grp), max(y for _, y, _ in grp)
                if len(sides) == 2:
                    # both arms only if they overlap in time
                    spans = [(x, y) for x, y, s in grp]
                    ov = min(y for x, y in spans) - max(x for x, y in spans)
                    if ov < 3:
                        for x, y, s in grp:
                            self.add("raise_arm", x, y, hand=SIDE_NAMES[s], direction=pose)
                        continue
                # (the resting head pitch is ~27 degrees in HumanML3D's skeleton; a clip that is mostly a stretch
                # has its most common head pitch in the stretch, hence the absolute floor)
                if pose == "overhead" and len(sides) == 2 and \
                        np.median(S.head_pitch[a:b]) < max(S.head_pitch0 - 10.0, 15.0):
                    self.add("stretch", a, b)  # both arms up with the head tipped back
                else:
                    self.add("raise_arm", a, b, hand=_side_of(sides), direction=pose)
        # waves: a raised bent arm whose forearm swings sideways
        for k in (0, 1):
            fore = S.local(S.j[:, WRISTS[k]] - S.j[:, ELBOWS[k]])[:, [0, 2]]
            for a, b in _runs((up[:, k] >= 0.45) & (bend[:, k] >= 40) & (ext[:, k] < 0.93), 6, 2):
                # the forearm's swing: its horizontal direction projected on the main axis of its motion
                f = fore[a:b] - fore[a:b].mean(0)
                axis = np.linalg.svd(f, full_matrices=False)[2][0]
                n_ext = _extrema(f @ axis, 0.025)
                if n_ext >= 1:
                    self.add("wave_side", a, b, side=k, count=max(1, int(round(n_ext / 2))), extrema=n_ext)
        waves = self.occ.pop("wave_side", [])
        used = set()
        for i, w in enumerate(waves):
            if i in used:
                continue
            for j2, v in enumerate(waves):
                if j2 != i and j2 not in used and v.attrs["side"] != w.attrs["side"] and \
                        min(w.end, v.end) - max(w.start, v.start) > 0.5 * min(w.end - w.start, v.end - v.start):
                    used.update({i, j2})
                    self.add("wave", min(w.start, v.start), max(w.end, v.end), hand="both",
                             count=max(w.attrs["count"], v.attrs["count"]))
                    break
            else:
                used.add(i)
                self.add("wave", w.start, w.end, hand=SIDE_NAMES[w.attrs["side"]], count=w.attrs["count"])
        # claps: wrists meeting in front of the chest
        # (a closing: a local minimum of the wrists' distance below 15 cm with the hands >= 15 cm further apart
        # within 6 frames on both sides)
        dist = np.linalg.norm(S.j[:, L_WRIST] - S.j[:, R_WRIST], axis=-1)
        front = (fwd > 0.3).all(1)
        claps = []
        for a, b in _runs((dist < 0.15) & front, 1, 1):
            t = a + int(np.argmax(-dist[a:b]))
            before, after = dist[max(t - 6, 0):t + 1].max(), dist[t:t + 7].max()
            if min(before, after) >= dist[t] + 0.15:
                claps.append((a, b))
        for grp in _group(claps, 15):
            self.add("clap", grp[0][0], grp[-1][1], count=len(grp))
        # punches: quick forward extensions of one wrist from a guard (forearm raised in front), the other
        # arm not extended at the same time (that is a swing or a reach)
        punches = []
        for k in (0, 1):
            for a, b in _runs((fwd[:, k] >= 0.72) & (ext[:, k] >= 0.85) & (np.abs(up[:, k]) <= 0.35), 1, 1):
                if b - a > 8:
                    continue
                pk = a + int(np.argmax(fwd[a:b, k]))
                pre = slice(max(pk - 7, 0), max(pk - 3, 1))
                guard = ((fwd[pre, k] >= 0.1) & (fwd[pre, k] <= 0.7) & (up[pre, k] >= -0.55) & (up[pre, k] <= 0.35)
                         & (bend[pre, k] >= 45)).any()
                if guard and fwd[pk, 1 - k] < 0.6:
                    punches.append((a, b, k))
        for grp in _group(punches, 15):
            sides = [s for _, _, s in grp]
            self.add("punch", grp[0][0], grp[-1][1], hand=_side_of(sides), count=len(grp))
        # throws: a high wrist from behind the shoulder to far in front
        for k in (0, 1):
            cocked = np.flatnonzero((fwd[:, k] <= 0.0) & (up[:, k] >= 0.25) & (up[:, 1 - k] < 0.25))
            release = np.flatnonzero((fwd[:, k] >= 0.6) & (up[:, k] >= 0.25))
            done = -1
            for t in cocked:
                if t <= done:
                    continue
                r = release[(release > t) & (release <= t + 15)]
                if len(r):
                    self.add("throw", int(t), int(r[-1]) + 1, hand=SIDE_NAMES[k])
                    done = int(r[-1]) + 10
        # shrugs
        low = up.mean(1) < -0.3  # raising the arms also lifts the shoulder joints: shrugs are with arms low
        shrugs = [(a, b) for a, b in _runs(_smooth(S.shrug, 1.0) > 0.025, 2, 1)
                  if low[a + int(np.argmax(S.shrug[a:b]))]]
        for grp in _group(shrugs, 20):
            self.add("shrug", grp[0][0], grp[-1][1], count=len(grp))
        # arm circles: the wrist's angle around the shoulder in the body's sagittal plane
        circ = []
        for k in (0, 1):
            for a, b in _runs((out[:, k] >= 0.45) & (ext[:, k] >= 0.85) & (np.abs(up[:, k]) <= 0.75), 8, 2):
                # (forward, up) of the wrist around the shoulder: an arm held out sideways circles the origin
                c = S.wrist[a:b, k][:, [2, 1]] / S.arm_len
                # the longest stretch away from the axis (raising and lowering the arm pass near it, where the
                # angle is meaningless)
                far = _runs(np.linalg.norm(c, axis=1) >= 0.25, 6, 0)
                if not far:
                    continue
                r0, r1 = max(far, key=lambda r: r[1] - r[0])
                c = c[r0:r1]
                th = np.unwrap(np.arctan2(c[:, 1], c[:, 0]))
                total = float(np.degrees(th[-1] - th[0]))
                if abs(total) >= 200:
                    circ.append((a, b, k, total))
        for grp in _group(circ, 5):
            sides = {s for _, _, s, _ in grp}
            tot = float(np.mean([t for *_, t in grp]))
            self.add("arm_circles", min(g[0] for g in grp), max(g[1] for g in grp), hand=_side_of(sides),
                     count=max(1, int(round(abs(tot) / 360.0))), direction="forward" if tot < 0 else "backward",
                     degrees=round(tot))

    # ------------------------------------------------------------------ standing still
    def _idle(self):
        S = self.S
        v = np.linalg.norm(np.gradient(_smooth(S.j, 2.0), axis=0), axis=-1).max(1) * S.fps
        still = (v < 0.15) & S.ground.all(1) & (S.drop < 0.05) & (S.arm_up < -0.6).all(1)
        for a, b in _runs(still, 6, 1):
            self.add("idle", a, b, seconds=round((b - a) / S.fps, 2))


def _extrema(x, prominence):
    """Number of alternating local extrema of x that move by at least `prominence`."""
    n = 0
    ref = x[0]
    direction = 0
    ext = x[0]
    for v in x[1:]:
        if direction >= 0 and v > ext:
            ext = v
        elif direction <= 0 and v < ext:
            ext = v
        if direction >= 0 and ext - v >= prominence and ext - ref >= prominence:
            n += 1
            ref, ext, direction = ext, v, -1
        elif direction <= 0 and v - ext >= prominence and ref - ext >= prominence:
            n += 1
            ref, ext, direction = ext, v, 1
        elif direction == 0:
            if v - ref >= prominence:
                direction = 1
            elif ref - v >= prominence:
                direction = -1
    return n


# --------------------------------------------------------------------------------------------- matching

def _match(name: str, p: dict, o: Occurrence, skip=frozenset()) -> bool:
    """Does occurrence o show action `name` with parameters p? Slots named in `skip` are not judged."""
    a = o.attrs

    def same(key, attr=None):
        return key in skip or a[attr or key] == p[key]

    def near(key, tol, attr=None):
        return key in skip or abs(a[attr or key] - p[key]) <= tol

    if name in ("walk", "jog", "run"):
        if a.get("gait") != name:
            return False
        if "steps" not in skip and not _count_tol(a["steps"], p["steps"]):
            return False
        if p["path"] == "circle":
            want = 1 if p["turn"] == "left" else -1
            return a["path"] == "circle" and ("turn" in skip or math.copysign(1, a["heading_change"]) == want)
        if a["path"] == "circle":
            return False
        if p["path"] == "curve":
            sign = 1 if p["turn"] == "left" else -1
            if "turn" in skip:
                sign = 1 if a["heading_change"] > 0 else -1
            if "angle" in skip:
                return sign * a["heading_change"] >= 30 and abs(_wrap_deg(a["angle"] - a["heading_change"] / 2)) <= 35
            want = sign * float(p["angle"])
            return abs(a["heading_change"] - want) <= 35 and abs(_wrap_deg(a["angle"] - want / 2)) <= 35
        if "direction" in skip:
            return True
        d = p["direction"]
        tol = 35 if FACE_ANGLE[d] == 0 else 55
        facing = "backward" if d.startswith("backward") else "forward"
        return (abs(_wrap_deg(a["angle"] - DIRECTION_ANGLE[d])) <= 25 and abs(a["heading_change"] - FACE_ANGLE[d]) <= tol
                and a["facing"] == facing)
    if name == "side_step":
        return same("direction") and near("steps", 1)
    if name == "turn":
        if "direction" in skip and "angle" in skip:
            return True
        if "direction" in skip:
            return abs(abs(a["angle"]) - float(p["angle"])) <= 30
        sign = 1 if p["direction"] == "left" else -1
        if "angle" in skip:
            return sign * a["angle"] > 0
        return abs(a["angle"] - sign * float(p["angle"])) <= 30
    if name == "spin":
        return same("direction") and same("turns")
    if name == "jump":
        return same("count") and same("direction")
    if name == "hop":
        return same("count") and same("leg") and same("direction")
    if name == "march":
        return "steps" in skip or _count_tol(a["steps"], p["steps"])
    if name == "stomp":
        return same("foot") and same("count")
    if name in ("squat", "bow", "touch_toes", "tiptoe", "torso_twist", "clap", "shrug", "jumping_jacks"):
        return same("count")
    if name in ("crouch", "sit_down", "stretch"):
        return True
    if name == "kneel":
        return same("knee")
    if name == "lean":
        return same("direction") and same("count")
    if name == "lunge":
        return same("leg") and same("count")
    if name == "balance":
        return same("leg")
    if name == "kick":
        return same("leg") and same("direction") and same("count")
    if name == "idle":
        return "duration" in skip or a["seconds"] >= max(0.7, 0.7 * float(p["duration"]))
    if name == "wave":
        return same("hand") and near("count", 1)
    if name == "raise_arm":
        return same("hand") and same("direction")
    if name == "punch":
        # "both" alternates hands, so a single punch with "both" is one punch with either hand
        hand_ok = same("hand") or (p["hand"] == "both" and p["count"] == 1)
        return hand_ok and same("count")
    if name == "throw":
        return same("hand")
    if name == "look_around":
        return same("count") and same("first")
    if name == "arm_circles":
        return same("hand") and same("direction") and near("count", 1)
    return False


def _occurrences(an: Analysis, name: str) -> list:
    if name in ("walk", "jog", "run"):
        return an.occ.get("locomotion", [])
    return an.occ.get(name, [])


@dataclass
class ActionVerdict:
    index: int
    name: str
    expected: dict            # the judged slots
    passed: bool              # an occurrence with these slots exists (order not considered)
    span: tuple | None        # frames of the occurrence used in the ordered match
    found: list               # what was found of this action type (for diagnosis)
    upper: "ActionVerdict | None" = None
    note: str = ""

    def to_dict(self) -> dict:
        d = {"index": self.index, "name": self.name, "expected": self.expected, "passed": self.passed,
             "span": list(self.span) if self.span else None, "found": self.found, "note": self.note}
        if self.upper is not None:
            d["upper"] = self.upper.to_dict()
        return d


@dataclass
class CheckResult:
    passed: bool              # every action found, in the program's order
    in_order: bool            # the actions could be matched in the program's order (False when one is missing)
    actions: list

    def to_dict(self) -> dict:
        return {"passed": self.passed, "in_order": self.in_order, "actions": [a.to_dict() for a in self.actions]}

    def summary(self) -> str:
        parts = []
        for v in self.actions:
            mark = "ok" if v.passed else "MISSING"
            s = f"{v.name}{v.expected} {mark}"
            if v.upper is not None:
                s += f" + {v.upper.name}{v.upper.expected} {'ok' if v.upper.passed else 'MISSING'}"
            parts.append(s)
        found_all = all(v.passed for v in self.actions)
        return ("PASS" if self.passed else "FAIL") + (" (out of order)" if found_all and not self.in_order else "") + \
            ": " + "; ".join(parts)


def _program_actions(program) -> list:
    if hasattr(program, "to_dict"):
        program = program.to_dict()
    if isinstance(program, (str, bytes)):
        program = json.loads(program)
    if not isinstance(program, dict) or not isinstance(program.get("actions"), list) or not program["actions"]:
        raise ValueError("program: expected an object with a non-empty 'actions' list")
    out = []
    for i, a in enumerate(program["actions"]):
        name = a.get("name")
        if name not in DEFAULTS:
            raise ValueError(f"actions[{i}].name: unknown action {name!r}")
        p = {**DEFAULTS[name], **(a.get("params") or {})}
        up = a.get("upper")
        if up is not None:
            if up.get("name") not in DEFAULTS:
                raise ValueError(f"actions[{i}].upper.name: unknown action {up.get('name')!r}")
            up = (up["name"], {**DEFAULTS[up["name"]], **(up.get("params") or {})})
        out.append((name, p, up))
    return out


def _judged(name, p, skip=frozenset()):
    keys = JUDGED[name]
    if name in ("walk", "jog", "run"):
        keys = ("path", "steps") + (("direction",) if p["path"] == "straight" else ("turn",)) + \
            (("angle",) if p["path"] == "curve" else ())
    return {k: p[k] for k in keys if k not in skip}


def check_motion(joints, program, fps: float = FPS, analysis: Analysis | None = None, ignore=()) -> CheckResult:
    """Judge whether `joints` (T, 22, 3) shows the actions of `program` (a program dict, JSON text, or an
    object with to_dict()), in order.

    ignore: slots the goal leaves open and that are not judged, as "INDEX.SLOT" or "INDEX.upper.SLOT"
    (e.g. "0.steps", "1.upper.count"; a prompt that says "walk forward" does not fix the steps).
    analysis: reuse one `Analysis` of these joints across several programs."""
    actions = _program_actions(program)
    skips = {}
    for item in ignore or ():
        parts = str(item).split(".")
        if len(parts) not in (2, 3) or not parts[0].isdigit() or (len(parts) == 3 and parts[1] != "upper"):
            raise ValueError(f"ignore: expected 'INDEX.SLOT' or 'INDEX.upper.SLOT', got {item!r}")
        key = (int(parts[0]), len(parts) == 3)
        skips.setdefault(key, set()).add(parts[-1])
    an = analysis if analysis is not None else Analysis(joints, fps)
    verdicts, cands = [], []
    for i, (name, p, up) in enumerate(actions):
        occs = _occurrences(an, name)
        skip = frozenset(skips.get((i, False), ()))
        good = [o for o in occs if _match(name, p, o, skip)]
        upv = None
        if up is not None:
            uname, up_p = up
            uskip = frozenset(skips.get((i, True), ()))
            uoccs = [o for o in _occurrences(an, uname) if _match(uname, up_p, o, uskip)]
            ok = [o for o in good if any(u.start < o.end + 5 and u.end > o.start - 5 for u in uoccs)]
            upv = ActionVerdict(i, uname, _judged(uname, up_p, uskip), bool(ok), None,
                                [u.to_dict() for u in _occurrences(an, uname)][:8])
            good = ok
        verdicts.append(ActionVerdict(i, name, _judged(name, p, skip), bool(good), None,
                                      [o.to_dict() for o in occs if name not in ("walk", "jog", "run")
                                       or o.attrs.get("gait") == name][:8] or [o.to_dict() for o in occs][:8],
                                      upv))
        cands.append(good)
    # order-preserving assignment: greedy on increasing centres
    in_order = all(v.passed for v in verdicts)
    last = -math.inf
    if in_order:
        for v, good in zip(verdicts, cands):
            nxt = [o for o in good if o.center > last]
            if not nxt:
                in_order = False
                v.note = "found, but not after the previous action"
                break
            o = min(nxt, key=lambda o: o.center)
            v.span = (o.start, o.end)
            if v.upper is not None:
                v.upper.span = v.span
            last = o.center
    return CheckResult(in_order and all(v.passed for v in verdicts), in_order, verdicts)


def analyse(joints, fps: float = FPS) -> dict:
    """Every occurrence found in a motion, as plain data: {action name: [occurrence dicts]}."""
    an = Analysis(joints, fps)
    out = {}
    for name, occs in an.occ.items():
        if name == "locomotion":
            for o in occs:
                out.setdefault(o.attrs["gait"], []).append(o.to_dict())
        elif occs:
            out[name] = [o.to_dict() for o in occs]
    return out
