"""Real motion capture through the data engine and the training chain (issue #21), on a few Bandai-Namco clips.

The clips are CC BY-NC: read from the workspace's shared folder (../shared relative to the repo), never copied
into the repo; the tests skip when it is absent."""
import json
from pathlib import Path

import numpy as np
import pytest

from irgmotion.cli import main
from irgmotion.data.bvh_dataset import read_clip_labels

BANDAI = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "bandai-namco-2"
# 40 frames or more at 20 fps (the loaders' minimum): runs, turns, walks, waves; two styles
CLIPS = [f"dataset-2_{c}_{s}_{k:03d}" for c in ("run", "walk-turn-left", "walk-turn-right", "wave-left-hand",
                                               "wave-right-hand", "wave-both-hands", "walk")
         for s, k in (("normal", 1), ("active", 1))]


@pytest.fixture(scope="module")
def bvh_dir(tmp_path_factory) -> Path:
    """A folder laid out as the dataset is (data/*.bvh + *.json, cfg/), of links to a few of its clips."""
    if not (BANDAI / "cfg" / "content_label.txt").is_file():
        pytest.skip(f"Bandai-Namco dataset 2 not found at {BANDAI} (shared data of the workspace)")
    root = tmp_path_factory.mktemp("bandai")
    (root / "data").mkdir()
    (root / "cfg").symlink_to(BANDAI / "cfg")
    for name in CLIPS:
        for ext in (".bvh", ".json"):
            (root / "data" / f"{name}{ext}").symlink_to(BANDAI / "data" / f"{name}{ext}")
    return root / "data"


@pytest.fixture(scope="module")
def imported(bvh_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("imported") / "real"
    assert main(["data", "import-bvh", str(bvh_dir), str(out), "--workers", "1"]) == 0
    return out


def test_engine_on_real_mocap_ranks_by_evaluator_and_assesses_by_labels(imported, tmp_path):
    """No action programs: ranked retrieval by a trained evaluator, assessments from the clips' labels, no
    near-misses, and every ground truth assessed as perfect."""
    labels = read_clip_labels(imported)
    assert labels and all(set(v) == {"content", "style"} for v in labels.values())
    ev = tmp_path / "guo"
    assert main(["train-evaluator", "--kind", "guo", "--data", str(imported), "--out", str(ev), "--preset", "tiny",
                 "--steps", "4", "--val-every", "2", "--threads", "1", "--no-progress"]) == 0
    engine = tmp_path / "engine"
    assert main(["build", "all", "--data", str(imported), "--out", str(engine), "--evaluator", str(ev),
                 "--n-retrieval", "4", "--n-perturb", "3", "--workers", "1"]) == 0
    summary = json.loads((engine / "engine.json").read_text())
    assert summary["goals"] >= 8
    entries = json.loads((engine / "stage1" / "TM2T_assessment_analysis_annots.json").read_text())["annotations"]
    cands = [c for e in entries for c in e["candidate_motion_text"]]
    assert {c["source"] for c in cands} == {"retrieval", "ground_truth"}  # no program, no perturbation
    assert not any((engine / "motions" / "new_joint_vecs").iterdir())
    for c in cands:
        goal = c["motions"]["<Goal_Motion>"]["motion_name"]
        cand = c["motions"]["<Generated_Motion>"]["motion_name"]
        text = c["text"]["<Assessment_Analysis>"][0]
        refinement = c["text"]["<Refinement_Instruction>"][0]
        g, k = labels[goal], labels[cand]
        if c["source"] == "ground_truth" or g == k:
            assert c["level"] == 3 and refinement == "No refinements needed."
        elif g["content"] == k["content"]:  # only the style differs
            assert c["level"] == 2 and f"the style '{g['style']}'" in refinement
        else:
            assert c["level"] in (0, 1) and f"the content is '{k['content'].replace('-', ' ')}'" in text
            # a side mix-up keeps the action: partial, not poor
            if {g["content"], k["content"]} == {"wave-left-hand", "wave-right-hand"}:
                assert c["level"] == 1
    assert {c["level"] for c in cands} >= {0, 2, 3}
    traces = json.loads((engine / "stage2_traces.json").read_text())["annotations"]
    assert len(traces) == summary["goals"]


def test_mocap_pipeline_mixes_real_clips_into_every_step(bvh_dir, tmp_path):
    """`irgmotion pipeline --preset mocap-smoke --bvh DIR`: import, corpus, mix, tokenizer, both evaluators,
    engine, stages 1-2 and a bundle, every step on procedural + real clips."""
    out = tmp_path / "run"
    assert main(["pipeline", "--preset", "mocap-smoke", "--bvh", str(bvh_dir), "--out", str(out)]) == 0
    for step in ("real", "corpus", "mix", "vq", "evaluators/guo", "evaluators/tmr", "engine", "stage1", "stage2"):
        assert (out / step / ".done").is_file(), step
    mix = json.loads((out / "mix" / "mix.json").read_text())
    assert [s["name"] for s in mix["sources"]] == ["corpus", "real"]
    assert mix["sources"][1]["sizes"]["train"] > 0
    assert json.loads((out / "vq" / "train_config.json").read_text())["train"]["data"] == str(out / "mix")
    for step in ("evaluators/guo", "evaluators/tmr"):  # an evaluator keeps the statistics of its training data
        assert np.array_equal(np.load(out / step / "Mean.npy"), np.load(out / "mix" / "Mean.npy")), step
    engine = json.loads((out / "engine" / "engine.json").read_text())
    assert engine["config"]["data"] == str(out / "mix")
    goals = [e["candidate_motion_text"][0]["motions"]["<Goal_Motion>"]["motion_name"] for e in
             json.loads((out / "engine" / "stage2_traces.json").read_text())["annotations"]]
    assert any(g.startswith("real_") for g in goals) and any(g.startswith("corpus_") for g in goals)
    manifest = json.loads((out / "bundle" / "manifest.json").read_text())
    assert set(manifest["evaluators"]) == {"guo", "tmr"}
    assert "CC BY-NC" in (out / "bundle" / "MODEL_CARD.md").read_text()
    assert main(["pipeline", "--preset", "mocap-smoke", "--out", str(tmp_path / "other")]) == 2  # --bvh is needed
