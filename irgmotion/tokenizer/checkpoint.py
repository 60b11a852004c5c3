"""Loading the authors' released tokenizer (Motion-Agent / T2M-GPT `vqvae.pth`).

That file is a torch pickle holding `{"net": state_dict}` with T2M-GPT names
(`vqvae.encoder.model.0.weight`, ..., `vqvae.quantizer.codebook`). Our modules
use the same names, so loading strips the `vqvae.` prefix and fills the EMA
statistics (not stored by T2M-GPT) from the codebook.
"""
from __future__ import annotations

from pathlib import Path

import torch

from .model import MotionVQVAE, VQConfig, get_preset

_EMA_BUFFERS = ("quantizer.code_sum", "quantizer.code_count", "quantizer.initialized")


def convert_t2m_gpt_state(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    out = {}
    for key, value in state.items():
        for prefix in ("module.", "vqvae."):
            if key.startswith(prefix):
                key = key[len(prefix):]
        out[key] = value
    return out


def load_t2m_gpt_checkpoint(path: str | Path, config: VQConfig | None = None) -> MotionVQVAE:
    """Build the `paper` preset (or `config`) and load a T2M-GPT style `.pth` into it."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: checkpoint not found")
    blob = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(blob, dict) or "net" not in blob:
        raise ValueError(f"{path}: expected a dict with key 'net' (T2M-GPT / Motion-Agent layout)")
    state = convert_t2m_gpt_state(blob["net"])
    model = MotionVQVAE(config or get_preset("paper"))
    expected = set(model.state_dict()) - set(_EMA_BUFFERS)
    missing, unexpected = expected - set(state), set(state) - set(model.state_dict())
    if missing or unexpected:
        raise ValueError(f"{path}: parameter names do not match the VQ-VAE "
                         f"(missing {sorted(missing)[:5]}, unexpected {sorted(unexpected)[:5]})")
    own = model.state_dict()
    for key in expected:
        if own[key].shape != state[key].shape:
            raise ValueError(f"{path}: {key} has shape {tuple(state[key].shape)}, expected {tuple(own[key].shape)}")
    codebook = state["quantizer.codebook"]
    state.update({"quantizer.code_sum": codebook.clone(), "quantizer.code_count": torch.ones(len(codebook)),
                  "quantizer.initialized": torch.tensor(True)})
    model.load_state_dict(state)
    return model
