"""Pose tracks: the channels every action writes, their composition and the final solve.

A `Track` holds per-frame channels in a ground-plane frame (metres, radians):

    pel (T,3)      pelvis position; its height is a *nominal* height that the
                   solver lowers where a planted leg could not reach its foot
    yaw (T,)       heading of the body
    ptilt (T,3)    pelvis (pitch forward, roll left, twist left) in the heading frame
    spine (T,3)    total bend of the spine (same convention), spread over spine1..3
    head (T,3)     neck/head rotation relative to the chest
    collar (T,2)   elevation of each collar (shrug), radians
    arm_u (T,2,3)  upper-arm direction per side, chest frame
    arm_f (T,2,3)  forearm direction per side, chest frame
    toe (T,2,3)    foot (toe joint) target in the world
    fyaw (T,2)     foot heading; fpitch (T,2) ankle->toe angle below horizontal
    attach (T,2)   0: the toe target is a world position; 1: `rel` is used instead
    rel (T,2,3)    toe target relative to the pelvis in the heading frame
    kpole (T,2,3)  extra knee direction (heading frame) added to the foot heading

Every action starts and ends in the body's neutral stance (feet at their rest
placement around the pelvis), so actions chain by a rigid move of the next
track onto the end stance of the previous one; `lead_in`/`lead_out` count the
frames at either end whose lower body is still, where consecutive actions
cross-fade.
"""
from __future__ import annotations

import numpy as np

from .body import (LEFT, MAX_EXTENSION, NEUTRAL_FOOT_PITCH, NEUTRAL_TOE_OUT, RIGHT, SIDE_SIGN, Body,
                   apply, arm_from_angles, foot_vector, hip_offsets, normalize,
                   pose_joints, rot_y, REST_DIRECTIONS)

CHANNELS = ("pel", "yaw", "ptilt", "spine", "head", "collar", "arm_u", "arm_f",
            "toe", "fyaw", "fpitch", "attach", "rel", "kpole")
UPPER_CHANNELS = ("spine", "head", "collar", "arm_u", "arm_f")

# Neutral arm pose (relaxed, slightly bent elbows), from a real standing frame.
NEUTRAL_ARM = dict(elev=0.12, azim=-0.3, bend=0.42, hint=(0.0, 0.0, 1.0))


def neutral_arms():
    u = np.zeros((2, 3))
    f = np.zeros((2, 3))
    for side in (LEFT, RIGHT):
        uu, ff = arm_from_angles(side, NEUTRAL_ARM["elev"], NEUTRAL_ARM["azim"], NEUTRAL_ARM["bend"],
                                 np.array(NEUTRAL_ARM["hint"]))
        u[side], f[side] = uu, ff
    return u, f


_ARM_U0, _ARM_F0 = neutral_arms()


class Track:
    """Channels of T frames; see the module docstring."""

    __slots__ = CHANNELS + ("lead_in", "lead_out", "spans", "move")

    def __init__(self, **ch):
        for name in CHANNELS:
            setattr(self, name, ch[name])
        self.lead_in = 0
        self.lead_out = 0
        self.spans: list = []
        self.move = None  # (first, last) frame of locomotion, for upper-body overlays

    @property
    def T(self) -> int:
        return len(self.pel)

    @classmethod
    def neutral(cls, body: Body, T: int) -> "Track":
        T = int(T)
        pel = np.zeros((T, 3))
        pel[:, 1] = body.pelvis_height
        toe = np.broadcast_to(body.toe_rest, (T, 2, 3)).copy()
        tr = cls(pel=pel, yaw=np.zeros(T), ptilt=np.zeros((T, 3)), spine=np.zeros((T, 3)),
                 head=np.zeros((T, 3)), collar=np.zeros((T, 2)),
                 arm_u=np.broadcast_to(_ARM_U0, (T, 2, 3)).copy(),
                 arm_f=np.broadcast_to(_ARM_F0, (T, 2, 3)).copy(),
                 toe=toe, fyaw=np.broadcast_to(SIDE_SIGN * NEUTRAL_TOE_OUT, (T, 2)).copy(),
                 fpitch=np.full((T, 2), NEUTRAL_FOOT_PITCH), attach=np.zeros((T, 2)),
                 rel=np.zeros((T, 2, 3)), kpole=np.zeros((T, 2, 3)))
        tr.lead_in = tr.lead_out = T
        return tr

    def copy(self) -> "Track":
        tr = Track(**{n: getattr(self, n).copy() for n in CHANNELS})
        tr.lead_in, tr.lead_out, tr.spans, tr.move = self.lead_in, self.lead_out, list(self.spans), self.move
        return tr

    def slice(self, a: int, b: int) -> "Track":
        tr = Track(**{n: getattr(self, n)[a:b].copy() for n in CHANNELS})
        return tr

    def transformed(self, yaw0: float, xz0) -> "Track":
        """Rotate by yaw0 about +Y, then move by xz0 (a rigid move on the ground)."""
        tr = self.copy()
        R = rot_y(yaw0)
        tr.pel = apply(R, self.pel)
        tr.pel[:, 0] += xz0[0]
        tr.pel[:, 2] += xz0[1]
        tr.toe = apply(R, self.toe)
        tr.toe[..., 0] += xz0[0]
        tr.toe[..., 2] += xz0[1]
        tr.yaw = self.yaw + yaw0
        tr.fyaw = self.fyaw + yaw0
        return tr

    def end_anchor(self, body: Body):
        """(yaw, (x, z)) of the pelvis for which the final feet are in the neutral stance."""
        fy = self.fyaw[-1]
        yaw = 0.5 * ((fy[LEFT] - NEUTRAL_TOE_OUT) + (fy[RIGHT] + NEUTRAL_TOE_OUT))
        R = rot_y(yaw)
        p = self.toe[-1] - apply(R, body.toe_rest)
        return float(yaw), (float(p[:, 0].mean()), float(p[:, 2].mean()))


def _shift(spans, d):
    return [(sp[0], sp[1] + d, sp[2] + d) + tuple(sp[3:]) for sp in spans]


def concat(a: Track, b: Track) -> Track:
    tr = Track(**{n: np.concatenate([getattr(a, n), getattr(b, n)]) for n in CHANNELS})
    tr.lead_in = a.lead_in if a.lead_in < a.T else a.T + b.lead_in
    tr.lead_out = b.lead_out if b.lead_out < b.T else b.T + a.lead_out
    tr.spans = list(a.spans) + _shift(b.spans, a.T)
    return tr


def blend(a: Track, b: Track, w) -> Track:
    """Per-frame cross-fade of two equally long tracks (w=0: a, w=1: b)."""
    w = np.asarray(w, dtype=np.float64)
    out = {}
    for n in CHANNELS:
        x, y = getattr(a, n), getattr(b, n)
        ww = w.reshape((-1,) + (1,) * (x.ndim - 1))
        out[n] = x + (y - x) * ww
    out["arm_u"] = normalize(out["arm_u"])
    out["arm_f"] = normalize(out["arm_f"])
    return Track(**out)


def chain(body: Body, tracks: list[Track], overlaps: list[int]) -> Track:
    """Place each track on the end stance of the previous one and cross-fade the joins."""
    out = tracks[0]
    for tr, k in zip(tracks[1:], overlaps):
        yaw, xz = out.end_anchor(body)
        nxt = tr.transformed(yaw, xz)
        k = int(max(0, min(k, out.lead_out, nxt.lead_in, out.T - 1, nxt.T - 1)))
        if k > 0:
            w = smootherstep((np.arange(k) + 1.0) / (k + 1.0))
            mid = blend(out.slice(out.T - k, out.T), nxt.slice(0, k), w)
            head = out.slice(0, out.T - k)
            head.spans = []
            joined = Track(**{n: np.concatenate([getattr(head, n), getattr(mid, n), getattr(nxt, n)[k:]])
                              for n in CHANNELS})
            joined.lead_in = out.lead_in if out.lead_in < out.T else out.T - k + nxt.lead_in
            joined.lead_out = nxt.lead_out if nxt.lead_out < nxt.T else nxt.T - k + out.lead_out
            shift = out.T - k
            joined.spans = list(out.spans) + _shift(nxt.spans, shift)
            out = joined
        else:
            out = concat(out, nxt)
    return out


# --------------------------------------------------------------------------
# curves

def smoothstep(x):
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def smootherstep(x):
    x = np.clip(x, 0.0, 1.0)
    return x * x * x * (x * (6.0 * x - 15.0) + 10.0)


def keyframes(T: int, times, values, ease=smootherstep):
    """Eased interpolation through (time, value) keys, held before the first and after the last.

    values: (K, ...) array; returns (T, ...). Each segment eases in and out,
    so the curve has zero velocity at every key.
    """
    times = np.asarray(times, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    t = np.arange(T, dtype=np.float64)
    idx = np.clip(np.searchsorted(times, t, side="right") - 1, 0, len(times) - 2) if len(times) > 1 else None
    if idx is None:
        return np.broadcast_to(values[0], (T,) + values.shape[1:]).copy()
    t0, t1 = times[idx], times[idx + 1]
    s = ease((t - t0) / np.maximum(t1 - t0, 1e-9))
    s = s.reshape((-1,) + (1,) * (values.ndim - 1))
    return values[idx] + (values[idx + 1] - values[idx]) * s


def hermite(t, t0, t1, p0, p1, v0, v1):
    """Cubic Hermite on [t0, t1] with end values p and velocities v (per frame)."""
    h = t1 - t0
    s = np.clip((np.asarray(t, dtype=np.float64) - t0) / h, 0.0, 1.0)
    s2, s3 = s * s, s * s * s
    return ((2 * s3 - 3 * s2 + 1) * p0 + (s3 - 2 * s2 + s) * h * v0
            + (-2 * s3 + 3 * s2) * p1 + (s3 - s2) * h * v1)


def window(T: int, a: float, b: float, ramp: float):
    """Weight that rises over `ramp` frames from a, holds, and falls to 0 at b."""
    t = np.arange(T, dtype=np.float64)
    up = smootherstep((t - a) / max(ramp, 1e-9))
    down = smootherstep((b - t) / max(ramp, 1e-9))
    return np.minimum(up, down)


def smooth_noise(rng: np.random.Generator, T: int, dims: int, amp: float, fmin=0.15, fmax=0.8):
    """Sum of three random sinusoids per dimension (Hz at 20 fps), amplitude ~amp."""
    t = np.arange(T, dtype=np.float64)[:, None, None] / 20.0
    f = rng.uniform(fmin, fmax, size=(1, dims, 3))
    ph = rng.uniform(0, 2 * np.pi, size=(1, dims, 3))
    a = rng.uniform(0.3, 1.0, size=(1, dims, 3)) * amp / 1.7
    return np.sum(a * np.sin(2 * np.pi * f * t + ph), axis=-1)


# --------------------------------------------------------------------------
# chest frame helpers for actions that aim the arms in the world

def chest_frame(body: Body, pel, yaw, ptilt, spine):
    """World position of spine3 and chest rotation for channels (T,...)."""
    from .body import euler, SPINE_WEIGHTS
    L = body.lengths
    Rp = rot_y(yaw) @ euler(ptilt)
    R = Rp
    p = pel + L[3] * apply(R, REST_DIRECTIONS[3])
    for w, j in zip(SPINE_WEIGHTS, (6, 9)):
        R = R @ euler(spine * w)
        p = p + L[j] * apply(R, REST_DIRECTIONS[j])
    R = R @ euler(spine * SPINE_WEIGHTS[2])
    return p, R


# --------------------------------------------------------------------------
# the final solve

def add_noise(track: Track, rng: np.random.Generator, amount: float = 1.0) -> None:
    """Small smooth perturbations of the upper body (keeps the feet exact)."""
    T = track.T
    track.ptilt += smooth_noise(rng, T, 3, 0.012 * amount)
    track.spine += smooth_noise(rng, T, 3, 0.025 * amount)
    track.head += smooth_noise(rng, T, 3, 0.05 * amount)
    track.collar += smooth_noise(rng, T, 2, 0.015 * amount)
    track.arm_u = normalize(track.arm_u + smooth_noise(rng, T, 6, 0.03 * amount).reshape(T, 2, 3))
    track.arm_f = normalize(track.arm_f + smooth_noise(rng, T, 6, 0.05 * amount).reshape(T, 2, 3))


def solve(body: Body, track: Track, radius: int = 1):
    """Joints (T, 22, 3) float64 and a (T, 2) mask of unreachable leg targets.

    Lowers the pelvis wherever a planted foot would be out of reach, with a
    smoothing that never undoes the lowering, then resolves attached feet
    and assembles the pose.
    """
    from scipy.ndimage import maximum_filter1d, uniform_filter1d  # on first use: start-up reads the action vocabulary
    T = track.T
    pel = track.pel.copy()
    hips = hip_offsets(body, track.yaw, track.ptilt)  # (T,2,3)
    fv = foot_vector(track.fyaw, track.fpitch)  # (T,2,3)
    limit = np.full(T, np.inf)
    for side in (LEFT, RIGHT):
        ground = track.attach[:, side] < 0.5
        if not ground.any():
            continue
        ankle = track.toe[:, side] - body.foot(side) * fv[:, side]
        hip_xz = pel[:, [0, 2]] + hips[:, side][:, [0, 2]]
        dxz2 = np.sum((hip_xz - ankle[:, [0, 2]]) ** 2, axis=-1)
        R = MAX_EXTENSION * body.leg_reach(side)
        lim = ankle[:, 1] + np.sqrt(np.maximum(R * R - dxz2, 0.0)) - hips[:, side, 1]
        limit = np.minimum(limit, np.where(ground, lim, np.inf))
    deficit = np.maximum(pel[:, 1] - limit, 0.0)
    if deficit.any():
        d = maximum_filter1d(deficit, size=4 * radius + 1, mode="nearest")
        d = uniform_filter1d(d, size=2 * radius + 1, mode="nearest")
        d = uniform_filter1d(d, size=2 * radius + 1, mode="nearest")
        pel[:, 1] -= np.maximum(d, deficit)
    toe = track.toe.copy()
    att = track.attach
    if att.any():
        Ry = rot_y(track.yaw)
        for side in (LEFT, RIGHT):
            w = att[:, side][:, None]
            if w.any():
                toe[:, side] = toe[:, side] * (1 - w) + (pel + apply(Ry, track.rel[:, side])) * w
    joints, bad = pose_joints(body, pel, track.yaw, track.ptilt, track.spine, track.head, track.collar,
                              track.arm_u, track.arm_f, toe, track.fyaw, track.fpitch, track.kpole)
    return joints, bad
