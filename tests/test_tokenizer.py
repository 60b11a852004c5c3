import json

import numpy as np
import pytest
import torch

from irgmotion.cli import main
from irgmotion.motion import Normalizer
from irgmotion.tokenizer import (MotionTokenizer, MotionVQVAE, QuantizeEMAReset, TokenizerInputError, get_preset,
                                 load_t2m_gpt_checkpoint)
from irgmotion.tokenizer.train import TrainVQConfig, train_vq

SMALL = dict(nb_code=32, code_dim=16, width=16, depth=1)


def _tokenizer(seed=0):
    torch.manual_seed(seed)
    model = MotionVQVAE(get_preset("tiny", **SMALL))
    model.train()
    model(torch.randn(4, 16, 263))  # initialise the codebook
    return MotionTokenizer(model, Normalizer(np.zeros(263), np.ones(263)))


@pytest.mark.parametrize("T", [4, 40, 63, 64, 197])
def test_encode_decode_lengths(T):
    tok = _tokenizer()
    ids = tok.encode(np.random.randn(T, 263).astype(np.float32))[0]
    assert ids.shape == (T // 4,) and ids.dtype == np.int64 and ids.max() < 32
    feats = tok.decode([ids])[0]
    assert feats.shape == (T // 4 * 4, 263)


def test_batched_results_do_not_depend_on_batch_mix():
    tok = _tokenizer()
    rng = np.random.default_rng(0)
    motions = [rng.normal(size=(n, 263)).astype(np.float32) for n in (40, 64, 40, 100, 64)]
    together = tok.encode(motions, batch_size=2)
    alone = [tok.encode(m)[0] for m in motions]
    for a, b in zip(together, alone):
        np.testing.assert_array_equal(a, b)
    decoded = tok.decode(together)
    np.testing.assert_allclose(decoded[3], tok.decode([alone[3]])[0], atol=1e-5)


def test_quantizer_ema_update_and_dead_code_reset():
    torch.manual_seed(0)
    q = QuantizeEMAReset(nb_code=4, code_dim=2, mu=0.5)
    q.train()
    # Two tight clusters of 8 vectors around +1 and -1.
    x = torch.cat([torch.full((1, 2, 8), 1.0), torch.full((1, 2, 8), -1.0)], dim=2)
    x = x + 0.01 * torch.randn_like(x)
    q(x)
    assert bool(q.initialized)
    stale = torch.full((4, 2), 50.0)
    q.codebook.copy_(stale)  # every code far away: only reset can bring them back
    q.code_sum.copy_(stale)
    q.code_count.fill_(0.1)
    for _ in range(10):
        quant, commit, ppl, idx = q(x)
    # Every code was reset from the batch, then pulled to its points by the EMA.
    assert (q.codebook.abs() - 1).abs().max() < 0.05
    assert {float(v) > 0 for v in q.codebook[:, 0]} == {True, False}  # both clusters have codes
    assert (quant - x).abs().max() < 0.05 and commit < 1e-3
    # EMA: a live code's centre equals its accumulated sum over count.
    assert torch.allclose(q.codebook, q.code_sum / q.code_count[:, None], atol=1e-6)
    # Straight-through: gradients reach the input unchanged.
    xg = x.clone().requires_grad_(True)
    q(xg)[0].sum().backward()
    assert torch.allclose(xg.grad, torch.ones_like(xg))


def test_quantizer_eval_does_not_update():
    q = QuantizeEMAReset(4, 2)
    q.train()
    q(torch.randn(1, 2, 8))
    before = q.codebook.clone()
    q.eval()
    q(torch.randn(1, 2, 8) * 5)
    assert torch.equal(before, q.codebook)


def test_save_load_round_trip(tmp_path):
    tok = _tokenizer()
    tok.save_pretrained(tmp_path / "vq")
    assert {p.name for p in (tmp_path / "vq").iterdir()} >= {"config.json", "model.safetensors", "Mean.npy", "Std.npy"}
    again = MotionTokenizer.from_pretrained(tmp_path / "vq")
    x = np.random.randn(48, 263).astype(np.float32)
    np.testing.assert_array_equal(tok.encode(x)[0], again.encode(x)[0])
    for k, v in tok.model.state_dict().items():
        assert torch.equal(v, again.model.state_dict()[k]), k


@pytest.mark.parametrize("motion, match", [
    (np.zeros((3, 263)), "at least 4"),
    (np.zeros((10, 100)), "shape"),
    (np.full((8, 263), np.nan), "NaN"),
])
def test_encode_rejects_bad_motion(motion, match):
    with pytest.raises(TokenizerInputError, match=match):
        _tokenizer().encode(motion)


@pytest.mark.parametrize("ids, match", [([], "non-empty"), ([1, 2, 32], "outside the codebook"), ([-1], "outside"),
                                        ([1.5], "integers")])
def test_decode_rejects_bad_ids(ids, match):
    with pytest.raises(TokenizerInputError, match=match):
        _tokenizer().decode([ids])


def test_load_authors_checkpoint_layout(tmp_path):
    """A randomly initialised state dict in T2M-GPT's layout loads into the paper preset unchanged."""
    reference = MotionVQVAE(get_preset("paper"))
    state = {f"vqvae.{k}": torch.randn_like(v.float()) for k, v in reference.state_dict().items()
             if k.split(".")[-1] not in ("code_sum", "code_count", "initialized")}
    torch.save({"net": state, "ep": 10}, tmp_path / "vqvae.pth")
    model = load_t2m_gpt_checkpoint(tmp_path / "vqvae.pth")
    own = model.state_dict()
    for key, value in state.items():
        assert torch.equal(own[key[len("vqvae."):]], value), key
    assert own["quantizer.codebook"].shape == (512, 512)
    bad = dict(state)
    bad.pop("vqvae.decoder.model.0.weight")
    torch.save({"net": bad}, tmp_path / "bad.pth")
    with pytest.raises(ValueError, match="missing"):
        load_t2m_gpt_checkpoint(tmp_path / "bad.pth")
    torch.save({"weights": state}, tmp_path / "nonet.pth")
    with pytest.raises(ValueError, match="'net'"):
        load_t2m_gpt_checkpoint(tmp_path / "nonet.pth")


def _cfg(data, out, steps):
    return TrainVQConfig(data=str(data), out=str(out), preset="tiny", steps=steps, batch_size=8, window=32,
                         val_every=4, checkpoint_every=2, warmup=2, seed=3)


def test_training_resume_matches_uninterrupted_run(toy_dataset, tmp_path):
    quiet = lambda *a: None  # noqa: E731
    train_vq(_cfg(toy_dataset, tmp_path / "full", 6), vq_overrides=SMALL, log=quiet)
    def killer(message):  # the process dies at step 4, before that step's checkpoint
        if message.startswith("step 4"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_vq(_cfg(toy_dataset, tmp_path / "part", 6), vq_overrides=SMALL, log=killer)
    assert not (tmp_path / "part" / "model.safetensors").exists()
    result = train_vq(_cfg(toy_dataset, tmp_path / "part", 6), resume=True, vq_overrides=SMALL, log=quiet)
    assert result["steps"] == 6
    full = MotionTokenizer.from_pretrained(tmp_path / "full").model.state_dict()
    resumed = MotionTokenizer.from_pretrained(tmp_path / "part").model.state_dict()
    for k in full:
        assert torch.allclose(full[k].float(), resumed[k].float(), atol=1e-5), k
    log = json.loads((tmp_path / "full" / "train_log.json").read_text())
    assert log["history"][-1]["mpjpe_mm"] > 0
    # no learning rate given: the tiny preset's own default is used and recorded
    assert json.loads((tmp_path / "full" / "train_config.json").read_text())["train"]["lr"] == 6e-4


def test_cli_tokenize_detokenize(toy_dataset, tmp_path, capsys):
    train_vq(_cfg(toy_dataset, tmp_path / "vq", 2), vq_overrides=SMALL, log=lambda *a: None)
    motion = toy_dataset / "new_joint_vecs" / "000000.npy"
    assert main(["tokenize", str(motion), "--vq", str(tmp_path / "vq")]) == 0
    ids = capsys.readouterr().out.strip()
    assert len(ids.split()) == len(np.load(motion)) // 4
    assert main(["detokenize", ids, str(tmp_path / "m.npy"), "--vq", str(tmp_path / "vq"), "--to", "joints"]) == 0
    assert np.load(tmp_path / "m.npy").shape[1:] == (22, 3)
    assert main(["detokenize", "1 2 999", str(tmp_path / "x.npy"), "--vq", str(tmp_path / "vq")]) == 2
    assert "outside the codebook" in capsys.readouterr().err
    assert not (tmp_path / "x.npy").exists()
    assert main(["detokenize", "", str(tmp_path / "x.npy"), "--vq", str(tmp_path / "vq")]) == 2
    assert main(["tokenize", str(motion), "--vq", str(tmp_path / "nowhere")]) == 2
    cache = tmp_path / "cache.json"
    assert main(["tokenize-dataset", "--vq", str(tmp_path / "vq"), "--data", str(toy_dataset), "--split", "test",
                 "--out", str(cache)]) == 0
    assert len(json.loads(cache.read_text())["tokens"]) == 2


def test_root_loss_weight_changes_training_and_old_configs_still_load(toy_dataset, tmp_path):
    quiet = lambda *a: None  # noqa: E731
    train_vq(_cfg(toy_dataset, tmp_path / "plain", 2), vq_overrides=SMALL, log=quiet)
    train_vq(_cfg(toy_dataset, tmp_path / "root", 2), vq_overrides={**SMALL, "w_root": 5.0}, log=quiet)
    plain = MotionTokenizer.from_pretrained(tmp_path / "plain")
    root = MotionTokenizer.from_pretrained(tmp_path / "root")
    assert root.config.w_root == 5.0 and plain.config.w_root == 0.0
    a, b = plain.model.state_dict(), root.model.state_dict()
    assert any(not torch.equal(a[k], b[k]) for k in a)  # same seed and data: only the loss differs
    # A tokenizer saved before w_root existed loads with the old behaviour.
    cfg_file = tmp_path / "plain" / "config.json"
    cfg = json.loads(cfg_file.read_text())
    (cfg["vq"] if "vq" in cfg else cfg).pop("w_root")
    cfg_file.write_text(json.dumps(cfg))
    assert MotionTokenizer.from_pretrained(tmp_path / "plain").config.w_root == 0.0
