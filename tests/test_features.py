"""Exactness of the HumanML3D representation against real released clips."""
import numpy as np
import pytest
import torch

from irgmotion.motion import HUMANML3D, KIT, features_to_joints, joints_to_features
from irgmotion.motion.features import uniform_skeleton

SLICES = HUMANML3D.feature_slices()


def test_feature_layout():
    assert HUMANML3D.feature_dim == 263 and KIT.feature_dim == 251
    assert SLICES["ric"] == slice(4, 67) and SLICES["rot6d"] == slice(67, 193)
    assert SLICES["velocity"] == slice(193, 259) and SLICES["feet"] == slice(259, 263)


def test_features_to_joints_matches_new_joints(ref_clip):
    _, joints, vecs = ref_clip
    recovered = features_to_joints(vecs.astype(np.float64))
    assert recovered.shape == joints.shape
    assert np.abs(recovered - joints).max() <= 1e-5


def test_joints_to_features_matches_new_joint_vecs(ref_clip):
    cid, joints, vecs = ref_clip
    feats = joints_to_features(joints)
    assert feats.shape == (len(joints) - 1, 263)
    err = np.abs(feats - vecs[:-1])
    for name in ("root", "velocity", "feet"):
        assert err[:, SLICES[name]].max() <= 2e-3, (cid, name, err[:, SLICES[name]].max())
    # `new_joints` lacks the clip's final pose, which the dataset script saw when
    # it smoothed the facing direction (Gaussian, sigma 20 frames): the frames
    # near the end of a turning clip inherit a small difference. Away from the
    # end the rotation-invariant positions match to float precision.
    ric = err[:, SLICES["ric"]]
    assert ric[: len(ric) - 40].max() <= 2e-3
    assert ric.max() <= 1e-2


def test_lossless_round_trip_with_final_pose(ref_clip):
    """With the final pose recovered from the last row's velocities, every channel matches."""
    _, joints, vecs = ref_clip
    full = features_to_joints(vecs.astype(np.float64), append_last=True)
    assert full.shape == (len(vecs) + 1, 22, 3)
    assert np.abs(full[:-1] - joints).max() <= 1e-5
    err = np.abs(joints_to_features(full) - vecs)
    assert err.max() <= 1e-4  # 6-D rotation channels included


def test_torch_batched_equals_numpy(ref_dir):
    vecs = np.load(ref_dir / "new_joint_vecs" / "012314.npy").astype(np.float64)
    batch = torch.from_numpy(np.stack([vecs, vecs[::-1].copy()]))
    out = features_to_joints(batch)
    assert out.shape == (2, len(vecs), 22, 3)
    np.testing.assert_allclose(out[0].numpy(), features_to_joints(vecs), atol=1e-9)
    np.testing.assert_allclose(out[1].numpy(), features_to_joints(vecs[::-1].copy()), atol=1e-9)


def test_features_to_joints_differentiable():
    feats = torch.randn(2, 8, 263, dtype=torch.float64, requires_grad=True)
    features_to_joints(feats).sum().backward()
    assert torch.isfinite(feats.grad).all()


def test_uniform_skeleton_sets_standard_bone_lengths(ref_dir):
    joints = np.load(ref_dir / "new_joints" / "000000.npy").astype(np.float64)
    stretched = joints * 1.1  # a taller body
    out = uniform_skeleton(stretched)
    for child, parent in enumerate(HUMANML3D.parents):
        if parent >= 0:
            lengths = np.linalg.norm(out[:, child] - out[:, parent], axis=-1)
            np.testing.assert_allclose(lengths, HUMANML3D.bone_lengths[child], atol=1e-9)
    np.testing.assert_allclose(out, joints, atol=1e-6)  # uniform scaling is undone exactly


def test_features_are_invariant_to_placement(ref_dir):
    """Moving and turning the whole motion about Y does not change its features."""
    joints = np.load(ref_dir / "new_joints" / "000000.npy").astype(np.float64)
    a = 0.7
    rot = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    moved = joints @ rot.T + np.array([3.0, 0.5, -2.0])
    f0, f1 = joints_to_features(joints), joints_to_features(moved)
    for name in ("root", "ric", "velocity", "feet"):
        assert np.abs(f0[:, SLICES[name]] - f1[:, SLICES[name]]).max() < 1e-4, name


def _kit_motion(T=60):
    """A KIT-skeleton body walking forward while swinging its arms."""
    lengths = np.r_[0, np.full(20, 0.2)]
    offsets = KIT.raw_offsets * lengths[:, None]
    t = np.arange(T) / KIT.fps
    joints = np.zeros((T, 21, 3))
    joints[:, 0] = np.stack([0.05 * np.sin(t), np.full(T, 1.0), 0.6 * t], -1)
    for chain in KIT.kinematic_chains:
        for parent, child in zip(chain[:-1], chain[1:]):
            swing = 0.4 * np.sin(2 * t + child)
            off = offsets[child]
            rotated = np.stack([off[0] * np.ones(T), off[1] * np.cos(swing) - off[2] * np.sin(swing),
                                off[1] * np.sin(swing) + off[2] * np.cos(swing)], -1)
            joints[:, child] = joints[:, parent] + rotated
    return joints


def test_kit_features_round_trip():
    joints = _kit_motion()
    feats = joints_to_features(joints, "kit")
    assert feats.shape == (len(joints) - 1, 251)
    rec = features_to_joints(feats, "kit", append_last=True)
    assert rec.shape == joints.shape
    # Same body up to the canonical placement: compare all pairwise joint distances and heights.
    d0 = np.linalg.norm(joints[:, :, None] - joints[:, None], axis=-1)
    d1 = np.linalg.norm(rec[:, :, None] - rec[:, None], axis=-1)
    assert np.abs(d0 - d1).max() < 1e-6
    h0 = joints[..., 1] - joints[..., 1].min()
    assert np.abs(h0 - rec[..., 1]).max() < 1e-6


@pytest.mark.parametrize("bad, match", [
    (np.zeros((10, 22, 2)), "shape"),
    (np.zeros((1, 22, 3)), "at least 2"),
    (np.full((10, 22, 3), np.nan), "NaN"),
])
def test_joints_to_features_rejects_bad_input(bad, match):
    with pytest.raises(ValueError, match=match):
        joints_to_features(bad)


def test_features_to_joints_rejects_wrong_width():
    with pytest.raises(ValueError, match="263"):
        features_to_joints(np.zeros((5, 100)))
