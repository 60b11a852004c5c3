"""Motion tokenizer: a VQ-VAE turning HumanML3D features into discrete tokens and back.

The names below load on first use (PEP 562), so `irgmotion.tokenizer.cli` and the command-line parser do not
import torch.
"""
import importlib

_EXPORTS = {"load_t2m_gpt_checkpoint": "checkpoint", "PRESETS": "model", "MotionVQVAE": "model",
            "QuantizeEMAReset": "model", "VQConfig": "model", "get_preset": "model",
            "MotionTokenizer": "pretrained", "TokenizerInputError": "pretrained"}

__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
