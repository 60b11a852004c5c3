"""The Python API (`irgmotion.MotionReasoner`) and the commands over it: assess, caption, generate --prompts.

Model outputs are not checked word for word (the tests pass with any LLM in the embedded bundle): structure,
validation, the JSON schema, and that a batch is one decoding call."""
import json
import re
from pathlib import Path

import numpy as np
import pytest

from irgmotion.cli import main
from irgmotion.reason.bundle import EMBEDDED
from irgmotion.reason.replies import (
    read_assessment,
    read_caption,
    read_instruction,
    rule_assessment,
)

REPO = Path(__file__).resolve().parents[1]
needs_bundle = pytest.mark.skipif(not (EMBEDDED / "manifest.json").is_file(), reason="no embedded bundle")
RESULT_KEYS = {"text", "level", "level_name", "score", "assessment", "refinement", "verdict", "warnings"}


# ---- the replies' readers (no model) ---------------------------------------------------------------------
def test_a_caption_is_its_first_line():
    assert read_caption(" a man jumps. ") == ("a man jumps.", [])
    caption, warnings = read_caption("a person walks forwards.[/ specific]\n[plan]I need to assess")
    assert caption == "a person walks forwards." and warnings
    caption, warnings = read_caption("<Motion><Motion_3></Motion>")
    assert caption == "" and any("no caption" in w for w in warnings)


def test_an_assessment_states_a_level_or_none_with_a_warning():
    text, level, warnings = read_assessment("The motion comes close. Alignment is close. Good.\nRefinement: x")
    assert level == 2 and text.endswith("Good.") and not warnings  # the trace format's refinement part is expected
    text, level, warnings = read_assessment("ake the jump bigger.[/assess]\n[plan]...")
    assert level is None and text == "ake the jump bigger." and any("no alignment level" in w for w in warnings)
    assert read_instruction("Refinement: To fix it, jump twice.\n[/assess]")[0] == "To fix it, jump twice."


def test_the_rule_judges_canonical_descriptions():
    model = ("The goal asks for: jump in place twice. The motion shows: walk forward 4 steps. Check: nonsense. "
             "Alignment is perfect. Fine.")
    assessment, level, refinement = rule_assessment(model, "aligned")
    assert level == 0 and "Alignment is poor" in assessment and refinement and "nonsense" not in assessment
    assert assessment.startswith("The goal asks for: jump in place twice. The motion shows: walk forward 4 steps.")
    assert rule_assessment("Alignment is close.", "aligned") is None


# ---- the API on the embedded bundle ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def reasoner():
    from irgmotion import MotionReasoner
    return MotionReasoner.from_pretrained(max_rounds=1)


@pytest.fixture(scope="module")
def sample(reasoner):
    """A decoded motion (features, joints) from a few motion tokens: any length the tokenizer makes."""
    from irgmotion.motion.features import features_to_joints
    feats = reasoner.bundle.vq.decode([[5, 17, 40, 3, 99, 12]])[0]
    return feats, features_to_joints(feats.astype(np.float64)).astype(np.float32)


@pytest.fixture
def shared_bundle(reasoner, monkeypatch):
    """Commands load the embedded bundle through `load_bundle`; here they get the one already loaded."""
    import irgmotion.reason.bundle as bundle_module
    real = bundle_module.load_bundle
    monkeypatch.setattr(bundle_module, "load_bundle",
                        lambda path=None, device="cpu": reasoner.bundle if path is None else real(path, device))


def _calls(monkeypatch, obj, name):
    """Record the batch size of each call of obj.name (obj: an instance, or a class whose method it is)."""
    sizes, real = [], getattr(obj, name)

    def wrapped(*args, **kwargs):
        items = args[1] if isinstance(obj, type) else args[0]  # on a class, `self` comes first
        sizes.append(len(items))
        return real(*args, **kwargs)
    monkeypatch.setattr(obj, name, wrapped)
    return sizes


@needs_bundle
def test_readme_api_example_runs(tmp_path, monkeypatch):
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    code = re.search(r"<!-- api-example -->\s*```python\n(.*?)```", readme, re.DOTALL).group(1)
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(compile(code, "README.md (api-example)", "exec"), scope)  # noqa: S102 (the README's own code)
    m = scope["m"]
    assert m.joints.shape == (len(m.features), 22, 3) and m.features.shape[1] == 263
    assert np.array_equal(np.load(tmp_path / "jump.npy"), m.joints)
    assert (tmp_path / "jump.bvh").read_text().startswith("HIERARCHY")
    assert len(scope["many"]) == 2 and set(scope["result"]) == RESULT_KEYS
    assert len(scope["results"]) == 2


@needs_bundle
def test_assess_and_caption_are_batched_and_cut(reasoner, sample, monkeypatch):
    feats, joints = sample
    assess = _calls(monkeypatch, reasoner.reasoner, "assess")
    caption = _calls(monkeypatch, reasoner.reasoner, "caption")
    rows = reasoner.assess(["a person jumps twice", "someone walks forward", "a person waves"],
                           [joints, feats, np.concatenate([feats] * 40)])  # the last: 960 frames, cut to 196
    assert assess == [3]
    for row in rows:
        assert set(row) == RESULT_KEYS and row["verdict"] in ("rule", "model")
        assert row["level"] in (None, 0, 1, 2, 3)
        assert row["score"] == (None if row["level"] is None else row["level"] / 3)
        assert "\n" not in row["assessment"] and "[/" not in row["assessment"]
        assert row["level"] is not None or any("no alignment level" in w for w in row["warnings"])
    assert any("first 196" in w for w in rows[2]["warnings"])
    captions = reasoner.caption([joints, feats])
    assert caption == [2] and len(captions) == 2
    assert all(isinstance(c, str) and "\n" not in c and "<Motion" not in c and "[" not in c for c in captions)


@needs_bundle
def test_refine_and_steer_are_batched_and_give_motions(reasoner, sample, monkeypatch):
    feats, joints = sample
    refine = _calls(monkeypatch, reasoner.reasoner, "refine")
    out = reasoner.refine([joints, feats], ["Jump twice.", "Walk forward 4 steps."], goals=["a person jumps", "a man walks"])
    assert refine == [2] and [m.goal for m in out] == ["a person jumps", "a man walks"]
    for m in out:
        assert m.answer_round == 0 and len(m.rounds) == 1 and m.joints.shape == (len(m.features), 22, 3)
    caption = _calls(monkeypatch, reasoner.reasoner, "caption")
    one = reasoner.refine(feats, "Jump twice.")  # no goal: the model's caption of the motion stands in
    assert caption == [1] and one.goal and one.rounds[0].refinement == "Jump twice."
    steered = reasoner.steer("a person jumps twice", joints, "jump three times")
    assert steered.instruction == "jump three times" and steered.goal and steered.motion.joints is not None


@needs_bundle
@pytest.mark.parametrize("call, message", [
    (lambda r, f, j: r.refine([f, f], ["a"]), "one instruction per motion"),
    (lambda r, f, j: r.refine(f, "a", goals=["x", "y"]), "goals"),

    (lambda r, f, j: r.assess("", j), "empty"),
    (lambda r, f, j: r.assess("a person jumps", np.full_like(j, np.nan)), "NaN"),
    (lambda r, f, j: r.assess("a person jumps", f[:, :100]), "neither features nor joints"),
    (lambda r, f, j: r.assess(["a", "b"], [f]), "2 texts but 1 motions"),
    (lambda r, f, j: r.assess("a person jumps", [f, f]), "one text with one motion"),
    (lambda r, f, j: r.caption([f, f[:3]]), "motions[1]: 3 frame(s)"),
    (lambda r, f, j: r.caption(j * 1000), "motion"),
    (lambda r, f, j: r.caption([]), "empty list"),
    (lambda r, f, j: r.generate(["a person jumps", " "]), "text[1]"),
    (lambda r, f, j: r.generate("a person jumps", max_rounds=0), "max_rounds"),
])
def test_bad_input_is_a_clear_value_error(reasoner, sample, call, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        call(reasoner, *sample)


# ---- the commands ---------------------------------------------------------------------------------------------
def _refused(capsys, argv, match):
    assert main([str(a) for a in argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and match in err, err
    return err


@needs_bundle
def test_assess_and_caption_commands(tmp_path, sample, shared_bundle, capsys):
    feats, joints = sample
    np.save(tmp_path / "a.npy", joints)
    (tmp_path / "sub").mkdir()
    np.save(tmp_path / "sub" / "b.npy", feats)
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text('{"text": "a person jumps twice", "motion": "a.npy"}\n\n'
                     '{"text": "someone walks forward", "motion": "sub/b.npy"}\n')
    out = tmp_path / "res.jsonl"
    assert main(["assess", "--pairs", str(pairs), "--out", str(out), "--json"]) == 0
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    written = [json.loads(line) for line in out.read_text().splitlines()]
    assert printed == written and [r["line"] for r in written] == [1, 3]
    for r in written:
        assert set(r) == RESULT_KEYS | {"motion", "line", "similarity"}
        assert r["similarity"] is None or set(r["similarity"]) == {"evaluator", "distance", "similarity"}

    assert main(["assess", "a person jumps twice", str(tmp_path / "a.npy")]) == 0
    assert "level:" in capsys.readouterr().out
    assert main(["caption", str(tmp_path / "a.npy"), str(tmp_path / "sub" / "b.npy"), "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [set(r) for r in rows] == [{"motion", "caption", "warnings"}] * 2


def test_assess_and_caption_refuse_bad_input(tmp_path, capsys):
    np.save(tmp_path / "nan.npy", np.full((40, 263), np.nan, np.float32))
    np.save(tmp_path / "ok.npy", np.zeros((40, 263), np.float32))
    pairs = tmp_path / "p.jsonl"
    _refused(capsys, ["assess", "--pairs", tmp_path / "none.jsonl"], "file not found")
    pairs.write_text("")
    _refused(capsys, ["assess", "--pairs", pairs], "no pairs")
    pairs.write_text('{"text": "a person jumps", "motion": "ok.npy"}\n{"text": "x", "motion": "nan.npy"}\n')
    _refused(capsys, ["assess", "--pairs", pairs], f"{pairs}:2: {tmp_path / 'nan.npy'}: contains NaN")
    pairs.write_text('{"text": "a person jumps", "motion": "ok.npy"}\n{"text": "x"\n')
    _refused(capsys, ["assess", "--pairs", pairs], f"{pairs}:2: not valid JSON")
    pairs.write_text('{"text": "", "motion": "ok.npy"}\n')
    _refused(capsys, ["assess", "--pairs", pairs], f"{pairs}:1: the goal text is empty")
    _refused(capsys, ["assess", "a person jumps", tmp_path / "missing.npy"], "file not found")
    _refused(capsys, ["assess", "a person jumps"], "give TEXT and MOTION.npy")
    _refused(capsys, ["assess", "a person jumps", tmp_path / "ok.npy", "--out", tmp_path / "r.txt"], ".jsonl")
    _refused(capsys, ["caption", tmp_path / "ok.npy", tmp_path / "nan.npy"], "nan.npy: contains NaN")
    np.save(tmp_path / "short.npy", np.zeros((3, 263), np.float32))
    _refused(capsys, ["caption", tmp_path / "short.npy"], "at least 4 are needed")
    assert not (tmp_path / "r.txt").exists()


@needs_bundle
def test_generate_prompts_writes_a_folder_per_goal_in_one_call(tmp_path, reasoner, shared_bundle, capsys,
                                                               monkeypatch):
    from irgmotion.reason.pipeline import Reasoner
    sizes = _calls(monkeypatch, Reasoner, "interleaved")  # on the class: the command builds its own Reasoner
    prompts = tmp_path / "goals.jsonl"
    prompts.write_text('{"text": "a person jumps twice"}\n\n{"text": "someone walks forward", "seed": 2}\n')
    out = tmp_path / "batch"
    assert main(["generate", "--prompts", str(prompts), "--out", str(out), "--no-render", "--max-rounds", "1",
                 "--max-new-tokens", "300"]) == 0, capsys.readouterr().err
    assert sizes == [2]
    index = [json.loads(line) for line in (out / "index.jsonl").read_text().splitlines()]
    assert [(r["folder"], r["line"]) for r in index] == [("0001", 1), ("0002", 3)]
    for row in index:
        folder = out / row["folder"]
        trace = json.loads((folder / "trace.json").read_text())
        assert trace["goal"] == row["goal"] and sorted(p.name for p in folder.iterdir()) == sorted(row["files"])
        if row["frames"]:
            assert np.load(folder / "final_joints.npy").shape == (row["frames"], 22, 3)


def test_generate_prompts_refuses_bad_files_before_any_work(tmp_path, capsys):
    out = tmp_path / "batch"
    f = tmp_path / "goals.jsonl"
    _refused(capsys, ["generate", "--prompts", tmp_path / "none.txt", "--out", out], "file not found")
    f.write_text("\n  \n")
    _refused(capsys, ["generate", "--prompts", f, "--out", out], f"{f}: no prompts")
    f.write_text('{"text": "a person jumps"}\n{"text": "a person jumps"\n')
    _refused(capsys, ["generate", "--prompts", f, "--out", out], f"{f}:2: not valid JSON")
    f.write_text('{"text": "a person jumps"}\n\n{"goal": "a person jumps"}\n')
    _refused(capsys, ["generate", "--prompts", f, "--out", out], f"{f}:3: unknown key 'goal'")
    f.write_text('{"seed": 1}\n')
    _refused(capsys, ["generate", "--prompts", f, "--out", out], f'{f}:1: no "text"')
    f.write_text('{"text": "a person jumps", "max_rounds": 0}\n')
    _refused(capsys, ["generate", "--prompts", f, "--out", out], f"{f}:1: 'max_rounds' must be an integer")
    t = tmp_path / "goals.txt"
    t.write_text("a person jumps\n" + "x" * 5000 + "\n")
    _refused(capsys, ["generate", "--prompts", t, "--out", out], f"{t}:2: the goal text has 5000 characters")
    t.write_text("a person jumps\nesc \x1b[31m red\n")
    _refused(capsys, ["generate", "--prompts", t, "--out", out], f"{t}:2: the goal text holds a control character")
    _refused(capsys, ["generate", "a person jumps", "--prompts", t, "--out", out], "not both")
    _refused(capsys, ["generate", "--out", out], "give the goal text")
    assert not out.exists() and not list(tmp_path.glob("batch*"))
