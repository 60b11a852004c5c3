import numpy as np
import pytest

from irgmotion.cli import main


def test_convert_round_trip(tmp_path, ref_dir):
    src = ref_dir / "new_joint_vecs" / "000000.npy"
    joints, feats = tmp_path / "j.npy", tmp_path / "f.npy"
    assert main(["convert", str(src), str(joints), "--to", "joints"]) == 0
    assert np.load(joints).shape == (116, 22, 3)
    assert main(["convert", str(joints), str(feats), "--to", "features"]) == 0
    assert np.load(feats).shape == (115, 263)


@pytest.mark.parametrize("command", ["convert", "render", "export"])
@pytest.mark.parametrize("content, message", [
    (np.zeros((10, 7)), "neither features nor joints"),
    (np.full((10, 263), np.inf), "NaN or inf"),
    (np.zeros((1, 263)), "1 frame"),
])
def test_bad_input_exits_2_with_one_line_and_no_output(tmp_path, capsys, command, content, message):
    bad = tmp_path / "bad.npy"
    np.save(bad, content)
    out = tmp_path / {"convert": "o.npy", "render": "o.gif", "export": "o.bvh"}[command]
    extra = ["--to", "joints"] if command == "convert" else []
    assert main([command, str(bad), str(out), *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bad.npy" in err[0] and message in err[0]
    assert list(tmp_path.iterdir()) == [bad]


def test_wrong_output_suffix(tmp_path, ref_dir, capsys):
    src = ref_dir / "new_joint_vecs" / "000000.npy"
    assert main(["render", str(src), str(tmp_path / "o.png")]) == 2
    assert ".gif" in capsys.readouterr().err


def test_convert_rejects_same_kind(tmp_path, ref_dir, capsys):
    src = ref_dir / "new_joint_vecs" / "000000.npy"
    assert main(["convert", str(src), str(tmp_path / "o.npy"), "--to", "features"]) == 2
    assert "already features" in capsys.readouterr().err
