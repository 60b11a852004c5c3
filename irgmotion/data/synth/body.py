"""Bodies and kinematics of the procedural corpus.

A body is the HumanML3D 22-joint skeleton with per-sample bone lengths (the
standard uniform-skeleton lengths times factors within +-10%). Poses are built
from bone *directions*: each bone's world direction is its rest direction
rotated by the accumulated rotation of its parent (spine, head, collars) or
given directly (arms, in the chest frame), and the legs are solved with
two-bone analytic IK to reach foot targets. Bone lengths are therefore exact
by construction.

Conventions: metres, Y up, a body at heading 0 faces +Z and its left is +X.
Heading (yaw) is a rotation about +Y; positive turns to the left.
Index 0 of per-side arrays is the left side, 1 the right side.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...motion.skeleton import HUMANML3D

J = 22
FPS = 20.0
LEFT, RIGHT = 0, 1
SIDE_SIGN = np.array([1.0, -1.0])  # +X is the body's left

# Rest (neutral standing) bone directions, heading frame, from a standing frame
# of a real HumanML3D clip, made left/right symmetric. Legs are solved by IK;
# their entries here only matter for the hips.
_REST = np.zeros((J, 3))
_REST[1] = (0.56, -0.82, -0.09)     # pelvis -> left hip
_REST[3] = (0.0, 0.943, -0.33)      # pelvis -> spine1
_REST[6] = (0.0, 0.974, 0.209)      # spine1 -> spine2
_REST[9] = (0.0, 0.986, 0.161)      # spine2 -> spine3
_REST[12] = (0.0, 0.993, -0.112)    # spine3 -> neck
_REST[15] = (0.0, 0.891, 0.453)     # neck -> head
_REST[13] = (0.52, 0.845, -0.12)    # spine3 -> left collar
_REST[16] = (0.88, -0.446, -0.16)   # left collar -> left shoulder
for _l, _r in ((1, 2), (13, 14), (16, 17)):
    _REST[_r] = _REST[_l] * (-1.0, 1.0, 1.0)
_REST[[4, 5, 7, 8, 18, 19, 20, 21]] = (0.0, -1.0, 0.0)
_REST[[10, 11]] = (0.0, -0.27, 0.96)
_REST[1:] /= np.linalg.norm(_REST[1:], axis=1, keepdims=True)

LEG_BONES = (1, 2, 4, 5, 7, 8, 10, 11)
TORSO_BONES = (3, 6, 9, 12, 15, 13, 14)
ARM_BONES = (16, 17, 18, 19, 20, 21)
SPINE_WEIGHTS = (0.3, 0.35, 0.35)  # share of the spine bend taken by spine1..3

NEUTRAL_TOE_OUT = 0.22  # rad, each foot turned outwards at rest
NEUTRAL_FOOT_PITCH = 0.33  # rad, ankle->toe below horizontal at rest (ankle ~5 cm up)
NEUTRAL_EXTENSION = 0.982  # hip-ankle distance / (thigh + shin) when standing
MAX_EXTENSION = 0.992  # the pelvis is lowered so that no leg is stretched further


@dataclass(frozen=True)
class Body:
    """Bone lengths and the derived neutral stance of one sample's body."""

    lengths: np.ndarray          # (22,) metres
    factors: dict                # height, legs, torso, arms (as given)
    pelvis_height: float         # neutral standing pelvis height
    ankle_rest: np.ndarray       # (2, 3) neutral ankle offsets from the pelvis (heading frame), y absolute
    toe_rest: np.ndarray         # (2, 3) neutral toe offsets from the pelvis (heading frame), y absolute
    hip_offset: np.ndarray       # (2, 3) pelvis -> hip, heading frame, upright pelvis
    shoulder_chest: np.ndarray   # (2, 3) spine3 -> shoulder in the chest frame (no shrug)

    @property
    def leg_scale(self) -> float:
        return float(self.factors["height"] * self.factors["legs"])

    def thigh(self, side: int) -> float:
        return float(self.lengths[4 + side])

    def shin(self, side: int) -> float:
        return float(self.lengths[7 + side])

    def foot(self, side: int) -> float:
        return float(self.lengths[10 + side])

    def upper_arm(self, side: int) -> float:
        return float(self.lengths[18 + side])

    def forearm(self, side: int) -> float:
        return float(self.lengths[20 + side])

    def leg_reach(self, side: int) -> float:
        return self.thigh(side) + self.shin(side)


BODY_KEYS = ("height", "legs", "torso", "arms")
BODY_RANGE = (0.9, 1.1)


def make_body(height: float = 1.0, legs: float = 1.0, torso: float = 1.0, arms: float = 1.0) -> Body:
    """A body whose bones are the standard lengths times the given factors.

    Leg bones (hips included) share one factor, which keeps planted feet
    planted through the dataset's uniform-skeleton step (it scales the root
    by the leg ratio). Each bone's total factor is clipped to [0.9, 1.1].
    """
    std = HUMANML3D.bone_lengths
    f = np.ones(J)
    f[list(LEG_BONES)] = height * legs
    f[list(TORSO_BONES)] = height * torso
    f[list(ARM_BONES)] = height * arms
    f = np.clip(f, *BODY_RANGE)
    L = std * f
    hip = _REST[[1, 2]] * L[[1, 2], None]
    ankle = np.zeros((2, 3))
    toe = np.zeros((2, 3))
    s = float(f[4])
    heights = []
    for side in (LEFT, RIGHT):
        sg = SIDE_SIGN[side]
        yaw = sg * NEUTRAL_TOE_OUT
        fwd = np.array([np.sin(yaw), 0.0, np.cos(yaw)])
        lf = L[10 + side]
        ankle_y = lf * np.sin(NEUTRAL_FOOT_PITCH)
        ankle[side] = (sg * 0.105 * s, ankle_y, -0.045 * s)
        toe[side] = ankle[side] + lf * np.cos(NEUTRAL_FOOT_PITCH) * fwd - (0.0, ankle_y, 0.0)
        reach = NEUTRAL_EXTENSION * (L[4 + side] + L[7 + side])
        dxz2 = (hip[side, 0] - ankle[side, 0]) ** 2 + (hip[side, 2] - ankle[side, 2]) ** 2
        heights.append(ankle_y - hip[side, 1] + np.sqrt(reach ** 2 - dxz2))
    toe[:, 1] = 0.0
    shoulder = _REST[[13, 14]] * L[[13, 14], None] + _REST[[16, 17]] * L[[16, 17], None]
    return Body(L, {"height": float(height), "legs": float(legs), "torso": float(torso), "arms": float(arms)},
                float(min(heights)), ankle, toe, hip, shoulder)


def sample_body_factors(rng: np.random.Generator) -> dict:
    return {"height": float(rng.uniform(0.92, 1.08)), "legs": float(rng.uniform(0.96, 1.04)),
            "torso": float(rng.uniform(0.96, 1.04)), "arms": float(rng.uniform(0.96, 1.04))}


# --------------------------------------------------------------------------
# rotations (vectorised over frames)

def rot_x(a):
    a = np.asarray(a, dtype=np.float64)
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([o, z, z], -1), np.stack([z, c, -s], -1), np.stack([z, s, c], -1)], -2)


def rot_y(a):
    a = np.asarray(a, dtype=np.float64)
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([c, z, s], -1), np.stack([z, o, z], -1), np.stack([-s, z, c], -1)], -2)


def rot_z(a):
    a = np.asarray(a, dtype=np.float64)
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([c, -s, z], -1), np.stack([s, c, z], -1), np.stack([z, z, o], -1)], -2)


def euler(pry):
    """(..., 3) (pitch forward, roll to the left, twist to the left) -> (..., 3, 3).

    R = Ry(twist) Rx(pitch) Rz(-roll): pitch tips the up axis towards +Z,
    roll towards +X (the body's left), twist turns +Z towards +X.
    """
    pry = np.asarray(pry, dtype=np.float64)
    return rot_y(pry[..., 2]) @ rot_x(pry[..., 0]) @ rot_z(-pry[..., 1])


def apply(R, v):
    """Rotate vectors v (..., 3) by matrices R (..., 3, 3)."""
    return np.einsum("...ij,...j->...i", R, v)


def normalize(v, axis=-1):
    n = np.linalg.norm(v, axis=axis, keepdims=True)
    return v / np.maximum(n, 1e-9)


def heading_vec(yaw):
    yaw = np.asarray(yaw, dtype=np.float64)
    return np.stack([np.sin(yaw), np.zeros_like(yaw), np.cos(yaw)], -1)


def foot_vector(fyaw, fpitch):
    """Unit ankle->toe vectors for foot yaw and pitch (pitch > 0 points the toe down)."""
    cp = np.cos(fpitch)
    return np.stack([cp * np.sin(fyaw), -np.sin(fpitch), cp * np.cos(fyaw)], -1)


# --------------------------------------------------------------------------
# inverse kinematics

def two_bone_ik(root, target, a, b, pole, max_ext: float = 0.9995):
    """Middle joint and (possibly clamped) end position of a two-bone chain.

    root, target, pole: (T, 3) world; the middle joint bends towards `pole`.
    If the target is out of reach the chain is stretched towards it.
    """
    d = target - root
    D = np.linalg.norm(d, axis=-1)
    n = d / np.maximum(D, 1e-9)[:, None]
    Dc = np.clip(D, abs(a - b) + 1e-4, (a + b) * max_ext)
    end = root + n * Dc[:, None]
    cos_a = np.clip((a * a + Dc * Dc - b * b) / (2 * a * Dc), -1.0, 1.0)
    sin_a = np.sqrt(1.0 - cos_a * cos_a)
    m = pole - np.sum(pole * n, axis=-1, keepdims=True) * n
    mn = np.linalg.norm(m, axis=-1, keepdims=True)
    # A pole parallel to the chain has no bend direction: fall back to +Y x n.
    fallback = np.cross(n, np.array([1.0, 0.0, 0.0]))
    m = np.where(mn > 1e-6, m / np.maximum(mn, 1e-9), normalize(fallback))
    mid = root + a * (cos_a[:, None] * n + sin_a[:, None] * m)
    return mid, end, D > (a + b) * max_ext + 1e-6


def arm_from_angles(side: int, elev, azim, bend, hint):
    """Upper-arm and forearm directions (chest frame) from angles.

    elev: angle from hanging down (0) through horizontal (pi/2) to overhead (pi);
    azim: 0 points the raised arm sideways, pi/2 forwards, negative backwards;
    bend: elbow flexion; the forearm bends towards `hint` (T, 3).
    """
    elev, azim, bend = (np.asarray(x, dtype=np.float64) for x in (elev, azim, bend))
    sg = SIDE_SIGN[side]
    se = np.sin(elev)
    u = np.stack([sg * se * np.cos(azim), -np.cos(elev), se * np.sin(azim)], -1)
    h = np.broadcast_to(np.asarray(hint, dtype=np.float64), u.shape)
    hp = h - np.sum(h * u, -1, keepdims=True) * u
    hn = np.linalg.norm(hp, axis=-1, keepdims=True)
    alt = np.cross(u, np.array([sg, 0.0, 0.0]))
    alt = np.where(np.linalg.norm(alt, axis=-1, keepdims=True) > 1e-6, alt, np.array([0.0, 0.0, 1.0]))
    hp = np.where(hn > 1e-6, hp / np.maximum(hn, 1e-9), normalize(alt))
    f = np.cos(bend)[..., None] * u + np.sin(bend)[..., None] * hp
    return u, f


def arm_ik(body: Body, side: int, wrist, pole):
    """Arm directions (chest frame) that put the wrist at `wrist` (T, 3, chest frame, relative to spine3)."""
    s = body.shoulder_chest[side]
    a, b = body.upper_arm(side), body.forearm(side)
    wrist = np.asarray(wrist, dtype=np.float64)
    pole = np.broadcast_to(np.asarray(pole, dtype=np.float64), wrist.shape)
    root = np.broadcast_to(s, wrist.shape)
    elbow, end, _ = two_bone_ik(root, wrist, a, b, pole, max_ext=0.999)
    return normalize(elbow - root), normalize(end - elbow)


# --------------------------------------------------------------------------
# forward kinematics of a whole pose track

def chest_rotation(yaw, ptilt, spine):
    """World rotations of the pelvis and chest (spine3) frames, (T, 3, 3) each."""
    Rp = rot_y(yaw) @ euler(ptilt)
    Rc = Rp
    for w in SPINE_WEIGHTS:
        Rc = Rc @ euler(spine * w)
    return Rp, Rc


def pose_joints(body: Body, pel, yaw, ptilt, spine, head, collar, arm_u, arm_f, toe, fyaw, fpitch, kpole):
    """Assemble (T, 22, 3) joint positions from channels (see engine.Track).

    Returns joints and a (T, 2) mask of frames where a leg could not reach its
    target (the engine keeps that empty by lowering the pelvis).
    """
    T = len(pel)
    L = body.lengths
    out = np.empty((T, J, 3))
    out[:, 0] = pel
    Rp = rot_y(yaw) @ euler(ptilt)
    R = Rp
    rots = []
    for w in SPINE_WEIGHTS:
        rots.append(R)
        R = R @ euler(spine * w)
    Rc = R
    out[:, 3] = pel + L[3] * apply(rots[0], _REST[3])
    out[:, 6] = out[:, 3] + L[6] * apply(rots[1], _REST[6])
    out[:, 9] = out[:, 6] + L[9] * apply(rots[2], _REST[9])
    out[:, 12] = out[:, 9] + L[12] * apply(Rc, _REST[12])
    out[:, 15] = out[:, 12] + L[15] * apply(Rc @ euler(head), _REST[15])
    for side in (LEFT, RIGHT):
        sg = SIDE_SIGN[side]
        Rcol = Rc @ rot_z(sg * collar[:, side])
        c = 13 + side
        out[:, c] = out[:, 9] + L[c] * apply(Rcol, _REST[c])
        s = 16 + side
        out[:, s] = out[:, c] + L[s] * apply(Rcol, _REST[s])
        out[:, 18 + side] = out[:, s] + L[18 + side] * apply(Rc, arm_u[:, side])
        out[:, 20 + side] = out[:, 18 + side] + L[20 + side] * apply(Rc, arm_f[:, side])
    bad = np.zeros((T, 2), dtype=bool)
    for side in (LEFT, RIGHT):
        hip = pel + L[1 + side] * apply(Rp, _REST[1 + side])
        fv = foot_vector(fyaw[:, side], fpitch[:, side])
        ankle = toe[:, side] - L[10 + side] * fv
        pole = normalize(heading_vec(fyaw[:, side]) + apply(rot_y(yaw), kpole[:, side]))
        knee, ankle2, bad[:, side] = two_bone_ik(hip, ankle, L[4 + side], L[7 + side], pole)
        out[:, 1 + side] = hip
        out[:, 4 + side] = knee
        out[:, 7 + side] = ankle2
        out[:, 10 + side] = ankle2 + L[10 + side] * fv
    return out, bad


def hip_offsets(body: Body, yaw, ptilt):
    """World pelvis->hip offsets (T, 2, 3) for a pelvis track."""
    Rp = rot_y(yaw) @ euler(ptilt)
    return np.stack([body.lengths[1 + s] * apply(Rp, _REST[1 + s]) for s in (LEFT, RIGHT)], 1)


REST_DIRECTIONS = _REST
