"""Training the motion VQ-VAE on random windows of a dataset's train split."""
from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from ..checkpointing import load_checkpoint, save_checkpoint, set_rng_state
from ..data.humanml3d import MotionTextDataset
from ..distributed import Processes
from ..fileio import write_text
from ..motion.features import features_to_joints
from ..motion.normalize import Normalizer
from .model import MotionVQVAE, get_preset
from .pretrained import MotionTokenizer


# T2M-GPT trains its 512-wide tokenizer at 2e-4 for 300k steps; the tiny preset gets ~6k steps on a CPU and
# reached 30 mm (root-relative, test split) at 6e-4 against 52 mm at 2e-4 (docs/tokenizer_card.md).
DEFAULT_LR = {"tiny": 6e-4, "paper": 2e-4}


@dataclass
class TrainVQConfig:
    data: str
    out: str
    preset: str = "tiny"
    steps: int = 6000
    batch_size: int = 64
    window: int = 64
    lr: float | None = None  # None: the preset's DEFAULT_LR
    weight_decay: float = 0.0
    warmup: int = 200
    val_every: int = 500
    checkpoint_every: int = 250
    seed: int = 0
    threads: int | None = None
    max_minutes: float | None = None  # stop early (and save) after this much wall time
    init: str | None = None  # fine-tune this trained tokenizer (its configuration and normalisation statistics)


def joint_velocity_loss(pred: torch.Tensor, target: torch.Tensor, n_joints: int) -> torch.Tensor:
    """L2 on temporal differences of the rotation-invariant joint positions.

    T2M-GPT's "velocity" term compares these position channels directly; we
    compare their frame-to-frame change, which is what penalises jitter."""
    sl = slice(4, 4 + (n_joints - 1) * 3)
    return F.mse_loss(pred[:, 1:, sl] - pred[:, :-1, sl], target[:, 1:, sl] - target[:, :-1, sl])


class WindowSampler:
    """Random fixed-length windows of normalised motions, clips weighted by length."""

    def __init__(self, motions: list[np.ndarray], window: int, rng: np.random.Generator):
        self.motions = [m for m in motions if len(m) >= window]
        if not self.motions:
            raise ValueError(f"no training motion is at least {window} frames long")
        lengths = np.array([len(m) - window + 1 for m in self.motions], dtype=np.float64)
        self.p = lengths / lengths.sum()
        self.window, self.rng = window, rng

    def batch(self, size: int) -> torch.Tensor:
        picks = self.rng.choice(len(self.motions), size=size, p=self.p)
        out = np.empty((size, self.window, self.motions[0].shape[1]), dtype=np.float32)
        for b, i in enumerate(picks):
            start = self.rng.integers(0, len(self.motions[i]) - self.window + 1)
            out[b] = self.motions[i][start:start + self.window]
        return torch.from_numpy(out)


class JointLoss:
    """MSE between global joints recovered from predicted and true (normalised) features."""

    def __init__(self, normalizer: Normalizer, device: str | torch.device = "cpu"):
        self.mean = torch.from_numpy(normalizer.mean).to(device)
        self.std = torch.from_numpy(normalizer.std).to(device)

    def __call__(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        mean, std = self.mean.to(pred.device), self.std.to(pred.device)
        jp = features_to_joints(pred * std + mean)
        jt = features_to_joints(target * std + mean)
        return F.mse_loss(jp, jt)


@torch.no_grad()
def evaluate_reconstruction(tokenizer: MotionTokenizer, motions: list[np.ndarray]) -> dict:
    """MPJPE (mm) on recovered global joints (and root-relative), codebook usage and perplexity over whole clips."""
    ids = tokenizer.encode(motions)
    recon = tokenizer.decode(ids)
    errors, local, counts = [], [], np.zeros(tokenizer.codebook_size)
    for gt, rec, seq in zip(motions, recon, ids):
        T = len(rec)
        jg = features_to_joints(gt[:T].astype(np.float64))
        jr = features_to_joints(rec.astype(np.float64))
        errors.append(np.linalg.norm(jg - jr, axis=-1).mean())
        local.append(np.linalg.norm((jg - jg[:, :1]) - (jr - jr[:, :1]), axis=-1).mean())
        counts += np.bincount(seq, minlength=tokenizer.codebook_size)
    prob = counts / counts.sum()
    return {"mpjpe_mm": float(np.mean(errors) * 1000), "root_relative_mpjpe_mm": float(np.mean(local) * 1000),
            "codebook_usage": float((counts > 0).mean()),
            "perplexity": float(np.exp(-(prob * np.log(prob + 1e-12)).sum())), "n_motions": len(motions)}


def _lr_at(step: int, cfg: TrainVQConfig) -> float:
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    progress = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    return cfg.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def train_vq(cfg: TrainVQConfig, resume: bool = False, vq_overrides: dict | None = None, log=print,
             procs: Processes | None = None, device: str = "cpu") -> dict:
    """Train; under `accelerate launch` every process draws the same global batch of `cfg.batch_size` windows
    and trains on its share (gradients averaged, the EMA codebook updated from the whole batch), so N processes
    follow the one-process run; only the main process writes files. `device`: a resolved device string (where it
    trains is not part of the run, so a resume may move it; a launch on several processes takes accelerate's)."""
    procs = procs or Processes.start(device=device)
    if not procs.is_main:
        log = _silent
    if cfg.lr is None:
        cfg = replace(cfg, lr=DEFAULT_LR.get(cfg.preset, DEFAULT_LR["paper"]))
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    out = Path(cfg.out)
    ckpt_path = out / "checkpoint.pt"
    train = MotionTextDataset(cfg.data, "train", normalize=False)
    try:
        val = MotionTextDataset(cfg.data, "val", normalize=False)
    except Exception:
        val = None
    if val is None or len(val) == 0:
        val = MotionTextDataset(cfg.data, "test", normalize=False)
    torch.manual_seed(cfg.seed)
    if cfg.init:  # fine-tuning: the codes keep their meaning for a language model trained on the old tokenizer,
        # so the features are normalised with the old statistics, not the new data's
        start = MotionTokenizer.from_pretrained(cfg.init)
        normalizer, vq_config, model = start.normalizer, start.config, start.model
        if vq_config.input_dim != train.spec.feature_dim:
            raise ValueError(f"{cfg.init}: the tokenizer reads {vq_config.input_dim}-d features, {cfg.data} has "
                             f"{train.spec.feature_dim}-d")
    else:
        normalizer = Normalizer.from_dir(cfg.data)
        vq_config = get_preset(cfg.preset, input_dim=train.spec.feature_dim, dataset=train.spec.name,
                               **(vq_overrides or {}))
        model = MotionVQVAE(vq_config)
    model = model.to(procs.device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, betas=(0.9, 0.99), weight_decay=cfg.weight_decay)
    rng = np.random.default_rng(cfg.seed)
    step, history = 0, []
    if resume:
        state = load_checkpoint(ckpt_path)
        if state["vq_config"] != vq_config.to_dict():
            raise ValueError(f"{ckpt_path}: checkpoint was made with a different VQ configuration")
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        step, history = state["step"], state["history"]
        rng.bit_generator.state = state["sampler_rng"]
        set_rng_state(state["rng"])
        log(f"resumed from {ckpt_path} at step {step}")
    share = procs.rows(cfg.batch_size)  # this process's rows of every global batch
    net = procs.prepare_model(model)  # data-parallel under several processes; `model` itself otherwise
    procs.barrier()  # every process has read what it needs (a resumed checkpoint) before the main one writes
    if procs.is_main:
        out.mkdir(parents=True, exist_ok=True)
        write_text(out / "train_config.json", json.dumps(
            {"train": asdict(cfg), "vq": vq_config.to_dict(),
             "distributed": procs.batch_record(share.stop - share.start)}, indent=2))

    train_motions = [normalizer.normalize(c.motion) for c in train.clips]
    val_motions = [c.motion for c in val.clips][:300]
    sampler = WindowSampler(train_motions, cfg.window, rng)
    n_joints = train.spec.n_joints
    joint_loss = JointLoss(normalizer, procs.device) if vq_config.w_joints > 0 else None

    def checkpoint():
        procs.barrier()
        if procs.is_main:
            save_checkpoint(ckpt_path, model=model.state_dict(), optimizer=opt.state_dict(), step=step,
                            history=history, sampler_rng=rng.bit_generator.state, vq_config=vq_config.to_dict())
        procs.barrier()

    started = time.time()
    net.train()
    bar = tqdm(total=cfg.steps, initial=step, desc="train-vq", dynamic_ncols=True, mininterval=2,
               disable=not procs.is_main)
    stopped_early = False
    while step < cfg.steps:
        for group in opt.param_groups:
            group["lr"] = _lr_at(step, cfg)
        x = sampler.batch(cfg.batch_size)[share].to(procs.device)
        recon, commit, perplexity, _ = net(x)
        loss_rec = F.mse_loss(recon, x)
        loss_vel = joint_velocity_loss(recon, x, n_joints)
        loss = loss_rec + vq_config.w_velocity * loss_vel + vq_config.w_commit * commit
        if joint_loss is not None:
            loss = loss + vq_config.w_joints * joint_loss(recon, x)
        if vq_config.w_root > 0:
            loss = loss + vq_config.w_root * F.mse_loss(recon[..., :4], x[..., :4])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        bar.update(1)
        if step % 50 == 0:
            bar.set_postfix(rec=f"{loss_rec.item():.4f}", vel=f"{loss_vel.item():.4f}", ppl=f"{perplexity.item():.0f}")
        if step % cfg.val_every == 0 or step == cfg.steps:
            loss_value = procs.mean(loss.item())  # the global batch's loss: the mean of the equal shares'
            metrics = {}
            if procs.is_main:  # the others wait at the next checkpoint or the end
                model.eval()
                metrics = evaluate_reconstruction(MotionTokenizer(model, normalizer), val_motions)
                model.train()
            history.append({"step": step, "loss": loss_value, **metrics})
            if procs.is_main:
                    log(f"step {step}: val MPJPE {metrics['mpjpe_mm']:.1f} mm (root-relative "
                    f"{metrics['root_relative_mpjpe_mm']:.1f} mm), usage {metrics['codebook_usage']:.2f}, "
                    f"perplexity {metrics['perplexity']:.1f}")
        if step % cfg.checkpoint_every == 0:
            checkpoint()
        if cfg.max_minutes and procs.any(time.time() - started > cfg.max_minutes * 60):
            stopped_early = True
            log(f"time budget of {cfg.max_minutes} min reached at step {step}")
            break
    bar.close()
    checkpoint()
    model.eval()
    result = {"steps": step, "stopped_early": stopped_early, "minutes": (time.time() - started) / 60,
              "history": history}
    if procs.is_main:
        MotionTokenizer(model, normalizer).save_pretrained(out, extra={"trained_steps": step})
        write_text(out / "train_log.json", json.dumps(result, indent=2))
    procs.barrier()
    return result


def _silent(*_args, **_kwargs) -> None:
    pass
