import numpy as np
import pytest

from irgmotion.motion import (HUMANML3D, MotionFileError, Normalizer, bone_length_variation, foot_skating,
                              ground_penetration, jitter, load_motion, quality_report)
from irgmotion.motion.io import detect_kind


def _standing(T=40):
    """A rigid standing body built from the rest pose, feet on the floor."""
    offsets = HUMANML3D.offsets()
    joints = np.zeros((22, 3))
    for chain in HUMANML3D.kinematic_chains:
        for parent, child in zip(chain[:-1], chain[1:]):
            joints[child] = joints[parent] + offsets[child]
    joints[:, 1] -= joints[:, 1].min()
    return np.repeat(joints[None], T, axis=0)


def test_still_body_has_no_skating_jitter_or_penetration():
    joints = _standing()
    report = quality_report(joints)
    assert report["foot_skating"] == 0.0 and report["jitter"] == 0.0
    assert report["ground_penetration"] == 0.0 and report["bone_length_std"] < 1e-12


def test_sliding_body_skates_at_its_speed():
    joints = _standing(41)
    speed = 0.5  # m/s along X, feet stay on the floor: pure skating
    joints[..., 0] += speed * np.arange(41)[:, None] / HUMANML3D.fps
    assert foot_skating(joints) == pytest.approx(speed, rel=1e-6)
    assert jitter(joints) == pytest.approx(0.0, abs=1e-9)


def test_penetration_bones_and_jitter_measured():
    joints = _standing()
    joints[5:, :, 1] -= 0.03
    assert ground_penetration(joints) == pytest.approx(0.03)
    stretched = _standing()
    stretched[::2, 21] += np.array([0.0, -0.02, 0.0])  # wrist bone changes length every other frame
    assert bone_length_variation(stretched) > 0.009
    assert jitter(stretched) > 0


def test_normalizer_round_trip_numpy_and_torch(tmp_path):
    import torch
    rng = np.random.default_rng(0)
    data = [rng.normal(2, 3, size=(50, 263)) for _ in range(3)]
    norm = Normalizer.fit(data)
    x = data[0].astype(np.float32)
    np.testing.assert_allclose(norm.denormalize(norm.normalize(x)), x, rtol=1e-5, atol=1e-4)
    t = torch.from_numpy(x)
    np.testing.assert_allclose(norm.normalize(t).numpy(), norm.normalize(x), atol=1e-5)
    norm.save(tmp_path)
    again = Normalizer.from_dir(tmp_path)
    np.testing.assert_array_equal(again.mean, norm.mean)
    with pytest.raises(ValueError, match="channels"):
        norm.normalize(np.zeros((3, 251)))
    with pytest.raises(FileNotFoundError, match="Mean.npy"):
        Normalizer.from_dir(tmp_path / "missing")


def test_zero_std_channels_do_not_divide_by_zero():
    norm = Normalizer(np.zeros(4), np.array([1.0, 0.0, 2.0, 0.0]))
    assert np.isfinite(norm.normalize(np.ones((2, 4)))).all()


@pytest.mark.parametrize("shape, kind, name", [
    ((10, 263), "features", "humanml3d"), ((10, 251), "features", "kit"),
    ((10, 22, 3), "joints", "humanml3d"), ((10, 21, 3), "joints", "kit"), ((10, 66), "joints", "humanml3d"),
])
def test_detect_kind(shape, kind, name):
    k, spec = detect_kind(shape)
    assert (k, spec.name) == (kind, name)


@pytest.mark.parametrize("array, match", [
    (np.zeros((10, 100)), "neither features nor joints"),
    (np.zeros((0, 263)), "0 frame"),
    (np.zeros((1, 22, 3)), "1 frame"),
    (np.full((5, 263), np.nan), "NaN"),
    (np.array(["a", "b"]), "numeric"),
])
def test_load_motion_rejects_bad_files(tmp_path, array, match):
    path = tmp_path / "bad.npy"
    np.save(path, array)
    with pytest.raises(MotionFileError, match=match) as info:
        load_motion(path)
    assert "bad.npy" in str(info.value)


def test_load_motion_missing_and_corrupt(tmp_path):
    with pytest.raises(MotionFileError, match="not found"):
        load_motion(tmp_path / "nope.npy")
    corrupt = tmp_path / "corrupt.npy"
    corrupt.write_bytes(b"not numpy")
    with pytest.raises(MotionFileError, match="not a readable"):
        load_motion(corrupt)
