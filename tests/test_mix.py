"""`irgmotion data mix` (issue #21): mixed corpora in HumanML3D layout that every dataset command reads."""
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from irgmotion.cli import main
from irgmotion.data.humanml3d import MotionTextDataset
from irgmotion.data.mix import mixed_id, source_of, train_shares
from irgmotion.data.synth.corpus import grouped_std

from conftest import make_toy_dataset


@pytest.fixture(scope="module")
def sources(tmp_path_factory, ref_dir):
    """A captions-only dataset (cut from the reference clips, one mirrored id and labels as an import writes them)
    and a small procedural corpus (with action programs)."""
    base = tmp_path_factory.mktemp("mix")
    real = make_toy_dataset(base / "real-data", ref_dir, n=12)
    first = (real / "train.txt").read_text().split()[0]
    for sub in ("new_joint_vecs", "texts"):  # a mirrored HumanML3D id: "M" + id
        ext = ".npy" if sub == "new_joint_vecs" else ".txt"
        shutil.copy(real / sub / f"{first}{ext}", real / sub / f"M{first}{ext}")
    with open(real / "train.txt", "a") as f:
        f.write(f"M{first}\n")
    ids = (real / "train.txt").read_text().split()
    labels = {i: {"content": "kick" if k % 2 == 0 else "walk-turn-left", "style": "normal"} for k, i in enumerate(ids)}
    (real / "import.json").write_text(json.dumps({"clips": {i: {"labels": v} for i, v in labels.items()}}))
    corpus = base / "corpus"
    assert main(["data", "synth", "--out", str(corpus), "--n", "16", "--seed", "0", "--workers", "1"]) == 0
    return real, corpus


def _split(root: Path, name: str) -> list[str]:
    return (root / f"{name}.txt").read_text().split()


def test_mix_merges_splits_prefixes_ids_and_recomputes_statistics(tmp_path, sources):
    real, corpus = sources
    out = tmp_path / "mix"
    assert main(["data", "mix", str(corpus), str(real), "--out", str(out)]) == 0
    summary = json.loads((out / "mix.json").read_text())
    assert [s["name"] for s in summary["sources"]] == ["corpus", "realdata"]
    for split in ("train", "val", "test"):
        want = sorted([mixed_id("corpus", i) for i in _split(corpus, split)] +
                      [mixed_id("realdata", i) for i in _split(real, split)])
        assert sorted(_split(out, split)) == want
    # the mirrored clip keeps its leading M, so loaders still know it as mirrored
    mirrored = [i for i in _split(out, "train") if i.startswith("M")]
    assert len(mirrored) == 1 and mirrored[0].startswith("Mrealdata_")
    assert len(MotionTextDataset(out, "train", include_mirrored=False, normalize=False).clips) < \
        len(MotionTextDataset(out, "train", normalize=False).clips)
    # files and captions unchanged; programs where the source has them
    cid = _split(corpus, "train")[0]
    new = mixed_id("corpus", cid)
    assert np.array_equal(np.load(out / "new_joint_vecs" / f"{new}.npy"), np.load(corpus / "new_joint_vecs" / f"{cid}.npy"))
    assert (out / "texts" / f"{new}.txt").read_text() == (corpus / "texts" / f"{cid}.txt").read_text()
    assert (out / "programs" / f"{new}.json").read_text() == (corpus / "programs" / f"{cid}.json").read_text()
    assert not (out / "programs" / f"{mixed_id('realdata', _split(real, 'train')[0])}.json").exists()
    # Mean/Std over every frame of the mix's train split, Std grouped per block as HumanML3D's
    frames = np.concatenate([np.load(out / "new_joint_vecs" / f"{i}.npy") for i in _split(out, "train")]).astype(np.float64)
    assert np.allclose(np.load(out / "Mean.npy"), frames.mean(0), atol=1e-5)
    assert np.allclose(np.load(out / "Std.npy"), grouped_std(frames.std(0)), rtol=1e-4, atol=1e-6)
    assert not np.allclose(np.load(out / "Mean.npy"), np.load(corpus / "Mean.npy"), atol=1e-3)
    # the index of sources, and the labels of labelled clips under their new ids
    who = source_of(out)
    assert who[new] == "corpus" and len(who) == sum(len(_split(out, s)) for s in ("train", "val", "test"))
    labels = json.loads((out / "labels.json").read_text())
    assert labels[mixed_id("realdata", _split(real, "train")[1])]["content"] == "walk-turn-left"
    assert not any(k.startswith("corpus_") for k in labels)
    # every split interleaves the sources, so the first N ids (--limit) sample both
    head = _split(out, "train")[:4]
    assert {source_of(out)[i] for i in head} == {"corpus", "realdata"}


def test_weights_set_train_shares_and_keep_evaluation_splits(tmp_path, sources):
    real, corpus = sources
    n_corpus, n_real = len(_split(corpus, "train")), len(_split(real, "train"))
    assert train_shares([6388, 448], [3, 1], 0) == [1344, 448]
    keep = train_shares([n_corpus, n_real], [1, 1], 0)
    assert keep == [min(n_corpus, n_real)] * 2
    out = tmp_path / "mix"
    assert main(["data", "mix", str(corpus), str(real), "--out", str(out), "--weights", "1", "1"]) == 0
    who = source_of(out)
    train = _split(out, "train")
    assert sum(who[i] == "corpus" for i in train) == keep[0] and sum(who[i] == "realdata" for i in train) == keep[1]
    assert len(_split(out, "test")) == len(_split(corpus, "test")) + len(_split(real, "test"))
    again = tmp_path / "again"
    assert main(["data", "mix", str(corpus), str(real), "--out", str(again), "--weights", "1", "1"]) == 0
    assert _split(again, "train") == train  # seeded


def test_a_mix_trains_and_feeds_the_engine(tmp_path, sources):
    """The mix works where a dataset does: tokenizer, evaluator, and the data engine, which assesses goals with
    programs exactly and the others by their labels or captions, in one build."""
    real, corpus = sources
    mix = tmp_path / "mix"
    assert main(["data", "mix", str(corpus), str(real), "--out", str(mix)]) == 0
    assert main(["train-vq", "--data", str(mix), "--out", str(tmp_path / "vq"), "--steps", "4", "--batch-size", "4",
                 "--window", "32", "--val-every", "4", "--threads", "1"]) == 0
    # fine-tuning on the mix keeps the tokenizer's shape and its normalisation statistics (the codes keep their
    # meaning for a language model trained on it), not the mix's
    real_vq = tmp_path / "real_vq"
    assert main(["train-vq", "--data", str(real), "--out", str(real_vq), "--steps", "2", "--batch-size", "4",
                 "--window", "32", "--val-every", "2", "--threads", "1", "--width", "32"]) == 0
    tuned = tmp_path / "tuned"
    assert main(["train-vq", "--data", str(mix), "--out", str(tuned), "--init", str(real_vq), "--steps", "2",
                 "--batch-size", "4", "--window", "32", "--val-every", "2", "--threads", "1", "--warmup", "0"]) == 0
    from irgmotion.tokenizer import MotionTokenizer
    before, after = MotionTokenizer.from_pretrained(real_vq), MotionTokenizer.from_pretrained(tuned)
    assert after.config == before.config and after.config.width == 32
    assert np.array_equal(after.normalizer.mean, before.normalizer.mean)
    assert not np.allclose(after.normalizer.mean, np.load(mix / "Mean.npy"))
    changed = [k for k, v in after.model.state_dict().items() if not np.array_equal(v.numpy(), before.model.state_dict()[k].numpy())]
    assert changed  # trained, from the given weights
    assert main(["train-vq", "--data", str(mix), "--out", str(tmp_path / "x"), "--init", str(real_vq),
                 "--width", "64"]) == 2  # the shape comes from --init
    assert main(["train-vq", "--data", str(mix), "--out", str(tmp_path / "y"), "--init", str(tmp_path / "none")]) == 2
    assert main(["train-evaluator", "--kind", "guo", "--data", str(mix), "--out", str(tmp_path / "guo"), "--preset",
                 "tiny", "--steps", "4", "--val-every", "2", "--threads", "1", "--no-progress"]) == 0
    engine = tmp_path / "engine"
    assert main(["build", "all", "--data", str(mix), "--out", str(engine), "--evaluator", str(tmp_path / "guo"),
                 "--n-retrieval", "3", "--n-perturb", "1", "--workers", "1", "--assessment-style", "aligned"]) == 0
    entries = json.loads((engine / "stage1" / "TM2T_assessment_analysis_annots.json").read_text())["annotations"]
    by_goal = {}
    for e in entries:
        for c in e["candidate_motion_text"]:
            by_goal.setdefault(c["motions"]["<Goal_Motion>"]["motion_name"], []).append(c)
    who = source_of(mix)
    sources_seen = {who[g] for g in by_goal}
    assert sources_seen == {"corpus", "realdata"}
    labels = json.loads((mix / "labels.json").read_text())
    for goal, cands in by_goal.items():
        for c in cands:
            text = c["text"]["<Assessment_Analysis>"][0]
            cand = c["motions"]["<Generated_Motion>"]["motion_name"]
            if c["source"] == "perturbation":
                assert who[goal] == "corpus"  # near-misses only where a program exists
            elif who[goal] == "corpus" and who.get(cand) == "corpus":
                assert "Check:" in text  # exact program comparison, aligned wording
            elif goal in labels and cand in labels and c["source"] != "ground_truth":
                assert "content" in text or "Alignment is perfect" in text  # compared by labels
            assert "Alignment is" in text


def test_mix_bad_input_is_one_line_and_writes_nothing(tmp_path, sources, capsys):
    real, corpus = sources
    out = tmp_path / "mix"
    assert main(["data", "mix", str(corpus), "--out", str(out)]) == 2
    assert main(["data", "mix", str(corpus), str(tmp_path / "nowhere"), "--out", str(out)]) == 2
    assert "nowhere: dataset directory not found" in capsys.readouterr().err
    assert main(["data", "mix", str(corpus), str(real), "--out", str(out), "--weights", "1"]) == 2
    assert "--weights gives 1 weight(s) for 2 dataset(s)" in capsys.readouterr().err
    assert main(["data", "mix", str(corpus), str(real), "--out", str(out), "--weights", "1", "0"]) == 2
    kit = tmp_path / "kit"  # another skeleton's features
    shutil.copytree(real, kit)
    for f in (kit / "new_joint_vecs").glob("*.npy"):
        np.save(f, np.zeros((60, 251), np.float32))
    assert main(["data", "mix", str(corpus), str(kit), "--out", str(out)]) == 2
    assert "different feature sizes" in capsys.readouterr().err
    broken = tmp_path / "broken"
    shutil.copytree(real, broken)
    victim = _split(broken, "test")[0]
    (broken / "new_joint_vecs" / f"{victim}.npy").unlink()
    assert main(["data", "mix", str(corpus), str(broken), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and f"{victim}.npy: missing motion file listed in" in err
    assert not out.exists() and not (tmp_path / "mix.partial").exists()
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "x").write_text("")
    assert main(["data", "mix", str(corpus), str(real), "--out", str(taken)]) == 2
    assert "not empty" in capsys.readouterr().err
