"""What both evaluators share: the interface, motion preparation, saving and loading.

An evaluator is a directory:

    config.json         {"kind": "guo" | "tmr", "model": {...}, ...}
    model.safetensors   the weights
    Mean.npy, Std.npy   the statistics its motion input is normalised with
    (kind-specific files: the word list and POS table for "guo")

`load_evaluator(path)` opens one offline. Every evaluator embeds texts and motions
into one space where the Euclidean distance ranks matches.
"""
from __future__ import annotations

import json
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..motion.normalize import Normalizer

FORMAT_VERSION = 1
UNIT_LENGTH = 4  # frames per motion unit (one token of the motion tokenizer)
MAX_FRAMES = 196  # frames an evaluator sees at most (longer motions are cut)


class EvaluatorError(ValueError):
    """An evaluator directory or input that cannot be used; the message says why."""


def config_from_dict(cls, data: dict, where: str):
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise EvaluatorError(f"{where}: unknown config key(s) {', '.join(unknown)}; known: {', '.join(sorted(names))}")
    return cls(**data)


def prepare_motion(motion: np.ndarray, max_frames: int = MAX_FRAMES, unit: int = UNIT_LENGTH) -> np.ndarray:
    """Cut to the first `max_frames` frames and to a whole number of units (at least one unit)."""
    motion = np.asarray(motion, dtype=np.float32)[:max_frames]
    length = max(unit, (len(motion) // unit) * unit)
    if len(motion) < length:  # shorter than one unit: repeat the last frame
        motion = np.concatenate([motion, np.repeat(motion[-1:], length - len(motion), 0)], 0)
    return motion[:length]


def pad_batch(motions: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    lengths = torch.tensor([len(m) for m in motions])
    out = torch.zeros(len(motions), int(lengths.max()), motions[0].shape[-1])
    for i, m in enumerate(motions):
        out[i, : len(m)] = torch.from_numpy(np.asarray(m, dtype=np.float32))
    return out, lengths


def pairwise_distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(N, M) Euclidean distances between rows of `a` and rows of `b`."""
    sq = (a * a).sum(-1, keepdim=True) - 2 * a @ b.T + (b * b).sum(-1)[None]
    return sq.clamp_min(0).sqrt()


class MatchingModel(nn.Module):
    """Base of the evaluators: a text encoder and a motion encoder into one space."""

    kind = ""
    config_class: Any = None

    def __init__(self, config, normalizer: Normalizer):
        super().__init__()
        self.config = config
        self.normalizer = normalizer

    # To implement ------------------------------------------------------
    def encode_text(self, captions: list[str], tokens: list[list[str]] | None = None) -> torch.Tensor:
        raise NotImplementedError

    def encode_motion(self, motion: torch.Tensor, lengths: torch.Tensor | list[int]) -> torch.Tensor:
        """Embeddings (B, E) of normalised features (B, T, D) with valid `lengths` (frames)."""
        raise NotImplementedError

    def _save_extra(self, directory: Path) -> None:
        pass

    @classmethod
    def _load(cls, directory: Path, config, normalizer: Normalizer) -> "MatchingModel":
        return cls(config, normalizer)

    # Shared ------------------------------------------------------------
    @staticmethod
    def distance(text_emb: torch.Tensor, motion_emb: torch.Tensor) -> torch.Tensor:
        """Pairwise Euclidean distance matrix (texts x motions)."""
        return pairwise_distance(text_emb, motion_emb)

    @property
    def device(self) -> torch.device:
        """Where the model's weights are (inputs are moved there; embeddings come back to the CPU as numpy)."""
        return next(self.parameters()).device

    @property
    def feature_dim(self) -> int:
        return self.normalizer.dim

    @torch.no_grad()
    def embed_texts(self, captions: list[str], tokens: list[list[str]] | None = None,
                    batch_size: int = 256) -> np.ndarray:
        """Embeddings (N, E) of captions, in evaluation mode, as numpy."""
        was = self.training
        self.eval()
        try:
            out = []
            for i in range(0, len(captions), batch_size):
                tok = tokens[i:i + batch_size] if tokens is not None else None
                out.append(self.encode_text(captions[i:i + batch_size], tok).float().cpu().numpy())
        finally:
            self.train(was)
        return np.concatenate(out, 0) if out else np.zeros((0, self.embed_dim), np.float32)

    @torch.no_grad()
    def embed_motions(self, motions: list[np.ndarray], batch_size: int = 64,
                      max_frames: int = MAX_FRAMES) -> np.ndarray:
        """Embeddings (N, E) of raw (unnormalised) feature arrays (T, D), in evaluation mode."""
        prepared = []
        for i, m in enumerate(motions):
            m = np.asarray(m)
            if m.ndim != 2 or m.shape[1] != self.feature_dim:
                raise EvaluatorError(f"motion {i}: expected features of shape (T, {self.feature_dim}), got {m.shape}")
            prepared.append(self.normalizer.normalize(prepare_motion(m, max_frames)))
        order = np.argsort([-len(m) for m in prepared], kind="stable")  # similar lengths batch together
        out = np.zeros((len(prepared), self.embed_dim), np.float32)
        was = self.training
        self.eval()
        try:
            for i in range(0, len(order), batch_size):
                idx = order[i:i + batch_size]
                x, lengths = pad_batch([prepared[j] for j in idx])
                out[idx] = self.encode_motion(x.to(self.device), lengths).float().cpu().numpy()
        finally:
            self.train(was)
        return out

    def match_distance(self, captions: list[str], motions: list[np.ndarray],
                       tokens: list[list[str]] | None = None) -> np.ndarray:
        """Distance (N,) between caption i and raw motion i: lower is a better match (e.g. for rewards)."""
        if len(captions) != len(motions):
            raise EvaluatorError(f"{len(captions)} captions but {len(motions)} motions")
        t = self.embed_texts(captions, tokens)
        m = self.embed_motions(motions)
        return np.linalg.norm(t - m, axis=1)

    @property
    def embed_dim(self) -> int:
        raise NotImplementedError

    def save(self, directory: str | Path, info: dict | None = None) -> Path:
        """Write config.json, model.safetensors and the statistics; each file is written atomically."""
        from safetensors.torch import save_file

        from ..fileio import atomic_path, write_text
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().contiguous().clone() for k, v in self.state_dict().items()}
        with atomic_path(directory / "model.safetensors") as tmp:
            save_file(state, str(tmp), metadata={"kind": self.kind})
        self.normalizer.save(directory)
        self._save_extra(directory)
        doc = {"kind": self.kind, "format_version": FORMAT_VERSION, "model": asdict(self.config)}
        if info:
            doc.update(info)
        write_text(directory / "config.json", json.dumps(doc, indent=2) + "\n")
        return directory


def read_config(directory: str | Path) -> dict:
    directory = Path(directory)
    path = directory / "config.json"
    if not directory.exists():
        raise FileNotFoundError(f"{directory}: evaluator directory not found")
    if not path.is_file():
        raise EvaluatorError(f"{directory}: not an evaluator directory (no config.json; "
                             "train one with `irgmotion train-evaluator`)")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise EvaluatorError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(doc, dict) or "kind" not in doc or "model" not in doc:
        raise EvaluatorError(f"{path}: expected an object with 'kind' and 'model'")
    return doc
