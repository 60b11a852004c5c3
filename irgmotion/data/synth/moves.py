"""Generators of the non-stepping actions: jumps, whole-body poses, arm gestures.

Every generator takes (body, rng, params, tempo) and returns a `Track` in the
action's own frame (starting at the origin facing +Z in the neutral stance and
ending in a neutral stance). `rng` only draws per-sample variation (timing,
amplitude, style); all semantic choices come from `params`.
"""
from __future__ import annotations

import math

import numpy as np

from .body import (LEFT, NEUTRAL_FOOT_PITCH, RIGHT, SIDE_SIGN, Body, apply, arm_from_angles, arm_ik,
                   normalize)
from .engine import NEUTRAL_ARM, Track, chest_frame, hermite, keyframes, smootherstep, smoothstep, window
from .locomotion import Swing, foot_tracks, neutral_feet

G = 9.81
FPS = 20.0
ARM0 = (NEUTRAL_ARM["elev"], NEUTRAL_ARM["azim"], NEUTRAL_ARM["bend"]) + tuple(NEUTRAL_ARM["hint"])


def _u(rng, lo=0.9, hi=1.1):
    return float(rng.uniform(lo, hi))


def set_arm(tr: Track, side: int, times, keys, weight=None):
    """Arm channels of one side from keyframes of (elev, azim, bend, hint_x, hint_y, hint_z)."""
    k = keyframes(tr.T, times, np.asarray(keys, dtype=np.float64))
    u, f = arm_from_angles(side, k[:, 0], k[:, 1], k[:, 2], normalize(k[:, 3:6]))
    if weight is None:
        tr.arm_u[:, side], tr.arm_f[:, side] = u, f
    else:
        w = weight[:, None]
        tr.arm_u[:, side] = normalize(tr.arm_u[:, side] * (1 - w) + u * w)
        tr.arm_f[:, side] = normalize(tr.arm_f[:, side] * (1 - w) + f * w)


def arm_angles(side: int, u, f):
    """(elev, azim, bend, hint) keys that reproduce arm directions u, f (chest frame)."""
    sg = SIDE_SIGN[side]
    elev = math.acos(float(np.clip(-u[1], -1, 1)))
    azim = math.atan2(float(u[2]), float(sg * u[0]))
    bend = math.acos(float(np.clip(np.dot(u, f), -1, 1)))
    h = f - np.dot(f, u) * u
    h = h / max(np.linalg.norm(h), 1e-9)
    return (elev, azim, bend, float(h[0]), float(h[1]), float(h[2]))


def sides_of(hand: str):
    return {"left": (LEFT,), "right": (RIGHT,), "both": (LEFT, RIGHT)}[hand]


def _finish(tr: Track, still: bool = True) -> Track:
    if still:
        tr.lead_in = tr.lead_out = tr.T
    return tr


# --------------------------------------------------------------------------
# jumps

def jump_track(body: Body, rng, count: int, disp, height: float, speed: float = 1.0,
               stances=None, arms: str = "swing", one_leg: int | None = None, crouch_scale: float = 1.0):
    """A sequence of `count` jumps.

    disp: (dx, dz) ground displacement per jump (heading frame);
    stances: optional list of per-landing extra half-widths (jumping jacks);
    one_leg: side of the supporting leg for hopping (the other foot stays up).
    """
    from scipy.ndimage import gaussian_filter1d  # on first use: start-up reads the action vocabulary
    h0 = body.pelvis_height
    ls = body.leg_scale
    H = float(height) * _u(rng, 0.9, 1.1)
    v0 = math.sqrt(2 * G * H)  # m/s
    c = (0.07 + 0.3 * H) * crouch_scale * ls
    y_to = h0 + 0.045 * ls
    lift = y_to - (h0 - c)
    Tc = 8.0 / speed * _u(rng)
    Tp = max(3.0, 2.0 * lift / v0 * FPS * 1.1)
    Tf = 2 * v0 / G * FPS
    Ta = max(4.0, 1.6 * Tp)
    Tr = 9.0 / speed * _u(rng)
    gap = 1.0 / speed
    lead = float(rng.integers(3, 6))
    # time line
    keys_y = []  # segments: (t0, t1, p0, p1, v0, v1) in frames and per-frame velocities
    t = lead
    keys_y.append((t, t + Tc, h0, h0 - c, 0.0, 0.0))
    t += Tc
    jumps = []
    for j in range(int(count)):
        t_b = t
        keys_y.append((t, t + Tp, h0 - c, y_to, 0.0, v0 / FPS))
        t_to = t + Tp
        t_ld = t_to + Tf
        t_end = t_ld + Ta
        cj = c * (0.8 if j < count - 1 else 0.9)
        keys_y.append(("flight", t_to, t_ld, y_to, v0))
        keys_y.append((t_ld, t_end, y_to, h0 - cj, -v0 / FPS, 0.0))
        jumps.append((t_b, t_to, t_ld, t_end))
        t = t_end + gap
        c = cj
    keys_y.append((t, t + Tr, h0 - c, h0, 0.0, 0.0))
    T = int(math.ceil(t + Tr + rng.integers(3, 6)))
    tt = np.arange(T, dtype=np.float64)
    y = np.full(T, np.nan)
    for seg in keys_y:
        if seg[0] == "flight":
            _, a, b, yy, vv = seg
            m = (tt >= a) & (tt < b)
            tau = (tt[m] - a) / FPS
            y[m] = yy + vv * tau - 0.5 * G * tau * tau
        else:
            a, b, p0, p1, va, vb = seg
            m = (tt >= a) & (tt < b)
            y[m] = hermite(tt[m], a, b, p0, p1, va, vb)
    last_seg = keys_y[-1]
    y[tt >= last_seg[1]] = h0
    # hold the last value across the short rests between jumps
    if np.isnan(y[0]):
        y[0] = h0
    idx = np.where(np.isnan(y), 0, np.arange(T))
    y = y[np.maximum.accumulate(idx)]
    tr = Track.neutral(body, T)
    tr.pel[:, 1] = y
    # ground positions of the pelvis before/after each jump
    disp = np.asarray(disp, dtype=np.float64)
    P = np.zeros((T, 2))
    pos = np.zeros(2)
    for (t_b, t_to, t_ld, t_end) in jumps:
        m = tt >= t_b
        s = smootherstep((tt[m] - t_b) / (t_end - t_b))
        P[m] = pos + disp * s[:, None]
        pos = pos + disp
    tr.pel[:, 0], tr.pel[:, 2] = P[:, 0], P[:, 1]
    # feet
    toe0, yaw0 = neutral_feet(body, (0.0, 0.0), 0.0)
    toe = np.broadcast_to(toe0, (T, 2, 3)).copy()
    fpitch = np.full((T, 2), NEUTRAL_FOOT_PITCH)
    fyaw = np.broadcast_to(yaw0, (T, 2)).copy()
    attach = np.zeros((T, 2))
    rel = np.zeros((T, 2, 3))
    feet = (one_leg,) if one_leg is not None else (LEFT, RIGHT)
    cur = toe0.copy()
    pos = np.zeros(2)
    tuck = 0.05 + 0.4 * H
    p_air = 1.0
    for j, (t_b, t_to, t_ld, t_end) in enumerate(jumps):
        pos = pos + disp
        new, _ = neutral_feet(body, pos, 0.0)
        if stances is not None:
            wdt = stances[j]
            new[LEFT, 0] += wdt
            new[RIGHT, 0] -= wdt
        k_to = int(math.floor(t_to))
        k_ld = int(math.ceil(t_ld))
        for f in feet:
            m = (tt >= t_b) & (tt <= k_to)
            fpitch[m, f] = NEUTRAL_FOOT_PITCH + (p_air - NEUTRAL_FOOT_PITCH) * smoothstep((tt[m] - t_b) / max(k_to - t_b, 1))
            toe[tt <= k_to, f] = toe[tt <= k_to, f]
            rel_to = cur[f] - tr.pel[k_to]
            rel_ld = new[f] - tr.pel[min(k_ld, T - 1)]
            m = (tt > k_to) & (tt < k_ld)
            s = (tt[m] - k_to) / max(k_ld - k_to, 1)
            r = rel_to + (rel_ld - rel_to) * smoothstep(s)[:, None]
            r[:, 1] += tuck * np.sin(np.pi * s)
            rel[m, f] = r
            attach[m, f] = 1.0
            fpitch[m, f] = p_air
            after = tt >= k_ld
            toe[after, f] = new[f]
            m = (tt >= k_ld) & (tt < t_end)
            fpitch[m, f] = p_air + (NEUTRAL_FOOT_PITCH - p_air) * smoothstep((tt[m] - k_ld) / max(t_end - k_ld, 1))
            fpitch[tt >= t_end, f] = NEUTRAL_FOOT_PITCH
        cur = new
    if stances is not None and stances[-1] != 0:
        raise ValueError("jumping sequences must end in the neutral stance")
    tr.toe, tr.fpitch, tr.fyaw, tr.attach, tr.rel = toe, fpitch, fyaw, attach, rel
    # upper body
    lean = np.zeros(T)
    first_b = jumps[0][0]
    last_end = jumps[-1][3]
    crouch_w = gaussian_filter1d(np.clip((h0 - y) / max(c, 1e-3), 0, 1.5), 1.5, mode="nearest")
    lean += 0.35 * crouch_w
    tr.ptilt[:, 0] = lean * (0.5 if stances is not None else 1.0)
    tr.spine[:, 0] = 0.3 * lean * (0.5 if stances is not None else 1.0)
    tr.head[:, 0] = -0.6 * lean
    if arms == "swing":
        kt, kv = [0.0, lead], [ARM0, ARM0]
        for (t_b, t_to, t_ld, t_end) in jumps:
            kt += [t_b - 3, 0.5 * (t_to + t_ld), t_ld + 1, t_end]
            kv += [(0.55, -1.6, 0.3, 0, 0, 1), (2.2, 1.45, 0.3, 0, 1, 0.3), (1.3, 1.45, 0.3, 0, 0, 1),
                   (0.6, -1.2, 0.35, 0, 0, 1)]
        kt += [last_end + Tr * 0.8, T]
        kv += [ARM0, ARM0]
        for side in (LEFT, RIGHT):
            set_arm(tr, side, _monotone(kt), kv)
    elif arms == "jacks":
        kt, kv = [0.0, lead], [ARM0, ARM0]
        for j, (t_b, t_to, t_ld, t_end) in enumerate(jumps):
            wide = stances[j] > 0
            kt += [t_ld + 1]
            kv += [(2.75, 0.15, 0.25, -1, 1, 0) if wide else (0.25, 0.0, 0.2, 0, 0, 1)]
        kt += [T - 2]
        kv += [ARM0]
        for side in (LEFT, RIGHT):
            kk = [tuple(v[:3]) + (SIDE_SIGN[side] * v[3],) + tuple(v[4:]) for v in kv]
            set_arm(tr, side, _monotone(kt), kk)
    elif arms == "out":
        w = window(T, first_b - 4, last_end + 4, 6)
        for side in (LEFT, RIGHT):
            set_arm(tr, side, [0, 1], [(1.1, 0.3, 0.5, 0, 0, 1)] * 2, weight=w)
    tr.move = (int(first_b), int(min(T - 1, last_end)))
    tr.lead_in = int(lead)
    tr.lead_out = max(0, T - int(math.ceil(last_end + Tr)) - 1)
    return tr


def _monotone(times):
    out = []
    last = -1e9
    for t in times:
        t = max(float(t), last + 1e-3)
        out.append(t)
        last = t
    return out


def gen_jump(body, rng, p, tempo=1.0):
    H = p["height"]
    dist = {"in_place": (0.0, 0.0), "forward": (0.0, 0.45 + 0.9 * H), "backward": (0.0, -(0.25 + 0.4 * H)),
            "left": (0.3 + 0.5 * H, 0.0), "right": (-(0.3 + 0.5 * H), 0.0)}[p["direction"]]
    dist = np.asarray(dist) * body.leg_scale * _u(rng, 0.9, 1.1)
    return jump_track(body, rng, p["count"], dist, H, speed=tempo)


def gen_jumping_jacks(body, rng, p, tempo=1.0):
    n = int(p["count"]) * 2
    w = 0.2 * body.leg_scale * _u(rng, 0.85, 1.15)
    stances = [w if j % 2 == 0 else 0.0 for j in range(n)]
    return jump_track(body, rng, n, (0.0, 0.0), 0.07 * _u(rng, 0.85, 1.2), speed=1.5 * p["speed"] * tempo,
                      stances=stances, arms="jacks", crouch_scale=0.5)


def gen_hop(body, rng, p, tempo=1.0):
    support = LEFT if p["leg"] == "left" else RIGHT
    free = 1 - support
    dist = (0.0, 0.35 * body.leg_scale * _u(rng)) if p["direction"] == "forward" else (0.0, 0.0)
    lift_t = 8.0
    core = jump_track(body, rng, p["count"], dist, 0.09 * _u(rng, 0.8, 1.3), speed=1.3 * tempo,
                      one_leg=support, arms="out", crouch_scale=0.6)
    pre = int(lift_t + 4)
    T = core.T + pre + int(lift_t) + 2
    tr = Track.neutral(body, T)
    for n in ("pel", "yaw", "ptilt", "spine", "head", "collar", "arm_u", "arm_f", "toe", "fyaw", "fpitch",
              "attach", "rel", "kpole"):
        arr = getattr(core, n)
        full = np.concatenate([np.repeat(arr[:1], pre, 0), arr, np.repeat(arr[-1:], T - pre - core.T, 0)])
        setattr(tr, n, full)
    # shift the pelvis over the supporting foot while the free leg is up
    tt = np.arange(T, dtype=np.float64)
    up_start, up_end = 3.0, T - 3.0
    w = window(T, up_start, up_end, lift_t)
    toward = np.array([SIDE_SIGN[support] * 0.075 * body.leg_scale, 0.0, 0.0])
    tr.pel += w[:, None] * toward
    tr.ptilt[:, 1] += -SIDE_SIGN[support] * 0.06 * w
    # the free foot: attached to the pelvis from lift to put-down, then set down beside the other
    k0, k1 = int(up_start), int(math.ceil(up_end))
    final_xz = (core.pel[-1, 0], core.pel[-1, 2])
    end_toe, _ = neutral_feet(body, final_xz, 0.0)
    tr.toe[tt >= k1, free] = end_toe[free]
    raised = np.array([SIDE_SIGN[free] * 0.11, 0.33 * body.leg_scale - body.pelvis_height, -0.22 * body.leg_scale])
    _lifted_leg(body, tr, free, k0, k1, [(k0 + lift_t, raised), (k1 - lift_t, raised)], 1.2)
    tr.fpitch[:, free] = keyframes(T, [k0, k0 + lift_t, k1 - lift_t, k1],
                                   [NEUTRAL_FOOT_PITCH, 1.2, 1.2, NEUTRAL_FOOT_PITCH])
    tr.move = (pre + core.move[0], pre + core.move[1])
    tr.lead_in, tr.lead_out = 2, 2
    return tr


# --------------------------------------------------------------------------
# poses with the feet planted

def _pose_track(body: Body, T: int, times, pel_keys, tilt_keys=None, spine_keys=None, head_keys=None):
    tr = Track.neutral(body, T)
    pk = keyframes(T, times, np.asarray(pel_keys, dtype=np.float64))  # (dx, dy, dz) from neutral
    tr.pel += pk
    if tilt_keys is not None:
        tr.ptilt = keyframes(T, times, np.asarray(tilt_keys, dtype=np.float64))
    if spine_keys is not None:
        tr.spine = keyframes(T, times, np.asarray(spine_keys, dtype=np.float64))
    if head_keys is not None:
        tr.head = keyframes(T, times, np.asarray(head_keys, dtype=np.float64))
    return tr


def _cycle_times(lead, n, down, hold, up, rest, tail):
    """Key times for n down-hold-up cycles: returns times and a flag list (True = down key)."""
    t = [0.0, lead]
    flags = [False, False]
    cur = lead
    for k in range(n):
        t += [cur + down, cur + down + hold]
        flags += [True, True]
        cur += down + hold + up
        t.append(cur)
        flags.append(False)
        if k < n - 1:
            cur += rest
            t.append(cur)
            flags.append(False)
    t.append(cur + tail)
    flags.append(False)
    return t, flags


def gen_squat(body, rng, p, tempo=1.0):
    ls = body.leg_scale
    sp = p["speed"] * tempo
    depth = p["depth"] * _u(rng, 0.92, 1.08)
    down, up = 13.0 / sp * _u(rng), 12.0 / sp * _u(rng)
    hold = float(rng.uniform(1, 5)) / sp
    times, flags = _cycle_times(float(rng.integers(3, 6)), int(p["count"]), down, hold, up, rng.uniform(1, 4),
                                float(rng.integers(4, 7)))
    T = int(math.ceil(times[-1])) + 1
    dn = np.array([0.0, -0.40 * ls * depth, -0.13 * depth])
    pel = [dn if f else np.zeros(3) for f in flags]
    tilt = [np.array([0.5 * depth, 0, 0]) if f else np.zeros(3) for f in flags]
    spine = [np.array([0.12 * depth, 0, 0]) if f else np.zeros(3) for f in flags]
    head = [np.array([-0.45 * depth, 0, 0]) if f else np.zeros(3) for f in flags]
    tr = _pose_track(body, T, times, pel, tilt, spine, head)
    style = rng.integers(0, 3)
    for side in (LEFT, RIGHT):
        if style < 2:  # arms forward for balance
            keys = [(1.45, 1.5, 0.12, 0, 1, 0) if f else ARM0 for f in flags]
        else:  # hands on the hips
            keys = [(0.55, -0.5, 1.9, -SIDE_SIGN[side], 0, 0.3)] * len(flags)
            keys[0] = keys[-1] = ARM0
            keys[1] = (0.55, -0.5, 1.9, -SIDE_SIGN[side], 0, 0.3)
        set_arm(tr, side, times, keys)
    return _finish(tr)


def gen_crouch(body, rng, p, tempo=1.0):
    ls = body.leg_scale
    depth = p["depth"] * _u(rng, 0.95, 1.05)
    down, up = 14.0 / tempo * _u(rng), 14.0 / tempo * _u(rng)
    hold = p["hold"] * FPS
    lead = float(rng.integers(3, 6))
    times = [0, lead, lead + down, lead + down + hold, lead + down + hold + up, lead + down + hold + up + 5]
    T = int(math.ceil(times[-1])) + 1
    low = np.array([0.0, -0.5 * ls * depth, -0.08 * depth])
    pel = [np.zeros(3), np.zeros(3), low, low, np.zeros(3), np.zeros(3)]
    tilt = [np.zeros(3)] * 2 + [np.array([0.55 * depth, 0, 0])] * 2 + [np.zeros(3)] * 2
    spine = [np.zeros(3)] * 2 + [np.array([0.35 * depth, 0, 0])] * 2 + [np.zeros(3)] * 2
    head = [np.zeros(3)] * 2 + [np.array([-0.6 * depth, 0, 0])] * 2 + [np.zeros(3)] * 2
    tr = _pose_track(body, T, times, pel, tilt, spine, head)
    heel = keyframes(T, times, [0, 0, 0.55, 0.55, 0, 0])
    tr.fpitch = tr.fpitch + heel[:, None]
    for side in (LEFT, RIGHT):
        arm = (0.85, 1.35, 0.55, 0, 0, 1)
        set_arm(tr, side, times, [ARM0, ARM0, arm, arm, ARM0, ARM0])
    return _finish(tr)


def gen_bow(body, rng, p, tempo=1.0):
    depth = p["depth"] * _u(rng, 0.92, 1.08)
    theta = 0.3 + 0.85 * depth
    down, up = 12.0 / tempo * _u(rng), 12.0 / tempo * _u(rng)
    hold = float(rng.uniform(3, 9)) / tempo
    times, flags = _cycle_times(float(rng.integers(3, 6)), int(p["count"]), down, hold, up, rng.uniform(2, 5),
                                float(rng.integers(4, 7)))
    T = int(math.ceil(times[-1])) + 1
    pel = [np.array([0, -0.02 * depth, -0.1 * depth]) if f else np.zeros(3) for f in flags]
    tilt = [np.array([0.55 * theta, 0, 0]) if f else np.zeros(3) for f in flags]
    spine = [np.array([0.45 * theta, 0, 0]) if f else np.zeros(3) for f in flags]
    head = [np.array([0.1, 0, 0]) if f else np.zeros(3) for f in flags]
    tr = _pose_track(body, T, times, pel, tilt, spine, head)
    hand_on_chest = rng.random() < 0.3
    for side in (LEFT, RIGHT):
        if hand_on_chest and side == RIGHT:
            keys = [(0.35, 0.9, 2.3, -1, 0.3, 1) if f else ARM0 for f in flags]
        else:  # arms hang: in the chest frame they swing forward as the chest tips
            keys = [(0.7 * theta + 0.1, 1.45, 0.2, 0, 0, 1) if f else ARM0 for f in flags]
        set_arm(tr, side, times, keys)
    return _finish(tr)


def gen_touch_toes(body, rng, p, tempo=1.0):
    down, up = 16.0 / tempo * _u(rng), 15.0 / tempo * _u(rng)
    hold = float(rng.uniform(4, 10)) / tempo
    times, flags = _cycle_times(float(rng.integers(3, 6)), int(p["count"]), down, hold, up, rng.uniform(2, 5),
                                float(rng.integers(4, 7)))
    T = int(math.ceil(times[-1])) + 1
    bend_p, bend_s = 1.7 * _u(rng, 0.96, 1.04), 1.5 * _u(rng, 0.94, 1.06)
    low = np.array([0.0, -0.14, -0.2]) * body.leg_scale
    pel = [low if f else np.zeros(3) for f in flags]
    tilt = [np.array([bend_p, 0, 0]) if f else np.zeros(3) for f in flags]
    spine = [np.array([bend_s, 0, 0]) if f else np.zeros(3) for f in flags]
    head = [np.array([-0.2, 0, 0]) if f else np.zeros(3) for f in flags]
    tr = _pose_track(body, T, times, pel, tilt, spine, head)
    # aim the arms at the toes in the bent pose
    pel_b = np.array([[0.0, body.pelvis_height, 0.0]]) + low
    s3, Rc = chest_frame(body, pel_b, np.zeros(1), np.array([[bend_p, 0, 0]]), np.array([[bend_s, 0, 0]]))
    # arms hang towards the toes: blend in world space (both directions point down), then
    # express per frame in the chest frame
    w = keyframes(T, times, np.array([1.0 if fl else 0.0 for fl in flags]))
    _, Rc_t = chest_frame(body, tr.pel, tr.yaw, tr.ptilt, tr.spine)
    RcT = Rc_t.transpose(0, 2, 1)
    for side in (LEFT, RIGHT):
        target = body.toe_rest[side] + np.array([-SIDE_SIGN[side] * 0.03, 0.07, 0.02])
        local = apply(Rc.transpose(0, 2, 1), target[None] - s3)
        u, f = arm_ik(body, side, local, np.array([[SIDE_SIGN[side], 0.0, -1.0]]))
        uw, fw = apply(Rc, u)[0], apply(Rc, f)[0]
        u0, f0 = tr.arm_u[0, side], tr.arm_f[0, side]
        tr.arm_u[:, side] = apply(RcT, normalize(u0 * (1 - w[:, None]) + uw * w[:, None]))
        tr.arm_f[:, side] = apply(RcT, normalize(f0 * (1 - w[:, None]) + fw * w[:, None]))
    return _finish(tr)


def gen_lean(body, rng, p, tempo=1.0):
    sg = 1.0 if p["direction"] == "left" else -1.0
    amt = p["amount"] * _u(rng, 0.9, 1.1)
    down, up = 12.0 / tempo * _u(rng), 12.0 / tempo * _u(rng)
    hold = float(rng.uniform(3, 10)) / tempo
    times, flags = _cycle_times(float(rng.integers(3, 6)), int(p["count"]), down, hold, up, rng.uniform(2, 5),
                                float(rng.integers(4, 7)))
    T = int(math.ceil(times[-1])) + 1
    pel = [np.array([-sg * 0.05 * amt, -0.01, 0]) if f else np.zeros(3) for f in flags]
    tilt = [np.array([0, sg * 0.1 * amt, 0]) if f else np.zeros(3) for f in flags]
    spine = [np.array([0, sg * 0.55 * amt, 0]) if f else np.zeros(3) for f in flags]
    head = [np.array([0, sg * 0.1, 0]) if f else np.zeros(3) for f in flags]
    tr = _pose_track(body, T, times, pel, tilt, spine, head)
    stretch = rng.random() < 0.5
    far = RIGHT if sg > 0 else LEFT
    for side in (LEFT, RIGHT):
        if stretch and side == far:
            keys = [(2.6, 0.2, 0.5, -SIDE_SIGN[side], 1, 0) if f else ARM0 for f in flags]
        else:
            keys = [(0.2, 0.0, 0.3, 0, 0, 1) if f else ARM0 for f in flags]
        set_arm(tr, side, times, keys)
    return _finish(tr)


def gen_tiptoe(body, rng, p, tempo=1.0):
    up, down = 9.0 / tempo * _u(rng), 9.0 / tempo * _u(rng)
    hold = float(rng.uniform(4, 12)) / tempo
    times, flags = _cycle_times(float(rng.integers(3, 6)), int(p["count"]), up, hold, down, rng.uniform(2, 5),
                                float(rng.integers(4, 7)))
    T = int(math.ceil(times[-1])) + 1
    p_up = 1.2
    rise = body.foot(LEFT) * (math.sin(p_up) - math.sin(NEUTRAL_FOOT_PITCH)) * 0.97
    pel = [np.array([0, rise, 0.03]) if f else np.zeros(3) for f in flags]
    tr = _pose_track(body, T, times, pel)
    tr.fpitch = keyframes(T, times, [[p_up, p_up] if f else [NEUTRAL_FOOT_PITCH] * 2 for f in flags])
    for side in (LEFT, RIGHT):
        keys = [(0.25, 0.0, 0.3, 0, 0, 1) if f else ARM0 for f in flags]
        set_arm(tr, side, times, keys)
    return _finish(tr)


def gen_torso_twist(body, rng, p, tempo=1.0):
    n = int(p["count"])
    per = 22.0 / tempo * _u(rng)
    lead = float(rng.integers(3, 6))
    raise_t = 8.0
    first = 1.0 if rng.random() < 0.5 else -1.0
    times = [0, lead, lead + raise_t]
    vals = [0.0, 0.0, 0.0]
    t = lead + raise_t
    for k in range(n):
        times += [t + per * 0.25, t + per * 0.75]
        vals += [first, -first]
        t += per
    times += [t, t + raise_t, t + raise_t + 5]
    vals += [0.0, 0.0, 0.0]
    T = int(math.ceil(times[-1])) + 1
    tw = keyframes(T, times, np.asarray(vals)) * 0.7 * _u(rng)
    tr = Track.neutral(body, T)
    tr.spine[:, 2] = tw
    tr.ptilt[:, 2] = 0.18 * tw
    tr.head[:, 2] = -0.3 * tw
    w = window(T, lead, t + raise_t * 0.5, raise_t)
    for side in (LEFT, RIGHT):
        set_arm(tr, side, [0, 1], [(1.35, 0.35, 2.1, -SIDE_SIGN[side], 0, 1)] * 2, weight=w)
    return _finish(tr)


def gen_idle(body, rng, p, tempo=1.0):
    T = max(int(round(p["duration"] * FPS)), 8)
    tr = Track.neutral(body, T)
    t = np.arange(T) / FPS
    ph = rng.uniform(0, 2 * np.pi, 4)
    f = rng.uniform(0.15, 0.35)
    sway = 0.012 * np.sin(2 * np.pi * f * t + ph[0]) * window(T, 0, T - 1, 6)
    tr.pel[:, 0] += sway
    tr.pel[:, 2] += 0.006 * np.sin(2 * np.pi * f * 0.7 * t + ph[1]) * window(T, 0, T - 1, 6)
    tr.ptilt[:, 1] += -2.0 * sway
    tr.spine[:, 0] += 0.015 * np.sin(2 * np.pi * 0.25 * t + ph[2])
    tr.head[:, 2] += 0.15 * np.sin(2 * np.pi * 0.12 * t + ph[3]) * window(T, 0, T - 1, 10)
    return _finish(tr)


def gen_sit_down(body, rng, p, tempo=1.0):
    ls = body.leg_scale
    lead = float(rng.integers(3, 6))
    d1, d2 = 16.0 / tempo * _u(rng), 12.0 / tempo * _u(rng)
    hold = p["hold"] * FPS
    times = [0, lead, lead + d1, lead + d1 + d2, lead + d1 + d2 + hold, lead + d1 + 2 * d2 + hold,
             lead + 2 * d1 + 2 * d2 + hold, lead + 2 * d1 + 2 * d2 + hold + 5]
    T = int(math.ceil(times[-1])) + 1
    h0 = body.pelvis_height
    squat = np.array([0.0, -0.5 * ls, -0.18 * ls])
    sit = np.array([0.0, 0.2 - h0, -0.5 * ls])
    pel = [np.zeros(3), np.zeros(3), squat, sit, sit, squat, np.zeros(3), np.zeros(3)]
    z = np.zeros(3)
    tilt = [z, z, np.array([0.6, 0, 0]), np.array([-0.1, 0, 0]), np.array([-0.1, 0, 0]), np.array([0.6, 0, 0]), z, z]
    spine = [z, z, np.array([0.3, 0, 0]), np.array([0.2, 0, 0]), np.array([0.2, 0, 0]), np.array([0.3, 0, 0]), z, z]
    head = [z, z, np.array([-0.6, 0, 0]), np.array([-0.1, 0, 0]), np.array([-0.1, 0, 0]), np.array([-0.6, 0, 0]), z, z]
    tr = _pose_track(body, T, times, pel, tilt, spine, head)
    tr.kpole[:] = (0.0, 1.2, 0.0)
    tr.kpole *= keyframes(T, times, [0, 0, 1, 1, 1, 1, 0, 0])[:, None, None]
    for side in (LEFT, RIGHT):
        fwd = (1.25, 1.35, 0.25, 0, 0, 1)
        knees = (0.95, 1.3, 0.35, 0, 0, 1)
        set_arm(tr, side, times, [ARM0, ARM0, fwd, knees, knees, fwd, ARM0, ARM0])
    return _finish(tr)


def gen_kneel(body, rng, p, tempo=1.0):
    ls = body.leg_scale
    lead = float(rng.integers(3, 6))
    hold = p["hold"] * FPS
    knee = p["knee"]
    toe0, yaw0 = neutral_feet(body, (0.0, 0.0), 0.0)
    tuck = 1.15
    if knee == "both":
        kneel_sides = (LEFT, RIGHT)
        step_side = None
    else:
        kneel_sides = (LEFT,) if knee == "left" else (RIGHT,)
        step_side = 1 - kneel_sides[0]
    # where the pelvis goes: hips above the kneeling knee(s)
    ks = kneel_sides[0]
    ankle_y = body.foot(ks) * math.sin(tuck)
    ankle_z = toe0[ks, 2] - body.foot(ks) * math.cos(tuck)
    knee_y = 0.065 * ls
    knee_z = ankle_z + math.sqrt(max(body.shin(ks) ** 2 - (ankle_y - knee_y) ** 2, 0.01))
    hip_y = knee_y + body.thigh(ks) * 0.985
    pel_k = np.array([0.0, hip_y - body.hip_offset[ks, 1], knee_z + 0.03 - body.hip_offset[ks, 2]])
    if step_side is not None:
        pel_k[0] = 0.35 * body.hip_offset[ks, 0]
    t_step = 10.0 / tempo
    down = 16.0 / tempo * _u(rng)
    t = lead
    swings = []
    if step_side is not None:
        fwd_toe = toe0[step_side] + np.array([0.0, 0.0, 0.5 * ls + pel_k[2] * 0.5])
        swings.append(Swing(step_side, t, t + t_step, fwd_toe, float(yaw0[step_side]) - SIDE_SIGN[step_side] * 0.1,
                            height=0.085, heel=0.1, heel_frames=2))
        t += t_step + 1
    t_down0 = t
    t_down1 = t + down
    t_up0 = t_down1 + hold
    t_up1 = t_up0 + down
    t = t_up1 + 1
    if step_side is not None:
        swings.append(Swing(step_side, t, t + t_step, toe0[step_side], float(yaw0[step_side]),
                            height=0.08, heel=0.1, heel_frames=2))
        t += t_step
    T = int(math.ceil(t + rng.integers(4, 7)))
    tr = Track.neutral(body, T)
    toe, fyaw, fpitch = foot_tracks(T, toe0, yaw0, np.full(2, NEUTRAL_FOOT_PITCH), swings)
    tr.toe, tr.fyaw, tr.fpitch = toe, fyaw, fpitch
    times = [0, t_down0, t_down1, t_up0, t_up1, T]
    tr.pel += keyframes(T, times, [np.zeros(3), np.zeros(3), pel_k - [0, body.pelvis_height, 0],
                                   pel_k - [0, body.pelvis_height, 0], np.zeros(3), np.zeros(3)])
    for s in kneel_sides:
        tr.fpitch[:, s] = keyframes(T, times, [NEUTRAL_FOOT_PITCH, NEUTRAL_FOOT_PITCH, tuck, tuck,
                                               NEUTRAL_FOOT_PITCH, NEUTRAL_FOOT_PITCH])
    tr.ptilt = keyframes(T, times, [np.zeros(3), np.zeros(3), [0.1, 0, 0], [0.1, 0, 0], np.zeros(3), np.zeros(3)])
    tr.spine = keyframes(T, times, [np.zeros(3), np.zeros(3), [0.1, 0, 0], [0.1, 0, 0], np.zeros(3), np.zeros(3)])
    if step_side is not None:
        for side in (LEFT, RIGHT):
            key = (0.5, 1.3, 0.6, 0, 0, 1) if side == step_side else (0.2, 0.5, 0.4, 0, 0, 1)
            set_arm(tr, side, times, [ARM0, ARM0, key, key, ARM0, ARM0])
    return _finish(tr, still=False)


def gen_lunge(body, rng, p, tempo=1.0):
    ls = body.leg_scale
    front = LEFT if p["leg"] == "left" else RIGHT
    back = 1 - front
    toe0, yaw0 = neutral_feet(body, (0.0, 0.0), 0.0)
    stride = 0.8 * ls * _u(rng, 0.92, 1.08)
    t = float(rng.integers(3, 6))
    t_step = 10.0 / tempo
    swings = []
    keys_t = [0.0]
    keys_pel = [np.zeros(3)]
    keys_bp = [NEUTRAL_FOOT_PITCH]
    tilt = [np.zeros(3)]
    for k in range(int(p["count"])):
        tgt = toe0[front] + np.array([0.0, 0.0, stride])
        swings.append(Swing(front, t, t + t_step, tgt, float(yaw0[front]), height=0.085, heel=0.15, heel_frames=2))
        mid = np.array([0.0, 0.0, 0.42 * stride])
        keys_t += [t, t + t_step]
        keys_pel += [np.zeros(3), mid + [0, -0.04, 0]]
        keys_bp += [NEUTRAL_FOOT_PITCH, 0.9]
        tilt += [np.zeros(3), np.zeros(3)]
        t += t_step
        down = 12.0 / tempo * _u(rng)
        hold = float(rng.uniform(2, 8))
        low = mid + [0.0, -0.36 * ls, 0.0]
        keys_t += [t + down, t + down + hold, t + 2 * down + hold]
        keys_pel += [low, low, mid + [0, -0.04, 0]]
        keys_bp += [1.05, 1.05, 0.9]
        tilt += [np.array([0.08, 0, 0])] * 2 + [np.zeros(3)]
        t += 2 * down + hold + 1
        swings.append(Swing(front, t, t + t_step, toe0[front], float(yaw0[front]), height=0.08, heel=0.1,
                            heel_frames=2))
        keys_t += [t, t + t_step]
        keys_pel += [mid + [0, -0.04, 0], np.zeros(3)]
        keys_bp += [0.9, NEUTRAL_FOOT_PITCH]
        tilt += [np.zeros(3)] * 2
        t += t_step + 2
    T = int(math.ceil(t + rng.integers(3, 6)))
    keys_t.append(T)
    keys_pel.append(np.zeros(3))
    keys_bp.append(NEUTRAL_FOOT_PITCH)
    tilt.append(np.zeros(3))
    keys_t = _monotone(keys_t)
    tr = Track.neutral(body, T)
    toe, fyaw, fpitch = foot_tracks(T, toe0, yaw0, np.full(2, NEUTRAL_FOOT_PITCH), swings)
    tr.toe, tr.fyaw, tr.fpitch = toe, fyaw, fpitch
    tr.pel += keyframes(T, keys_t, np.asarray(keys_pel))
    tr.fpitch[:, back] = keyframes(T, keys_t, np.asarray(keys_bp))
    tr.ptilt = keyframes(T, keys_t, np.asarray(tilt))
    hands = rng.random() < 0.5
    if hands:
        for side in (LEFT, RIGHT):
            set_arm(tr, side, [0, 5, T - 6, T - 1], [ARM0, (0.55, -0.5, 1.9, -SIDE_SIGN[side], 0, 0.3),
                                                      (0.55, -0.5, 1.9, -SIDE_SIGN[side], 0, 0.3), ARM0])
    return _finish(tr, still=False)


def _lifted_leg(body: Body, tr: Track, free: int, t0: float, t1: float, raised_rel, pitch: float, lift: float = 8.0):
    """Attach the free foot to the pelvis between t0 and t1 and move it through `raised_rel` keys."""
    T = tr.T
    tt = np.arange(T, dtype=np.float64)
    k0, k1 = int(math.floor(t0)), int(math.ceil(t1))
    start_rel = tr.toe[k0, free] - tr.pel[k0]
    end_rel = tr.toe[min(k1, T - 1), free] - tr.pel[min(k1, T - 1)]
    times = [k0] + [k for k, _ in raised_rel] + [k1]
    vals = [start_rel] + [v for _, v in raised_rel] + [end_rel]
    tr.rel[:, free] = keyframes(T, _monotone(times), np.asarray(vals))
    m = (tt > k0) & (tt < k1)
    tr.attach[m, free] = 1.0


def gen_balance(body, rng, p, tempo=1.0):
    support = LEFT if p["leg"] == "left" else RIGHT
    free = 1 - support
    lead = float(rng.integers(3, 6))
    shift = 8.0
    lift = 9.0
    hold = p["hold"] * FPS
    T = int(math.ceil(lead + 2 * shift + 2 * lift + hold + rng.integers(3, 6)))
    tr = Track.neutral(body, T)
    w = window(T, lead, T - 4, shift)
    tr.pel[:, 0] += SIDE_SIGN[support] * 0.08 * body.leg_scale * w
    tr.ptilt[:, 1] += -SIDE_SIGN[support] * 0.05 * w
    t0 = lead + shift
    t1 = t0 + 2 * lift + hold
    h0 = body.pelvis_height
    raised = np.array([SIDE_SIGN[free] * 0.12, 0.42 * body.leg_scale - h0, 0.2 * body.leg_scale])
    _lifted_leg(body, tr, free, t0, t1, [(t0 + lift, raised), (t1 - lift, raised)], 0.9)
    tr.fpitch[:, free] = keyframes(T, [0, t0, t0 + lift, t1 - lift, t1, T], [NEUTRAL_FOOT_PITCH] * 2 + [0.9, 0.9] +
                                   [NEUTRAL_FOOT_PITCH] * 2)
    wa = window(T, t0, t1, lift)
    for side in (LEFT, RIGHT):
        set_arm(tr, side, [0, 1], [(1.35, 0.15, 0.35, 0, 0, 1)] * 2, weight=wa)
    tr.lead_in, tr.lead_out = int(lead), 3
    return tr


def gen_kick(body, rng, p, tempo=1.0):
    kick = LEFT if p["leg"] == "left" else RIGHT
    support = 1 - kick
    sgk = SIDE_SIGN[kick]
    ls = body.leg_scale
    h0 = body.pelvis_height
    lead = float(rng.integers(3, 6))
    shift = 6.0
    chamber_t, ext_t, ret_t = 7.0 / tempo, 4.5 / tempo, 6.0 / tempo
    n = int(p["count"])
    t0 = lead + shift
    seq = []
    t = t0 + chamber_t
    for k in range(n):
        seq.append((t, t + ext_t, t + ext_t + 2))
        t += ext_t + 2 + ret_t
    t1 = t + chamber_t
    T = int(math.ceil(t1 + shift + rng.integers(3, 6)))
    tr = Track.neutral(body, T)
    w = window(T, lead, T - 4, shift)
    tr.pel[:, 0] += SIDE_SIGN[support] * 0.06 * ls * w
    hip = body.hip_offset[kick]
    reach = 0.99 * body.leg_reach(kick)
    phi = 0.7 + 0.85 * p["height"] * _u(rng, 0.92, 1.08)
    if p["direction"] == "forward":
        leg_dir = np.array([0.0, -math.cos(phi), math.sin(phi)])
        toe_dir = normalize(leg_dir + np.array([0, 0.5, 0.2]))
        tilt = np.array([-0.18 * p["height"], 0, 0])
        fy = 0.0
    else:
        phi = min(phi, 1.35)
        leg_dir = np.array([sgk * math.sin(phi), -math.cos(phi), 0.15])
        toe_dir = normalize(np.array([0.3 * sgk, 0.0, 1.0]))
        tilt = np.array([0.0, -sgk * 0.35 * p["height"], 0.0])
        fy = -sgk * 0.3
    ankle = hip + reach * normalize(leg_dir)
    ext = ankle + body.foot(kick) * toe_dir
    chamber = np.array([sgk * 0.1, 0.45 * ls - h0, 0.18 * ls]) + np.array([SIDE_SIGN[support] * 0.06 * ls, 0, 0])
    keys = [(t0 + chamber_t, chamber)]
    for a, b, c in seq:
        keys += [(b, ext), (c, ext), (c + ret_t, chamber)]
    _lifted_leg(body, tr, kick, t0, t1, keys, 0.9)
    ptimes = [0, t0] + [k for k, _ in keys] + [t1, T]
    ext_pitch = -math.asin(np.clip(toe_dir[1], -1, 1))
    pvals = [NEUTRAL_FOOT_PITCH] * 2 + [0.9 if np.allclose(v, chamber) else ext_pitch for _, v in keys] + \
        [NEUTRAL_FOOT_PITCH] * 2
    tr.fpitch[:, kick] = keyframes(T, _monotone(ptimes), np.asarray(pvals))
    yv = [tr.fyaw[0, kick]] * 2 + [tr.fyaw[0, kick] if np.allclose(v, chamber) else fy for _, v in keys] + \
        [tr.fyaw[0, kick]] * 2
    tr.fyaw[:, kick] = keyframes(T, _monotone(ptimes), np.asarray(yv))
    wk = window(T, t0, t1, chamber_t)
    # the knee bends upwards while the leg points forward (a forward pole would be parallel to it)
    tr.kpole[:, kick] = wk[:, None] * np.array([0.0, 1.2, 0.0])
    tr.ptilt += wk[:, None] * tilt
    tr.spine += wk[:, None] * tilt * 0.5
    for side in (LEFT, RIGHT):
        set_arm(tr, side, [0, 1], [(0.9, 0.9, 1.7, -SIDE_SIGN[side] * 0.4, 1, 0.5)] * 2, weight=window(T, lead, T - 4, 7))
    tr.lead_in, tr.lead_out = int(lead), 3
    return tr


# --------------------------------------------------------------------------
# upper body gestures (also used as overlays during locomotion)

def _arm_gesture(body, rng, tempo, n_cycles, period, pose_fn, sides, raise_t=9.0, pre=None):
    """Raise the arm(s) into a cyclic gesture and lower them again.

    pose_fn(side, phase) -> (elev, azim, bend, hint (T,3)) arrays for phase in [0, n_cycles].
    """
    lead = float(rng.integers(3, 6)) if pre is None else pre
    raise_t = raise_t / tempo
    period = period / tempo
    dur = n_cycles * period
    T = int(math.ceil(lead + 2 * raise_t + dur + rng.integers(3, 6)))
    tr = Track.neutral(body, T)
    tt = np.arange(T, dtype=np.float64)
    phase = np.clip((tt - lead - raise_t) / period, 0, n_cycles)
    w = window(T, lead, lead + 2 * raise_t + dur, raise_t)
    for side in sides:
        e, a, b, h = pose_fn(side, phase)
        # interpolate the angles (not the directions) so raising an arm overhead sweeps smoothly
        e = ARM0[0] + (e - ARM0[0]) * w
        a = ARM0[1] + (a - ARM0[1]) * w
        b = ARM0[2] + (b - ARM0[2]) * w
        h0 = np.array(ARM0[3:])
        h = normalize(h0 + (normalize(np.broadcast_to(h, (T, 3))) - h0) * w[:, None])
        tr.arm_u[:, side], tr.arm_f[:, side] = arm_from_angles(side, e, a, b, h)
    return _finish(tr), w, phase, lead + raise_t, dur


def gen_wave(body, rng, p, tempo=1.0):
    amp = 0.9 * _u(rng)
    el = 2.25 * _u(rng, 0.93, 1.05)

    def pose(side, ph):
        sg = SIDE_SIGN[side]
        s = np.sin(2 * np.pi * ph)
        hint = np.stack([sg * amp * s - sg * 0.1, np.ones_like(ph), np.full_like(ph, 0.25)], -1)
        return np.full_like(ph, el), np.full_like(ph, 0.35), np.full_like(ph, 1.25), hint
    tr, *_ = _arm_gesture(body, rng, tempo, int(p["count"]), 12.0 * _u(rng), pose, sides_of(p["hand"]), raise_t=13.0)
    return tr


def gen_raise_arm(body, rng, p, tempo=1.0):
    el, az = {"forward": (1.55, 1.5), "sideways": (1.55, 0.05), "overhead": (2.95, 1.0)}[p["direction"]]
    el *= _u(rng, 0.96, 1.03)

    def pose(side, ph):
        return np.full_like(ph, el), np.full_like(ph, az), np.full_like(ph, 0.12), np.array([0.0, 1.0, 0.3])
    hold = p["hold"] * FPS
    raise_t = {"forward": 12.0, "sideways": 12.0, "overhead": 17.0}[p["direction"]]
    tr, *_ = _arm_gesture(body, rng, tempo, 1, hold, pose, sides_of(p["hand"]), raise_t=raise_t)
    return tr


def gen_stretch(body, rng, p, tempo=1.0):
    def pose(side, ph):
        return np.full_like(ph, 2.95), np.full_like(ph, 1.25), np.full_like(ph, 0.15), np.array([0.0, 1.0, 0.0])
    hold = p["hold"] * FPS
    tr, w, _, _, _ = _arm_gesture(body, rng, tempo, 1, hold, pose, (LEFT, RIGHT), raise_t=18.0)
    tr.spine[:, 0] -= 0.18 * w
    tr.head[:, 0] -= 0.25 * w
    tr.spine[:, 1] += 0.0
    return tr


def gen_clap(body, rng, p, tempo=1.0):
    n = int(p["count"])
    lead = float(rng.integers(3, 6))
    up = 9.0 / tempo
    per = 9.0 / tempo * _u(rng)
    T = int(math.ceil(lead + 2 * up + n * per + rng.integers(3, 6)))
    tr = Track.neutral(body, T)
    tt = np.arange(T, dtype=np.float64)
    ph = np.clip((tt - lead - up) / per, 0, n)
    # hands meet at each integer + 0.5 phase
    closed = 0.5 - 0.5 * np.cos(2 * np.pi * ph)  # 0 apart, 1 together
    closed = np.where((tt < lead + up) | (tt > lead + up + n * per), 0.0, closed)
    height = -0.06 + 0.05 * _u(rng, -1, 1)
    fwd = 0.33 * body.factors["arms"]
    w = window(T, lead, lead + 2 * up + n * per, up)
    for side in (LEFT, RIGHT):
        sg = SIDE_SIGN[side]
        x = sg * (0.25 - 0.225 * closed)
        wrist = np.stack([x, np.full(T, height), np.full(T, fwd) + 0.03 * closed], -1)
        u, f = arm_ik(body, side, wrist, np.array([sg * 0.7, -1.0, -0.2]))
        ww = w[:, None]
        tr.arm_u[:, side] = normalize(tr.arm_u[:, side] * (1 - ww) + u * ww)
        tr.arm_f[:, side] = normalize(tr.arm_f[:, side] * (1 - ww) + f * ww)
    return _finish(tr)


def gen_punch(body, rng, p, tempo=1.0):
    n = int(p["count"])
    hand = p["hand"]
    lead = float(rng.integers(3, 6))
    guard_t = 8.0 / tempo
    ext, ret, rest = 3.0 / tempo, 5.0 / tempo, 2.0 / tempo * _u(rng)
    first = LEFT if hand == "left" else RIGHT if hand == "right" else int(rng.integers(0, 2))
    seq = []
    t = lead + guard_t
    for k in range(n):
        side = first if hand != "both" else (first if k % 2 == 0 else 1 - first)
        seq.append((side, t))
        t += ext + ret + rest
    T = int(math.ceil(t + guard_t + rng.integers(3, 6)))
    tr = Track.neutral(body, T)
    tt = np.arange(T, dtype=np.float64)
    w = window(T, lead, t + guard_t * 0.3, guard_t)
    twist = np.zeros(T)
    for side in (LEFT, RIGHT):
        sg = SIDE_SIGN[side]
        guard = np.array([sg * 0.13, 0.06, 0.22])
        s = body.shoulder_chest[side]
        out = s + 0.97 * (body.upper_arm(side) + body.forearm(side)) * normalize(np.array([-sg * 0.2, 0.02, 1.0]))
        e = np.zeros(T)
        for (ps, t0) in seq:
            if ps != side:
                continue
            m = (tt >= t0) & (tt < t0 + ext + ret)
            x = tt[m] - t0
            e[m] = np.where(x < ext, smoothstep(x / ext), 1 - smoothstep((x - ext) / ret))
            twist[m] += sg * (-0.35) * e[m]
        wrist = guard[None] + (out - guard)[None] * e[:, None]
        u, f = arm_ik(body, side, wrist, np.array([sg * 1.0, -0.8, 0.0]))
        ww = w[:, None]
        tr.arm_u[:, side] = normalize(tr.arm_u[:, side] * (1 - ww) + u * ww)
        tr.arm_f[:, side] = normalize(tr.arm_f[:, side] * (1 - ww) + f * ww)
    tr.spine[:, 2] += twist
    tr.ptilt[:, 2] += 0.3 * twist
    return _finish(tr)


def gen_throw(body, rng, p, tempo=1.0):
    side = LEFT if p["hand"] == "left" else RIGHT
    sg = SIDE_SIGN[side]
    lead = float(rng.integers(3, 6))
    wind, fire, follow, back = 13.0 / tempo * _u(rng), 4.0 / tempo, 7.0 / tempo, 12.0 / tempo * _u(rng)
    times = [0, lead, lead + wind, lead + wind + 2, lead + wind + 2 + fire, lead + wind + 2 + fire + follow,
             lead + wind + 2 + fire + follow + back]
    T = int(math.ceil(times[-1] + rng.integers(3, 6)))
    times.append(T)
    tr = Track.neutral(body, T)
    cock = (1.75, -0.9, 1.9, 0, 1, 0.2)
    release = (2.5, 1.45, 0.35, 0, 1, 1)
    thru = (1.0, 1.55, 0.25, -sg, 0, 1)
    set_arm(tr, side, times, [ARM0, ARM0, cock, cock, release, thru, ARM0, ARM0])
    other = 1 - side
    set_arm(tr, other, times, [ARM0, ARM0, (1.2, 1.4, 0.6, 0, 0, 1), (1.2, 1.4, 0.6, 0, 0, 1),
                               (0.5, -0.3, 0.9, 0, 0, 1), (0.3, -0.3, 0.6, 0, 0, 1), ARM0, ARM0])
    z = np.zeros(3)
    tw = np.array([0, 0, -sg * 0.5])
    tr.spine = keyframes(T, times, [z, z, tw + [-0.15, 0, 0], tw + [-0.15, 0, 0], -tw * 0.6 + [0.2, 0, 0],
                                    -tw * 0.8 + [0.35, 0, 0], z, z])
    tr.ptilt = keyframes(T, times, [z, z, tw * 0.3, tw * 0.3, -tw * 0.3, -tw * 0.3 + [0.15, 0, 0], z, z])
    tr.pel += keyframes(T, times, [z, z, [0, 0, -0.05], [0, 0, -0.05], [0, 0, 0.05], [0, -0.02, 0.07], z, z])
    return _finish(tr)


def gen_look_around(body, rng, p, tempo=1.0):
    n = int(p["count"])
    first = 1.0 if p["first"] == "left" else -1.0
    lead = float(rng.integers(3, 6))
    seg = 14.0 / tempo * _u(rng)
    hold = float(rng.uniform(3, 8)) / tempo
    times = [0, lead]
    vals = [0.0, 0.0]
    t = lead
    for k in range(n):
        for sgn in (first, -first):
            t += seg
            times += [t, t + hold]
            vals += [sgn, sgn]
            t += hold
    t += seg
    times += [t, t + rng.integers(3, 6)]
    vals += [0.0, 0.0]
    T = int(math.ceil(times[-1])) + 1
    yawv = keyframes(T, times, np.asarray(vals)) * 1.0 * _u(rng)
    tr = Track.neutral(body, T)
    tr.head[:, 2] = 0.9 * yawv
    tr.head[:, 0] = 0.12 * np.abs(yawv)
    tr.spine[:, 2] = 0.4 * yawv
    tr.ptilt[:, 2] = 0.08 * yawv
    return _finish(tr)


def gen_shrug(body, rng, p, tempo=1.0):
    n = int(p["count"])
    lead = float(rng.integers(3, 6))
    per = 12.0 / tempo * _u(rng)
    arms_t = 7.0 / tempo
    T = int(math.ceil(lead + 2 * arms_t + n * per + rng.integers(3, 6)))
    tr = Track.neutral(body, T)
    tt = np.arange(T, dtype=np.float64)
    ph = np.clip((tt - lead - arms_t) / per, 0, n)
    el = 0.3 * (0.5 - 0.5 * np.cos(2 * np.pi * ph))
    tr.collar[:] = el[:, None] * _u(rng)
    w = window(T, lead, lead + 2 * arms_t + n * per, arms_t)
    for side in (LEFT, RIGHT):
        set_arm(tr, side, [0, 1], [(0.35, -0.2, 1.35, SIDE_SIGN[side] * 0.8, 0.3, 1)] * 2, weight=w)
    tr.head[:, 0] += -0.1 * el
    return tr


def gen_arm_circles(body, rng, p, tempo=1.0):
    direction = 1.0 if p["direction"] == "forward" else -1.0
    r = 0.45 * _u(rng)

    def pose(side, ph):
        a = 2 * np.pi * ph * direction
        return 1.57 + r * np.cos(a), r * np.sin(a) * 1.2, np.full_like(ph, 0.1), np.array([0.0, 1.0, 0.0])
    tr, *_ = _arm_gesture(body, rng, tempo, int(p["count"]), 13.0 * _u(rng), pose, sides_of(p["hand"]),
                          raise_t=10.0)
    return tr
