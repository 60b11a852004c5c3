"""Z-score normalisation of features with the dataset's Mean.npy / Std.npy."""
from __future__ import annotations

from pathlib import Path

import numpy as np


class Normalizer:
    """Feature normalisation; works on numpy arrays and torch tensors alike."""

    def __init__(self, mean: np.ndarray, std: np.ndarray, eps: float = 1e-8):
        mean = np.asarray(mean, dtype=np.float32)
        std = np.asarray(std, dtype=np.float32)
        if mean.ndim != 1 or mean.shape != std.shape:
            raise ValueError(f"mean and std must be 1-D of equal length, got {mean.shape} and {std.shape}")
        if not (np.isfinite(mean).all() and np.isfinite(std).all()):
            raise ValueError("mean/std contain NaN or inf")
        self.mean = mean
        # Constant channels (std 0) would divide by zero; leave them unscaled.
        self.std = np.where(std < eps, 1.0, std).astype(np.float32)

    @property
    def dim(self) -> int:
        return len(self.mean)

    @classmethod
    def from_dir(cls, directory: str | Path, mean_name: str = "Mean.npy", std_name: str = "Std.npy") -> "Normalizer":
        directory = Path(directory)
        arrays = []
        for name in (mean_name, std_name):
            path = directory / name
            if not path.is_file():
                raise FileNotFoundError(f"{path}: missing normalisation statistics ({name}, a (D,) array)")
            try:
                arrays.append(np.load(path))
            except Exception as exc:  # corrupt or not a .npy file
                raise ValueError(f"{path}: not a readable .npy array ({exc})") from None
        return cls(*arrays)

    @classmethod
    def fit(cls, motions: list[np.ndarray]) -> "Normalizer":
        stacked = np.concatenate([np.asarray(m, np.float64) for m in motions], axis=0)
        return cls(stacked.mean(0), stacked.std(0))

    def save(self, directory: str | Path) -> None:
        from ..fileio import save_npy
        save_npy(Path(directory) / "Mean.npy", self.mean)
        save_npy(Path(directory) / "Std.npy", self.std)

    def _stats_like(self, x):
        if isinstance(x, np.ndarray):
            return self.mean, self.std
        import torch
        return (torch.as_tensor(self.mean, dtype=x.dtype, device=x.device),
                torch.as_tensor(self.std, dtype=x.dtype, device=x.device))

    def _check(self, x):
        if x.shape[-1] != self.dim:
            raise ValueError(f"features have {x.shape[-1]} channels, statistics have {self.dim}")

    def normalize(self, x):
        self._check(x)
        mean, std = self._stats_like(x)
        return (x - mean) / std

    def denormalize(self, x):
        self._check(x)
        mean, std = self._stats_like(x)
        return x * std + mean
