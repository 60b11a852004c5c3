"""Atomic, resumable training checkpoints (model, optimiser, step, RNG states).

Checkpoints hold tensors and plain Python values only and are read with `torch.load(weights_only=True)`:
a checkpoint handed over by someone else cannot run code when `--resume` reads it.
"""
from __future__ import annotations

import pickle
import random
from pathlib import Path

import numpy as np
import torch

from .fileio import atomic_path, remove_torn_temporaries


def rng_state() -> dict:
    """Python, NumPy and torch generator states as tensors and plain values (loadable with weights_only)."""
    version, internal, gauss = random.getstate()
    np_state = np.random.get_state(legacy=False)
    np_state["state"] = {"key": torch.from_numpy(np_state["state"]["key"].astype(np.int64)),
                         "pos": int(np_state["state"]["pos"])}
    return {"python": [version, list(internal), gauss], "numpy": np_state, "torch": torch.get_rng_state()}


def set_rng_state(state: dict) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    np_state = dict(state["numpy"])
    np_state["state"] = {"key": np.asarray(np_state["state"]["key"], dtype=np.uint32), "pos": np_state["state"]["pos"]}
    np.random.set_state(np_state)
    torch.set_rng_state(state["torch"])


def save_checkpoint(path: str | Path, **state) -> None:
    """torch.save to a temporary file, then rename: a kill never leaves a torn checkpoint."""
    state.setdefault("rng", rng_state())
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: str | Path) -> dict:
    """Read a checkpoint written by `save_checkpoint` (tensors and plain values only; never runs code)."""
    path = Path(path)
    remove_torn_temporaries(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no checkpoint to resume from")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"{path}: refused, the checkpoint holds objects other than tensors and plain values "
                         f"({first[:120]})") from None
    except Exception as exc:
        raise ValueError(f"{path}: unreadable checkpoint ({type(exc).__name__}: {str(exc)[:120]})") from None
