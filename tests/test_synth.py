"""The procedural motion-language corpus (irgmotion.data.synth)."""
import json
import math

import numpy as np
import pytest

from irgmotion.data import MotionTextDataset, parse_text_line
from irgmotion.data.synth import (ACTION_LEMMAS, ACTIONS, HELD_OUT_ACTIONS, HELD_OUT_COMPOSITIONS, ProgramError,
                                  caption_lemmas, caption_program, held_out_items, load_program,
                                  program_main, render, render_program, sample_program, schema, synth_main,
                                  validate_program, write_corpus)
from irgmotion.data.synth.corpus import make_sample, normalise_joints
from irgmotion.motion import joints_to_features
from irgmotion.motion.quality import bone_length_variation, foot_skating, ground_penetration, jitter

POS = {"DET", "NOUN", "VERB", "ADP", "ADJ", "ADV", "NUM", "PRON", "CCONJ", "SCONJ", "AUX", "PART"}


def one(name, **params):
    return validate_program({"actions": [{"name": name, "params": params}]})


def facing(j):
    """Facing angle (rad, left positive) of each frame from hips and shoulders."""
    across = (j[:, 1] - j[:, 2]) + (j[:, 16] - j[:, 17])
    fwd = np.cross(across, np.array([0.0, 1.0, 0.0]))
    return np.arctan2(fwd[:, 0], fwd[:, 2])


# --------------------------------------------------------------------------- registry and programs

def test_registry_has_the_actions_of_the_issue():
    assert len(ACTIONS) >= 30
    for name in ("walk", "jog", "run", "side_step", "turn", "spin", "jump", "hop", "jumping_jacks", "squat", "crouch",
                 "kneel", "sit_down", "bow", "touch_toes", "lean", "wave", "raise_arm", "clap", "punch", "kick",
                 "throw", "march", "stomp", "look_around", "stretch", "shrug", "idle"):
        assert name in ACTIONS
    json.dumps(schema())
    for name in ACTIONS:
        assert name in ACTION_LEMMAS


def test_every_action_renders_plausibly_with_defaults():
    for name in ACTIONS:
        r = render(one(name), seed=3)
        j = r.joints
        assert j.dtype == np.float32 and j.ndim == 3 and j.shape[1:] == (22, 3), name
        assert np.isfinite(j).all() and 20 <= len(j) <= 300, (name, len(j))
        assert r.unreachable == 0, name
        assert ground_penetration(j) < 0.01, name
        assert bone_length_variation(j) < 1e-4, name
        assert foot_skating(j) < 0.03, name
        assert np.linalg.norm(np.diff(j, axis=0), axis=-1).max() * 20 < 15.0, name


def test_render_is_a_pure_function_of_program_and_seed():
    prog = {"actions": [{"name": "walk", "params": {"steps": 4}, "upper": {"name": "wave", "params": {"hand": "right"}}},
                        {"name": "jump", "params": {"count": 2}}]}
    a = render_program(prog, seed=11)
    b = render_program(json.loads(json.dumps(prog)), seed=11)
    assert a.tobytes() == b.tobytes()
    assert not np.array_equal(a[:20], render_program(prog, seed=12)[:20])
    # the program's own seed is the default
    assert render_program({**prog, "seed": 11}).tobytes() == a.tobytes()


def test_changing_one_action_keeps_the_rest_of_the_sample():
    base = {"actions": [{"name": "squat", "params": {"count": 1}}, {"name": "wave", "params": {"count": 2}}],
            "body": {"height": 1.05}}
    other = json.loads(json.dumps(base))
    other["actions"][1]["params"]["hand"] = "left"
    a, b = render(base, 5), render(other, 5)
    n = a.spans[1]["start"]
    np.testing.assert_array_equal(a.joints[:n - 10], b.joints[:n - 10])


@pytest.mark.parametrize("bad, message", [
    ([], "expected a JSON object"),
    ({"actions": []}, "actions: expected 1 to"),
    ({"actions": "walk"}, "actions: expected a list"),
    ({"actions": [{"name": "moonwalk"}]}, "actions[0].name: unknown action 'moonwalk'"),
    ({"actions": [{"name": "walk", "params": {"steps": 40}}]}, "actions[0].params.steps: expected an integer in [2, 16]"),
    ({"actions": [{"name": "walk", "params": {"speed": "fast"}}]}, "actions[0].params.speed: expected a number"),
    ({"actions": [{"name": "walk", "params": {"direction": "up"}}]}, "actions[0].params.direction: expected one of"),
    ({"actions": [{"name": "wave", "params": {"hands": "left"}}]}, "actions[0].params.hands: unknown parameter"),
    ({"actions": [{"name": "jump", "upper": {"name": "wave"}}]}, "actions[0].upper: 'jump' cannot carry"),
    ({"actions": [{"name": "walk", "upper": {"name": "kick"}}]}, "actions[0].upper.name: 'kick' cannot run as an upper"),
    ({"actions": [{"name": "walk", "params": {"path": "circle", "steps": 4}}]}, "circle needs at least 8 steps"),
    ({"actions": [{"name": "walk", "params": {"path": "curve", "direction": "left"}}]}, "needs direction 'forward'"),
    ({"actions": [{"name": "walk"}], "body": {"height": 1.5}}, "body.height: expected a number in [0.9, 1.1]"),
    ({"actions": [{"name": "walk"}], "tempo": 2}, "unknown key(s) ['tempo']"),
    ({"actions": [{"name": "walk", "params": {"steps": True}}]}, "params.steps"),
])
def test_bad_programs_are_rejected_with_a_clear_message(bad, message):
    with pytest.raises(ProgramError) as exc:
        validate_program(bad)
    assert message in str(exc.value)
    assert isinstance(exc.value, ValueError)


def test_program_round_trip_and_defaults():
    p = validate_program({"actions": [{"name": "kick", "params": {"leg": "left"}}]})
    assert p.actions[0].params == {**ACTIONS["kick"].defaults(), "leg": "left"}
    assert validate_program(p.to_dict()) == p
    assert validate_program(json.dumps(p.to_dict())) == p


def test_sampled_programs_are_valid_and_fit_the_length_range():
    rng = np.random.default_rng(0)
    for _ in range(30):
        p = sample_program(rng)
        assert 1 <= len(p.actions) <= 4
        assert validate_program(p.to_dict()) == p
        assert 40 <= len(render_program(p, 1)) <= 220


# --------------------------------------------------------------------------- semantics

def test_directions_sides_and_counts_do_what_they_say():
    j = render_program(one("walk", direction="forward", steps=6), 0)
    assert j[-1, 0, 2] - j[0, 0, 2] > 1.5
    j = render_program(one("walk", direction="backward", steps=6), 0)
    assert j[-1, 0, 2] - j[0, 0, 2] < -0.8
    j = render_program(one("walk", direction="left", steps=6), 0)
    assert j[-1, 0, 0] - j[0, 0, 0] > 1.0 and facing(j)[-1] > 1.2
    j = render_program(one("side_step", direction="right", steps=3), 0)
    assert j[-1, 0, 0] - j[0, 0, 0] < -0.5 and abs(facing(j)[-1]) < 0.3
    j = render_program(one("turn", direction="left", angle=90), 0)
    assert abs(facing(j)[-1] - math.pi / 2) < 0.3
    j = render_program(one("turn", direction="right", angle=180), 0)
    assert abs(abs(facing(j)[-1]) - math.pi) < 0.3
    # a jump leaves the ground: every foot joint up at once, `count` times
    j = render_program(one("jump", count=3, height=0.3), 0)
    air = j[:, [7, 8, 10, 11], 1].min(axis=1) > 0.12
    assert np.sum(np.diff(air.astype(int)) == 1) == 3
    # kneeling on the right knee puts that knee near the floor
    j = render_program(one("kneel", knee="right"), 0)
    assert j[:, 5, 1].min() < 0.12 and j[:, 4, 1].min() > 0.2
    # the raised arm is the named one
    j = render_program(one("raise_arm", hand="left", direction="overhead"), 0)
    assert j[:, 20, 1].max() > j[:, 15, 1].max() and j[:, 21, 1].max() < j[:, 17, 1].max()
    j = render_program(one("hop", leg="left", count=2), 0)
    assert j[:, 11, 1].max() > 0.25 and np.percentile(j[:, 10, 1], 10) < 0.02


def test_upper_body_action_runs_during_locomotion():
    prog = {"actions": [{"name": "walk", "params": {"steps": 8}, "upper": {"name": "wave", "params": {"hand": "right"}}}]}
    r = render(prog, 2)
    j = r.joints
    s = r.spans[0]
    mid = (s["upper_start"] + s["upper_end"]) // 2
    assert j[mid, 21, 1] > j[mid, 17, 1] + 0.1  # right wrist above the right shoulder
    assert j[mid, 20, 1] < j[mid, 16, 1]        # left arm still down
    assert j[-1, 0, 2] - j[0, 0, 2] > 2.0        # while walking forward


# --------------------------------------------------------------------------- captions

def test_captions_name_every_action_with_valid_tags():
    rng = np.random.default_rng(1)
    for _ in range(60):
        p = sample_program(rng)
        caps = caption_program(p, rng, n=3)
        assert len({c for c, _ in caps}) == 3
        for c, tagged in caps:
            entry = parse_text_line(f"{c}#{tagged}#0.0#0.0")
            assert entry.caption == c and c == c.lower()
            assert all(w.isalpha() for w in entry.words) and set(entry.pos) <= POS
            lemmas = caption_lemmas(tagged)
            for a in p.actions:
                for x in (a, a.upper):
                    if x is not None:
                        assert ACTION_LEMMAS[x.name] & lemmas, (x.name, c)


def test_caption_tags_follow_the_dataset_conventions():
    p = validate_program({"actions": [{"name": "wave", "params": {"hand": "left", "count": 2}}]})
    rng = np.random.default_rng(3)
    tags = " ".join(t for _, t in caption_program(p, rng, n=6))
    assert "wave/VERB" in tags and "waves/" not in tags            # verbs lemmatised
    assert "left/ADJ" in tags                                      # left kept as written
    assert "2/" not in tags                                        # digits dropped


# --------------------------------------------------------------------------- corpus

@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth") / "corpus"
    write_corpus(root, 24, seed=5, workers=2)
    return root


def test_corpus_layout_and_loader(corpus):
    for name in ("Mean.npy", "Std.npy", "train.txt", "val.txt", "test.txt", "splits.json"):
        assert (corpus / name).is_file()
    ids = [i for s in ("train", "val", "test") for i in (corpus / f"{s}.txt").read_text().split()]
    assert sorted(ids) == [f"{i:06d}" for i in range(24)]
    for sid in ids:
        f = np.load(corpus / "new_joint_vecs" / f"{sid}.npy")
        j = np.load(corpus / "new_joints" / f"{sid}.npy")
        assert f.dtype == np.float32 and f.shape[1] == 263 and 40 <= len(f) <= 196
        assert j.dtype == np.float32 and j.shape == (len(f), 22, 3)
        lines = (corpus / "texts" / f"{sid}.txt").read_text().splitlines()
        assert len(lines) >= 3 and all(line.endswith("#0.0#0.0") for line in lines)
        prog = json.loads((corpus / "programs" / f"{sid}.json").read_text())
        assert prog["length"] == len(f) and all(0 <= a["start"] < a["end"] <= len(f) for a in prog["actions"])
    mean, std = np.load(corpus / "Mean.npy"), np.load(corpus / "Std.npy")
    assert mean.shape == std.shape == (263,) and np.isfinite(mean).all() and (std > 0).all()
    ds = MotionTextDataset(corpus, "train", seed=0)
    assert len(ds) == len((corpus / "train.txt").read_text().split())
    item = ds[0]
    assert item["motion"].shape[1] == 263 and item["caption"]


def test_corpus_is_byte_identical_for_any_worker_count(corpus, tmp_path):
    again = tmp_path / "again"
    write_corpus(again, 24, seed=5, workers=1)
    files = sorted(p.relative_to(corpus) for p in corpus.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    for rel in files:
        assert (corpus / rel).read_bytes() == (again / rel).read_bytes(), rel


def test_corpus_programs_re_render_to_the_stored_motion(corpus):
    for sid in ("000000", "000007"):
        prog = load_program(corpus / "programs" / f"{sid}.json")
        joints = render_program(prog)
        feats = np.load(corpus / "new_joint_vecs" / f"{sid}.npy")
        assert abs(joints_to_features(joints.astype(np.float64)) - feats).max() < 1e-4
        np.testing.assert_allclose(normalise_joints(joints)[:-1], np.load(corpus / "new_joints" / f"{sid}.npy"),
                                   atol=1e-5)


def test_held_out_combinations_never_reach_train_or_val(corpus):
    info = json.loads((corpus / "splits.json").read_text())
    assert len(info["held_out"]["actions"]) == len(HELD_OUT_ACTIONS)
    assert [tuple(c) for c in info["held_out"]["compositions"]] == list(HELD_OUT_COMPOSITIONS)
    test_ids = set((corpus / "test.txt").read_text().split())
    for ids in info["test_ids_by_held_out"].values():
        assert set(ids) <= test_ids
    for split in ("train", "val"):
        for sid in (corpus / f"{split}.txt").read_text().split():
            assert held_out_items(load_program(corpus / "programs" / f"{sid}.json")) == []
    # and over many more samples than the small corpus holds
    seen = set()
    for i in range(300):
        split, prog, _, _, held = make_sample(9, i)
        if split != "test":
            assert not held
        seen.update(held)
    assert len(seen) >= 6  # the test split does get held-out items


def test_physical_plausibility_over_200_motions():
    skate, pen, bone, jit, speed, acc = [], [], [], [], [], []
    for i in range(200):
        _, _, _, r, _ = make_sample(21, i)
        j = normalise_joints(r.joints)
        skate.append(foot_skating(j))
        pen.append(ground_penetration(j))
        bone.append(bone_length_variation(j))
        jit.append(jitter(j))
        speed.append(np.linalg.norm(np.diff(j, axis=0), axis=-1).max() * 20)
        acc.append(np.linalg.norm(np.diff(j, 2, axis=0), axis=-1).max() * 400)
        assert 41 <= len(j) <= 197
    assert np.mean(skate) < 0.03          # m/s, planted feet
    assert max(pen) < 0.01                # m below the floor
    assert max(bone) < 1e-4               # constant bone lengths
    assert np.mean(jit) < 8.0             # m/s^2 (HumanML3D clips: 2-6)
    assert max(speed) < 15.0              # no velocity spikes: peak joint speed (sprinting feet ~13 m/s)
    assert max(acc) < 400.0               # and no jumps in velocity (m/s^2; landings ~200)


# --------------------------------------------------------------------------- command line

def test_program_command(tmp_path, capsys):
    prog = tmp_path / "p.json"
    prog.write_text(json.dumps({"actions": [{"name": "clap", "params": {"count": 2}}]}))
    out = tmp_path / "m.npy"
    assert program_main(program=str(prog), output=str(out), seed=None, to="joints") == 0
    assert np.load(out).shape[1:] == (22, 3)
    feats = tmp_path / "f.npy"
    assert program_main(program=str(prog), output=str(feats), seed=1, to="features") == 0
    assert np.load(feats).shape[1] == 263

    bad = tmp_path / "bad.json"
    bad.write_text('{"actions": [{"name": "walk", "params": {"steps": 99}}]}')
    out2 = tmp_path / "none.npy"
    assert program_main(program=str(bad), output=str(out2), seed=None, to="joints") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "actions[0].params.steps" in err[0] and "bad.json" in err[0]
    assert not out2.exists()
    bad.write_text("{not json")
    assert program_main(program=str(bad), output=str(out2), seed=None, to="joints") == 2
    assert "not valid JSON" in capsys.readouterr().err
    assert program_main(program=str(tmp_path / "missing.json"), output=str(out2), seed=None, to="joints") == 2
    assert program_main(program=str(prog), output=str(tmp_path / "m.txt"), seed=None, to="joints") == 2
    assert not out2.exists() and not list(tmp_path.glob(".*"))


def test_synth_command(tmp_path, capsys):
    out = tmp_path / "c"
    assert synth_main(out=str(out), n=6, seed=1, workers=1) == 0
    assert "wrote 6 motions" in capsys.readouterr().out
    assert synth_main(out=str(out), n=6, seed=1, workers=1) == 2       # not empty: refuse
    assert "already exists" in capsys.readouterr().err
    assert synth_main(out=str(tmp_path / "d"), n=0, seed=1, workers=1) == 2
    assert not (tmp_path / "d").exists() and not (tmp_path / "c.partial").exists()


def test_compositional_ids_are_unseen_chains_of_two_to_four_actions(corpus):
    import json

    from irgmotion.data.synth import compositional_ids

    def chain(sid):
        return tuple(a["name"] for a in json.loads((corpus / "programs" / f"{sid}.json").read_text())["actions"])

    train = {chain(s) for s in (corpus / "train.txt").read_text().split()}
    picked = compositional_ids(corpus)
    test = (corpus / "test.txt").read_text().split()
    assert set(picked) <= set(test)
    for sid in test:
        unseen = 2 <= len(chain(sid)) <= 4 and chain(sid) not in train
        assert (sid in picked) == unseen
