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
