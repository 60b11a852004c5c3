"""Joint positions <-> HumanML3D / KIT-ML feature vectors.

Layout of one frame (J joints): root rotation velocity about Y (1), root
linear velocity on XZ in the body frame (2), root height (1), rotation-
invariant joint positions (3(J-1)), 6-D local joint rotations (6(J-1)),
local joint velocities (3J), foot contacts (4). J=22 gives 263, J=21 gives 251.

`joints_to_features` reproduces the datasets' processing script step by step,
including one quirk of its inverse kinematics (see `_forward_directions`), so
the numbers match the released `new_joint_vecs`. `features_to_joints` is the
standard recovery from the rotation-invariant coordinates.
"""
from __future__ import annotations

import numpy as np

from .quaternion import qbetween, qinv, qmul, qrot, quaternion_to_cont6d, y_rotation
from .skeleton import HUMANML3D, SkeletonSpec, get_skeleton, mirror_twins

_Y = np.array([0.0, 1.0, 0.0])
_Z = np.array([0.0, 0.0, 1.0])


def _as_spec(skeleton) -> SkeletonSpec:
    return get_skeleton(skeleton) if isinstance(skeleton, str) else skeleton


def _qbetween32(v0, v1):
    # The reference script computes these rotations in float32; matching that
    # keeps our features within float32 noise of the released files.
    return qbetween(np.asarray(v0, np.float32), np.asarray(v1, np.float32)).astype(np.float64)


def uniform_skeleton(joints: np.ndarray, skeleton: SkeletonSpec = HUMANML3D,
                     bone_lengths: np.ndarray | None = None) -> np.ndarray:
    """Retarget to the standard bone lengths, keeping every bone's direction.

    The root trajectory is scaled by the ratio of lower-leg lengths, as in the
    dataset script (its IK + FK round trip reduces to exactly this).
    """
    target = skeleton.bone_lengths if bone_lengths is None else np.asarray(bone_lengths, np.float64)
    if target is None:
        return joints.copy()
    parents = skeleton.parents
    src = np.array([0.0] + [np.linalg.norm(joints[0, i] - joints[0, parents[i]])
                            for i in range(1, skeleton.n_joints)])
    a, b = skeleton.leg_joints
    scale = (target[a] + target[b]) / (src[a] + src[b])
    out = np.empty_like(joints)
    out[:, 0] = joints[:, 0] * scale
    for chain in skeleton.kinematic_chains:
        for parent, child in zip(chain[:-1], chain[1:]):
            bone = joints[:, child] - joints[:, parent]
            bone = bone / np.linalg.norm(bone, axis=-1, keepdims=True)
            out[:, child] = out[:, parent] + bone * target[child]
    return out


def _forward_directions(joints: np.ndarray, skeleton: SkeletonSpec, smooth: bool) -> np.ndarray:
    """Per-frame facing direction used by the dataset's inverse kinematics.

    The reference IK unpacks the face joints as (l_hip, r_hip, ...) while they
    are listed as (r_hip, l_hip, ...), so its hip vector points the other way
    and the facing comes from shoulders minus hips. We keep that to reproduce
    the released root-rotation and 6-D channels.
    """
    r_hip, l_hip, r_sdr, l_sdr = skeleton.face_joints
    hips, shoulders = joints[:, r_hip] - joints[:, l_hip], joints[:, r_sdr] - joints[:, l_sdr]
    across = shoulders - hips
    # Where shoulders and hips are equally wide the quirk has no direction;
    # fall back to the intended vector rather than dividing by zero.
    norm = np.linalg.norm(across, axis=-1, keepdims=True)
    weak = norm < 1e-4
    if weak.any():
        across = np.where(weak, shoulders + hips, across)
        norm = np.linalg.norm(across, axis=-1, keepdims=True)
    across = across / norm
    forward = np.cross(_Y[None], across)
    if smooth:
        from scipy.ndimage import gaussian_filter1d  # here: decoding features to joints never needs scipy.ndimage
        forward = gaussian_filter1d(forward, 20, axis=0, mode="nearest")
    return forward / np.linalg.norm(forward, axis=-1, keepdims=True)


def inverse_kinematics(joints: np.ndarray, skeleton: SkeletonSpec = HUMANML3D,
                       smooth_forward: bool = True) -> np.ndarray:
    """Local joint quaternions (T, J, 4) in the dataset's convention; joint 0 holds the root facing."""
    T = len(joints)
    root = _qbetween32(_forward_directions(joints, skeleton, smooth_forward), _Z[None])
    root[0] = (1.0, 0.0, 0.0, 0.0)
    quats = np.zeros((T, skeleton.n_joints, 4))
    quats[:, 0] = root
    for chain in skeleton.kinematic_chains:
        R = root
        for parent, child in zip(chain[:-1], chain[1:]):
            bone = joints[:, child] - joints[:, parent]
            bone = bone / np.linalg.norm(bone, axis=-1, keepdims=True)
            swing = _qbetween32(np.broadcast_to(skeleton.raw_offsets[child], bone.shape), bone)
            local = qmul(qinv(R), swing)
            quats[:, child] = local
            R = qmul(R, local)
    return quats


def _check_joints(joints, skeleton: SkeletonSpec) -> np.ndarray:
    joints = np.asarray(joints)
    if joints.ndim != 3 or joints.shape[1:] != (skeleton.n_joints, 3):
        raise ValueError(f"expected joints of shape (T, {skeleton.n_joints}, 3) for {skeleton.name}, got {joints.shape}")
    if len(joints) < 2:
        raise ValueError(f"need at least 2 frames to compute features, got {len(joints)}")
    if not np.isfinite(joints).all():
        raise ValueError("joints contain NaN or inf")
    return joints.astype(np.float64)


def joints_to_features(joints, skeleton="humanml3d", bone_lengths=None,
                       feet_threshold: float | None = None) -> np.ndarray:
    """(T, J, 3) global joint positions -> (T-1, D) features (float64).

    Steps of the dataset script: uniform skeleton, floor at y=0, first root
    at the XZ origin, initial facing +Z, foot contacts, IK for root facing and
    6-D rotations, rotation-invariant positions and local velocities.
    """
    spec = _as_spec(skeleton)
    positions = uniform_skeleton(_check_joints(joints, spec), spec, bone_lengths)
    thr = spec.foot_velocity_threshold if feet_threshold is None else feet_threshold

    positions[..., 1] -= positions[..., 1].min()
    positions -= positions[0, 0] * np.array([1.0, 0.0, 1.0])

    r_hip, l_hip, r_sdr, l_sdr = spec.face_joints
    first = positions[0]
    across = (first[r_hip] - first[l_hip]) + (first[r_sdr] - first[l_sdr])
    forward = np.cross(_Y, across / np.linalg.norm(across))
    init = _qbetween32(forward / np.linalg.norm(forward), _Z)
    positions = qrot(np.broadcast_to(init, positions.shape[:-1] + (4,)), positions)

    disp = np.sum(np.diff(positions, axis=0) ** 2, axis=-1)  # (T-1, J)
    feet_l = (disp[:, list(spec.feet_left)] < thr).astype(np.float64)
    feet_r = (disp[:, list(spec.feet_right)] < thr).astype(np.float64)

    quats = inverse_kinematics(positions, spec, smooth_forward=True)
    cont6d = quaternion_to_cont6d(quats)
    r_rot = quats[:, 0].copy()
    velocity = qrot(r_rot[1:], positions[1:, 0] - positions[:-1, 0])
    r_velocity = qmul(r_rot[1:], qinv(r_rot[:-1]))

    local = positions.copy()
    local[..., 0] -= local[:, :1, 0]
    local[..., 2] -= local[:, :1, 2]
    local = qrot(np.broadcast_to(r_rot[:, None], local.shape[:-1] + (4,)), local)

    T = len(positions)
    root_data = np.concatenate([np.arcsin(np.clip(r_velocity[:, 2:3], -1, 1)), velocity[:, [0, 2]],
                                local[:-1, 0, 1:2]], axis=-1)
    ric = local[:-1, 1:].reshape(T - 1, -1)
    rot = cont6d[:-1, 1:].reshape(T - 1, -1)
    vel = qrot(np.broadcast_to(r_rot[:-1, None], positions[1:].shape[:-1] + (4,)),
               positions[1:] - positions[:-1]).reshape(T - 1, -1)
    return np.concatenate([root_data, ric, rot, vel, feet_l, feet_r], axis=-1)


def recover_root(features):
    """Root Y-rotation quaternions (..., T, 4) and root positions (..., T, 3) from features."""
    is_np = isinstance(features, np.ndarray)
    xp_zeros = np.zeros_like if is_np else __import__("torch").zeros_like
    rot_vel = features[..., 0]
    angle = xp_zeros(rot_vel)
    angle[..., 1:] = rot_vel[..., :-1]
    angle = angle.cumsum(-1) if is_np else angle.cumsum(dim=-1)
    # Features store half-angles (arcsin of the quaternion's y part), hence 2x.
    r_rot = y_rotation(2 * angle)
    r_pos = xp_zeros(features[..., :3])
    r_pos[..., 1:, 0] = features[..., :-1, 1]
    r_pos[..., 1:, 2] = features[..., :-1, 2]
    r_pos = qrot(qinv(r_rot), r_pos)
    r_pos = r_pos.cumsum(-2) if is_np else r_pos.cumsum(dim=-2)
    r_pos[..., 1] = features[..., 3]
    return r_rot, r_pos


def features_to_joints(features, skeleton=None, append_last: bool = False):
    """(..., T, D) features -> (..., T, J, 3) joints; numpy or torch, any batch shape.

    T feature rows describe T+1 poses: the last row's local velocities lead to
    one more frame. `append_last=True` returns it too (T+1 frames), which makes
    features -> joints -> features lossless, the dataset's temporal smoothing
    of the facing direction included.
    """
    dim = features.shape[-1]
    spec = _as_spec(skeleton) if skeleton is not None else None
    if spec is None:
        from .skeleton import skeleton_for_dim
        spec = skeleton_for_dim(dim)
        if spec is None or dim != spec.feature_dim:
            raise ValueError(f"features must have 263 (HumanML3D) or 251 (KIT-ML) channels, got {dim}")
    elif dim != spec.feature_dim:
        raise ValueError(f"{spec.name} features have {spec.feature_dim} channels, got {dim}")
    r_rot, r_pos = recover_root(features)
    J = spec.n_joints
    ric = features[..., 4:4 + (J - 1) * 3].reshape(tuple(features.shape[:-1]) + (J - 1, 3))
    inv = qinv(r_rot)[..., None, :]
    positions = qrot(inv, ric)
    positions[..., 0] += r_pos[..., None, 0]
    positions[..., 2] += r_pos[..., None, 2]
    if isinstance(positions, np.ndarray):
        joints = np.concatenate([r_pos[..., None, :], positions], axis=-2)
    else:
        import torch
        joints = torch.cat([r_pos.unsqueeze(-2), positions], dim=-2)
    if not append_last:
        return joints
    vel_start = spec.feature_slices()["velocity"].start
    vel = features[..., -1:, vel_start:vel_start + 3 * J].reshape(tuple(features.shape[:-2]) + (1, J, 3))
    last = joints[..., -1:, :, :] + qrot(inv[..., -1:, :, :], vel)
    if isinstance(joints, np.ndarray):
        return np.concatenate([joints, last], axis=-3)
    return torch.cat([joints, last], dim=-3)


def mirror_features(features: np.ndarray, skeleton=None) -> np.ndarray:
    """The mirror image of a motion, in feature space: what `joints_to_features` gives for the mirrored joints
    (`skeleton.mirror_joints`), without its inverse kinematics, which would smooth and re-estimate what the features
    already hold. x is the lateral axis of the root frame: the turn rate and every lateral coordinate change sign,
    left and right twins trade places, each local rotation R becomes S R S (S = diag(-1, 1, 1); its 6-D columns
    (c0, c1) become (-S c0, S c1)), and the left and right foot contacts swap."""
    f = np.array(features, dtype=np.float64, copy=True)
    spec = _as_spec(skeleton) if skeleton is not None else None
    if spec is None:
        from .skeleton import skeleton_for_dim
        spec = skeleton_for_dim(f.shape[-1])
    if spec is None or f.shape[-1] != spec.feature_dim:
        raise ValueError(f"features must have 263 (HumanML3D) or 251 (KIT-ML) channels, got {f.shape[-1]}")
    J, lead = spec.n_joints, f.shape[:-1]
    twin = np.array(mirror_twins(spec))
    at = 4
    ric = f[..., at:at + 3 * (J - 1)].reshape(*lead, J - 1, 3)[..., twin[1:] - 1, :]
    ric[..., 0] *= -1
    rot = f[..., at + 3 * (J - 1):at + 9 * (J - 1)].reshape(*lead, J - 1, 6)[..., twin[1:] - 1, :]
    rot[..., [1, 2, 3]] *= -1  # (-S c0) = (c0x, -c0y, -c0z); S c1 = (-c1x, c1y, c1z)
    vel = f[..., at + 9 * (J - 1):at + 9 * (J - 1) + 3 * J].reshape(*lead, J, 3)[..., twin, :]
    vel[..., 0] *= -1
    feet = f[..., -4:][..., [2, 3, 0, 1]]
    root = f[..., :4] * np.array([-1.0, -1.0, 1.0, 1.0])
    return np.concatenate([root, ric.reshape(*lead, -1), rot.reshape(*lead, -1), vel.reshape(*lead, -1), feet], -1)

