import json
import random

import numpy as np
import pytest

from irgmotion.data.annotations import read_annotations
from irgmotion.data.synth import validate_program
from irgmotion.engine.annotators import CaptionComparer, EndpointAnnotator
from irgmotion.engine.assessment import level_of
from irgmotion.engine.build import EngineConfig, build
from irgmotion.engine.programs import PERTURBATIONS, assess_programs, perturb, program_difference
from irgmotion.llm.templates import NO_REFINEMENT

GOAL = validate_program({"actions": [
    {"name": "walk", "params": {"direction": "forward", "steps": 4}, "upper": {"name": "wave", "params": {"hand": "right", "count": 2}}},
    {"name": "jump", "params": {"direction": "in_place", "count": 2, "height": 0.3}},
    {"name": "kick", "params": {"leg": "left", "direction": "forward", "count": 1, "height": 0.8}}]})


@pytest.mark.parametrize("kind, expected_kind, words", [
    ("wrong_side", "wrong_side", ["where the goal asks for"]),
    ("wrong_direction", "wrong_direction", ["instead of"]),
    ("wrong_count", "wrong_count", ["instead of"]),
    ("missing", "missing", ["missing"]),
    ("extra", "extra", ["does not ask for"]),
    ("order", "order", ["wrong order"]),
    ("amplitude", "amplitude", ["too small"]),
])
def test_near_miss_assessment_names_exactly_the_perturbation(kind, expected_kind, words):
    rng = random.Random(3)
    cand = perturb(GOAL, kind, rng)
    assert cand is not None and cand != GOAL
    _, diffs, _ = program_difference(GOAL, cand)
    assert [d.kind for d in diffs] == [expected_kind], diffs
    a = assess_programs(GOAL, cand, rng)
    assert a.level in (1, 2) and level_of(a.assessment) == a.level
    assert all(w in a.assessment for w in words)
    assert a.refinement != NO_REFINEMENT


def test_wrong_side_names_the_sides():
    cand = validate_program({"actions": [dict(GOAL.actions[0].to_dict(), upper={"name": "wave", "params": {"hand": "left", "count": 2}}),
                                         GOAL.actions[1].to_dict(), GOAL.actions[2].to_dict()]})
    a = assess_programs(GOAL, cand, random.Random(0))
    assert "the left hand where the goal asks for the right hand" in a.assessment
    assert "right hand" in a.refinement


def test_an_overlay_done_without_its_action_is_not_an_extra_to_leave_out():
    """"walk while waving" shown as a wave alone: the walk is missing; the wave is part of the goal, so the fix
    must not ask to leave it out (it did, and the model then refined against its own goal)."""
    cand = validate_program({"actions": [{"name": "wave", "params": {"hand": "right", "count": 2}},
                                         GOAL.actions[1].to_dict(), GOAL.actions[2].to_dict()]})
    _, diffs, _ = program_difference(GOAL, cand)
    assert [d.kind for d in diffs] == ["missing"]
    for style in ("compare", "aligned", "slots"):
        a = assess_programs(GOAL, cand, random.Random(0), style)
        assert "leave out" not in a.refinement and "extra" not in a.assessment, (style, a)
        assert "walk forward 4 steps" in a.refinement
    other = validate_program({"actions": [{"name": "clap", "params": {"count": 2}}, GOAL.actions[1].to_dict(),
                                          GOAL.actions[2].to_dict()]})
    assert [d.kind for d in program_difference(GOAL, other)[1]] == ["missing", "extra"]  # any other action is


def test_ground_truth_is_perfect_and_every_perturbation_differs():
    rng = random.Random(0)
    assert assess_programs(GOAL, GOAL, rng).refinement == NO_REFINEMENT
    for kind in PERTURBATIONS:
        cand = perturb(GOAL, kind, rng)
        if cand is not None:
            assert assess_programs(GOAL, cand, rng).level < 3, kind


def test_assessment_describes_the_candidate_before_judging_it():
    from irgmotion.engine.programs import phrase
    rng = random.Random(1)
    cand = perturb(GOAL, "wrong_count", rng)
    a = assess_programs(GOAL, cand, rng)
    asked = "The goal asks for: " + ", then ".join(phrase(x) for x in GOAL.actions) + "."
    shown = "The motion shows: " + ", then ".join(phrase(x) for x in cand.actions) + "."
    assert a.assessment.startswith(asked + " " + shown)
    # the level is stated after the comparison, so a model reasons before it judges
    assert a.assessment.index("Alignment is") > a.assessment.index("instead of")
    truth = assess_programs(GOAL, GOAL, rng)
    assert truth.level == 3 and truth.assessment.startswith(asked + " The motion shows: " + phrase(GOAL.actions[0]))


@pytest.mark.parametrize("kind, verdict", [
    ("missing", ": missing"), ("wrong_count", ": done, but "), ("extra", "; extra: "), ("order", "; order: wrong")])
def test_checklist_gives_one_verdict_per_goal_action_before_the_level(kind, verdict):
    from irgmotion.engine.programs import phrase
    rng = random.Random(5)
    cand = (validate_program({"actions": [a.to_dict() for a in GOAL.actions[:2]]}) if kind == "missing"
            else perturb(GOAL, kind, rng))
    a = assess_programs(GOAL, cand, random.Random(0), style="checklist")
    plain = assess_programs(GOAL, cand, random.Random(0))
    assert a.level == plain.level and a.refinement == plain.refinement  # same judgement, other wording
    check = a.assessment[a.assessment.index("Check: "):a.assessment.index("Alignment is")]
    assert verdict in check
    # every goal action is named, in order, each followed by its verdict
    positions = [check.index(phrase(g) + ": ") for g in GOAL.actions if kind != "missing" or phrase(g) in check]
    assert positions == sorted(positions) and len(positions) >= len(GOAL.actions) - 1
    perfect = assess_programs(GOAL, GOAL, random.Random(0), style="checklist")
    assert perfect.level == 3 and "missing" not in perfect.assessment and perfect.assessment.count(": done") == 3
    with pytest.raises(ValueError):
        assess_programs(GOAL, GOAL, rng, style="other")


@pytest.mark.parametrize("kind", ["wrong_side", "amplitude", "missing", "order"])
def test_aligned_checklist_writes_the_matching_motion_action_before_each_verdict(kind):
    from irgmotion.engine.programs import phrase
    cand = (validate_program({"actions": [a.to_dict() for a in GOAL.actions[:2]]}) if kind == "missing"
            else perturb(GOAL, kind, random.Random(5)))
    a = assess_programs(GOAL, cand, random.Random(0), style="aligned")
    plain = assess_programs(GOAL, cand, random.Random(0), style="checklist")
    assert a.level == plain.level and a.refinement == plain.refinement  # same judgement, other wording
    check = a.assessment[a.assessment.index("Check: ") + 7:a.assessment.index(" Alignment is")].rstrip(".")
    rows = [r.split(" | ") for r in check.split("; ") if " | " in r]
    assert [r[0] for r in rows] == [phrase(g) for g in GOAL.actions]  # every goal action, in order
    for goal_phrase, shown, verdict in rows:
        if verdict == "missing":
            assert kind == "missing" and shown == "shown: nothing"
        else:
            # the verdict says "done" exactly when the two adjacent phrases agree (a small action is marked)
            assert shown.startswith("shown: ") and (verdict == "done") == (shown[7:] == goal_phrase)
    if kind == "amplitude":
        assert "(small)" in a.assessment.split("Check: ")[0] and "too small" in check
    perfect = assess_programs(GOAL, GOAL, random.Random(0), style="aligned")
    assert perfect.level == 3 and "(small)" not in perfect.assessment and perfect.assessment.count("| done") == 3


@pytest.mark.parametrize("kind, slot", [
    ("wrong_side", "upper side right vs left wrong"), ("wrong_direction", "direction forward vs backward wrong"),
    ("wrong_count", "steps 4 vs 12 wrong"), ("amplitude", "size full vs small wrong"), ("order", "order: walk vs walk ok, jump vs kick wrong, kick vs jump wrong"),
    ("missing", "upper wave with the right hand twice vs nothing wrong")])
def test_slots_compare_each_parameter_next_to_its_goal_value(kind, slot):
    cand = perturb(GOAL, kind, random.Random(5))
    a = assess_programs(GOAL, cand, random.Random(0), style="slots")
    plain = assess_programs(GOAL, cand, random.Random(0))
    assert a.level == plain.level == level_of(a.assessment) and a.refinement == plain.refinement
    check = a.assessment[a.assessment.index("Check: ") + 7:a.assessment.index(" Alignment is")]
    assert slot in check
    # exactly the perturbed parameter is marked wrong; every other comparison agrees word for word
    verdicts = [s for row in check.rstrip(".").split("; ") for s in row.split(": ", 1)[1].split(", ")]
    wrong = [v for v in verdicts if v.endswith(" wrong")]
    # one wrong comparison, or for a swap the two positions it changed
    assert len(wrong) == (2 if kind == "order" else 1) and wrong[0] in slot
    for v in verdicts:
        if v.endswith(" ok") and not v.startswith("steps"):  # steps may differ by one or two
            goal_side, shown = v[:-3].split(" vs ")
            assert goal_side == shown or goal_side.endswith(" " + shown), v  # order rows name no slot
    perfect = assess_programs(GOAL, GOAL, random.Random(0), style="slots")
    assert perfect.level == 3 and " wrong" not in perfect.assessment and perfect.assessment.endswith(
        perfect.assessment[perfect.assessment.index("Alignment is perfect"):])
    assert "order: walk vs walk ok, jump vs jump ok, kick vs kick ok." in perfect.assessment


def test_slots_tolerate_a_step_count_off_by_one_or_two():
    near = validate_program({"actions": [dict(GOAL.actions[0].to_dict(), params={"direction": "forward", "steps": 5}),
                                         GOAL.actions[1].to_dict(), GOAL.actions[2].to_dict()]})
    a = assess_programs(GOAL, near, random.Random(0), style="slots")
    assert a.level == 3 and "steps 4 vs 5 ok" in a.assessment


def test_caption_comparer():
    cmp = CaptionComparer()
    assert cmp("a man kicks with his left leg", "a person kicks with the left leg").level == 3
    a = cmp("a man kicks with his left leg", "a man kicks with his right leg")
    assert a.level == 2 and "right" in a.assessment and "left" in a.refinement
    assert cmp("a person jumps forward", "a person waves the right hand").level == 0


def test_endpoint_annotator_falls_back_offline():
    ann = EndpointAnnotator("http://127.0.0.1:9", timeout=0.5)  # nothing listens there
    assert ann("a person jumps", "a person jumps").level == 3


def test_endpoint_annotator_reads_a_chat_reply():
    import http.server
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            reply = {"choices": [{"message": {"content": json.dumps(
                {"level": "partial", "assessment": "The jump is there but not the turn.", "refinement": "Add a turn."})}}]}
            body = json.dumps(reply).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        a = EndpointAnnotator(f"http://127.0.0.1:{server.server_port}")("a person jumps and turns", "a person jumps")
    finally:
        server.shutdown()
    assert a.level == 1 and a.refinement == "Add a turn." and "not the turn" in a.assessment
    assert a.assessment.startswith("The goal asks for: ") and a.assessment.endswith("Alignment is partial.")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from irgmotion.data.synth import write_corpus
    root = tmp_path_factory.mktemp("corpus") / "synth"
    write_corpus(root, 30, seed=1, workers=1)
    return root


def test_engine_builds_valid_annotations(corpus, tmp_path):
    out = tmp_path / "engine"
    summary = build(EngineConfig(data=str(corpus), out=str(out), limit=6, n_perturb=3, n_retrieval=2, workers=1),
                    log=lambda *a: None)
    assert summary["goals"] == 6
    files = sorted((out / "stage1").glob("*.json"))
    assert len(files) == 8
    tasks = set()
    for f in files:
        entries = read_annotations(f)
        tasks |= {e.effective_task for e in entries}
        for e in entries:
            for c in e.candidates:
                for ref in c.motions.values():
                    found = [(r / "new_joint_vecs" / f"{ref.motion_name}.npy").is_file() for r in (corpus, out / "motions")]
                    assert any(found), ref
    assert len(tasks) == 8
    pairs = read_annotations(out / "stage1" / "TM2T_assessment_analysis_annots.json")
    for e in pairs:
        for c in e.candidates:
            assert level_of(c.text["<Assessment_Analysis>"][0]) == c.meta["level"]
            if c.meta["source"] == "ground_truth":
                assert c.text["<Refinement_Instruction>"] == [NO_REFINEMENT]
    # near-miss motions are real renders with the standard feature layout
    near = sorted((out / "motions" / "new_joint_vecs").glob("P*.npy"))
    assert near and all(np.load(p).shape[1] == 263 for p in near)
    traces = read_annotations(out / "stage2_traces.json")
    for e in traces:
        for c in e.candidates:
            levels = [level_of(c.text[f"<Assess_Intermediate_Motion_{i}>"]["assessment"])
                      for i in range(4) if f"<Intermediate_Motion_{i}>" in c.motions]
            assert levels == sorted(levels) and all(lv < 3 for lv in levels)  # worst first, no perfect negatives
            assert c.text["<Assess_Goal_Motion>"]["refinement"] == NO_REFINEMENT
