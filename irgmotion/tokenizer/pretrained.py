"""The motion tokenizer as a plain directory, and its encode/decode API.

    DIR/config.json         VQConfig + format tag
    DIR/model.safetensors   weights (codebook included)
    DIR/Mean.npy, Std.npy   normalisation statistics of the training data
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from ..fileio import atomic_path, write_text
from ..motion.normalize import Normalizer
from .model import MotionVQVAE, VQConfig

FORMAT = "irgmotion-motion-vqvae"


class TokenizerInputError(ValueError):
    """Motions or ids the tokenizer cannot take; the message says why."""


def _by_length(items: list[np.ndarray], batch_size: int, fn) -> list[np.ndarray]:
    """Apply `fn` to stacked batches of equal-length items and return results in input order.
    Same-length items share a batch: no padding, so results never depend on the batch mix."""
    out: list = [None] * len(items)
    groups: dict[int, list[int]] = {}
    for i, item in enumerate(items):
        groups.setdefault(len(item), []).append(i)
    for idxs in groups.values():
        for s in range(0, len(idxs), batch_size):
            chunk = idxs[s:s + batch_size]
            for i, row in zip(chunk, fn(np.stack([items[i] for i in chunk]))):
                out[i] = row
    return out


class MotionTokenizer:
    """Raw (unnormalised) features <-> token ids, batched, exact for any batch mix."""

    def __init__(self, model: MotionVQVAE, normalizer: Normalizer):
        if normalizer.dim != model.config.input_dim:
            raise ValueError(f"statistics have {normalizer.dim} channels, the VQ-VAE expects {model.config.input_dim}")
        self.model = model.eval()
        self.normalizer = normalizer

    @property
    def config(self) -> VQConfig:
        return self.model.config

    @property
    def codebook_size(self) -> int:
        return self.config.nb_code

    @property
    def unit_length(self) -> int:
        return self.config.unit_length

    # ---- persistence -------------------------------------------------------
    def save_pretrained(self, directory: str | Path, extra: dict | None = None) -> Path:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().contiguous() for k, v in self.model.state_dict().items()}
        with atomic_path(directory / "model.safetensors") as tmp:
            save_file(state, str(tmp), metadata={"format": FORMAT})
        self.normalizer.save(directory)
        write_text(directory / "config.json", json.dumps({"format": FORMAT, **self.config.to_dict(), **(extra or {})}, indent=2))
        return directory

    @classmethod
    def from_pretrained(cls, directory: str | Path, device: str = "cpu") -> "MotionTokenizer":
        directory = Path(directory)
        cfg_path, weights = directory / "config.json", directory / "model.safetensors"
        for path in (cfg_path, weights):
            if not path.is_file():
                raise FileNotFoundError(f"{path}: missing; a tokenizer directory holds config.json, model.safetensors, Mean.npy, Std.npy")
        raw = json.loads(cfg_path.read_text())
        if raw.pop("format", FORMAT) != FORMAT:
            raise ValueError(f"{cfg_path}: not a motion tokenizer config")
        known = VQConfig.__dataclass_fields__
        config = VQConfig.from_dict({k: v for k, v in raw.items() if k in known})
        with torch.device("meta"):  # no random initialisation of weights the file replaces (a tenth of a second)
            model = MotionVQVAE(config)
        model.load_state_dict(load_file(str(weights), device=device), assign=True)
        return cls(model.to(device), Normalizer.from_dir(directory))

    # ---- encode / decode ---------------------------------------------------
    def _check_motion(self, m, i: int) -> np.ndarray:
        m = np.asarray(m, dtype=np.float32)
        if m.ndim != 2 or m.shape[1] != self.config.input_dim:
            raise TokenizerInputError(f"motion {i}: expected features of shape (T, {self.config.input_dim}), got {m.shape}")
        if len(m) < self.unit_length:
            raise TokenizerInputError(f"motion {i}: {len(m)} frame(s); at least {self.unit_length} are needed for one token")
        if not np.isfinite(m).all():
            raise TokenizerInputError(f"motion {i}: contains NaN or inf")
        return m[: len(m) // self.unit_length * self.unit_length]  # whole tokens only

    def encode(self, motions, batch_size: int = 64) -> list[np.ndarray]:
        """Raw features, one (T, D) array or a list of them -> list of int64 id arrays (T // unit_length each)."""
        single = isinstance(motions, np.ndarray) and motions.ndim == 2
        motions = [self._check_motion(m, i) for i, m in enumerate([motions] if single else motions)]
        device = next(self.model.parameters()).device
        return _by_length(motions, batch_size, lambda batch: self.model.encode(
            torch.from_numpy(self.normalizer.normalize(batch)).to(device)).cpu().numpy().astype(np.int64))

    def _check_ids(self, ids, i: int) -> np.ndarray:
        arr = np.asarray(ids)
        if arr.ndim != 1 or arr.size == 0:
            raise TokenizerInputError(f"token sequence {i}: expected a non-empty 1-D list of ids, got shape {arr.shape}")
        if not np.issubdtype(arr.dtype, np.integer):
            if np.issubdtype(arr.dtype, np.floating) and np.all(arr == np.round(arr)):
                arr = arr.astype(np.int64)
            else:
                raise TokenizerInputError(f"token sequence {i}: ids must be integers")
        bad = arr[(arr < 0) | (arr >= self.codebook_size)]
        if bad.size:
            raise TokenizerInputError(f"token sequence {i}: id {int(bad[0])} is outside the codebook [0, {self.codebook_size - 1}]")
        return arr.astype(np.int64)

    def decode(self, ids, batch_size: int = 64) -> list[np.ndarray]:
        """List of id sequences (or one) -> list of raw features (len * unit_length, D) float32."""
        single = not isinstance(ids, (list, tuple)) or (len(ids) > 0 and np.isscalar(ids[0]))
        seqs = [self._check_ids(s, i) for i, s in enumerate([ids] if single else ids)]
        device = next(self.model.parameters()).device
        return _by_length(seqs, batch_size, lambda batch: self.normalizer.denormalize(
            self.model.decode(torch.from_numpy(batch).to(device)).cpu().numpy()).astype(np.float32))
