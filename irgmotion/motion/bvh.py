"""Export joint positions to BVH by inverse kinematics.

Rest pose (OFFSETs): bone lengths measured on the first frame; limb and spine
directions are the skeleton's unit rest directions (`raw_offsets`), so arms
and legs stand in the dataset's T-pose. At branching joints (pelvis and
spine3, KIT root and BLN) the children keep their true relative layout from
the first frame instead: the datasets' hips and collars do not sit at the raw
T-pose's right angles, and a single joint rotation can only reproduce its
children if the rest layout matches theirs. Units are centimetres by default
(`scale=100`), what most BVH tools (Blender, MotionBuilder) expect; pass
`scale=1.0` for metres.

Per-frame rotations are solved joint by joint from the root down:
- a joint with one child gets the minimal (swing-only) rotation, relative to
  its parent, that points the child bone at the target; no twist is added, so
  rotations stay smooth;
- a joint with several children gets the least-squares rotation (Kabsch)
  mapping its rest child directions onto the target directions;
- leaf joints keep their parent's orientation.

When bone lengths and the layout at branching joints are constant over the
clip (true of HumanML3D `new_joints`, which are forward kinematics of a fixed
skeleton), the BVH reproduces the input positions up to float rounding
(~1e-6 m). Otherwise the residual equals that drift: directions are matched
exactly, lengths are those of the first frame.
"""
from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

from ..fileio import atomic_path
from .skeleton import HUMANML3D, SkeletonSpec

# Intrinsic Euler order: R = Rz @ Ry @ Rx, written as "Zrotation Yrotation Xrotation" (matrix_to_euler_zyx).
_EPS = 1e-9


def joints_to_bvh(
    joints: np.ndarray,
    path: str | os.PathLike,
    skeleton: SkeletonSpec = HUMANML3D,
    fps: float | None = None,
    *,
    scale: float = 100.0,
) -> Path:
    """Write `joints` (T, J, 3), metres, Y up, as a BVH file at `path`.

    `fps` defaults to the skeleton's frame rate; `scale` converts metres to
    BVH units (100: centimetres). Returns the written path.
    """
    joints = np.asarray(joints, dtype=np.float64)
    n_joints = skeleton.n_joints
    if joints.ndim != 3 or joints.shape[1:] != (n_joints, 3) or joints.shape[0] < 1:
        raise ValueError(
            f"joints must have shape (T>=1, {n_joints}, 3) for skeleton {skeleton.name!r}, "
            f"got {joints.shape}")
    if not np.isfinite(joints).all():
        raise ValueError("joints contain NaN or inf")
    fps = float(skeleton.fps if fps is None else fps)
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps}")

    parents = skeleton.parents
    children = [[c for c in range(n_joints) if parents[c] == j] for j in range(n_joints)]
    order = _depth_first(children)
    offsets = _rest_offsets(joints[0], skeleton, children)
    local = _solve_local_rotations(joints, offsets, parents, children, order)

    euler = matrix_to_euler_zyx(local.reshape(-1, 3, 3))
    # Unwrap over time so curves have no +-360 jumps when a tool interpolates them.
    euler = np.unwrap(euler.reshape(len(joints), n_joints, 3), period=360.0, axis=0)

    hierarchy = _hierarchy_text(skeleton, children, offsets * scale)
    motion = np.concatenate([joints[:, 0] * scale, euler[:, order].reshape(len(joints), -1)], axis=1)
    buf = io.StringIO()
    buf.write(hierarchy)
    buf.write(f"MOTION\nFrames: {len(joints)}\nFrame Time: {1.0 / fps:.8f}\n")
    np.savetxt(buf, motion, fmt="%.6f")
    with atomic_path(path) as tmp:  # no partial file on failure
        tmp.write_text(buf.getvalue(), encoding="ascii")
    return Path(path)


def matrix_to_euler_zyx(m: np.ndarray) -> np.ndarray:
    """Rotation matrices (N, 3, 3) -> intrinsic Z, Y, X angles in degrees (N, 3), R = Rz @ Ry @ Rx: what scipy's
    `Rotation.from_matrix(m).as_euler("ZYX", degrees=True)` gives (tests/test_bvh.py compares them). Written here
    because importing scipy.spatial costs `irgmotion generate` 0.3 s of start-up. At gimbal lock (Y at +-90 degrees)
    the Z/X split is arbitrary: X is set to 0 and Z carries the rest, the rotation itself stays exact."""
    m = np.asarray(m, dtype=np.float64)
    cos_y = np.hypot(m[:, 0, 0], m[:, 1, 0])
    y = np.arctan2(-m[:, 2, 0], cos_y)
    locked = cos_y < 1e-9
    z = np.where(locked, np.arctan2(-m[:, 0, 1], m[:, 1, 1]), np.arctan2(m[:, 1, 0], m[:, 0, 0]))
    x = np.where(locked, 0.0, np.arctan2(m[:, 2, 1], m[:, 2, 2]))
    return np.degrees(np.stack([z, y, x], axis=-1))


def _depth_first(children: list[list[int]]) -> list[int]:
    order, stack = [], [0]
    while stack:
        j = stack.pop()
        order.append(j)
        stack.extend(reversed(children[j]))
    return order


def _rest_offsets(first_frame: np.ndarray, skeleton: SkeletonSpec,
                  children: list[list[int]]) -> np.ndarray:
    """Rest offsets (J, 3) in metres, measured on the first frame.

    Bone lengths come from the first frame and directions from `raw_offsets`,
    except at branching joints: there the children's true relative layout
    (e.g. hips below and beside the pelvis, not at the raw T-pose's right
    angles) is kept, expressed in the frame that best aligns the raw
    directions with the first frame. That layout is rigid in the datasets, so
    one rotation per branching joint can then reproduce every child exactly.
    """
    directions = np.asarray(skeleton.raw_offsets, dtype=np.float64)
    offsets = np.zeros_like(directions)
    for j, p in enumerate(skeleton.parents):
        if p < 0:
            continue
        norm = np.linalg.norm(directions[j])
        if norm < _EPS:
            raise ValueError(f"skeleton {skeleton.name!r}: joint {j} has a zero rest direction")
        offsets[j] = directions[j] / norm * np.linalg.norm(first_frame[j] - first_frame[p])
    for j, kids in enumerate(children):
        kids = [c for c in kids if np.linalg.norm(offsets[c]) > _EPS]
        if len(kids) < 2:
            continue
        actual = first_frame[kids] - first_frame[j]
        src = offsets[kids] / np.linalg.norm(offsets[kids], axis=-1, keepdims=True)
        dst = actual / np.linalg.norm(actual, axis=-1, keepdims=True)
        frame = _kabsch(src[None], dst[None])[0]
        offsets[kids] = actual @ frame  # = frame.T @ actual per child
    return offsets


def _solve_local_rotations(joints, offsets, parents, children, order) -> np.ndarray:
    """Local rotation matrices (T, J, 3, 3) such that FK from `offsets` follows `joints`."""
    n_frames, n_joints = joints.shape[:2]
    eye = np.broadcast_to(np.eye(3), (n_frames, 3, 3))
    glob = np.empty((n_frames, n_joints, 3, 3))
    local = np.empty((n_frames, n_joints, 3, 3))
    rest_dir = offsets / np.maximum(np.linalg.norm(offsets, axis=-1, keepdims=True), _EPS)
    for j in order:
        parent_rot = eye if parents[j] < 0 else glob[:, parents[j]]
        kids = children[j]
        if not kids:
            glob[:, j] = parent_rot
        elif len(kids) == 1:
            c = kids[0]
            current = parent_rot @ rest_dir[c]
            target = _unit_or(joints[:, c] - joints[:, j], current)
            glob[:, j] = _rotation_between(current, target) @ parent_rot
        else:
            src = np.broadcast_to(rest_dir[kids], (n_frames, len(kids), 3))
            fallback = np.einsum("tij,kj->tki", parent_rot, rest_dir[kids])
            dst = _unit_or(joints[:, kids] - joints[:, j, None], fallback)
            glob[:, j] = _kabsch(src, dst)
        local[:, j] = np.swapaxes(parent_rot, -1, -2) @ glob[:, j]
    return local


def _unit_or(v: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """Normalise `v`; where it has (near) zero length use `fallback` (already unit)."""
    norm = np.linalg.norm(v, axis=-1, keepdims=True)
    return np.where(norm > 1e-8, v / np.maximum(norm, 1e-12), fallback)


def _rotation_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Minimal rotations (N, 3, 3) taking unit vectors a (N, 3) onto b (N, 3)."""
    cross = np.cross(a, b)
    cos = np.einsum("ni,ni->n", a, b)
    k = np.zeros(a.shape[:-1] + (3, 3))
    k[:, 0, 1], k[:, 0, 2], k[:, 1, 2] = -cross[:, 2], cross[:, 1], -cross[:, 0]
    k = k - np.swapaxes(k, -1, -2)
    # Rodrigues with sin/cos folded in: R = I + K + K^2 / (1 + cos).
    denom = np.maximum(1.0 + cos, _EPS)[:, None, None]
    rot = np.eye(3) + k + k @ k / denom
    opposite = cos < -1.0 + 1e-8
    if opposite.any():
        # Half turn about any axis perpendicular to a.
        aa = a[opposite]
        helper = np.where(np.abs(aa[:, :1]) < 0.9, [[1.0, 0.0, 0.0]], [[0.0, 1.0, 0.0]])
        axis = np.cross(aa, helper)
        axis /= np.linalg.norm(axis, axis=-1, keepdims=True)
        rot[opposite] = 2.0 * axis[:, :, None] * axis[:, None, :] - np.eye(3)
    return rot


def _kabsch(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Rotations (N, 3, 3) minimising sum_k |R src_k - dst_k|^2 for (N, K, 3) inputs."""
    cov = np.einsum("nki,nkj->nij", dst, src)
    u, _, vt = np.linalg.svd(cov)
    fix = np.ones(cov.shape[:-1])
    fix[:, -1] = np.sign(np.linalg.det(u @ vt))  # avoid reflections
    return (u * fix[:, None, :]) @ vt


def _hierarchy_text(skeleton, children, offsets) -> str:
    names = skeleton.joint_names
    lines = ["HIERARCHY"]

    def emit(j: int, depth: int) -> None:
        pad = "  " * depth
        if depth == 0:
            lines.append(f"ROOT {names[j]}")
            lines.append(f"{pad}{{")
            # Root OFFSET is zero: the position channels carry the absolute root position.
            lines.append(f"{pad}  OFFSET 0.000000 0.000000 0.000000")
            lines.append(f"{pad}  CHANNELS 6 Xposition Yposition Zposition "
                         "Zrotation Yrotation Xrotation")
        else:
            lines.append(f"{pad}JOINT {names[j]}")
            lines.append(f"{pad}{{")
            lines.append(f"{pad}  OFFSET " + " ".join(f"{x:.6f}" for x in offsets[j]))
            lines.append(f"{pad}  CHANNELS 3 Zrotation Yrotation Xrotation")
        for c in children[j]:
            emit(c, depth + 1)
        if not children[j]:
            # End Site continues the incoming bone by half its length (a toe, fingertip or
            # head top); it carries no data and only helps viewers draw the last bone.
            end = offsets[j] * 0.5
            lines.append(f"{pad}  End Site")
            lines.append(f"{pad}  {{")
            lines.append(f"{pad}    OFFSET " + " ".join(f"{x:.6f}" for x in end))
            lines.append(f"{pad}  }}")
        lines.append(f"{pad}}}")

    emit(0, 0)
    return "\n".join(lines) + "\n"
