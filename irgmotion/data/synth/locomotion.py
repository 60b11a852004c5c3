"""Stepping: footstep plans -> foot tracks -> pelvis and gait upper body.

Feet are planted exactly between swings (the toe joint does not move; a heel
raise before lift-off pivots the foot about the toe). A swing rises almost
vertically, travels, and settles vertically, so the frames where a foot is
near the ground and slow are frames where it does not slide. The pelvis
follows the feet: its ground position and heading are a smoothed average of
the positions/headings each foot implies for a neutral stance.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .body import (LEFT, NEUTRAL_FOOT_PITCH, NEUTRAL_TOE_OUT, RIGHT, SIDE_SIGN, Body, apply,
                   arm_from_angles, heading_vec, normalize, rot_y)
from .engine import Track, smoothstep, smootherstep

FPS = 20.0
TRUNCATE = 2.0  # Gaussian kernel radius in sigmas: feet still for that long => pelvis exactly still


@dataclass
class Swing:
    foot: int
    t0: float            # lift-off (frames, may be fractional)
    t1: float            # touch-down
    toe: np.ndarray      # (3,) target toe position
    yaw: float           # target foot heading
    pitch: float = NEUTRAL_FOOT_PITCH
    height: float = 0.09
    heel: float = 0.0    # extra pitch reached at lift-off, pivoting on the toe
    heel_frames: float = 3.0
    peak_pitch: float = 0.0  # extra toe-down pitch at mid-swing
    profile: str = "arc"     # "arc" or "stomp"


def foot_tracks(T: int, toe0, yaw0, pitch0, swings: list[Swing]):
    """Per-frame toe position (T,2,3), yaw (T,2), pitch (T,2) for planted/swinging feet."""
    toe = np.broadcast_to(np.asarray(toe0, dtype=np.float64), (T, 2, 3)).copy()
    fyaw = np.broadcast_to(np.asarray(yaw0, dtype=np.float64), (T, 2)).copy()
    fpitch = np.broadcast_to(np.asarray(pitch0, dtype=np.float64), (T, 2)).copy()
    t = np.arange(T, dtype=np.float64)
    state = [[np.asarray(toe0[s], dtype=np.float64).copy(), float(yaw0[s]), float(pitch0[s])] for s in (0, 1)]
    for sw in sorted(swings, key=lambda s: s.t0):
        f = sw.foot
        p_toe, p_yaw, p_pitch = state[f]
        hf = max(sw.heel_frames, 1e-6)
        if sw.heel:
            m = (t >= sw.t0 - hf) & (t < sw.t0)
            fpitch[m, f] = p_pitch + sw.heel * smoothstep((t[m] - (sw.t0 - hf)) / hf)
        p_start = p_pitch + sw.heel
        m = (t >= sw.t0) & (t < sw.t1)
        s = (t[m] - sw.t0) / (sw.t1 - sw.t0)
        h = smoothstep((s - 0.1) / 0.78)
        if sw.profile == "stomp":
            bump = np.where(s < 0.72, np.sin(0.5 * np.pi * s / 0.72), np.cos(0.5 * np.pi * (s - 0.72) / 0.28))
        else:
            bump = np.sin(np.pi * s)
        target = np.asarray(sw.toe, dtype=np.float64)
        pos = p_toe + (target - p_toe) * h[:, None]
        pos[:, 1] += sw.height * bump
        toe[m, f] = pos
        fyaw[m, f] = p_yaw + (sw.yaw - p_yaw) * h
        fpitch[m, f] = p_start + (sw.pitch - p_start) * smoothstep(s) + sw.peak_pitch * np.sin(np.pi * s)
        after = t >= sw.t1
        toe[after, f] = target
        fyaw[after, f] = sw.yaw
        fpitch[after, f] = sw.pitch
        state[f] = [target.copy(), float(sw.yaw), float(sw.pitch)]
    return toe, fyaw, fpitch


def neutral_feet(body: Body, xz, yaw: float, toe_out: float = NEUTRAL_TOE_OUT):
    """Toe positions (2,3) and yaws (2,) of a neutral stance around pelvis ground point xz."""
    R = rot_y(yaw)
    toe = apply(R, body.toe_rest)
    toe[:, 0] += xz[0]
    toe[:, 2] += xz[1]
    toe[:, 1] = 0.0
    return toe, yaw + SIDE_SIGN * toe_out


def pelvis_from_feet(body: Body, toe, fyaw, sigma: float):
    """Smoothed pelvis ground position (T,2) and heading (T,) implied by the feet."""
    from scipy.ndimage import gaussian_filter1d  # on first use: start-up reads the action vocabulary
    yaw_i = fyaw - SIDE_SIGN * NEUTRAL_TOE_OUT
    yaw = yaw_i.mean(axis=1)
    implied = []
    for side in (LEFT, RIGHT):
        R = rot_y(yaw_i[:, side])
        implied.append(toe[:, side] - apply(R, body.toe_rest[side]))
    xz = 0.5 * (implied[0] + implied[1])[:, [0, 2]]
    if sigma > 0:
        xz = gaussian_filter1d(xz, sigma, axis=0, mode="nearest", truncate=TRUNCATE)
        yaw = gaussian_filter1d(yaw, sigma, mode="nearest", truncate=TRUNCATE)
    return xz, yaw


# --------------------------------------------------------------------------
# gaits

GAITS = {
    #        step  speed  swing  height heel  lean  arm   bend  twist sway  bob
    "walk": (0.62, 1.25, 0.80, 0.085, 0.35, 0.04, 0.32, 0.42, 0.07, 0.022, 0.0),
    "jog": (0.92, 2.4, 1.3, 0.15, 0.55, 0.11, 0.55, 1.45, 0.10, 0.012, 0.03),
    "run": (1.2, 3.4, 1.48, 0.22, 0.65, 0.19, 0.8, 1.6, 0.12, 0.01, 0.04),
    "march": (0.0, 0.0, 0.85, 0.28, 0.3, 0.0, 0.5, 1.3, 0.03, 0.02, 0.0),
}


def gait_arms(T: int, signal, amp: float, bend: float):
    """Arm swing from a signal in [-1, 1] (positive: right foot ahead -> left arm forward)."""
    u = np.zeros((T, 2, 3))
    f = np.zeros((T, 2, 3))
    for side in (LEFT, RIGHT):
        sg = SIDE_SIGN[side]
        phi = amp * signal * sg - 0.05
        uu = normalize(np.stack([np.full(T, sg * 0.13), -np.cos(phi), np.sin(phi)], -1))
        bb = np.full(T, bend) + 0.25 * bend * np.clip(signal * sg, 0, 1)
        hint = normalize(np.stack([np.full(T, -sg * 0.25), np.full(T, 0.25), np.ones(T)], -1))
        hp = normalize(hint - np.sum(hint * uu, -1, keepdims=True) * uu)
        u[:, side] = uu
        f[:, side] = np.cos(bb)[:, None] * uu + np.sin(bb)[:, None] * hp
    return u, f


def stepping_track(body: Body, T: int, swings: list[Swing], sigma: float, gait: str | None = None,
                   arm_signal: str = "forward", step_len: float = 0.6, arm_amp: float | None = None,
                   lean: float | None = None, start_xz=(0.0, 0.0), start_yaw: float = 0.0,
                   bob: float | None = None, sway_scale: float = 1.0) -> Track:
    """A whole track for a stepping plan: feet, pelvis, pelvis tilt and (if gait) arm swing."""
    from scipy.ndimage import gaussian_filter1d  # on first use: start-up reads the action vocabulary
    tr = Track.neutral(body, T)
    toe0, yaw0 = neutral_feet(body, start_xz, start_yaw)
    toe, fyaw, fpitch = foot_tracks(T, toe0, yaw0, np.full(2, NEUTRAL_FOOT_PITCH), swings)
    tr.toe, tr.fyaw, tr.fpitch = toe, fyaw, fpitch
    xz, yaw = pelvis_from_feet(body, toe, fyaw, sigma)
    tr.yaw = yaw
    tr.pel[:, 0], tr.pel[:, 2] = xz[:, 0], xz[:, 1]
    if not swings:
        return tr
    first = min(s.t0 for s in swings) - max(s.heel_frames for s in swings)
    last = max(s.t1 for s in swings)
    active = smootherstep((np.arange(T) - (first - TRUNCATE * sigma)) / max(TRUNCATE * sigma, 1)) * \
        smootherstep(((last + TRUNCATE * sigma) - np.arange(T)) / max(TRUNCATE * sigma, 1))
    tr.move = (int(max(0, math.floor(first))), int(min(T - 1, math.ceil(last))))
    tr.lead_in = int(max(0, math.floor(first - TRUNCATE * sigma)))
    tr.lead_out = int(max(0, T - 1 - math.ceil(last + TRUNCATE * sigma)))
    if gait is None:
        return tr
    g = GAITS[gait]
    amp = g[6] if arm_amp is None else arm_amp
    lean_v = g[5] if lean is None else lean
    fwd = heading_vec(yaw)
    if arm_signal == "forward":
        d = np.sum((toe[:, RIGHT] - toe[:, LEFT]) * fwd, axis=-1) / max(step_len, 0.25)
    else:  # height: marching in place
        d = (toe[:, RIGHT, 1] - toe[:, LEFT, 1]) / 0.25
    sig = gaussian_filter1d(np.clip(d, -1.2, 1.2), max(sigma * 0.4, 0.5), mode="nearest")
    u, f = gait_arms(T, sig, amp, g[7])
    w = active[:, None, None]
    tr.arm_u = normalize(tr.arm_u * (1 - w) + u * w)
    tr.arm_f = normalize(tr.arm_f * (1 - w) + f * w)
    tr.ptilt[:, 0] += lean_v * active
    tr.ptilt[:, 2] += g[8] * np.clip(sig, -1, 1) * active
    tr.spine[:, 2] -= 1.3 * g[8] * np.clip(sig, -1, 1) * active
    tr.spine[:, 0] += 0.3 * lean_v * active
    tr.head[:, 0] -= 0.8 * lean_v * active
    # sway towards the stance foot, and a pelvis roll that drops the swing side
    up = toe[:, RIGHT, 1] - toe[:, LEFT, 1]
    sway = gaussian_filter1d(np.clip(up / 0.08, -1, 1), max(sigma * 0.6, 0.5), mode="nearest")
    left = np.stack([np.cos(yaw), np.zeros(T), -np.sin(yaw)], -1)
    tr.pel += (g[9] * sway_scale * sway * active)[:, None] * left
    tr.ptilt[:, 1] += 0.04 * sway * active
    b = g[10] if bob is None else bob
    if b:
        planted = (np.minimum(toe[:, LEFT, 1], toe[:, RIGHT, 1]) < 1e-3).astype(np.float64)
        planted = gaussian_filter1d(planted, 1.2, mode="nearest")
        tr.pel[:, 1] -= b * planted * active
    tr.pel[:, 1] -= 0.01 * active
    return tr


# --------------------------------------------------------------------------
# plans

DIRECTIONS = {
    "forward": 0.0, "backward": math.pi, "left": math.pi / 2, "right": -math.pi / 2,
    "forward_left": math.pi / 4, "forward_right": -math.pi / 4,
    "backward_left": 3 * math.pi / 4, "backward_right": -3 * math.pi / 4,
}


def _path(d: float, kappa: float, sigma_arc):
    """Path point (n,2) and tangent heading (n,) at arc lengths, start at the origin heading d."""
    s = np.asarray(sigma_arc, dtype=np.float64)
    if abs(kappa) < 1e-9:
        return np.stack([s * math.sin(d), s * math.cos(d)], -1), np.full_like(s, d)
    psi = d + kappa * s
    x = (math.cos(d) - np.cos(psi)) / kappa
    z = (np.sin(psi) - math.sin(d)) / kappa
    return np.stack([x, z], -1), psi


def walk_plan(body: Body, rng: np.random.Generator, gait: str, direction: str, steps: int, speed: float,
              path: str = "straight", turn: str = "left", angle: float = 90.0):
    """Footstep plan for walking / jogging / running; returns (track, info)."""
    g = GAITS[gait]
    ls = body.leg_scale
    step = g[0] * ls * speed ** 0.5 * rng.uniform(0.94, 1.06)
    vel = g[1] * speed * rng.uniform(0.95, 1.05) * ls ** 0.5
    d = DIRECTIONS[direction]
    backward = abs(d) > math.pi / 2 + 1e-6
    if backward:
        step *= 0.62
        vel *= 0.6
    elif abs(d) > 1e-6 and gait == "walk":
        step *= 0.92
    face = d - math.copysign(math.pi, d) if backward else d
    period = step / vel * FPS  # frames per step
    n = int(steps)
    # Step lengths accelerate into and out of the gait; the last step closes the stance.
    ramp = {"walk": (0.55, 1.0), "jog": (0.45, 0.8), "run": (0.4, 0.7)}[gait]
    f = np.ones(n)
    if n >= 1:
        f[0] = ramp[0] * rng.uniform(0.9, 1.1)
    if n >= 2 and gait != "walk":
        f[1] = max(f[1] * ramp[1], f[0])
    if n >= 3 and gait != "walk":
        f[n - 2] = min(f[n - 2], ramp[1])
    if n >= 2:
        f[n - 1] = 0.0
    lengths = step * f
    arcs = np.cumsum(lengths)
    if n >= 2:
        arcs[n - 1] = arcs[n - 2]
    total = float(arcs[-1])
    if path == "circle":
        kappa = (2 * math.pi / max(total, 1e-6)) * (1 if turn == "left" else -1)
    elif path == "curve":
        kappa = (math.radians(angle) / max(total, 1e-6)) * (1 if turn == "left" else -1)
    else:
        kappa = 0.0
    pts, psi = _path(d, kappa, arcs)
    # The body turns to face its way of travel during the first steps.
    turn_len = lengths[0] + 0.6 * step
    body_yaw = psi + (face - d) - face * (1 - smoothstep(arcs / turn_len))
    sigma = max(0.38 * period, 2.0)
    heel_frames = max(min(0.3 * period, 4.0), 1.5)
    lead = int(round(TRUNCATE * sigma + heel_frames + rng.integers(2, 5)))
    s0 = (LEFT if d > 0 else RIGHT) if abs(math.sin(d)) > 0.3 else int(rng.integers(0, 2))
    swings = []
    toe_out = 0.1 if gait == "walk" else 0.06
    walk_frac = GAITS["walk"][2]
    t0 = float(lead)
    for k in range(n):
        side = s0 if k % 2 == 0 else 1 - s0
        fk = min(max(f[k], f[k - 1] if k > 0 else 0.0), 1.0)  # how much of the full gait this step has
        per_k = period * (1.0 + 0.45 * (1.0 - fk))
        frac = walk_frac + (g[2] - walk_frac) * fk
        dur = frac * per_k * (1.12 if k in (0, n - 1) else 1.0)
        closing = k >= n - 2
        yaw = float(body_yaw[k])
        tgt, tyaw = neutral_feet(body, pts[k], yaw, NEUTRAL_TOE_OUT if closing else toe_out)
        h = max(g[3] * rng.uniform(0.85, 1.15) * (0.45 + 0.55 * fk), 0.075)
        swings.append(Swing(side, t0, t0 + dur, tgt[side], float(tyaw[side]), height=h,
                            heel=g[4] * (0.6 if k == 0 or backward else 1.0), heel_frames=heel_frames))
        t0 += per_k
    end = max(s.t1 for s in swings)
    T = int(math.ceil(end + TRUNCATE * sigma + rng.integers(3, 6)))
    tr = stepping_track(body, T, swings, sigma, gait=gait, step_len=step)
    if backward:
        tr.ptilt[:, 0] -= 0.06 * _active(tr)
    return tr


def _active(tr: Track):
    T = tr.T
    if tr.move is None:
        return np.zeros(T)
    a, b = tr.move
    t = np.arange(T)
    return smootherstep((t - a + 4) / 6.0) * smootherstep((b + 4 - t) / 6.0)


def side_step_plan(body: Body, rng, direction: str, steps: int, speed: float = 1.0):
    sg = 1.0 if direction == "left" else -1.0
    lead_side = LEFT if sg > 0 else RIGHT
    width = 0.34 * body.leg_scale * rng.uniform(0.85, 1.15)
    dur = 8.0 / speed * rng.uniform(0.9, 1.1)
    gap = 2.5 / speed
    sigma = 3.0
    heel_frames = 2.0
    lead = TRUNCATE * sigma + heel_frames + rng.integers(2, 5)
    swings = []
    t = lead
    for k in range(int(steps)):
        xz = (sg * width * (k + 1), 0.0)
        tgt, tyaw = neutral_feet(body, xz, 0.0)
        swings.append(Swing(lead_side, t, t + dur, tgt[lead_side], float(tyaw[lead_side]), height=0.085,
                            heel=0.15, heel_frames=heel_frames))
        t += dur + gap
        swings.append(Swing(1 - lead_side, t, t + dur, tgt[1 - lead_side], float(tyaw[1 - lead_side]),
                            height=0.08, heel=0.15, heel_frames=heel_frames))
        t += dur + gap
    T = int(math.ceil(t + TRUNCATE * sigma + rng.integers(2, 5)))
    tr = stepping_track(body, T, swings, sigma, gait="walk", arm_amp=0.05, lean=0.0, sway_scale=0.0)
    return tr


def turn_plan(body: Body, rng, angle_deg: float, speed: float = 1.0, spin: bool = False):
    """Turning on the spot by stepping; angle > 0 turns left."""
    A = math.radians(angle_deg)
    per = (math.pi / 2) if spin else (math.pi / 2.2)
    pairs = max(1, int(math.ceil(abs(A) / per - 1e-6)))
    lead_side = LEFT if A > 0 else RIGHT
    dur = (4.6 if spin else 7.5) / speed * rng.uniform(0.92, 1.08)
    gap = (0.4 if spin else 1.5) / speed
    sigma = 1.6 if spin else 2.6
    heel_frames = 1.5
    lead = TRUNCATE * sigma + heel_frames + rng.integers(2, 5)
    swings = []
    t = lead
    for j in range(pairs):
        yaw = A * (j + 1) / pairs
        tgt, tyaw = neutral_feet(body, (0.0, 0.0), yaw)
        for side in (lead_side, 1 - lead_side):
            swings.append(Swing(side, t, t + dur, tgt[side], float(tyaw[side]),
                                height=0.085 if spin else 0.08, heel=0.12, heel_frames=heel_frames))
            t += dur * (0.72 if spin else 1.0) + gap
    end = max(s.t1 for s in swings)
    T = int(math.ceil(end + TRUNCATE * sigma + rng.integers(2, 5)))
    tr = stepping_track(body, T, swings, sigma, gait="walk", arm_amp=0.1, lean=0.02 if not spin else 0.05,
                        sway_scale=0.3)
    if spin:
        a = _active(tr)
        for side in (LEFT, RIGHT):  # arms pulled in
            u, f = arm_from_angles(side, 0.5, 0.6, 1.6, np.array([-SIDE_SIGN[side], 0.3, 1.0]))
            tr.arm_u[:, side] = normalize(tr.arm_u[:, side] * (1 - a[:, None]) + u * a[:, None])
            tr.arm_f[:, side] = normalize(tr.arm_f[:, side] * (1 - a[:, None]) + f * a[:, None])
    return tr


def march_plan(body: Body, rng, steps: int, speed: float = 1.0, knee: float = 1.0):
    period = 12.0 / speed * rng.uniform(0.92, 1.08)
    dur = 0.85 * period
    sigma = 2.5
    lead = TRUNCATE * sigma + rng.integers(2, 5)
    s0 = int(rng.integers(0, 2))
    tgt, tyaw = neutral_feet(body, (0.0, 0.0), 0.0)
    swings = []
    h = 0.26 * knee * body.leg_scale * rng.uniform(0.9, 1.1)
    for k in range(int(steps)):
        side = s0 if k % 2 == 0 else 1 - s0
        t0 = lead + k * period
        swings.append(Swing(side, t0, t0 + dur, tgt[side], float(tyaw[side]), height=h, heel=0.1,
                            heel_frames=1.5, peak_pitch=0.55))
    T = int(math.ceil(swings[-1].t1 + TRUNCATE * sigma + rng.integers(2, 5)))
    return stepping_track(body, T, swings, sigma, gait="march", arm_signal="height", lean=0.0, sway_scale=1.0)


def stomp_plan(body: Body, rng, foot: str, count: int, speed: float = 1.0):
    dur = 11.0 / speed * rng.uniform(0.9, 1.1)
    gap = 5.0 / speed
    sigma = 2.5
    lead = TRUNCATE * sigma + rng.integers(2, 5)
    tgt, tyaw = neutral_feet(body, (0.0, 0.0), 0.0)
    swings = []
    t = lead
    first = LEFT if foot == "left" else RIGHT if foot == "right" else int(rng.integers(0, 2))
    for k in range(int(count) * (2 if foot == "both" else 1)):
        side = first if foot != "both" else (first if k % 2 == 0 else 1 - first)
        swings.append(Swing(side, t, t + dur, tgt[side], float(tyaw[side]), height=0.24 * body.leg_scale,
                            heel=0.1, heel_frames=1.5, peak_pitch=0.15, profile="stomp"))
        t += dur + gap
    T = int(math.ceil(t + TRUNCATE * sigma + rng.integers(1, 4)))
    tr = stepping_track(body, T, swings, sigma, gait="march", arm_signal="height", arm_amp=0.15, lean=0.05)
    return tr
