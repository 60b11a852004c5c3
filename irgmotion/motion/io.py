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

    def checked_joints(self, allow_millimetres: bool = False) -> np.ndarray:
        """joints(), refused with MotionFileError (naming the file) unless finite and shaped like
        a human body in metres: see `check_joint_scale`."""
        with np.errstate(all="ignore"):
            joints = self.joints()
        check_finite_result(joints, self.path, "joints")
        return check_joint_scale(joints, self.path, self.skeleton, allow_millimetres=allow_millimetres)

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


_NPY_MAGIC = b"\x93NUMPY"


def load_motion(path: str | Path, dataset: str | None = None) -> Motion:
    """Load and validate a .npy motion (features or joints)."""
    path = Path(path)
    if path.is_dir():
        raise MotionFileError(f"{path}: is a directory; expected a .npy file")
    if not path.is_file():
        raise MotionFileError(f"{path}: file not found")
    try:
        with open(path, "rb") as fh:
            magic = fh.read(len(_NPY_MAGIC))
    except OSError as exc:
        raise MotionFileError(f"{path}: cannot read ({exc.strerror or type(exc).__name__})") from None
    if magic != _NPY_MAGIC:
        what = "an .npz archive" if magic.startswith(b"PK\x03\x04") else "not a valid .npy file (no NumPy header)"
        raise MotionFileError(f"{path}: not a readable .npy array: {what}; expected an array saved with numpy.save")
    try:
        data = np.load(path, allow_pickle=False)
    except ValueError as exc:
        if "pickle" in str(exc):
            raise MotionFileError(f"{path}: holds Python objects, not numbers; expected a numeric array") from None
        raise MotionFileError(f"{path}: not a valid .npy file ({exc})") from None
    except Exception as exc:
        raise MotionFileError(f"{path}: not a readable .npy array ({type(exc).__name__}: {exc})") from None
    return validate_motion(data, path, dataset)


def validate_motion(data: np.ndarray, path: str | Path = "<array>", dataset: str | None = None) -> Motion:
    path = Path(path)
    if not np.issubdtype(data.dtype, np.number):
        raise MotionFileError(f"{path}: expected a numeric array, got dtype {data.dtype}")
    if np.issubdtype(data.dtype, np.complexfloating):
        raise MotionFileError(f"{path}: holds complex numbers (dtype {data.dtype}); expected real numbers")
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
    # Checked before the float32 cast: 1e300 is finite in float64 and inf in float32.
    if data.size and np.abs(data).max() > _FLOAT32_MAX:
        raise MotionFileError(f"{path}: values up to {float(np.abs(data).max()):.3g} exceed the float32 range "
                              f"(about {_FLOAT32_MAX:.3g})")
    return Motion(path, kind, data.astype(np.float32), spec)


_FLOAT32_MAX = float(np.finfo(np.float32).max)


def check_joint_scale(joints: np.ndarray, path: str | Path, skeleton: SkeletonSpec,
                      allow_millimetres: bool = False) -> np.ndarray:
    """Return `joints` if they look like a human body in metres; else raise MotionFileError naming `path`.

    One check for every command that draws, exports or converts joints (see
    quality.joint_scale_problem): refuses millimetres, 1e30, all-zero joints
    and zero-length bones before any work.
    """
    from .quality import joint_scale_problem
    problem = joint_scale_problem(joints, skeleton, allow_millimetres=allow_millimetres)
    if problem:
        raise MotionFileError(f"{path}: {problem}")
    return joints


def check_finite_result(data: np.ndarray, path: str | Path, what: str) -> np.ndarray:
    """Return `data` if every value is finite; else raise MotionFileError (never write NaN)."""
    if not np.isfinite(data).all():
        raise MotionFileError(f"{path}: converting to {what} gives NaN or inf values; the input is degenerate "
                              "or out of range")
    return data
