"""Motion VQ-VAE (T2M-GPT style): 1-D conv encoder/decoder with dilated residual
blocks, an EMA codebook with dead-code reset, straight-through gradients.

Module and parameter names follow T2M-GPT's `VQVAE_251` so the authors'
released checkpoints load by stripping the `vqvae.` prefix (see `checkpoint.py`).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..distributed import gather_rows


@dataclass
class VQConfig:
    input_dim: int = 263
    nb_code: int = 512
    code_dim: int = 512
    width: int = 512
    depth: int = 3
    down_t: int = 2
    stride_t: int = 2
    dilation_growth_rate: int = 3
    mu: float = 0.99  # EMA decay of the codebook statistics
    # Loss weights (T2M-GPT recipe: L2 reconstruction + 0.1 velocity + 0.02 commitment).
    w_velocity: float = 0.1
    w_commit: float = 0.02
    # Ours: L2 on the global joint positions recovered from the features (metres).
    # The feature losses alone let small root-velocity errors integrate into
    # large trajectory drift; this term trains against that drift directly.
    w_joints: float = 0.0
    # Ours: extra L2 on the four root channels (rotation velocity, xz velocity, height). In the
    # plain feature loss they are 4 of 263 dimensions, yet their errors integrate over the clip.
    w_root: float = 0.0
    dataset: str = "humanml3d"

    @property
    def unit_length(self) -> int:
        return self.stride_t ** self.down_t

    @classmethod
    def from_dict(cls, d: dict) -> "VQConfig":
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown VQ config fields: {sorted(unknown)}")
        return cls(**d)

    def to_dict(self) -> dict:
        return asdict(self)


PRESETS = {
    # Trains on 2 CPU cores in minutes; 4x downsampling like the paper's.
    "tiny": VQConfig(nb_code=256, code_dim=128, width=128, depth=2, w_joints=2.0),
    # The shape of the released tokenizer (Motion-Agent / T2M-GPT, 512 x 512 codebook).
    "paper": VQConfig(),
}


def get_preset(name: str, **overrides) -> VQConfig:
    if name not in PRESETS:
        raise ValueError(f"unknown VQ preset {name!r}; choose from {', '.join(PRESETS)}")
    d = PRESETS[name].to_dict()
    d.update({k: v for k, v in overrides.items() if v is not None})
    return VQConfig.from_dict(d)


class ResConv1DBlock(nn.Module):
    def __init__(self, channels: int, dilation: int):
        super().__init__()
        self.activation1 = nn.ReLU()
        self.conv1 = nn.Conv1d(channels, channels, 3, 1, dilation, dilation)
        self.activation2 = nn.ReLU()
        self.conv2 = nn.Conv1d(channels, channels, 1, 1, 0)

    def forward(self, x):
        return x + self.conv2(self.activation2(self.conv1(self.activation1(x))))


class Resnet1D(nn.Module):
    def __init__(self, channels: int, depth: int, growth: int):
        super().__init__()
        # Largest dilation first (T2M-GPT reverses the growing order).
        self.model = nn.Sequential(*[ResConv1DBlock(channels, growth ** d) for d in range(depth)][::-1])

    def forward(self, x):
        return self.model(x)


class Encoder(nn.Module):
    def __init__(self, c: VQConfig):
        super().__init__()
        k, pad = c.stride_t * 2, c.stride_t // 2
        blocks = [nn.Conv1d(c.input_dim, c.width, 3, 1, 1), nn.ReLU()]
        for _ in range(c.down_t):
            blocks.append(nn.Sequential(nn.Conv1d(c.width, c.width, k, c.stride_t, pad),
                                        Resnet1D(c.width, c.depth, c.dilation_growth_rate)))
        blocks.append(nn.Conv1d(c.width, c.code_dim, 3, 1, 1))
        self.model = nn.Sequential(*blocks)

    def forward(self, x):
        return self.model(x)


class Decoder(nn.Module):
    def __init__(self, c: VQConfig):
        super().__init__()
        blocks = [nn.Conv1d(c.code_dim, c.width, 3, 1, 1), nn.ReLU()]
        for _ in range(c.down_t):
            blocks.append(nn.Sequential(Resnet1D(c.width, c.depth, c.dilation_growth_rate),
                                        nn.Upsample(scale_factor=c.stride_t, mode="nearest"),
                                        nn.Conv1d(c.width, c.width, 3, 1, 1)))
        blocks += [nn.Conv1d(c.width, c.width, 3, 1, 1), nn.ReLU(), nn.Conv1d(c.width, c.input_dim, 3, 1, 1)]
        self.model = nn.Sequential(*blocks)

    def forward(self, x):
        return self.model(x)


class QuantizeEMAReset(nn.Module):
    """Nearest-code quantiser; codes follow EMA means of their assigned vectors and
    codes that fall out of use (EMA count < 1) are reset to random batch vectors,
    their statistics restarted with them."""

    def __init__(self, nb_code: int, code_dim: int, mu: float = 0.99):
        super().__init__()
        self.nb_code, self.code_dim, self.mu = nb_code, code_dim, mu
        self.register_buffer("codebook", torch.zeros(nb_code, code_dim))
        self.register_buffer("code_sum", torch.zeros(nb_code, code_dim))
        self.register_buffer("code_count", torch.zeros(nb_code))
        self.register_buffer("initialized", torch.zeros((), dtype=torch.bool))

    def _tile(self, x: torch.Tensor) -> torch.Tensor:
        # Enough (jittered) copies of the batch vectors to fill the codebook.
        if len(x) < self.nb_code:
            reps = (self.nb_code + len(x) - 1) // len(x)
            x = x.repeat(reps, 1)
            x = x + torch.randn_like(x) * (0.01 / self.code_dim ** 0.5)
        return x[torch.randperm(len(x), device=x.device)[: self.nb_code]]

    @torch.no_grad()
    def _init_codebook(self, x: torch.Tensor) -> None:
        self.codebook.copy_(self._tile(x))
        self.code_sum.copy_(self.codebook)
        self.code_count.fill_(1.0)
        self.initialized.fill_(True)

    def quantize(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C) -> (N,) nearest code indices."""
        dist = (x.pow(2).sum(-1, keepdim=True) - 2 * x @ self.codebook.t()
                + self.codebook.pow(2).sum(-1)[None])
        return dist.argmin(-1)

    def dequantize(self, idx: torch.Tensor) -> torch.Tensor:
        return F.embedding(idx, self.codebook)

    @torch.no_grad()
    def _update(self, x: torch.Tensor, idx: torch.Tensor) -> None:
        onehot = F.one_hot(idx, self.nb_code).type(x.dtype)  # (N, K)
        code_sum = onehot.t() @ x
        code_count = onehot.sum(0)
        self.code_sum.mul_(self.mu).add_(code_sum, alpha=1 - self.mu)
        self.code_count.mul_(self.mu).add_(code_count, alpha=1 - self.mu)
        dead = self.code_count < 1.0
        if bool(dead.any()):
            # Unlike T2M-GPT we also restart the statistics of a reset code, so
            # its stale running sum cannot drag it away from its new position.
            fresh = self._tile(x)[: int(dead.sum())]
            self.code_sum[dead] = fresh
            self.code_count[dead] = 1.0
        self.codebook.copy_(self.code_sum / self.code_count.unsqueeze(1))

    def forward(self, x: torch.Tensor):
        """x (B, C, T) -> quantised (B, C, T) with straight-through gradient,
        commitment loss, perplexity, indices (B, T)."""
        B, C, T = x.shape
        flat = x.permute(0, 2, 1).reshape(-1, C)
        if self.training and not bool(self.initialized):
            self._init_codebook(gather_rows(flat.detach()))
        idx = self.quantize(flat.detach())
        quant = self.dequantize(idx)
        if self.training:  # under several processes, from every process's rows: the codebooks stay equal
            self._update(gather_rows(flat.detach()), gather_rows(idx))
        commit = F.mse_loss(flat, quant.detach())
        counts = torch.bincount(idx, minlength=self.nb_code).float()
        prob = counts / counts.sum()
        perplexity = torch.exp(-(prob * torch.log(prob + 1e-7)).sum())
        quant = flat + (quant - flat).detach()
        return quant.view(B, T, C).permute(0, 2, 1), commit, perplexity, idx.view(B, T)


class MotionVQVAE(nn.Module):
    """Normalised features (B, T, D) <-> code indices (B, T / unit_length)."""

    def __init__(self, config: VQConfig):
        super().__init__()
        self.config = config
        self.encoder = Encoder(config)
        self.decoder = Decoder(config)
        self.quantizer = QuantizeEMAReset(config.nb_code, config.code_dim, config.mu)

    def forward(self, x: torch.Tensor):
        z = self.encoder(x.permute(0, 2, 1).float())
        q, commit, perplexity, idx = self.quantizer(z)
        recon = self.decoder(q).permute(0, 2, 1)
        return recon, commit, perplexity, idx

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, D) normalised features, T a multiple of unit_length -> (B, T/unit) ids."""
        z = self.encoder(x.permute(0, 2, 1).float())
        B, C, L = z.shape
        return self.quantizer.quantize(z.permute(0, 2, 1).reshape(-1, C)).view(B, L)

    @torch.no_grad()
    def decode(self, ids: torch.Tensor) -> torch.Tensor:
        """(B, L) ids -> (B, L * unit_length, D) normalised features."""
        q = self.quantizer.dequantize(ids).permute(0, 2, 1)
        return self.decoder(q).permute(0, 2, 1)
