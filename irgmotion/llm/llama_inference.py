"""The Llama architecture's forward pass for inference, without transformers' model classes.

Why by hand: importing transformers' `LlamaForCausalLM` costs about 2 s (its modeling utilities pull in
torch.distributed.tensor, torch._dynamo and accelerate), most of the 2.5 s that a whole `irgmotion generate` may
take, while the embedded bundle's LLM is a 3.7M-parameter Llama whose forward is a few dozen lines. This module reads
the same directory (config.json + model.safetensors) and computes the same operations in the same order as
transformers 5's Llama with SDPA attention, including when it passes SDPA a mask and when `is_causal` instead, so
the logits are equal bit for bit (tests/test_llama_inference.py) and greedy decoding picks the same tokens. It is
used only to decode (`MotionLLM.from_pretrained(..., fast=True)`); training, beam search and other architectures
load transformers' class. The key/value cache is any object with `update(keys, values, layer_index)` and
`get_seq_length()`: the decoder hands it a GrowingCache (reason/kv_cache.py), which imports no transformers."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

# The config values this forward implements; any other value loads transformers' class instead.
_REQUIRED = {"model_type": "llama", "hidden_act": "silu", "attention_bias": False, "mlp_bias": False,
             "pretraining_tp": 1}


def runs_config(config: dict) -> bool:
    """Whether this module computes exactly what transformers computes for the model of `config`."""
    if any(config.get(key, value) != value for key, value in _REQUIRED.items()):
        return False
    rope = config.get("rope_parameters") or {}
    return rope.get("rope_type", "default") == "default" and config.get("rope_scaling") is None


@dataclass
class _Shape:
    vocab: int
    hidden: int
    inter: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    eps: float
    theta: float
    tied: bool

    @classmethod
    def of(cls, config: dict) -> _Shape:
        heads = config["num_attention_heads"]
        rope = config.get("rope_parameters") or {}
        return cls(config["vocab_size"], config["hidden_size"], config["intermediate_size"],
                   config["num_hidden_layers"], heads, config.get("num_key_value_heads") or heads,
                   config.get("head_dim") or config["hidden_size"] // heads, config.get("rms_norm_eps", 1e-6),
                   rope.get("rope_theta", config.get("rope_theta", 10000.0)), config.get("tie_word_embeddings", True))


class _Linear(nn.Module):
    """nn.Linear without bias and without initialising its weight: every weight is loaded (and random
    initialisation on the meta device would import torch._dynamo, a second of start-up)."""

    def __init__(self, n_in: int, n_out: int):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_out, n_in))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight)


class _RMSNorm(nn.Module):
    def __init__(self, size: int, eps: float):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(size))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dtype = x.dtype
        x = x.to(torch.float32)
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x.to(dtype)


def _rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class _Attention(nn.Module):
    def __init__(self, s: _Shape, index: int):
        super().__init__()
        self.index, self.heads, self.kv_heads, self.head_dim = index, s.heads, s.kv_heads, s.head_dim
        self.q_proj = _Linear(s.hidden, s.heads * s.head_dim)
        self.k_proj = _Linear(s.hidden, s.kv_heads * s.head_dim)
        self.v_proj = _Linear(s.hidden, s.kv_heads * s.head_dim)
        self.o_proj = _Linear(s.heads * s.head_dim, s.hidden)
        self.scaling = s.head_dim ** -0.5

    def forward(self, x, cos, sin, mask, cache):
        shape = (*x.shape[:-1], -1, self.head_dim)
        q = self.q_proj(x).view(shape).transpose(1, 2)
        k = self.k_proj(x).view(shape).transpose(1, 2)
        v = self.v_proj(x).view(shape).transpose(1, 2)
        cos, sin = cos.unsqueeze(1), sin.unsqueeze(1)
        q = (q * cos) + (_rotate_half(q) * sin)
        k = (k * cos) + (_rotate_half(k) * sin)
        if cache is not None:
            k, v = cache.update(k, v, self.index)
        n_q = q.shape[2]
        if self.heads != self.kv_heads:  # transformers repeats the key/value heads before SDPA (CPU path)
            rep = self.heads // self.kv_heads
            k = k[:, :, None].expand(-1, -1, rep, -1, -1).reshape(k.shape[0], self.heads, -1, self.head_dim)
            v = v[:, :, None].expand(-1, -1, rep, -1, -1).reshape(v.shape[0], self.heads, -1, self.head_dim)
        is_causal = n_q > 1 and mask is None
        if is_causal and k.shape[2] > n_q:  # an empty cache's prefill: as transformers, keep the first n_q columns
            k, v = k[:, :, :n_q], v[:, :, :n_q]
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=0.0, scale=self.scaling,
                                             is_causal=is_causal)
        out = out.reshape(out.shape[0], -1, n_q, v.shape[-1]).transpose(1, 2).contiguous()
        return self.o_proj(out.reshape(*x.shape[:-1], -1).contiguous())


class _MLP(nn.Module):
    def __init__(self, s: _Shape):
        super().__init__()
        self.gate_proj = _Linear(s.hidden, s.inter)
        self.up_proj = _Linear(s.hidden, s.inter)
        self.down_proj = _Linear(s.inter, s.hidden)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class _Layer(nn.Module):
    def __init__(self, s: _Shape, index: int):
        super().__init__()
        self.self_attn, self.mlp = _Attention(s, index), _MLP(s)
        self.input_layernorm = _RMSNorm(s.hidden, s.eps)
        self.post_attention_layernorm = _RMSNorm(s.hidden, s.eps)

    def forward(self, x, cos, sin, mask, cache):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, mask, cache)
        return x + self.mlp(self.post_attention_layernorm(x))


class _Embedding(nn.Module):
    def __init__(self, n: int, dim: int):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n, dim))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return F.embedding(ids, self.weight)


class _Body(nn.Module):
    """Named as transformers' `model.` prefix, so the state dict's keys are the same."""

    def __init__(self, s: _Shape):
        super().__init__()
        self.embed_tokens = _Embedding(s.vocab, s.hidden)
        self.layers = nn.ModuleList(_Layer(s, i) for i in range(s.layers))
        self.norm = _RMSNorm(s.hidden, s.eps)


@dataclass
class Output:
    logits: torch.Tensor


class LlamaInference(nn.Module):
    """A Llama causal LM for decoding: `model(input_ids, attention_mask, position_ids, cache, logits_to_keep)`
    with transformers' argument names, returning `.logits`."""

    def __init__(self, config: dict):
        super().__init__()
        if not runs_config(config):
            raise ValueError("this config is not one the inference-only Llama computes exactly")
        self.config_dict = dict(config)
        self.shape = s = _Shape.of(config)
        self.num_hidden_layers = s.layers
        self.model = _Body(s)
        self.lm_head = _Linear(s.hidden, s.vocab)
        if s.tied:
            self.lm_head.weight = self.model.embed_tokens.weight
        inv_freq = 1.0 / (s.theta ** (torch.arange(0, s.head_dim, 2, dtype=torch.float) / s.head_dim))
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    @classmethod
    def from_pretrained(cls, directory: str | Path, dtype=torch.float32, device="cpu") -> LlamaInference:
        from safetensors.torch import load_file
        directory = Path(directory)
        config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
        model = cls(config)  # weights uninitialised (torch.empty): the file's tensors replace them
        state = load_file(str(directory / "model.safetensors"), device=str(device))
        if model.shape.tied:
            state.pop("lm_head.weight", None)
        missing, unexpected = model.load_state_dict(state, strict=False, assign=True)
        if unexpected or set(missing) - ({"lm_head.weight"} if model.shape.tied else set()):
            raise ValueError(f"{directory / 'model.safetensors'}: weights do not match config.json "
                             f"(missing {sorted(missing)[:3]}, unexpected {sorted(unexpected)[:3]})")
        if model.shape.tied:
            model.lm_head.weight = model.model.embed_tokens.weight
        inv_freq = model.inv_freq
        model = model.to(dtype).eval()
        model.inv_freq = inv_freq.to(device)  # kept in float32 under a bf16 model, as transformers' rotary does
        return model

    def _mask(self, attention_mask, n_q: int, past: int, batch: int, device) -> torch.Tensor | None:
        """transformers' SDPA mask: None where `is_causal` (or nothing) does the same, else boolean (B, 1, q, kv)."""
        n_kv = past + n_q
        pad = None
        if attention_mask is not None:
            pad = attention_mask.to(device=device, dtype=torch.bool)
            pad = F.pad(pad, (0, n_kv - pad.shape[-1])) if pad.shape[-1] < n_kv else pad[:, :n_kv]
        if (n_q == 1 or n_kv == n_q) and (pad is None or bool(pad.all())):
            return None
        if past == 0 and (pad is None or (bool(pad[:, :n_q].all()) and not bool(pad[:, n_q:].any()))):
            return None
        q = torch.arange(n_q, device=device) + past
        kv = torch.arange(n_kv, device=device)
        mask = (kv[None, None, None, :] <= q[None, None, :, None])
        if pad is not None:
            mask = mask & pad[:, None, None, :]
        return mask.expand(batch, -1, n_q, n_kv)

    def forward(self, input_ids, attention_mask=None, position_ids=None, cache=None, use_cache=True,
                logits_to_keep: int = 0, **_) -> Output:
        x = self.model.embed_tokens(input_ids)
        past = cache.get_seq_length() if cache is not None else 0
        if position_ids is None:
            position_ids = (torch.arange(x.shape[1], device=x.device) + past).unsqueeze(0)
        freqs = position_ids[..., None].float() * self.inv_freq.to(device=x.device, dtype=torch.float)
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos().to(x.dtype), emb.sin().to(x.dtype)
        mask = self._mask(attention_mask, x.shape[1], past, x.shape[0], x.device)
        for layer in self.model.layers:
            x = layer(x, cos, sin, mask, cache if use_cache else None)
        x = self.model.norm(x)
        if logits_to_keep:
            x = x[:, -logits_to_keep:, :]
        return Output(self.lm_head(x))


def expected_shapes(config: dict) -> dict[str, tuple]:
    """The weights' names and shapes a directory of this config must hold (the tied lm_head is not stored)."""
    model = LlamaInference(config)  # torch.empty weights: no initialisation, pages never touched
    return {k: tuple(v.shape) for k, v in model.named_parameters()}
