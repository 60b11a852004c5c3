"""irgmotion/motion/timing.py: resampling to another frame rate and retiming a motion faster or slower."""
import numpy as np
import pytest

from irgmotion.motion.timing import resample, retime


def walking_line(frames: int = 41, step: float = 0.05) -> np.ndarray:
    """22 joints moving forward `step` metres a frame."""
    t = np.arange(frames, dtype=np.float64)[:, None, None]
    return np.broadcast_to(np.array([0.0, 0.0, 1.0]) * step * t, (frames, 22, 3)) + np.arange(22)[None, :, None]


def test_resample_keeps_the_duration():
    joints = walking_line(61)  # 2 s at 30 fps
    out = resample(joints, 30.0, 20.0)
    assert len(out) == 41 and np.allclose(out[-1], joints[-1]) and np.allclose(np.diff(out[:, 0, 2]), 0.075)
    assert resample(joints, 20.0, 20.0) is joints


@pytest.mark.parametrize("factor", [2.0, 1.5, 0.5])
def test_retime_scales_the_speed_and_keeps_the_path(factor):
    joints = walking_line()
    out = retime(joints, factor)
    assert len(out) == int(np.floor((len(joints) - 1) / factor + 1e-6)) + 1
    assert np.allclose(np.diff(out[:, 0, 2]), 0.05 * factor)
    assert np.allclose(out[0], joints[0]) and out[-1, 0, 2] <= joints[-1, 0, 2] + 1e-9


def test_retime_refuses_a_bad_factor_and_keeps_two_frames():
    with pytest.raises(ValueError, match="retime factor"):
        retime(walking_line(), 0.0)
    with pytest.raises(ValueError, match="retime factor"):
        retime(walking_line(), float("nan"))
    assert len(retime(walking_line(3), 10.0)) == 2
