"""`irgmotion generate` end to end on the embedded bundle (text in, files out)."""
import json

import numpy as np
import pytest

from irgmotion.cli import main
from irgmotion.reason.bundle import EMBEDDED, load_bundle

pytestmark = pytest.mark.skipif(not (EMBEDDED / "manifest.json").is_file(), reason="no embedded bundle built yet")


def test_embedded_bundle_loads_offline():
    bundle = load_bundle()
    assert bundle.llm.codebook_size == bundle.vq.codebook_size


def test_generate_writes_every_output(tmp_path, capsys):
    out = tmp_path / "demo"
    code = main(["generate", "a person walks forward and then jumps twice", "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "Round 1" in printed and "Goal:" in printed
    feats, joints = np.load(out / "final_features.npy"), np.load(out / "final_joints.npy")
    assert feats.ndim == 2 and feats.shape[1] == 263 and joints.shape == (len(feats), 22, 3)
    assert np.isfinite(joints).all()
    trace = json.loads((out / "trace.json").read_text())
    assert trace["n_generations"] >= 1 and trace["rounds"]
    assert len(list(out.glob("round_*_joints.npy"))) == trace["n_generations"]
    assert (out / "rounds.gif").stat().st_size > 0
    assert (out / "final.bvh").read_text().startswith("HIERARCHY")


@pytest.mark.parametrize("text, message", [("", "empty"), ("x" * 5000, "characters")])
def test_generate_rejects_bad_prompts(tmp_path, capsys, text, message):
    assert main(["generate", text, "--out", str(tmp_path / "o")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_generate_sampling_is_reproducible(tmp_path):
    for name in ("a", "b"):
        assert main(["generate", "someone waves the right hand", "--out", str(tmp_path / name), "--sample",
                     "--seed", "3", "--no-render"]) == 0
    a = json.loads((tmp_path / "a" / "trace.json").read_text())["text"]
    b = json.loads((tmp_path / "b" / "trace.json").read_text())["text"]
    assert a == b


def test_generate_answer_follows_the_selection_and_the_rule_verdict(tmp_path, capsys):
    """The default (rule verdict, best-assessed answer) writes the answer round's motion as the final files;
    --verdict model --select last reproduces the paper's loop."""
    from irgmotion.engine.assessment import level_of
    goal = "A person walks two steps forwards, then turns around by 180 degree to the left and walks two steps."
    out = tmp_path / "rule"
    assert main(["generate", goal, "--out", str(out), "--no-render", "--max-rounds", "3"]) == 0
    trace = json.loads((out / "trace.json").read_text())
    assert trace["verdict"] == "rule" and trace["select"] == "best-earliest"
    levels = [level_of(r["assessment"]) for r in trace["rounds"]]
    k = trace["answer_round"]
    assert levels[k - 1] == max(lv for lv in levels if lv is not None)
    answer = np.load(out / f"round_{k}_joints.npy")
    assert np.array_equal(np.load(out / "final_joints.npy"), answer)
    assert f"Final motion: round {k} of" in capsys.readouterr().out

    out = tmp_path / "model"
    assert main(["generate", goal, "--out", str(out), "--no-render", "--verdict", "model", "--select", "last"]) == 0
    trace = json.loads((out / "trace.json").read_text())
    assert trace["answer_round"] == trace["n_generations"]
