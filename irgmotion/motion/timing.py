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
