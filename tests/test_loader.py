import shutil

import numpy as np
import pytest

from irgmotion.data import DatasetError, MotionTextDataset, collate, parse_text_line


@pytest.fixture()
def tiny_dataset(tmp_path, ref_dir):
    root = tmp_path / "hml"
    (root / "new_joint_vecs").mkdir(parents=True)
    (root / "texts").mkdir()
    for name in ("Mean.npy", "Std.npy"):
        shutil.copy(ref_dir / name, root / name)
    for cid in ("000000", "012314"):
        shutil.copy(ref_dir / "new_joint_vecs" / f"{cid}.npy", root / "new_joint_vecs" / f"{cid}.npy")
    shutil.copy(ref_dir / "new_joint_vecs" / "000000.npy", root / "new_joint_vecs" / "M000000.npy")
    shutil.copy(ref_dir / "texts" / "000000.txt", root / "texts" / "000000.txt")
    shutil.copy(ref_dir / "texts" / "000000.txt", root / "texts" / "M000000.txt")
    (root / "texts" / "012314.txt").write_text(
        "a person walks.#a/DET person/NOUN walk/VERB#0.0#0.0\n"
        "a person turns around.#a/DET person/NOUN turn/VERB around/ADV#2.0#5.0\n"   # frames 40..100
        "too short a piece.#too/ADV short/ADJ a/DET piece/NOUN#1.0#2.0\n"          # 20 frames: dropped
    )
    (root / "train.txt").write_text("000000\nM000000\n012314\n")
    (root / "test.txt").write_text("012314\n")
    (root / "val.txt").write_text("")
    return root


def test_loader_reads_clips_subclips_and_mirrors(tiny_dataset):
    ds = MotionTextDataset(tiny_dataset, "train", seed=0)
    ids = [c.id for c in ds.clips]
    assert ids == ["000000", "M000000", "012314", "A_012314"]
    sub = ds.clips[3]
    assert sub.length == 60 and sub.texts[0].caption == "a person turns around."
    np.testing.assert_array_equal(sub.motion, np.load(tiny_dataset / "new_joint_vecs" / "012314.npy")[40:100].astype(np.float32))
    assert ds.clips[1].mirrored and not ds.clips[0].mirrored
    assert len(ds.clips[0].texts) == 4 and ds.clips[0].texts[0].pos[:3] == ["DET", "NOUN", "VERB"]
    no_mirror = MotionTextDataset(tiny_dataset, "train", include_mirrored=False)
    assert "M000000" not in [c.id for c in no_mirror.clips]


def test_loader_items_are_normalised_and_collate(tiny_dataset):
    import torch
    ds = MotionTextDataset(tiny_dataset, "train", seed=0, max_frames=100)
    item = ds[2]
    assert item["length"] == 100 and item["length"] % 4 == 0 and item["motion"].shape == (100, 263)
    assert abs(float(item["motion"].mean())) < 5
    loader = torch.utils.data.DataLoader(ds, batch_size=4, collate_fn=collate)
    batch = next(iter(loader))
    assert batch["motion"].shape == (4, 100, 263) and len(batch["caption"]) == 4
    raw = MotionTextDataset(tiny_dataset, "test", normalize=False)
    assert len(raw) == 2 and raw.spec.name == "humanml3d"


def test_length_filter(tiny_dataset):
    ds = MotionTextDataset(tiny_dataset, "train", min_len=120, max_len=200)
    assert [c.id for c in ds.clips] == ["012314"]


def test_missing_and_malformed_files_are_named(tiny_dataset):
    (tiny_dataset / "train.txt").write_text("000000\n999999\n")
    with pytest.raises(DatasetError, match="999999.npy"):
        MotionTextDataset(tiny_dataset, "train")
    (tiny_dataset / "train.txt").write_text("000000\n")
    (tiny_dataset / "texts" / "000000.txt").write_text("a caption without fields\n")
    with pytest.raises(ValueError, match="000000.txt:1"):
        MotionTextDataset(tiny_dataset, "train")
    np.save(tiny_dataset / "new_joint_vecs" / "012314.npy", np.zeros((50, 100)))
    (tiny_dataset / "train.txt").write_text("012314\n")
    with pytest.raises(DatasetError, match="012314.npy"):
        MotionTextDataset(tiny_dataset, "train")
    (tiny_dataset / "test.txt").unlink()
    with pytest.raises(DatasetError, match="test.txt"):
        MotionTextDataset(tiny_dataset, "test")
    with pytest.raises(DatasetError, match="not found"):
        MotionTextDataset(tiny_dataset / "nowhere")


def test_text_line_round_trip():
    line = "a man kicks.#a/DET man/NOUN kick/VERB#1.5#3.0"
    entry = parse_text_line(line)
    assert entry.words == ["a", "man", "kick"] and entry.is_subclip and entry.to_line() == line
    with pytest.raises(ValueError, match="numbers"):
        parse_text_line("x#x/NOUN#a#b")
