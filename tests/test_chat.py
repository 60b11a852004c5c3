"""`irgmotion chat`, its session (irgmotion/session.py), `MotionReasoner.steer` and the instruction interpreter
(irgmotion/engine/edits.py), and the change judge of the chat benchmark (irgmotion/bench/changes.py).

The model's outputs are not checked word for word: the interpreter is tested on canonical goals, steer is given the
assessment it reads the goal from, and the scripted sessions check structure, files and messages."""
import io
import json
import sys

import numpy as np
import pytest

from irgmotion.cli import main
from irgmotion.engine.descriptions import read_description
from irgmotion.engine.edits import PACE_FACTOR, edit_instruction, goal_text, interpret, pace
from irgmotion.reason.bundle import EMBEDDED

needs_bundle = pytest.mark.skipif(not (EMBEDDED / "manifest.json").is_file(), reason="no embedded bundle")


def edits_of(goal: str, words: str) -> list[str]:
    program = read_description(goal)
    assert program is not None, goal
    return [e.describe() for e in interpret(words, program).edits]


# ---- the interpreter (no model) ----------------------------------------------------------------------------
@pytest.mark.parametrize("words", ["use the left hand instead", "switch hands", "other arm please",
                                   "left arm, not the right", "do it with your LEFT hand"])
def test_a_side_swap_in_many_words(words):
    assert edits_of("raise the arm(s) overhead with the right hand", words) == ["raise the arm(s): hand right -> left"]


@pytest.mark.parametrize("goal, words, expected", [
    ("raise the arm(s) overhead with the right hand", "both arms", ["raise the arm(s): hand right -> both"]),
    ("hop on one leg in place with the right leg 3 times", "hop on the other foot",
     ["hop on one leg: leg right -> left"]),
    ("kick forward with the right leg once", "kick with your left leg", ["kick: leg right -> left"]),
    ("jump in place twice", "jump more times", ["jump: count 2 -> 4"]),
    ("jump in place twice", "one more jump", ["jump: count 2 -> 3"]),
    ("jump in place twice", "make it five jumps", ["jump: count 2 -> 5"]),
    ("jump in place twice", "only once", ["jump: count 2 -> 1"]),
    ("walk forward 4 steps", "take more steps", ["walk: steps 4 -> 7"]),
    ("walk forward 4 steps", "fewer steps", ["walk: steps 4 -> 2"]),
    ("jump in place twice", "jump higher", ["jump: height 0.25 -> 0.4"]),
    ("jump in place twice", "smaller jumps", ["jump: height 0.25 -> 0.125"]),
    ("squat once", "go lower", ["squat: depth 0.8 -> 1.0"]),
    ("squat once", "not so low", ["squat: depth 0.8 -> 0.4"]),
    ("raise the arm(s) sideways with the right hand", "lift it above your head",
     ["raise the arm(s): direction sideways -> overhead"]),
    ("walk forward 4 steps", "go backwards instead", ["walk: direction forward -> backward"]),
    ("walk forward 4 steps", "the other way", ["walk: direction forward -> backward"]),
    ("walk to the left 4 steps", "go the other way", ["walk: direction left -> right"]),
    ("turn on the spot to the left by 90 degrees", "turn the other way", ["turn on the spot: direction left -> right"]),
    ("turn on the spot to the left by 90 degrees", "clockwise", ["turn on the spot: direction left -> right"]),
    ("turn on the spot to the left by 90 degrees", "turn 180 degrees", ["turn on the spot: angle 90 -> 180"]),
    ("walk forward 4 steps", "walk faster", ["walk: speed 1.0 -> 1.45"]),
    ("walk forward 4 steps", "slow down", ["walk: speed 1.0 -> 0.65"]),
    ("walk forward 4 steps while doing this: wave with the right hand 3 times", "stop waving", ["remove: wave"]),
    ("squat once, then jump in place once", "skip the squat", ["remove: squat"]),
    ("jump in place twice", "and then clap", ["add: clap"]),
    ("walk forward 4 steps", "wave while walking", ["add: wave"]),
    ("jump in place twice", "squat instead of jumping", ["replace: jump -> squat"]),
    ("squat once, then jump in place once", "don't jump so high", ["jump: height 0.25 -> 0.125"]),
    ("walk forward 4 steps", "walk more slowly", ["walk: speed 1.0 -> 0.65"]),
    ("walk forward 4 steps", "walk back more steps", ["walk: direction forward -> backward", "walk: steps 4 -> 7"]),
])
def test_instructions_become_edits_of_the_goal(goal, words, expected):
    assert edits_of(goal, words) == expected


def test_words_that_name_no_change_give_no_edit():
    for words in ("hello there", "do it better", "make it nicer"):
        assert edits_of("wave with the right hand 3 times", words) == []
    # understood, but not possible: a note instead of an edit
    reading = interpret("skip the jump", read_description("jump in place twice"))
    assert not reading.understood and any("only action" in n for n in reading.notes)


def test_the_edit_is_written_in_the_training_grammar():
    old = read_description("raise the arm(s) overhead with the right hand")
    reading = interpret("use the left hand instead", old)
    text = edit_instruction(reading.goal, old, reading.edits, motion=old)
    assert "raise the arm(s) with the left hand instead of the right hand" in text.lower()
    caption = goal_text(reading.goal, reading.edits)
    assert "left" in caption and "right" not in caption
    old = read_description("jump in place twice")
    reading = interpret("jump higher", old)
    assert "make the jump bigger" in edit_instruction(reading.goal, old, reading.edits).lower()
    # against the motion as perceived: the rule's fixes for it come too
    motion = read_description("jump in place once")
    reading = interpret("three jumps", old)
    assert "jump 3 times" in edit_instruction(reading.goal, old, reading.edits, motion=motion).lower()


@pytest.mark.parametrize("words, factor", [("walk faster", PACE_FACTOR), ("hurry up", PACE_FACTOR),
                                           ("slow down", 1 / PACE_FACTOR), ("do it more slowly", 1 / PACE_FACTOR),
                                           ("jump higher", None), ("faster, no, slower", None)])
def test_a_pace_in_words(words, factor):
    assert pace(words) == (None if factor is None else pytest.approx(factor))


def test_more_or_fewer_count_from_the_motion_the_user_watched():
    goal = read_description("walk forward 10 steps")
    fewer_than_seen = interpret("not so many steps", goal, read_description("walk forward 4 steps"))
    assert [(e.param, e.old) for e in fewer_than_seen.edits] == [("steps", 10)]
    assert fewer_than_seen.edits[0].new < 4
    # a motion with more steps than asked: "fewer" counts from the goal, as before
    assert interpret("not so many steps", goal, read_description("walk forward 12 steps")).edits[0].new == \
        interpret("not so many steps", goal).edits[0].new < 10
    jumps = interpret("jump more times", read_description("jump in place twice"), read_description("jump in place 3 times"))
    assert jumps.edits[0].new > 3


# ---- the change judge (no model: corpus renderings) ------------------------------------------------------------
def test_the_change_judge_reads_joints():
    from irgmotion.bench.changes import judge, measure
    from irgmotion.data.synth import render_program
    right = measure(render_program({"actions": [{"name": "raise_arm", "params": {"hand": "right"}}]}, seed=1))
    left = measure(render_program({"actions": [{"name": "raise_arm", "params": {"hand": "left"}}]}, seed=1))
    assert judge(["hand", "left"], right, left)[0] and not judge(["hand", "left"], left, right)[0]
    once = measure(render_program({"actions": [{"name": "jump", "params": {"count": 1}}]}, seed=2))
    thrice = measure(render_program({"actions": [{"name": "jump", "params": {"count": 3, "height": 0.45}}]}, seed=2))
    assert judge(["count", "jump", "more"], once, thrice)[0] and not judge(["count", "jump", "more"], thrice, once)[0]
    assert judge(["count", "jump", "3"], once, thrice)[0]
    assert judge(["size", "jump", "up"], once, thrice)[0] and judge(["size", "jump", "down"], thrice, once)[0]
    fwd = measure(render_program({"actions": [{"name": "walk"}]}, seed=3))
    back = measure(render_program({"actions": [{"name": "walk", "params": {"direction": "backward"}}]}, seed=3))
    assert judge(["walk", "backward"], fwd, back)[0] and not judge(["walk", "backward"], back, fwd)[0]
    tl = measure(render_program({"actions": [{"name": "turn", "params": {"direction": "left"}}]}, seed=4))
    tr = measure(render_program({"actions": [{"name": "turn", "params": {"direction": "right"}}]}, seed=4))
    assert judge(["turn", "flip"], tl, tr)[0] and not judge(["turn", "flip"], tl, tl)[0]


# ---- steer (the embedded bundle) -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def reasoner():
    from irgmotion.api import MotionReasoner
    return MotionReasoner.from_pretrained()


RAISE_RIGHT = ("The goal asks for: raise the arm(s) overhead with the right hand. The motion shows: raise the arm(s) "
               "overhead with the right hand. Check: fine. Alignment is perfect.")


@needs_bundle
def test_steer_reads_the_words_and_tells_the_model_in_its_grammar(reasoner):
    from irgmotion.data.synth import render_program
    joints = render_program({"actions": [{"name": "raise_arm", "params": {"hand": "right"}}]}, seed=0)
    # the model's own description of the motion shows the left hand: a mirror would undo the edit, the model refines
    shown_left = RAISE_RIGHT.replace("motion shows: raise the arm(s) overhead with the right hand",
                                     "motion shows: raise the arm(s) overhead with the left hand")
    steered = reasoner.steer("a person raises their right arm", joints, "use the left hand instead",
                             assessment=shown_left)
    assert steered.interpreted and steered.edits == ["raise the arm(s): hand right -> left"]
    assert steered.instruction == "use the left hand instead"
    # the rule's fix, or the whole updated goal, in the grammar; the model's assessment picked one
    assert "raise the arm(s)" in steered.canonical.lower() and "with the left hand" in steered.canonical
    assert [(a["name"], a["params"]["hand"]) for a in steered.program["actions"]] == [("raise_arm", "left")]
    assert "left" in steered.goal and "right" not in steered.goal
    assert steered.motion.rounds[0].refinement == steered.canonical
    assert steered.assessment is not None and steered.assessment["text"] == steered.goal
    # words it cannot read go to the model unchanged, with a warning
    thin = reasoner.steer("a person raises their right arm", joints, "make it nicer", assessment=RAISE_RIGHT)
    assert not thin.interpreted and thin.canonical == "make it nicer" and thin.goal == "a person raises their right arm"
    assert any("passed to the model unchanged" in w for w in thin.warnings)
    with pytest.raises(ValueError, match="instruction"):
        reasoner.steer("a person raises their right arm", joints, "   ")


@needs_bundle
def test_a_side_swap_of_the_whole_goal_mirrors_the_motion(reasoner):
    """"use the left hand instead" on a right-arm raise: the updated goal is the old one mirrored, so the motion is
    mirrored (joints only judge), named as such, and assessed against the updated goal."""
    from irgmotion.api import MIRRORED, applied_without_model
    from irgmotion.bench.changes import judge, measure
    from irgmotion.data.synth import render_program
    joints = render_program({"actions": [{"name": "raise_arm", "params": {"hand": "right"}}]}, seed=0)
    steered = reasoner.steer("a person raises their right arm", joints, "use the left hand instead",
                             assessment=RAISE_RIGHT)
    assert steered.canonical == MIRRORED and applied_without_model(steered.canonical)
    assert steered.edits == ["raise the arm(s): hand right -> left"] and "left" in steered.goal
    assert judge(["hand", "left"], measure(joints), measure(steered.motion.joints))[0]
    assert steered.assessment["text"] == steered.goal
    assert steered.motion.rounds[0].tokens == reasoner.bundle.vq.encode([steered.motion.features])[0].tolist()


@needs_bundle
def test_a_pace_retimes_the_motion(reasoner):
    """The grammar has no pace: "faster" / "slower" play the motion itself faster or slower (joints only judge)."""
    from irgmotion.bench.changes import judge, measure
    from irgmotion.data.synth import render_program
    joints = render_program({"actions": [{"name": "walk", "params": {"steps": 6}}]}, seed=0)
    walk = ("The goal asks for: walk forward 6 steps. The motion shows: walk forward 6 steps. Check: fine. "
            "Alignment is perfect.")
    before = measure(joints)
    faster = reasoner.steer("a person walks forward six steps", joints, "walk faster", assessment=walk)
    slower = reasoner.steer("a person walks forward six steps", joints, "slower please", assessment=walk)
    assert judge(["speed", "up"], before, measure(faster.motion.joints))[0]
    assert judge(["speed", "down"], before, measure(slower.motion.joints))[0]
    assert len(faster.motion.joints) < len(joints) < len(slower.motion.joints)
    assert faster.canonical == f"retimed x{PACE_FACTOR:.2f}" and faster.assessment["text"] == faster.goal
    # the tokens encode the retimed motion, for the next refinement to start from
    assert faster.motion.rounds[0].tokens == reasoner.bundle.vq.encode([faster.motion.features])[0].tolist()
    # a pace on an action the grammar gives none (a wave) is still applied, without the unread-words warning
    wave = render_program({"actions": [{"name": "wave", "params": {"hand": "right", "count": 3}}]}, seed=0)
    waved = reasoner.steer("a person waves with the right hand", wave, "wave faster")
    assert len(waved.motion.joints) < len(wave) and not any("could not read" in w for w in waved.warnings)


# ---- the command ---------------------------------------------------------------------------------------------
def chat(monkeypatch, capsys, argv, lines):
    monkeypatch.setattr(sys, "stdin", io.StringIO("".join(f"{line}\n" for line in lines)))
    code = main(["chat", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@needs_bundle
def test_a_scripted_session_then_resume(tmp_path, monkeypatch, capsys):
    session = tmp_path / "talk.json"
    code, out, err = chat(monkeypatch, capsys, ["--session", str(session)], [
        "a person jumps twice", "", "jump higher", "undo", "take more steps and jump four times", "rounds",
        f"save {tmp_path / 'm.npy'}", f"save {tmp_path / 'm.bvh'}", f"save {tmp_path / 'm.txt'}", "help", "quit",
        "this line is never read"])
    assert code == 0, err
    assert "> a person jumps twice" in out and "Analysis:" in out and "Round 1:" in out and "Answer: round" in out
    assert "(empty line" in out  # an empty instruction is answered, not a crash
    assert "Read as: jump: height 0.25 -> 0.4" in out or "warning: could not read" in out
    assert "undone; back to: a person jumps twice" in out
    assert "Told the model:" in out and "Goal now:" in out and "Level:" in out
    assert "Instruction 1: 'take more steps and jump four times'" in out
    assert "unknown suffix" in out and "undo         go back" in out and "never read" not in out
    joints = np.load(tmp_path / "m.npy")
    assert joints.ndim == 3 and joints.shape[1:] == (22, 3)
    assert (tmp_path / "m.bvh").read_text().startswith("HIERARCHY")
    doc = json.loads(session.read_text())
    assert doc["format"] == "irgmotion-chat-session" and [t["kind"] for t in doc["turns"]] == ["goal", "instruction"]
    assert all(isinstance(v, int) for v in doc["turns"][1]["tokens"]) and doc["turns"][1]["canonical"]
    # resume: the same turns, the motion decoded again, and the conversation goes on
    code, out, err = chat(monkeypatch, capsys, ["--session", str(session)], ["rounds", "undo", "undo", "undo"])
    assert code == 0, err
    assert "resumed" in out and "2 turn(s)" in out and "Instruction 1:" in out
    assert "no goal now" in out and "error: nothing to undo" in out
    assert json.loads(session.read_text())["turns"] == []


@needs_bundle
def test_bad_input_is_one_line(tmp_path, monkeypatch, capsys):
    bad = tmp_path / "bad.json"
    for content in (b"{not json", b"\xff\xfe", json.dumps({"format": "something else"}).encode(),
                    json.dumps({"format": "irgmotion-chat-session", "version": 1, "turns": [
                        {"kind": "goal", "text": "a", "goal": "a", "tokens": [10**9]}]}).encode(),
                    json.dumps({"format": "irgmotion-chat-session", "version": 1, "turns": [
                        {"kind": "instruction", "text": "a", "goal": "a", "tokens": None}]}).encode()):
        bad.write_bytes(content)
        code, out, err = chat(monkeypatch, capsys, ["--session", str(bad)], ["quit"])
        assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, err
        assert err.startswith("error: --session ") and str(bad) in err and "Traceback" not in err
        assert bad.read_bytes() == content  # never rewritten
    code, out, err = chat(monkeypatch, capsys, ["--session", str(tmp_path / "new.txt")], [])
    assert code == 2 and "must end in .json" in err and len(err.strip().splitlines()) == 1
    code, out, err = chat(monkeypatch, capsys, ["\x1b[31m"], [])
    assert code == 2 and "control character" in err
    code, out, err = chat(monkeypatch, capsys, ["--verdict", "maybe"], [])
    assert code == 2 and "--verdict" in err and len(err.strip().splitlines()) == 1
    # in the conversation, bad lines are answered and the session goes on
    code, out, err = chat(monkeypatch, capsys, [], ["walk", "x" * 3000, "\x1b[31mred", "save", "new ", "quit"])
    assert code == 0 and "characters; keep it under" in out and "save needs a path" in out
    assert "the goal text is empty" in out and "control character" in out
    assert "> \\x1b[31mred" in out and "\x1b" not in out  # echoed escaped, never sent to the terminal
