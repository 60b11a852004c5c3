"""Quaternion and 6-D rotation utilities for numpy arrays and torch tensors.

Quaternions are (w, x, y, z), last axis. Every function accepts either a numpy
array or a torch tensor and returns the same kind, so the feature pipeline and
the training code share one implementation.
"""
from __future__ import annotations

import numpy as np

try:  # torch is a core dependency, but keep numpy-only use possible
    import torch
except ImportError:  # pragma: no cover
    torch = None


def _is_torch(x) -> bool:
    return torch is not None and isinstance(x, torch.Tensor)


def _cat(xs, axis=-1):
    return torch.cat(xs, dim=axis) if _is_torch(xs[0]) else np.concatenate(xs, axis=axis)


def _stack(xs, axis=-1):
    return torch.stack(xs, dim=axis) if _is_torch(xs[0]) else np.stack(xs, axis=axis)


def _cross(a, b):
    if _is_torch(a):
        return torch.linalg.cross(a, b, dim=-1)
    return np.cross(a, b)


def _sqrt(x):
    return torch.sqrt(x) if _is_torch(x) else np.sqrt(x)


def _broadcast(a, b):
    if _is_torch(a):
        return torch.broadcast_tensors(a, b)
    return np.broadcast_arrays(a, b)


def qnormalize(q):
    return q / _sqrt((q * q).sum(-1, keepdims=True) if not _is_torch(q) else (q * q).sum(-1, keepdim=True))


def qinv(q):
    """Inverse of a unit quaternion (its conjugate)."""
    return _cat([q[..., :1], -q[..., 1:]])


def qmul(q, r):
    """Hamilton product q * r."""
    q, r = _broadcast(q, r)
    w1, x1, y1, z1 = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    w2, x2, y2, z2 = r[..., 0], r[..., 1], r[..., 2], r[..., 3]
    return _stack([
        w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2,
        w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
        w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2,
        w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2,
    ])


def qrot(q, v):
    """Rotate vectors v (..., 3) by unit quaternions q (..., 4)."""
    q, _ = _broadcast(q, _cat([v[..., :1], v]))
    qvec = q[..., 1:]
    uv = _cross(qvec, v)
    uuv = _cross(qvec, uv)
    return v + 2 * (q[..., :1] * uv + uuv)


def qbetween(v0, v1):
    """Shortest-arc rotation taking direction v0 to direction v1.

    Opposite directions have no unique shortest arc (the textbook formula gives
    0/0); we then turn by 180 degrees about an axis orthogonal to v0, preferring
    +Y so a body facing exactly backwards is turned about the vertical.
    """
    v0, v1 = _broadcast(v0, v1)
    v = _cross(v0, v1)
    sum_kw = {"keepdim": True} if _is_torch(v0) else {"keepdims": True}
    w = _sqrt((v0 ** 2).sum(-1, **sum_kw) * (v1 ** 2).sum(-1, **sum_kw)) + (v0 * v1).sum(-1, **sum_kw)
    q = _cat([w, v])
    norm2 = (q * q).sum(-1, **sum_kw)
    scale = (v0 ** 2).sum(-1, **sum_kw) * (v1 ** 2).sum(-1, **sum_kw)
    degenerate = norm2 <= 1e-12 * scale + 1e-30
    if bool(degenerate.any()):
        y = v0 * 0
        y[..., 1] = 1
        x = v0 * 0
        x[..., 0] = 1
        axis = _cross(v0, _cross(y, v0))  # component of +Y orthogonal to v0
        alt = _cross(v0, x)
        axis_norm = (axis * axis).sum(-1, **sum_kw)
        use_alt = axis_norm <= 1e-12 * (v0 ** 2).sum(-1, **sum_kw) ** 2
        axis = alt * use_alt + axis * ~use_alt
        flip = _cat([w * 0, axis])
        q = flip * degenerate + q * ~degenerate
    return qnormalize(q)


def qfix(q: np.ndarray) -> np.ndarray:
    """Flip signs along time (axis 0) so consecutive quaternions stay close."""
    q = np.array(q, copy=True)
    dots = np.sum(q[1:] * q[:-1], axis=-1)
    flip = np.cumsum(dots < 0, axis=0) % 2
    q[1:][flip.astype(bool)] *= -1
    return q


def y_rotation(angle):
    """Quaternions for rotations by `angle` radians about +Y."""
    half = angle / 2
    zeros = half * 0
    if _is_torch(half):
        return _stack([torch.cos(half), zeros, torch.sin(half), zeros])
    return _stack([np.cos(half), zeros, np.sin(half), zeros])


def quaternion_to_matrix(q):
    """(..., 4) -> (..., 3, 3) rotation matrices."""
    w, x, y, z = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    two_s = 2.0 / (q * q).sum(-1)
    rows = [
        1 - two_s * (y * y + z * z), two_s * (x * y - z * w), two_s * (x * z + y * w),
        two_s * (x * y + z * w), 1 - two_s * (x * x + z * z), two_s * (y * z - x * w),
        two_s * (x * z - y * w), two_s * (y * z + x * w), 1 - two_s * (x * x + y * y),
    ]
    m = _stack(rows)
    return m.reshape(tuple(q.shape[:-1]) + (3, 3))


def matrix_to_quaternion(m):
    """(..., 3, 3) -> (..., 4) with non-negative w (numerically stable branch choice)."""
    if _is_torch(m):
        from scipy.spatial.transform import Rotation
        flat = m.detach().cpu().double().reshape(-1, 3, 3).numpy()
        xyzw = Rotation.from_matrix(flat).as_quat()
        q = torch.from_numpy(np.concatenate([xyzw[:, 3:], xyzw[:, :3]], -1)).to(m)
        return q.reshape(tuple(m.shape[:-2]) + (4,))
    from scipy.spatial.transform import Rotation
    flat = np.asarray(m, dtype=np.float64).reshape(-1, 3, 3)
    xyzw = Rotation.from_matrix(flat).as_quat()
    q = np.concatenate([xyzw[:, 3:], xyzw[:, :3]], -1)
    q = q * np.where(q[:, :1] < 0, -1.0, 1.0)
    return q.reshape(m.shape[:-2] + (4,))


def quaternion_to_cont6d(q):
    """Continuous 6-D representation: the first two columns of the rotation matrix."""
    m = quaternion_to_matrix(q)
    return _cat([m[..., 0], m[..., 1]])


def cont6d_to_matrix(d6):
    """Gram-Schmidt the two 6-D columns back into a rotation matrix (..., 3, 3)."""
    a1, a2 = d6[..., :3], d6[..., 3:]
    kw = {"keepdim": True} if _is_torch(d6) else {"keepdims": True}
    b1 = a1 / _sqrt((a1 * a1).sum(-1, **kw))
    a2 = a2 - (b1 * a2).sum(-1, **kw) * b1
    b2 = a2 / _sqrt((a2 * a2).sum(-1, **kw))
    b3 = _cross(b1, b2)
    return _stack([b1, b2, b3], axis=-1)


def cont6d_to_quaternion(d6):
    return matrix_to_quaternion(cont6d_to_matrix(d6))
