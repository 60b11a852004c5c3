"""Reading motion files and telling features from joints by their shape."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .features import features_to_joints, joints_to_features
from .skeleton import SkeletonSpec, get_skeleton, skeleton_for_dim

MIN_FRAMES = 2


class MotionFileError(ValueError):
    """A motion file that cannot be used; the message names the file and the problem."""


@dataclass
class Motion:
    """A motion as loaded from disk, with both views available."""

    path: Path
    kind: str  # "features" or "joints"
    data: np.ndarray
    skeleton: SkeletonSpec

    def joints(self) -> np.ndarray:
        if self.kind == "joints":
            return self.data
        return features_to_joints(self.data.astype(np.float64), self.skeleton).astype(np.float32)

    def features(self) -> np.ndarray:
        if self.kind == "features":
            return self.data
        return joints_to_features(self.data, self.skeleton).astype(np.float32)


def detect_kind(shape: tuple[int, ...], dataset: str | None = None) -> tuple[str, SkeletonSpec]:
    """('features' | 'joints', skeleton) for an array shape, or raise ValueError."""
    spec = get_skeleton(dataset) if dataset else None
    candidates = [spec] if spec else None
    if len(shape) == 2:
        found = skeleton_for_dim(shape[1]) if spec is None else spec
        if found is not None and shape[1] == found.feature_dim:
            return "features", found
        for cand in candidates or []:
            if shape[1] == cand.n_joints * 3:
                return "joints", cand
        if spec is None and shape[1] in (66, 63):
            return "joints", skeleton_for_dim(shape[1] // 3)
    elif len(shape) == 3 and shape[2] == 3:
        found = skeleton_for_dim(shape[1]) if spec is None else spec
        if found is not None and shape[1] == found.n_joints:
            return "joints", found
    expected = ("(T, 263) or (T, 22, 3) for HumanML3D, (T, 251) or (T, 21, 3) for KIT-ML"
                if spec is None else f"(T, {spec.feature_dim}) or (T, {spec.n_joints}, 3) for {spec.name}")
    raise ValueError(f"shape {tuple(shape)} is neither features nor joints; expected {expected}")


def load_motion(path: str | Path, dataset: str | None = None) -> Motion:
    """Load and validate a .npy motion (features or joints)."""
    path = Path(path)
    if not path.is_file():
        raise MotionFileError(f"{path}: file not found")
    try:
        data = np.load(path, allow_pickle=False)
    except Exception as exc:
        raise MotionFileError(f"{path}: not a readable .npy array ({type(exc).__name__}: {exc})") from None
    return validate_motion(data, path, dataset)


def validate_motion(data: np.ndarray, path: str | Path = "<array>", dataset: str | None = None) -> Motion:
    path = Path(path)
    if not np.issubdtype(data.dtype, np.number):
        raise MotionFileError(f"{path}: expected a numeric array, got dtype {data.dtype}")
    try:
        kind, spec = detect_kind(data.shape, dataset)
    except ValueError as exc:
        raise MotionFileError(f"{path}: {exc}") from None
    if kind == "joints" and data.ndim == 2:
        data = data.reshape(len(data), spec.n_joints, 3)
    if len(data) < MIN_FRAMES:
        raise MotionFileError(f"{path}: motion has {len(data)} frame(s); at least {MIN_FRAMES} are needed")
    if not np.isfinite(data).all():
        bad = int((~np.isfinite(data)).reshape(len(data), -1).any(-1).sum())
        raise MotionFileError(f"{path}: contains NaN or inf values in {bad} frame(s)")
    return Motion(path, kind, data.astype(np.float32), spec)
