"""A side swap of the whole goal is made by mirroring the motion (engine.edits.is_mirror_edit,
motion.skeleton.mirror_joints): when it applies, and what the mirror does to the joints."""
import numpy as np

from irgmotion.engine.descriptions import read_description
from irgmotion.engine.edits import interpret, is_mirror_edit
from irgmotion.motion.skeleton import HUMANML3D, KIT, mirror_joints


def test_mirror_swaps_left_and_right_joints_and_negates_x():
    rng = np.random.default_rng(0)
    joints = rng.normal(size=(5, 22, 3))
    m = mirror_joints(joints, HUMANML3D)
    names = HUMANML3D.joint_names
    left, right = names.index("left_wrist"), names.index("right_wrist")
    assert np.allclose(m[:, left], joints[:, right] * [-1, 1, 1])
    assert np.allclose(m[:, 0], joints[:, 0] * [-1, 1, 1])  # the pelvis has no twin
    assert np.allclose(mirror_joints(m, HUMANML3D), joints)
    k = mirror_joints(rng.normal(size=(3, 21, 3)), KIT)
    assert np.allclose(mirror_joints(k, KIT), mirror_joints(mirror_joints(mirror_joints(k, KIT), KIT), KIT))


def _edit(goal: str, words: str, shown: str | None = None):
    old = read_description(goal)
    reading = interpret(words, old, read_description(shown or goal))
    return old, reading.goal, read_description(shown or goal)


def test_a_side_swap_of_a_one_sided_goal_is_a_mirror():
    assert is_mirror_edit(*_edit("raise the arm(s) overhead with the right hand", "use the left hand instead"))
    assert is_mirror_edit(*_edit("hop on one leg in place with the right leg 3 times", "hop on the other foot"))


def test_no_mirror_when_another_part_has_a_side_or_nothing_changes():
    # the turn keeps its side: mirroring the motion would turn it the other way
    goal = "wave with the right hand twice, then turn on the spot to the left by 90 degrees"
    assert not is_mirror_edit(*_edit(goal, "use the left hand instead"))
    # a count is not a side
    assert not is_mirror_edit(*_edit("jump in place twice", "jump three times"))
    # the motion as described shows the other side already: mirroring it would undo the edit
    assert not is_mirror_edit(*_edit("raise the arm(s) overhead with the right hand", "use the left hand instead",
                                     shown="raise the arm(s) overhead with the left hand"))
    old = read_description("jump in place twice")
    assert not is_mirror_edit(old, old, old)


def test_a_side_swap_trusts_the_user_where_the_description_names_no_side():
    # the model saw both arms raised; the user, who watched the motion, asks for the other arm: mirror it
    assert is_mirror_edit(*_edit("raise the arm(s) overhead with the left hand", "now the other arm",
                                 shown="raise the arm(s) overhead with both hands"))
    # a motion described as other actions is left to the model's refinement: a mirrored clap is no punch
    assert not is_mirror_edit(*_edit("punch with the right hand twice", "punch with the left fist",
                                     shown="clap twice"))


def test_features_mirror_as_the_joints_do():
    """mirror_features gives the joints of the mirrored joints exactly, and the features the datasets' processing
    computes from them within its inverse kinematics' smoothing."""
    from irgmotion.data.synth import render_program
    from irgmotion.motion.features import features_to_joints, joints_to_features, mirror_features
    joints = render_program({"actions": [{"name": "wave", "params": {"hand": "right", "count": 2}},
                                         {"name": "kick", "params": {"leg": "left"}},
                                         {"name": "turn", "params": {"direction": "left"}}]}, seed=1)
    f = joints_to_features(joints.astype(np.float64))
    g = mirror_features(f)
    assert np.allclose(features_to_joints(g), mirror_joints(features_to_joints(f), HUMANML3D), atol=1e-9)
    assert np.allclose(mirror_features(g), f)
    direct = joints_to_features(mirror_joints(joints.astype(np.float64), HUMANML3D))
    assert np.abs(direct[:, 67:193] - g[:, 67:193]).mean() < 5e-3  # the 6-D rotations: a sign error gives ~0.9
