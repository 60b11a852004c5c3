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


def test_loop_strides_adds_and_removes_whole_steps_of_a_walk():
    """A rendered 6-step walk given one or two more strides, or one fewer: the kinematic checker (joints only) counts
    2 steps per stride, and the seams are as smooth as the walk itself."""
    from irgmotion.bench.kinematic import analyse
    from irgmotion.data.synth import render_program
    from irgmotion.motion.features import features_to_joints, joints_to_features
    from irgmotion.motion.timing import loop_strides
    walk = render_program({"actions": [{"name": "walk", "params": {"direction": "forward", "steps": 6}}]}, seed=0)
    f = joints_to_features(walk.astype(np.float64))

    def steps(features):
        return [o["steps"] for o in analyse(features_to_joints(features))["walk"]]
    assert steps(f) == [6]
    smooth = np.abs(np.diff(f[:, :4], axis=0)).max()
    for strides, expected in ((1, 8), (2, 10), (-1, 4)):
        g = loop_strides(f, strides)
        assert steps(g) == [expected]
        assert np.abs(np.diff(g[:, :4], axis=0)).max() < 2 * smooth  # root velocities: no jump at the seams
    assert loop_strides(f, 0) is None
    assert loop_strides(f, -3) is None  # a 6-step walk has fewer whole strides than that leaves one of
    assert loop_strides(f[:5], 1) is None  # no whole stride


def test_a_step_count_edit_of_a_walk_loops_strides():
    from irgmotion.engine.descriptions import read_description
    from irgmotion.engine.edits import interpret
    from irgmotion.engine.edits import stride_edit as _stride_edit
    walk = read_description("walk forward 4 steps")
    assert _stride_edit(interpret("take more steps", walk, walk), walk) == 2  # 4 -> 7: two strides, 8 steps
    assert _stride_edit(interpret("walk 2 steps", walk, walk), walk) == -1
    jump = read_description("walk forward 4 steps, then jump in place twice")
    assert _stride_edit(interpret("take more steps", jump, jump), jump) is None  # only a goal that is one walk
    assert _stride_edit(interpret("take more steps", walk, read_description("clap twice")),
                        read_description("clap twice")) is None  # the model saw no walk
