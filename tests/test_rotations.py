import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from irgmotion.motion import quaternion as Q


def _rand_quats(n, seed=0):
    xyzw = Rotation.random(n, random_state=seed).as_quat()
    return np.concatenate([xyzw[:, 3:], xyzw[:, :3]], -1)


def test_qrot_matches_scipy():
    q = _rand_quats(50)
    v = np.random.default_rng(1).normal(size=(50, 3))
    expected = Rotation.from_quat(np.concatenate([q[:, 1:], q[:, :1]], -1)).apply(v)
    np.testing.assert_allclose(Q.qrot(q, v), expected, atol=1e-12)
    np.testing.assert_allclose(Q.qrot(torch.from_numpy(q), torch.from_numpy(v)).numpy(), expected, atol=1e-12)


def test_qmul_composes_and_qinv_inverts():
    a, b = _rand_quats(20, 2), _rand_quats(20, 3)
    v = np.random.default_rng(4).normal(size=(20, 3))
    np.testing.assert_allclose(Q.qrot(Q.qmul(a, b), v), Q.qrot(a, Q.qrot(b, v)), atol=1e-12)
    np.testing.assert_allclose(Q.qrot(Q.qinv(a), Q.qrot(a, v)), v, atol=1e-12)


def test_qbetween_maps_direction_including_opposite():
    rng = np.random.default_rng(5)
    u, v = rng.normal(size=(30, 3)), rng.normal(size=(30, 3))
    u[0], v[0] = [0, 0, -1], [0, 0, 1]  # antiparallel: turned about +Y
    u[1], v[1] = [0, 1, 0], [0, -1, 0]  # antiparallel along Y: another axis
    q = Q.qbetween(u, v)
    out = Q.qrot(q, u / np.linalg.norm(u, axis=-1, keepdims=True))
    np.testing.assert_allclose(out, v / np.linalg.norm(v, axis=-1, keepdims=True), atol=1e-9)
    np.testing.assert_allclose(q[0], [0, 0, 1, 0], atol=1e-12)
    assert np.isfinite(Q.qbetween(torch.tensor(u), torch.tensor(v)).numpy()).all()


def test_matrix_and_cont6d_round_trip():
    q = _rand_quats(40, 6)
    m = Q.quaternion_to_matrix(q)
    expected = Rotation.from_quat(np.concatenate([q[:, 1:], q[:, :1]], -1)).as_matrix()
    np.testing.assert_allclose(m, expected, atol=1e-12)
    d6 = Q.quaternion_to_cont6d(q)
    assert d6.shape == (40, 6)
    np.testing.assert_allclose(Q.cont6d_to_matrix(d6), m, atol=1e-12)
    back = Q.cont6d_to_quaternion(d6)
    assert np.minimum(np.abs(back - q).max(-1), np.abs(back + q).max(-1)).max() < 1e-9
    t6 = Q.quaternion_to_cont6d(torch.from_numpy(q))
    np.testing.assert_allclose(Q.cont6d_to_matrix(t6).numpy(), m, atol=1e-12)


def test_qfix_removes_sign_flips():
    q = np.repeat(_rand_quats(1, 7), 6, axis=0)
    q[[2, 4]] *= -1
    fixed = Q.qfix(q)
    assert (np.sum(fixed[1:] * fixed[:-1], -1) > 0).all()


@pytest.mark.parametrize("angle", [0.0, 0.5, -2.0, np.pi])
def test_y_rotation(angle):
    v = np.array([1.0, 2.0, 3.0])
    expected = Rotation.from_euler("y", angle).apply(v)
    np.testing.assert_allclose(Q.qrot(Q.y_rotation(np.array(angle)), v), expected, atol=1e-12)
