"""Motion tokenizer: a VQ-VAE turning HumanML3D features into discrete tokens and back.

The names below load on first use (PEP 562), so `irgmotion.tokenizer.cli` and the command-line parser do not
import torch.
"""
from ..lazy_exports import lazy_exports

__getattr__, __all__ = lazy_exports(__name__, {
    "load_t2m_gpt_checkpoint": "checkpoint", "PRESETS": "model", "MotionVQVAE": "model", "QuantizeEMAReset": "model",
    "VQConfig": "model", "get_preset": "model", "MotionTokenizer": "pretrained", "TokenizerInputError": "pretrained"})
