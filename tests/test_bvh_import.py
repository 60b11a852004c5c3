"""BVH import (issue #21): real Bandai clips, synthetic rigs, the export round trip, captions, bad input."""
import json
from pathlib import Path

import numpy as np
import pytest

from irgmotion.cli import main
from irgmotion.data.bvh_import import (
    BVHImportError,
    forward_kinematics,
    import_bvh_clip,
    read_bvh,
)
from irgmotion.data.label_captions import (
    LabelError,
    bandai_schema,
    caption_labels,
    caption_lines,
    clip_labels,
    load_schema,
)
from irgmotion.data.texts import parse_text_line
from irgmotion.motion.bvh import joints_to_bvh
from irgmotion.motion.skeleton import HUMANML3D

J = HUMANML3D.joint_names
# The Bandai-Namco clips are CC BY-NC: read from the workspace's shared folder, never copied into the repo.
BANDAI = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "bandai-namco-2"
UPOS = {"ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON", "PROPN", "SCONJ",
        "VERB", "X"}


def bandai_clip(name: str) -> Path:
    path = BANDAI / "data" / f"dataset-2_{name}.bvh"
    if not path.is_file():
        pytest.skip(f"Bandai-Namco dataset 2 not found at {BANDAI} (shared data of the workspace)")
    return path


def bone_length_error(joints: np.ndarray) -> float:
    parents = list(HUMANML3D.parents[1:])
    lengths = np.linalg.norm(joints[:, 1:] - joints[:, parents], axis=-1)
    return float(np.abs(lengths - HUMANML3D.bone_lengths[1:]).max())


def heading(joints: np.ndarray, t: int) -> np.ndarray:
    """Facing direction (x, z) at frame t: up x (left hip - right hip) points forward."""
    across = joints[t, J.index("left_hip")] - joints[t, J.index("right_hip")]
    f = np.cross(across, [0.0, 1.0, 0.0])
    return f[[0, 2]] / np.linalg.norm(f[[0, 2]])


def write_bvh(path: Path, names, parents, offsets, channels, motion, frame_time=1 / 30) -> Path:
    lines = ["HIERARCHY"]
    children = {j: [c for c, p in enumerate(parents) if p == j] for j in range(len(names))}

    def emit(j, depth):
        pad = "\t" * depth
        lines.append(f"{pad}{'ROOT' if parents[j] < 0 else 'JOINT'} {names[j]}")
        lines.append(pad + "{")
        lines.append(f"{pad}\tOFFSET " + " ".join(f"{v:.6f}" for v in offsets[j]))
        lines.append(f"{pad}\tCHANNELS {len(channels[j])} " + " ".join(channels[j]))
        for c in children[j]:
            emit(c, depth + 1)
        if not children[j]:
            lines.extend([f"{pad}\tEnd Site", f"{pad}\t{{", f"{pad}\t\tOFFSET 0 0.05 0", f"{pad}\t}}"])
        lines.append(pad + "}")

    emit(0, 0)
    lines += ["MOTION", f"Frames: {len(motion)}", f"Frame Time: {frame_time:.7f}"]
    lines += [" ".join(f"{v:.6f}" for v in row) for row in motion]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def ref_joints(ref_dir) -> np.ndarray:
    return np.load(ref_dir / "new_joints" / "000000.npy").astype(np.float64)


# ----------------------------------------------------------------------------- real clips

@pytest.mark.parametrize("name,side", [("walk-turn-left_normal_001", 1.0), ("walk-turn-right_elderly_002", -1.0)])
def test_bandai_turns_go_the_named_way(name, side):
    clip = import_bvh_clip(bandai_clip(name))
    j = clip.joints
    assert clip.rig == "bandai" and not clip.mirrored and clip.source_fps == pytest.approx(30.0, rel=1e-4)
    assert j.shape[1:] == (22, 3) and clip.features.shape == (len(j), 263)
    assert bone_length_error(j) < 1e-3  # metres
    assert abs(j[..., 1].min()) < 1e-6  # lowest joint on the floor
    f0, f1 = heading(j, 0), heading(j, -1)
    assert f0[1] > 0.95  # starts facing +Z, as HumanML3D
    # Facing +Z, the subject's left is +X (right-handed, Y up): a left turn swings the heading towards +X.
    turn = np.degrees(np.arctan2(f1[0], f1[1]) - np.arctan2(f0[0], f0[1]))
    assert np.sign(turn) == side and abs(turn) > 45
    assert np.sign(j[-1, 0, 0]) == side


def test_bandai_left_hand_waves_the_left_wrist():
    j = import_bvh_clip(bandai_clip("wave-left-hand_normal_001")).joints
    move = j[:, [J.index("left_wrist"), J.index("right_wrist")]] - j[:, :1]
    spread = np.linalg.norm(move.std(axis=0), axis=-1)
    assert spread[0] > 2 * spread[1]
    assert j[:, J.index("left_wrist"), 1].max() > j[:, J.index("head"), 1].max() - 0.2  # hand goes up


def test_bandai_captions_from_labels(tmp_path):
    clip = bandai_clip("walk-turn-left_elderly_001")
    schema = bandai_schema(BANDAI)
    labels = clip_labels(schema, clip.with_suffix(".json"))
    assert labels == {"content": "walk-turn-left", "style": "elderly"}
    caps = caption_labels(schema, labels, clip.stem)
    assert len(caps) == 3 and len({c for c, _ in caps}) == 3
    assert caps == caption_labels(schema, labels, clip.stem)  # seeded by the clip id
    for line in caption_lines(caps).splitlines():
        entry = parse_text_line(line)
        assert "left" in entry.caption and ("walk" in entry.words)
        assert set(entry.pos) <= UPOS and not entry.is_subclip


# ----------------------------------------------------------------------------- synthetic rigs

def test_forward_kinematics_matches_bvhio_with_mixed_channel_orders(tmp_path):
    bvhio = pytest.importorskip("bvhio")
    rng = np.random.default_rng(0)
    names = ["root", "a", "b", "c", "d"]
    parents = [-1, 0, 1, 1, 3]
    offsets = rng.normal(size=(5, 3)) * 10
    channels = [["Xposition", "Yposition", "Zposition", "Yrotation", "Xrotation", "Zrotation"],
                ["Xrotation", "Yrotation", "Zrotation"], ["Zrotation", "Xrotation"],
                ["Xposition", "Yposition", "Zposition", "Zrotation", "Yrotation", "Xrotation"], ["Yrotation"]]
    motion = rng.uniform(-90, 90, size=(6, sum(map(len, channels))))
    path = write_bvh(tmp_path / "mixed.bvh", names, parents, offsets, channels, motion)
    ours = forward_kinematics(read_bvh(path))
    root = bvhio.readAsHierarchy(str(path))
    order = [joint.Name for joint, _, _ in root.layout()]
    for f in range(len(motion)):
        root.loadPose(f, recursive=True)
        theirs = np.array([tuple(joint.PositionWorld) for joint, _, _ in root.layout()])
        np.testing.assert_allclose(ours[f, [names.index(n) for n in order]], theirs, atol=1e-3)


def _other_rig(tmp_path, ref_joints, name="other"):
    """The reference clip as a BVH of another rig: renamed joints, Z up, metres, 60 fps."""
    t = np.arange((len(ref_joints) - 1) * 3 + 1) / 3.0
    i0 = np.minimum(t.astype(int), len(ref_joints) - 2)
    w = (t - i0)[:, None, None]
    at60 = (1 - w) * ref_joints[i0] + w * ref_joints[i0 + 1]
    z_up = at60[..., [0, 2, 1]] * np.array([1.0, -1.0, 1.0])  # (x, y, z) Y-up -> (x, -z, y) Z-up
    path = joints_to_bvh(z_up, tmp_path / f"{name}.bvh", fps=60.0, scale=1.0)
    rename = {n: f"B_{k:02d}_{n.title().replace('_', '')}" for k, n in enumerate(J)}
    text = path.read_text()
    for n in sorted(J, key=len, reverse=True):
        text = text.replace(f"JOINT {n}\n", f"JOINT {rename[n]}\n").replace(f"ROOT {n}\n", f"ROOT {rename[n]}\n")
    path.write_text(text)
    return path, rename


def test_other_rig_with_yaml_map_z_up_metres_60fps(tmp_path, ref_joints):
    path, rename = _other_rig(tmp_path, ref_joints)
    (tmp_path / "map.yaml").write_text("".join(f"{t}: {s}\n" for t, s in rename.items()))
    with pytest.raises(BVHImportError, match="match no built-in rig"):
        import_bvh_clip(path)
    from irgmotion.data.bvh_import import load_rig_map
    clip = import_bvh_clip(path, load_rig_map(tmp_path / "map.yaml"))
    assert clip.source_fps == pytest.approx(60.0, rel=1e-4) and not clip.mirrored
    # 60 fps back to 20 fps lands on the reference frames: the same joints, to float precision.
    assert clip.joints.shape == (len(ref_joints) - 1, 22, 3)
    assert np.abs(clip.joints - ref_joints[:-1]).max() < 1e-4


def test_missing_spine_and_collars_are_interpolated(tmp_path, ref_joints):
    path, rename = _other_rig(tmp_path, ref_joints)
    partial = {t: s for t, s in rename.items() if t not in ("spine1", "spine2", "spine3", "left_collar", "right_collar")}
    (tmp_path / "map.yaml").write_text("".join(f"{t}: {s}\n" for t, s in partial.items()))
    from irgmotion.data.bvh_import import load_rig_map
    j = import_bvh_clip(path, load_rig_map(tmp_path / "map.yaml")).joints
    assert bone_length_error(j) < 1e-3
    spine = j[:, [J.index(n) for n in ("pelvis", "spine1", "spine2", "spine3", "neck")]]
    d = np.diff(spine, axis=1)
    d /= np.linalg.norm(d, axis=-1, keepdims=True)
    assert np.einsum("tki,tki->tk", d[:, :-1], d[:, 1:]).min() > 1 - 1e-5  # a straight spine
    limbs = [J.index(n) for n in ("left_ankle", "right_ankle", "left_wrist", "right_wrist")]
    assert np.linalg.norm(j[:, limbs] - ref_joints[:-1, limbs], axis=-1).mean() < 0.1  # still the same motion


MIXAMO = {"pelvis": "Hips", "spine1": "Spine", "spine2": "Spine1", "spine3": "Spine2", "neck": "Neck",
          "head": "Head", "left_hip": "LeftUpLeg", "left_knee": "LeftLeg", "left_ankle": "LeftFoot",
          "left_foot": "LeftToeBase", "left_collar": "LeftShoulder", "left_shoulder": "LeftArm",
          "left_elbow": "LeftForeArm", "left_wrist": "LeftHand"}
MIXAMO.update({"right_" + k[5:]: v.replace("Left", "Right") for k, v in MIXAMO.items() if k.startswith("left_")})
# CMU names on the HumanML3D bones: LowerBack stands where CMU has no joint of its own (spine2, interpolated).
CMU = {**MIXAMO, "spine2": "LowerBack", "spine3": "Spine1", "neck": "Neck1"}


@pytest.mark.parametrize("rig,names,exact", [("mixamo", {k: "mixamorig:" + v for k, v in MIXAMO.items()}, True),
                                             ("cmu", CMU, False)])
def test_builtin_rigs_are_detected_by_joint_names(tmp_path, ref_joints, rig, names, exact):
    text = joints_to_bvh(ref_joints, tmp_path / "clip.bvh").read_text()
    for n in sorted(J, key=len, reverse=True):
        text = text.replace(f"JOINT {n}\n", f"JOINT {names[n]}\n").replace(f"ROOT {n}\n", f"ROOT {names[n]}\n")
    (tmp_path / "clip.bvh").write_text(text)
    clip = import_bvh_clip(tmp_path / "clip.bvh")
    assert clip.rig == rig and bone_length_error(clip.joints) < 1e-3
    err = np.linalg.norm(clip.joints - ref_joints[:-1], axis=-1).mean()
    assert err < (1e-4 if exact else 0.05)  # CMU: spine2 and the collars are interpolated


def test_left_handed_file_is_mirrored_back(tmp_path, ref_joints):
    path = joints_to_bvh(ref_joints * np.array([-1.0, 1.0, 1.0]), tmp_path / "mirrored.bvh")
    clip = import_bvh_clip(path)
    assert clip.mirrored
    assert np.abs(clip.joints - ref_joints[:-1]).max() < 1e-3


def test_round_trip_of_our_bvh_export(tmp_path, ref_joints):
    path = joints_to_bvh(ref_joints, tmp_path / "000000.bvh")  # centimetres, HumanML3D names, 20 fps
    clip = import_bvh_clip(path)
    assert clip.rig == "smpl"
    mpjpe = np.linalg.norm(clip.joints - ref_joints[:-1], axis=-1).mean()
    assert mpjpe <= 0.010


# ----------------------------------------------------------------------------- CLI, dataset, bad input

def _good_bvh(tmp_path, ref_joints, name) -> Path:
    return joints_to_bvh(ref_joints[:40], tmp_path / "src" / f"{name}.bvh")


def test_cli_writes_a_dataset_the_loader_reads(tmp_path, ref_joints, capsys):
    for k in range(3):
        _good_bvh(tmp_path, ref_joints, f"clip{k}")
    out = tmp_path / "out"
    assert main(["data", "import-bvh", str(tmp_path / "src"), str(out), "--workers", "1"]) == 0
    from irgmotion.data.humanml3d import MotionTextDataset, check_dataset_dir
    check_dataset_dir(out)
    ids = [i for s in ("train", "val", "test") for i in (out / f"{s}.txt").read_text().split()]
    assert sorted(ids) == ["clip0", "clip1", "clip2"]
    ds = MotionTextDataset(out, "train", min_len=10, max_len=200)
    assert len(ds) >= 1 and ds.clips[0].motion.shape[1] == 263
    assert np.load(out / "new_joints" / "clip0.npy").shape == (39, 22, 3)
    assert not (tmp_path / "out.partial").exists()


def _bad_files(tmp_path, ref_joints) -> dict[str, Path]:
    lines = joints_to_bvh(ref_joints[:10], tmp_path / "good.bvh").read_text().splitlines()
    ft = next(i for i, line in enumerate(lines) if line.startswith("Frame Time"))
    header, rows = lines[:ft + 1], lines[ft + 1:]
    cases = {
        "truncated": header + rows[:3],
        "channels": header + rows[:2] + [rows[2] + " 1.0"] + rows[3:],
        "nan": header + rows[:2] + [" ".join(["nan"] + rows[2].split()[1:])] + rows[3:],
        "zero_frames": [line.replace("Frames: 10", "Frames: 0") for line in header],
        "unknown_rig": [line.replace("pelvis", "Becken").replace("left_hip", "HuefteL") for line in lines],
        "channel_names": [line.replace("CHANNELS 3", "CHANNELS 4") for line in lines],
    }
    bad = tmp_path / "bad"
    bad.mkdir()
    paths = {}
    for name, text in cases.items():
        paths[name] = bad / f"{name}.bvh"
        paths[name].write_text("\n".join(text) + "\n")
    paths["missing"] = bad / "missing.bvh"
    return paths


@pytest.mark.parametrize("case,expected", [
    ("truncated", "truncated"), ("channels", "values; expected"), ("nan", "NaN"),
    ("channel_names", "HIERARCHY block: Channel count mismatch"), ("zero_frames", "at least 1 frame"),
    ("unknown_rig", "--rig MAP.yaml"), ("missing", "no such file")])
def test_bad_input_gets_one_line_and_exit_2(tmp_path, ref_joints, capsys, case, expected):
    path = _bad_files(tmp_path, ref_joints)[case]
    out = tmp_path / "out"
    assert main(["data", "import-bvh", str(path), str(out), "--workers", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert str(path) in err and expected in err
    assert not out.exists() and not (tmp_path / "out.partial").exists()


def test_skip_bad_imports_the_rest_and_lists_what_it_skipped(tmp_path, ref_joints, capsys):
    bad = _bad_files(tmp_path, ref_joints)
    _good_bvh(tmp_path, ref_joints, "fine")
    src = tmp_path / "src"
    for name in ("truncated", "nan"):
        (src / bad[name].name).write_text(bad[name].read_text())
    out = tmp_path / "out"
    assert main(["data", "import-bvh", str(src), str(out), "--workers", "1"]) == 2
    assert not out.exists()
    capsys.readouterr()
    assert main(["data", "import-bvh", str(src), str(out), "--workers", "1", "--skip-bad"]) == 0
    err = capsys.readouterr().err
    assert "truncated.bvh" in err and "nan.bvh" in err and "skipped 2" in err
    assert (out / "train.txt").read_text().split() == ["fine"]
    assert [s["file"] for s in json.loads((out / "import.json").read_text())["skipped"]] == \
        [str(src / "nan.bvh"), str(src / "truncated.bvh")]


def test_user_label_schema(tmp_path, ref_joints, capsys):
    _good_bvh(tmp_path, ref_joints, "kick01")
    (tmp_path / "src" / "kick01.json").write_text(json.dumps({"action": "kick", "side": 0}))
    schema = tmp_path / "labels.yaml"
    schema.write_text(
        "fields:\n  action: {key: action}\n  side: {key: side, names: [left, right]}\n"
        "phrases:\n  action: {kick: ['kicks/VERB/kick with the']}\n"
        "  side: {left: ['left leg/NOUN'], right: ['right leg/NOUN']}\n"
        "templates: ['a person {action} {side}', 'someone {action} {side} quickly']\n")
    out = tmp_path / "out"
    assert main(["data", "import-bvh", str(tmp_path / "src"), str(out), "--labels", str(schema),
                 "--workers", "1"]) == 0
    lines = (out / "texts" / "kick01.txt").read_text().splitlines()
    assert len(lines) == 2
    entry = parse_text_line(lines[0])
    assert "kicks with the left leg" in entry.caption
    assert {"kick/VERB", "left/ADJ", "leg/NOUN"} <= set(entry.tokens)
    schema.write_text(schema.read_text().replace("quickly", "zoomily"))
    with pytest.raises(LabelError, match="'zoomily' is not in the lexicon"):
        load_schema(schema)
