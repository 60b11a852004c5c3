"""Text-motion evaluators (Guo-style and TMR-style), their training, and the field's metrics.

    from irgmotion.evaluator import load_evaluator
    ev = load_evaluator("runs/eval-guo")
    t = ev.embed_texts(["a person walks forward"])        # (1, E) numpy
    m = ev.embed_motions([features])                      # raw (T, 263) features -> (1, E)
    ev.distance(torch.from_numpy(t), torch.from_numpy(m))  # Euclidean distance matrix
"""
from .base import EvaluatorError, MatchingModel
from .guo import GuoConfig, GuoEvaluator, load_official_guo
from .registry import EVALUATOR_KINDS, load_evaluator
from .tmr import TMRConfig, TMREvaluator

__all__ = ["EvaluatorError", "MatchingModel", "EVALUATOR_KINDS", "load_evaluator", "GuoConfig", "GuoEvaluator", "load_official_guo",
           "TMRConfig", "TMREvaluator"]
