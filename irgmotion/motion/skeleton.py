"""Skeleton definitions of the two datasets the field uses.

HumanML3D: the 22 SMPL body joints at 20 fps, 263-d features.
KIT-ML: the 21-joint MMM skeleton at 12.5 fps, 251-d features.
The raw offsets, kinematic chains and special joint indices follow the
datasets' own processing so that features computed here match the released
files.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

HUMANML3D_JOINT_NAMES = (
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2",
    "left_ankle", "right_ankle", "spine3", "left_foot", "right_foot", "neck",
    "left_collar", "right_collar", "head", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist",
)

KIT_JOINT_NAMES = (
    "root", "BP", "BT", "BLN", "BUN", "LS", "LE", "LW", "RS", "RE", "RW",
    "LH", "LK", "LA", "LMrot", "LF", "RH", "RK", "RA", "RMrot", "RF",
)


@dataclass(frozen=True)
class SkeletonSpec:
    """Everything the feature pipeline needs to know about one skeleton."""

    name: str
    joint_names: tuple[str, ...]
    raw_offsets: np.ndarray  # (J, 3) unit rest-pose bone directions
    kinematic_chains: tuple[tuple[int, ...], ...]
    # Standard bone lengths of the uniform skeleton (J,), root = 0; None when
    # the dataset's reference skeleton is not bundled (KIT-ML).
    bone_lengths: np.ndarray | None
    face_joints: tuple[int, int, int, int]  # r_hip, l_hip, r_shoulder, l_shoulder
    feet_left: tuple[int, int]
    feet_right: tuple[int, int]
    leg_joints: tuple[int, int]  # lower-leg joints used for the scale ratio
    fps: float
    foot_velocity_threshold: float  # squared per-frame displacement, dataset units
    parents: tuple[int, ...] = field(init=False)

    def __post_init__(self):
        parents = [-1] * len(self.joint_names)
        for chain in self.kinematic_chains:
            for parent, child in zip(chain[:-1], chain[1:]):
                parents[child] = parent
        object.__setattr__(self, "parents", tuple(parents))

    @property
    def n_joints(self) -> int:
        return len(self.joint_names)

    @property
    def feature_dim(self) -> int:
        j = self.n_joints
        return 4 + (j - 1) * 3 + (j - 1) * 6 + j * 3 + 4

    def offsets(self, bone_lengths: np.ndarray | None = None) -> np.ndarray:
        """Rest-pose offsets (J, 3): raw directions scaled by bone lengths."""
        lengths = self.bone_lengths if bone_lengths is None else bone_lengths
        if lengths is None:
            raise ValueError(f"{self.name}: no standard bone lengths bundled; pass a reference skeleton")
        return self.raw_offsets * np.asarray(lengths, dtype=np.float64)[:, None]

    def feature_slices(self) -> dict[str, slice]:
        """Channel layout: root (4), ric, rot6d, local velocity, foot contacts (4)."""
        j = self.n_joints
        ric = 4 + (j - 1) * 3
        rot = ric + (j - 1) * 6
        vel = rot + j * 3
        return {
            "root": slice(0, 4),
            "ric": slice(4, ric),
            "rot6d": slice(ric, rot),
            "velocity": slice(rot, vel),
            "feet": slice(vel, vel + 4),
        }


_H_OFFSETS = np.array([
    [0, 0, 0], [1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, -1, 0], [0, 1, 0],
    [0, -1, 0], [0, -1, 0], [0, 1, 0], [0, 0, 1], [0, 0, 1], [0, 1, 0], [1, 0, 0],
    [-1, 0, 0], [0, 0, 1], [0, -1, 0], [0, -1, 0], [0, -1, 0], [0, -1, 0], [0, -1, 0],
    [0, -1, 0],
], dtype=np.float64)

# Bone lengths (metres) of HumanML3D's uniform skeleton. They are constant in
# every released `new_joints` file; these were measured on the reference clips
# in shared/reference (std across frames < 3e-7).
_H_BONE_LENGTHS = np.array([
    0.0, 0.103074, 0.1098834, 0.1315682, 0.3936232, 0.3901882, 0.1431902, 0.432433,
    0.4256434, 0.0573647, 0.1433818, 0.1494191, 0.21936, 0.1374868, 0.1433828,
    0.1030392, 0.131614, 0.1229844, 0.2568399, 0.2630919, 0.2660118, 0.2698763,
])

HUMANML3D = SkeletonSpec(
    name="humanml3d",
    joint_names=HUMANML3D_JOINT_NAMES,
    raw_offsets=_H_OFFSETS,
    kinematic_chains=((0, 2, 5, 8, 11), (0, 1, 4, 7, 10), (0, 3, 6, 9, 12, 15),
                      (9, 14, 17, 19, 21), (9, 13, 16, 18, 20)),
    bone_lengths=_H_BONE_LENGTHS,
    face_joints=(2, 1, 17, 16),
    feet_left=(7, 10),
    feet_right=(8, 11),
    leg_joints=(5, 8),
    fps=20.0,
    foot_velocity_threshold=0.002,
)

_K_OFFSETS = np.array([
    [0, 0, 0], [0, 1, 0], [0, 1, 0], [0, 1, 0], [0, 1, 0], [1, 0, 0], [0, -1, 0],
    [0, -1, 0], [-1, 0, 0], [0, -1, 0], [0, -1, 0], [1, 0, 0], [0, -1, 0], [0, -1, 0],
    [0, 0, 1], [0, 0, 1], [-1, 0, 0], [0, -1, 0], [0, -1, 0], [0, 0, 1], [0, 0, 1],
], dtype=np.float64)

KIT = SkeletonSpec(
    name="kit",
    joint_names=KIT_JOINT_NAMES,
    raw_offsets=_K_OFFSETS,
    kinematic_chains=((0, 11, 12, 13, 14, 15), (0, 16, 17, 18, 19, 20), (0, 1, 2, 3, 4),
                      (3, 5, 6, 7), (3, 8, 9, 10)),
    bone_lengths=None,
    face_joints=(11, 16, 5, 8),
    feet_left=(19, 20),
    feet_right=(14, 15),
    leg_joints=(17, 18),
    fps=12.5,
    foot_velocity_threshold=0.05,
)

SKELETONS = {"humanml3d": HUMANML3D, "t2m": HUMANML3D, "kit": KIT}


def get_skeleton(name: str) -> SkeletonSpec:
    try:
        return SKELETONS[name.lower()]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; expected one of humanml3d, kit") from None


def skeleton_for_dim(dim: int) -> SkeletonSpec | None:
    """The skeleton whose feature width (263 or 251) or joint count (22 or 21) is `dim`."""
    for spec in (HUMANML3D, KIT):
        if dim in (spec.feature_dim, spec.n_joints):
            return spec
    return None


def mirror_twins(spec: SkeletonSpec) -> list[int]:
    """For each joint, the index of its mirror twin (left_hip <-> right_hip, KIT's LS <-> RS; itself on the midline)."""
    names = spec.joint_names
    twin = []
    for name in names:
        if "left" in name or "right" in name:  # HumanML3D
            other = name.replace("left", "#").replace("right", "left").replace("#", "right")
        elif name[:1] in "LR" and name[1:2].isupper():  # KIT-ML
            other = {"L": "R", "R": "L"}[name[0]] + name[1:]
        else:
            other = name
        twin.append(names.index(other) if other in names else names.index(name))
    return twin


def mirror_joints(joints: np.ndarray, spec: SkeletonSpec) -> np.ndarray:
    """The motion as its mirror image: the lateral axis (x) negated and each left joint swapped with its right
    twin, as HumanML3D makes its mirrored clips (a right-hand wave becomes a left-hand one, a turn to the left one to
    the right). `joints` is (..., J, 3)."""
    out = np.array(joints, copy=True)[..., mirror_twins(spec), :]
    out[..., 0] *= -1
    return out
