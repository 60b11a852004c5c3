"""The evaluator kinds a saved directory can hold, and opening one: `config.json` names its kind.

It lives beside the subclasses (not in `base`, which they import) so that the layers only import downward.
"""
from __future__ import annotations

from pathlib import Path

from ..motion.normalize import Normalizer
from .base import EvaluatorError, MatchingModel, config_from_dict, read_config
from .guo import GuoEvaluator
from .tmr import TMREvaluator

EVALUATOR_KINDS: dict[str, type[MatchingModel]] = {"guo": GuoEvaluator, "tmr": TMREvaluator}


def load_evaluator(path: str | Path, device: str = "cpu", **kwargs) -> MatchingModel:
    """Open a saved evaluator directory offline, in evaluation mode, on `device` (a resolved device string)."""
    from safetensors.torch import load_file

    directory = Path(path)
    doc = read_config(directory)
    cls = EVALUATOR_KINDS.get(doc["kind"])
    if cls is None:
        raise EvaluatorError(f"{directory}/config.json: unknown kind {doc['kind']!r}; "
                             f"expected one of {', '.join(EVALUATOR_KINDS)}")
    config = config_from_dict(cls.config_class, doc["model"], f"{directory}/config.json")
    try:
        normalizer = Normalizer.from_dir(directory)
    except (FileNotFoundError, ValueError) as exc:
        raise EvaluatorError(str(exc)) from None
    model = cls._load(directory, config, normalizer, **kwargs)
    weights = directory / "model.safetensors"
    if not weights.is_file():
        raise EvaluatorError(f"{weights}: missing weights file")
    try:
        state = load_file(str(weights))
        missing, unexpected = model.load_state_dict(state, strict=False)
    except Exception as exc:  # unreadable file or tensors of the wrong shape
        raise EvaluatorError(f"{weights}: cannot load ({type(exc).__name__}: {str(exc).splitlines()[0]})") from None
    if missing or unexpected:
        raise EvaluatorError(f"{weights}: weights do not match the config "
                             f"(missing {missing[:3]}, unexpected {unexpected[:3]})")
    model.info = doc
    return model.to(device).eval()
