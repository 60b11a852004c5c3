"""Motion tokenizer: a VQ-VAE turning HumanML3D features into discrete tokens and back."""
from .checkpoint import load_t2m_gpt_checkpoint
from .model import PRESETS, MotionVQVAE, QuantizeEMAReset, VQConfig, get_preset
from .pretrained import MotionTokenizer, TokenizerInputError

__all__ = ["load_t2m_gpt_checkpoint", "PRESETS", "MotionVQVAE", "QuantizeEMAReset", "VQConfig", "get_preset",
           "MotionTokenizer", "TokenizerInputError"]
