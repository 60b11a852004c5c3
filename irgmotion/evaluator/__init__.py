"""Text-motion evaluators (Guo-style and TMR-style), their training, and the field's metrics.

    from irgmotion.evaluator import load_evaluator
    ev = load_evaluator("runs/eval-guo")
    t = ev.embed_texts(["a person walks forward"])        # (1, E) numpy
    m = ev.embed_motions([features])                      # raw (T, 263) features -> (1, E)
    ev.distance(torch.from_numpy(t), torch.from_numpy(m))  # Euclidean distance matrix
"""
from ..lazy_exports import lazy_exports

# Loaded on first use (PEP 562): the command-line parser imports evaluator.cli without torch.
__getattr__, __all__ = lazy_exports(__name__, {
    "EvaluatorError": "base", "MatchingModel": "base", "EVALUATOR_KINDS": "registry", "load_evaluator": "registry",
    "GuoConfig": "guo", "GuoEvaluator": "guo", "load_official_guo": "guo", "TMRConfig": "tmr", "TMREvaluator": "tmr"})
