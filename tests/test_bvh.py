"""BVH export round trips, checked with an independent parser (bvhio)."""
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from irgmotion.motion.bvh import joints_to_bvh
from irgmotion.motion.skeleton import HUMANML3D, KIT

bvhio = pytest.importorskip("bvhio", reason="bvhio (independent BVH parser) is not installed")



def read_bvh_world_positions(path: Path) -> tuple[list[str], np.ndarray, float]:
    """Joint names, world positions (T, J, 3) in file units, and frame time, via bvhio's FK."""
    root = bvhio.readAsHierarchy(str(path))
    joints = [joint for joint, _, _ in root.layout()]
    n_frames = len(root.Keyframes)
    out = np.zeros((n_frames, len(joints), 3))
    for f in range(n_frames):
        root.loadPose(f, recursive=True)
        for i, joint in enumerate(joints):
            p = joint.PositionWorld
            out[f, i] = (p.x, p.y, p.z)
    frame_time = bvhio.readAsBvh(str(path), loadKeyFrames=False).FrameTime
    return [j.Name for j in joints], out, frame_time


def max_round_trip_error(joints, path, skeleton, **kwargs) -> float:
    scale = kwargs.get("scale", 100.0)
    joints_to_bvh(joints, path, skeleton, **kwargs)
    names, positions, _ = read_bvh_world_positions(path)
    order = [skeleton.joint_names.index(n) for n in names]
    assert sorted(order) == list(range(skeleton.n_joints))
    assert positions.shape == (len(joints), skeleton.n_joints, 3)
    return float(np.linalg.norm(positions / scale - joints[:, order], axis=-1).max())


def synthetic_motion(skeleton, n_frames=40, seed=0) -> np.ndarray:
    """Forward kinematics of a rigid skeleton with smooth random joint rotations.

    The rest layout at branching joints is deliberately not the raw T-pose
    (hips below the root, shoulders tilted), as in real data.
    """
    rng = np.random.default_rng(seed)
    lengths = rng.uniform(0.05, 0.4, skeleton.n_joints)
    offsets = skeleton.raw_offsets * lengths[:, None]
    parents = skeleton.parents
    for j in range(1, skeleton.n_joints):
        n_siblings = sum(p == parents[j] for p in parents)
        if n_siblings > 1:
            offsets[j] += rng.normal(0.0, 0.04, 3)
    t = np.linspace(0.0, 2.0, n_frames)[:, None]
    amplitude, freq, phase = (rng.uniform(0.2, 0.8, (skeleton.n_joints, 3)),
                              rng.uniform(0.3, 1.5, (skeleton.n_joints, 3)),
                              rng.uniform(0, 2 * np.pi, (skeleton.n_joints, 3)))
    rotvec = amplitude[None] * np.sin(2 * np.pi * freq[None] * t[..., None] + phase[None])
    local = Rotation.from_rotvec(rotvec.reshape(-1, 3)).as_matrix().reshape(n_frames, -1, 3, 3)
    glob = np.empty_like(local)
    pos = np.zeros((n_frames, skeleton.n_joints, 3))
    pos[:, 0] = np.concatenate([t * 0.7, 0.9 + 0.05 * np.sin(5 * t), -0.3 * t], axis=1)
    glob[:, 0] = local[:, 0]
    assert all(parents[j] < j for j in range(1, skeleton.n_joints))  # FK order below
    for j in range(1, skeleton.n_joints):
        p = parents[j]
        pos[:, j] = pos[:, p] + glob[:, p] @ offsets[j]
        glob[:, j] = glob[:, p] @ local[:, j]
    return pos


@pytest.mark.parametrize("clip", ["000000", "012314"])
def test_reference_clip_round_trip(tmp_path, clip, ref_dir):
    path = ref_dir / "new_joints" / f"{clip}.npy"
    joints = np.load(path)
    error = max_round_trip_error(joints, tmp_path / f"{clip}.bvh", HUMANML3D)
    assert error <= 0.01, f"max joint error {error * 100:.3f} cm"
    assert error < 1e-4  # constant bone lengths: exact up to float rounding


@pytest.mark.parametrize("skeleton", [KIT, HUMANML3D], ids=lambda s: s.name)
def test_synthetic_round_trip(tmp_path, skeleton):
    joints = synthetic_motion(skeleton)
    assert max_round_trip_error(joints, tmp_path / "m.bvh", skeleton) < 1e-4


def test_metres_scale(tmp_path):
    joints = synthetic_motion(KIT, n_frames=5, seed=3)
    assert max_round_trip_error(joints, tmp_path / "m.bvh", KIT, scale=1.0) < 1e-4


def test_drifting_bone_lengths_error_is_bounded(tmp_path):
    # Lengths come from the first frame; per-frame drift shows up as at most that drift per bone.
    joints = synthetic_motion(HUMANML3D, n_frames=20, seed=1)
    joints = joints + np.random.default_rng(2).normal(0.0, 0.001, joints.shape)
    assert max_round_trip_error(joints, tmp_path / "m.bvh", HUMANML3D) < 0.03


def test_file_structure(tmp_path):
    joints = synthetic_motion(HUMANML3D, n_frames=7)
    path = joints_to_bvh(joints, tmp_path / "m.bvh", fps=30)
    bvh = bvhio.readAsBvh(str(path))
    assert bvh.FrameCount == 7
    assert bvh.FrameTime == pytest.approx(1 / 30)
    layout = [j for j, _, _ in bvh.Root.layout()]
    assert layout[0].Name == "pelvis"
    assert layout[0].Channels == ["Xposition", "Yposition", "Zposition",
                                  "Zrotation", "Yrotation", "Xrotation"]
    assert all(j.Channels == ["Zrotation", "Yrotation", "Xrotation"] for j in layout[1:])
    text = path.read_text()
    leaves = sum(1 for j in range(22) if j not in HUMANML3D.parents)
    assert text.count("End Site") == leaves == 5
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind

    default = joints_to_bvh(joints, tmp_path / "d.bvh")
    assert bvhio.readAsBvh(str(default), loadKeyFrames=False).FrameTime == pytest.approx(1 / 20)


def test_rejects_bad_shapes(tmp_path):
    with pytest.raises(ValueError, match="shape"):
        joints_to_bvh(np.zeros((10, 21, 3)), tmp_path / "x.bvh", HUMANML3D)
    with pytest.raises(ValueError, match="shape"):
        joints_to_bvh(np.zeros((10, 22)), tmp_path / "x.bvh")
    bad = synthetic_motion(HUMANML3D, n_frames=3)
    bad[1, 4, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        joints_to_bvh(bad, tmp_path / "x.bvh")
    assert not list(tmp_path.iterdir())


def test_euler_angles_match_scipy_and_rebuild_the_rotation():
    from scipy.spatial.transform import Rotation

    from irgmotion.motion.bvh import matrix_to_euler_zyx
    rng = np.random.default_rng(0)
    mats = Rotation.random(500, random_state=1).as_matrix()
    assert np.allclose(matrix_to_euler_zyx(mats), Rotation.from_matrix(mats).as_euler("ZYX", degrees=True), atol=1e-7)
    # gimbal lock (Y at +-90 degrees): the Z/X split is arbitrary, the rotation is not
    zyx = np.stack([rng.uniform(-180, 180, 40), np.repeat([90.0, -90.0], 20), rng.uniform(-180, 180, 40)], -1)
    locked = Rotation.from_euler("ZYX", zyx, degrees=True).as_matrix()
    back = Rotation.from_euler("ZYX", matrix_to_euler_zyx(locked), degrees=True).as_matrix()
    assert np.allclose(back, locked, atol=1e-7)
