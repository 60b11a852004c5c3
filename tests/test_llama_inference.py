"""The inference-only Llama forward (irgmotion/llm/llama_inference.py) against transformers' LlamaForCausalLM:
equal logits bit for bit, through a prefill and cached decoding steps, with and without left padding, on the
embedded bundle's LLM; and the bundle loads it without importing transformers' model classes."""
import json
import subprocess
import sys

import pytest
import torch

from irgmotion.llm.llama_inference import LlamaInference, expected_shapes, runs_config
from irgmotion.reason.bundle import EMBEDDED
from irgmotion.reason.kv_cache import growing_cache

LLM = EMBEDDED / "llm"
needs_bundle = pytest.mark.skipif(not (LLM / "model.safetensors").is_file(), reason="embedded bundle absent")


def _decode(model, ids, mask, steps, cache):
    """Prefill then greedy steps, the decoder's way (positions count a row's own tokens); every step's logits."""
    out = []
    with torch.no_grad():
        pos = (mask.cumsum(-1) - 1).clamp(min=0)
        logits = model(input_ids=ids, attention_mask=mask, position_ids=pos, cache=cache, use_cache=True,
                       logits_to_keep=1).logits
        out.append(logits)
        for _ in range(steps):
            nxt = logits[:, -1].argmax(-1, keepdim=True)
            mask, pos = torch.cat([mask, torch.ones_like(nxt)], 1), pos[:, -1:] + 1
            logits = model(input_ids=nxt, attention_mask=mask, position_ids=pos, cache=cache, use_cache=True,
                           logits_to_keep=1).logits
            out.append(logits)
    return out


@needs_bundle
@pytest.mark.parametrize("batch, width, padded", [(1, 30, False), (3, 25, True), (4, 17, False)])
def test_logits_equal_transformers_bit_for_bit(batch, width, padded):
    from transformers import AutoModelForCausalLM
    reference = AutoModelForCausalLM.from_pretrained(str(LLM)).eval()
    fast = LlamaInference.from_pretrained(LLM)
    gen = torch.Generator().manual_seed(batch)
    ids = torch.randint(3, reference.config.vocab_size, (batch, width), generator=gen)
    mask = torch.ones(batch, width, dtype=torch.long)
    if padded:
        for b in range(batch):
            mask[b, :4 * b], ids[b, :4 * b] = 0, 0
    want = _decode(reference, ids, mask, 12, growing_cache(reference))
    got = _decode(fast, ids, mask, 12, growing_cache(fast))
    assert all(torch.equal(a, b) for a, b in zip(want, got))


def test_only_configs_it_computes_exactly_are_taken():
    config = json.loads((LLM / "config.json").read_text()) if LLM.is_dir() else {
        "model_type": "llama", "vocab_size": 50, "hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1,
        "num_attention_heads": 2}
    assert runs_config(config)
    assert not runs_config({**config, "model_type": "gemma2"})
    assert not runs_config({**config, "rope_parameters": {"rope_type": "llama3", "rope_theta": 5e5}})
    assert not runs_config({**config, "attention_bias": True})
    shapes = expected_shapes({**config, "num_hidden_layers": 1})
    assert shapes["model.embed_tokens.weight"] == (config["vocab_size"], config["hidden_size"])
    assert "model.layers.0.mlp.gate_proj.weight" in shapes and "model.layers.1.mlp.gate_proj.weight" not in shapes


@needs_bundle
def test_a_bundle_decodes_without_transformers_model_classes():
    code = ("import sys; from irgmotion.reason.bundle import load_bundle; b = load_bundle(); "
            "print(type(b.llm.model).__name__, 'transformers.modeling_utils' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["LlamaInference", "False"]
