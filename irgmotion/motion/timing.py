"""Time in a motion: resampling joint positions to another frame rate, and playing a motion faster or slower."""
from __future__ import annotations

import numpy as np


def resample(joints: np.ndarray, src_fps: float, dst_fps: float) -> np.ndarray:
    """Linear interpolation in time from `src_fps` to `dst_fps`; keeps the clip's duration."""
    if abs(src_fps - dst_fps) < 1e-6:
        return joints
    duration = (len(joints) - 1) / src_fps
    t = np.arange(int(np.floor(duration * dst_fps + 1e-6)) + 1) / dst_fps * src_fps
    i0 = np.minimum(np.floor(t).astype(int), len(joints) - 1)
    i1 = np.minimum(i0 + 1, len(joints) - 1)
    w = (t - i0)[:, None, None]
    return (1 - w) * joints[i0] + w * joints[i1]


def retime(joints: np.ndarray, factor: float, min_frames: int = 2) -> np.ndarray:
    """The same movement played `factor` times as fast (2: twice as fast, half the frames; 0.5: slower), at the
    same frame rate: every pace, step rate and speed scales by `factor`, the path and poses stay."""
    if not (np.isfinite(factor) and factor > 0):
        raise ValueError(f"retime factor must be a positive number, got {factor}")
    out = resample(joints, factor, 1.0)
    return out if len(out) >= min_frames else joints[[0, -1]]


def loop_strides(features: np.ndarray, strides: int) -> np.ndarray | None:
    """A walk with `strides` more gait cycles (fewer when negative), in HumanML3D-layout features (the last four
    dimensions are the foot contacts, the left foot's first): a stride is the span from one left-foot touchdown to
    the next, so the motion is cut at the same phase of the gait and the seam is seamless; root motion is stored
    as velocities, so the path simply goes on. Repeats the middle stride, or removes strides from the middle; None
    when the motion has fewer whole strides than that needs (one to repeat, `-strides` to remove)."""
    if strides == 0 or features.ndim != 2 or len(features) < 3:
        return None
    left = features[:, -4:-2].max(axis=1) > 0.5
    downs = np.flatnonzero(left[1:] & ~left[:-1]) + 1
    whole = len(downs) - 1
    need = 1 if strides > 0 else -strides
    if whole < need or (strides < 0 and whole - need < 1):  # removing keeps at least one stride
        return None
    k = (whole - need) // 2
    a, b = downs[k], downs[k + need]
    if strides > 0:
        return np.concatenate([features[:b]] + [features[a:b]] * strides + [features[b:]])
    return np.concatenate([features[:a], features[b:]])
