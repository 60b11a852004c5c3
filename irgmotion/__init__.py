"""irgmotion: interleaved reasoning for text-to-motion generation (IRG-MotionLLM)."""
__version__ = "0.1.0"
