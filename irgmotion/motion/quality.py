"""Kinematic quality metrics on joint sequences (T, J, 3), metres, Y up.

These are the usual physical-plausibility checks of motion generation papers:
foot skating, ground penetration, jitter and bone-length variation.
"""
from __future__ import annotations

import numpy as np

from .skeleton import HUMANML3D, SkeletonSpec


def _check(joints: np.ndarray, skeleton: SkeletonSpec) -> np.ndarray:
    joints = np.asarray(joints, dtype=np.float64)
    if joints.ndim != 3 or joints.shape[1:] != (skeleton.n_joints, 3):
        raise ValueError(f"expected joints of shape (T, {skeleton.n_joints}, 3), got {joints.shape}")
    if len(joints) < 3:
        raise ValueError(f"need at least 3 frames, got {len(joints)}")
    return joints


def foot_contacts(joints: np.ndarray, skeleton: SkeletonSpec = HUMANML3D,
                  height: float = 0.05, speed: float = 0.15) -> np.ndarray:
    """Contact mask (T-1, 4) for [left ankle, left toe, right ankle, right toe].

    A foot joint is in contact when it is within `height` metres of the floor
    (the lowest foot point of the clip) and moves slower than `speed` m/s
    vertically; that is what "planted" means independent of skating.
    """
    joints = _check(joints, skeleton)
    feet = list(skeleton.feet_left) + list(skeleton.feet_right)
    y = joints[:, feet, 1]
    floor = y.min()
    vy = np.abs(np.diff(y, axis=0)) * skeleton.fps
    return ((y[:-1] - floor) < height) & (vy < speed)


def foot_skating(joints: np.ndarray, skeleton: SkeletonSpec = HUMANML3D,
                 height: float = 0.05) -> float:
    """Mean horizontal speed (m/s) of foot joints while in contact with the ground."""
    joints = _check(joints, skeleton)
    feet = list(skeleton.feet_left) + list(skeleton.feet_right)
    contact = foot_contacts(joints, skeleton, height=height)
    horiz = np.linalg.norm(np.diff(joints[:, feet][:, :, [0, 2]], axis=0), axis=-1) * skeleton.fps
    if not contact.any():
        return 0.0
    return float(horiz[contact].mean())


def ground_penetration(joints: np.ndarray, skeleton: SkeletonSpec = HUMANML3D,
                       floor: float = 0.0) -> float:
    """Largest depth (m) of any joint below the floor plane y = `floor`."""
    joints = _check(joints, skeleton)
    return float(max(0.0, floor - joints[..., 1].min()))


def jitter(joints: np.ndarray, skeleton: SkeletonSpec = HUMANML3D) -> float:
    """Mean joint acceleration magnitude (m/s^2)."""
    joints = _check(joints, skeleton)
    acc = np.diff(joints, n=2, axis=0) * skeleton.fps ** 2
    return float(np.linalg.norm(acc, axis=-1).mean())


def bone_length_variation(joints: np.ndarray, skeleton: SkeletonSpec = HUMANML3D) -> float:
    """Largest per-bone standard deviation of length over time (m)."""
    joints = _check(joints, skeleton)
    child = [i for i, p in enumerate(skeleton.parents) if p >= 0]
    parent = [skeleton.parents[i] for i in child]
    lengths = np.linalg.norm(joints[:, child] - joints[:, parent], axis=-1)
    return float(lengths.std(axis=0).max())


def quality_report(joints: np.ndarray, skeleton: SkeletonSpec = HUMANML3D) -> dict[str, float]:
    """All metrics in one dict (units: m/s, m, m/s^2, m)."""
    return {
        "foot_skating": foot_skating(joints, skeleton),
        "ground_penetration": ground_penetration(joints, skeleton),
        "jitter": jitter(joints, skeleton),
        "bone_length_std": bone_length_variation(joints, skeleton),
    }


# Plausibility of the scale of a joints file (metres): checked before rendering,
# exporting or converting, so that millimetres, 1e30 or all-zero joints are
# refused with one clear line instead of running for minutes or writing NaN.
MAX_BODY_SIZE = 4.0  # metres: the largest extent one pose of a human body plausibly has
MIN_BODY_SIZE = 0.05  # metres: below this every joint sits at nearly one point
MAX_MOTION_EXTENT = 1000.0  # metres: the largest distance a motion clip plausibly covers
MIN_BONE_LENGTH = 1e-5  # metres: a shorter bone means two joints coincide


def joint_scale_problem(joints: np.ndarray, skeleton: SkeletonSpec = HUMANML3D,
                        allow_millimetres: bool = False) -> str | None:
    """Why joints (T, J, 3) do not look like a human body in metres, or None when they do.

    With `allow_millimetres` a body in millimetres (KIT-ML's native unit) passes too.
    Refused: NaN/inf, a pose far too big (millimetres, centimetres, 1e30), a
    motion covering more than MAX_MOTION_EXTENT, all joints at one point, and
    bones of zero length. Linear in the size of the array.
    """
    joints = np.asarray(joints)
    if joints.ndim != 3 or joints.shape[1:] != (skeleton.n_joints, 3) or len(joints) < 1:
        return f"expected joints of shape (T, {skeleton.n_joints}, 3), got {joints.shape}"
    if not np.isfinite(joints).all():
        return "joints contain NaN or inf values"
    joints = joints.astype(np.float64)
    if np.abs(joints).max() > 1e150:  # beyond this, differences and squares overflow
        return f"implausible scale: coordinates up to {np.abs(joints).max():.3g}; expected metres"
    unit = 1000.0 if allow_millimetres else 1.0
    pose_extent = np.ptp(joints, axis=1)  # (T, 3): per-frame size along each axis
    body = float(np.median(pose_extent.max(axis=-1)))
    height = float(np.median(pose_extent[:, 1]))
    if body > MAX_BODY_SIZE * unit:
        word, size = ("body height", height) if height >= 0.5 * body else ("body size", body)
        if not allow_millimetres and 400.0 <= body <= 4000.0:
            return f"joints look like millimetres ({word} ~{size:.0f}); expected metres"
        if 40.0 <= body < 400.0:
            return f"joints look like centimetres ({word} ~{size:.0f}); expected metres"
        return f"implausible scale ({word} ~{size:.3g}); expected a human body in metres"
    extent = float(np.ptp(joints.reshape(-1, 3), axis=0).max())
    if extent > MAX_MOTION_EXTENT * unit:
        return (f"implausible scale: the motion spans {extent:.3g} m; expected metres "
                f"(at most {MAX_MOTION_EXTENT * unit:g})")
    if body < MIN_BODY_SIZE:
        return (f"degenerate joints: every pose spans only {body:.2g} m (all joints at nearly one point); "
                "expected a human body in metres")
    child = [i for i, p in enumerate(skeleton.parents) if p >= 0]
    parent = [skeleton.parents[i] for i in child]
    lengths = np.linalg.norm(joints[:, child] - joints[:, parent], axis=-1)  # (T, bones)
    short = lengths < MIN_BONE_LENGTH
    if short.any():
        b = int(np.argmax(short.any(axis=0)))
        names = skeleton.joint_names
        return (f"degenerate joints: the bone {names[parent[b]]}-{names[child[b]]} has zero length in "
                f"{int(short[:, b].sum())} of {len(joints)} frame(s)")
    return None
