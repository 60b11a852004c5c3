"""irgmotion: interleaved reasoning for text-to-motion generation (IRG-MotionLLM).

    from irgmotion import MotionReasoner
    m = MotionReasoner.from_pretrained().generate("a person jumps twice")
"""
from .lazy_exports import lazy_exports

__version__ = "0.1.0"
# Loaded on first use (PEP 562): `import irgmotion` (and the command line's start) stays free of torch.
__getattr__, __all__ = lazy_exports(__name__, {"MotionReasoner": "api", "Motion": "api", "MotionRound": "api"})
