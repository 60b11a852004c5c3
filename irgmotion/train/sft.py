"""Supervised fine-tuning of MotionLLM (stages 1 and 2) on annotation files, with accelerate.

One loop serves both stages: stage 1 mixes the eight single-step tasks,
stage 2 trains whole interleaved traces. Every access to an example draws a
fresh template paraphrase, candidate and caption (and for traces the set of
intermediate motions), as the paper's loader does. The same code runs on a
laptop CPU and, through `accelerate launch`, on many GPUs (DDP or DeepSpeed).
"""
from __future__ import annotations

import csv
import json
import math
import random
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from tqdm import tqdm

from ..data.annotations import Annotation
from ..distributed import Processes, make_accelerator
from ..fileio import write_text
from ..llm.model import MotionLLM
from ..llm.prompting import build_example
from ..tokenizer.catalog import MotionCatalog


@dataclass
class SFTConfig:
    out: str
    steps: int = 2000
    batch_size: int = 16
    grad_accum: int = 1
    lr: float = 1e-3
    weight_decay: float = 0.0
    warmup: int = 100
    max_length: int = 1024
    checkpoint_every: int = 200
    log_every: int = 20
    seed: int = 0
    bf16: bool = False
    max_minutes: float | None = None
    pause_at: int | None = None  # stop (checkpointed) at this step; `--resume` continues the same schedule
    threads: int | None = None
    # Recorded in train_config.json so a run can be reproduced from its own directory.
    task_weights: dict = field(default_factory=dict)
    sources: dict = field(default_factory=dict)  # stage, engine, vq and init paths


def _release_single_process_state() -> None:
    """accelerate keeps one precision setting per process, so a full-precision run after a bf16 one in the same
    process (a notebook, the test suite) would fail. Outside a distributed launch nothing else holds that state,
    so it is cleared; the process group (PartialState) is left alone."""
    from accelerate.state import AcceleratorState, DistributedType
    if AcceleratorState._shared_state and AcceleratorState().distributed_type == DistributedType.NO:
        AcceleratorState._reset_state()


class SFTDataset(torch.utils.data.Dataset):
    """Annotation entries -> tokenised examples, re-drawn on every access."""

    def __init__(self, entries: list[Annotation], llm: MotionLLM, catalog: MotionCatalog, max_length: int, seed: int):
        self.entries, self.llm, self.catalog = entries, llm, catalog
        self.max_length, self.seed = max_length, seed
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.entries)

    def __getitem__(self, index: int) -> dict:
        rng = random.Random(hash((self.seed, self.epoch, index)))
        system, user, segments = build_example(self.entries[index], self.catalog, rng)
        return self.llm.encode_example(self.llm.prompt(user, system), segments, self.max_length)

    def approx_length(self, index: int) -> int:
        rng = random.Random(index)
        system, user, segments = build_example(self.entries[index], self.catalog, rng)
        return len(user) // 4 + sum(len(t) for t, _ in segments) // 4


def bucketed_order(lengths: list[int], batch_size: int, rng: random.Random, window: int = 50) -> list[int]:
    """Shuffle, then sort within windows of `window` batches by length, then shuffle the batches:
    batches hold examples of similar length (little padding) in random order."""
    idx = list(range(len(lengths)))
    rng.shuffle(idx)
    chunk = batch_size * window
    batches = []
    for s in range(0, len(idx), chunk):
        part = sorted(idx[s:s + chunk], key=lambda i: lengths[i])
        batches += [part[b:b + batch_size] for b in range(0, len(part), batch_size)]
    rng.shuffle(batches)
    return [i for b in batches for i in b]


def collate(batch: list[dict], pad_id: int) -> dict:
    width = max(len(b["input_ids"]) for b in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), width), -100, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for i, b in enumerate(batch):
        n = len(b["input_ids"])
        ids[i, :n] = torch.tensor(b["input_ids"])
        labels[i, :n] = torch.tensor(b["labels"])
        mask[i, :n] = 1
    return {"input_ids": ids, "labels": labels, "attention_mask": mask}


def _lr_lambda(cfg: SFTConfig):
    def f(step):
        if step < cfg.warmup:
            return (step + 1) / cfg.warmup
        progress = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
        return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
    return f


CHECKPOINT_TEMPORARIES = ("checkpoint.tmp", "checkpoint.old")


def latest_checkpoint(out: str | Path) -> Path | None:
    """The newest complete checkpoint in OUT, or None. A save writes checkpoint.tmp (trainer_state.json last),
    renames checkpoint to checkpoint.old, then checkpoint.tmp to checkpoint: after a kill anywhere in
    that sequence the newest complete one is checkpoint.tmp, then checkpoint, then checkpoint.old."""
    out = Path(out)
    for name in ("checkpoint.tmp", "checkpoint", "checkpoint.old"):
        if (out / name / "trainer_state.json").is_file():
            return out / name
    return None


def train_sft(llm: MotionLLM, entries: list[Annotation], catalog: MotionCatalog, cfg: SFTConfig,
              resume: bool = False, log=print) -> dict:
    """Train, checkpointing to OUT/checkpoint (atomically) and saving the model to OUT.

    `cfg.batch_size` is the global batch of one micro-step: under `accelerate launch` each process takes its share
    of the same batch and the loss is the mean over the whole batch's target tokens (as on one process), so N
    processes follow the one-process run; only the main process writes files."""
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    out = Path(cfg.out)
    ckpt = out / "checkpoint"
    _release_single_process_state()
    accelerator = make_accelerator(gradient_accumulation_steps=cfg.grad_accum,
                                   mixed_precision="bf16" if cfg.bf16 else "no")
    procs = Processes(accelerator)
    if procs.is_main:
        out.mkdir(parents=True, exist_ok=True)
    else:
        log = _silent
    import hashlib
    vocab = json.dumps(sorted(llm.tokenizer.get_vocab().items()))
    procs.same_everywhere(hashlib.sha256(vocab.encode()).hexdigest(), "text tokenizers")
    torch.manual_seed(cfg.seed)
    catalog.prefetch(entries, save=procs.is_main)
    dataset = SFTDataset(entries, llm, catalog, cfg.max_length, cfg.seed)
    lengths = [dataset.approx_length(i) for i in range(len(dataset))]
    model = llm.model
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay, betas=(0.9, 0.95))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, _lr_lambda(cfg))
    plugin = accelerator.state.deepspeed_plugin
    if plugin is not None:  # no dataloader goes through prepare(): tell DeepSpeed the micro-batch size
        plugin.deepspeed_config["train_micro_batch_size_per_gpu"] = max(1, cfg.batch_size // accelerator.num_processes)
    model, opt, sched = accelerator.prepare(model, opt, sched)
    state = {"step": 0, "epoch": 0, "position": 0, "history": []}
    if resume:
        found = latest_checkpoint(out)
        if found is None:
            raise FileNotFoundError(f"{ckpt}: no checkpoint to resume from")
        procs.barrier()  # every process found it before the main one tidies the folder
        if procs.is_main:
            if found != ckpt:  # a kill came between the two renames of a save: finish the swap
                shutil.rmtree(ckpt, ignore_errors=True)
                found.rename(ckpt)
            for stale in CHECKPOINT_TEMPORARIES:
                shutil.rmtree(out / stale, ignore_errors=True)
        procs.barrier()
        accelerator.load_state(str(ckpt))  # accelerate reads with weights_only=True
        state = json.loads((ckpt / "trainer_state.json").read_text())
        log(f"resumed from {ckpt} at step {state['step']}")
    procs.barrier()  # every process has read the checkpoint before the main one writes
    if procs.is_main:
        record = procs.batch_record(cfg.batch_size // procs.world_size, cfg.grad_accum)
        write_text(out / "train_config.json", json.dumps({**asdict(cfg), **record}, indent=2))

    def save_checkpoint():
        # Write beside, then swap: a kill mid-save leaves the previous checkpoint intact.
        tmp = out / "checkpoint.tmp"
        if procs.is_main:
            shutil.rmtree(tmp, ignore_errors=True)
        procs.barrier()
        accelerator.save_state(str(tmp))  # every process: the main one the weights, each its random states
        procs.barrier()
        if procs.is_main:
            write_text(tmp / "trainer_state.json", json.dumps(state))
            old = out / "checkpoint.old"
            shutil.rmtree(old, ignore_errors=True)
            if ckpt.exists():
                ckpt.rename(old)
            tmp.rename(ckpt)
            shutil.rmtree(old, ignore_errors=True)
        procs.barrier()

    def epoch_order(epoch: int) -> list[int]:
        order = bucketed_order(lengths, cfg.batch_size, random.Random(cfg.seed * 1000 + epoch))
        return [order[b:b + cfg.batch_size] for b in range(0, len(order), cfg.batch_size)]

    started = time.time()
    bar = tqdm(total=cfg.steps, initial=state["step"], desc="sft", dynamic_ncols=True, mininterval=2,
               disable=not accelerator.is_local_main_process)
    batches = epoch_order(state["epoch"])
    running, n_tokens = 0.0, 0
    stopped_early = False
    while state["step"] < cfg.steps:
        if state["position"] >= len(batches):
            state["epoch"] += 1
            state["position"] = 0
            batches = epoch_order(state["epoch"])
        dataset.epoch = state["epoch"]
        # Each process takes its share of the batch (a no-op on one device).
        whole = batches[state["position"]]
        idx = whole[procs.rank::procs.world_size]
        state["position"] += 1
        batch = collate([dataset[i] for i in idx or whole[:1]], llm.tokenizer.pad_token_id)
        if not idx:  # a last batch smaller than the processes: this one takes part with no target token
            batch["labels"].fill_(-100)
        batch = {k: v.to(accelerator.device) for k, v in batch.items()}
        with accelerator.accumulate(model):
            if procs.distributed:
                # the sum over this share's target tokens over the whole batch's count, times the processes
                # (whose gradients are averaged): the one-process loss of the whole batch
                targets = procs.mean(int((batch["labels"][:, 1:] != -100).sum())) * procs.world_size
                loss = model(**batch, num_items_in_batch=max(1, round(targets))).loss * procs.world_size
            else:
                loss = model(**batch).loss
            accelerator.backward(loss)
            if accelerator.sync_gradients:
                accelerator.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
        if not accelerator.sync_gradients:
            continue
        state["step"] += 1
        running += loss.item() / procs.world_size  # summed over the processes below: the whole batch's loss
        n_tokens += int(batch["attention_mask"].sum())
        bar.update(1)
        if state["step"] % cfg.log_every == 0:
            avg = procs.mean(running) * procs.world_size / cfg.log_every
            seen = procs.mean(n_tokens) * procs.world_size  # every process's tokens
            state["history"].append({"step": state["step"], "loss": avg, "lr": sched.get_last_lr()[0],
                                     "tokens_per_s": seen / max(1e-9, time.time() - started)})
            bar.set_postfix(loss=f"{avg:.3f}")
            running = 0.0
        if state["step"] % cfg.checkpoint_every == 0:
            save_checkpoint()
        if cfg.max_minutes and procs.any(time.time() - started > cfg.max_minutes * 60):
            stopped_early = True
            log(f"time budget of {cfg.max_minutes} min reached at step {state['step']}")
            break
        if cfg.pause_at and state["step"] >= cfg.pause_at:
            stopped_early = True
            break
    bar.close()
    save_checkpoint()
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        llm.model = accelerator.unwrap_model(model)
        llm.model.eval()
        llm.save_pretrained(out)
        with open(out / "train_log.csv", "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=["step", "loss", "lr", "tokens_per_s"])
            w.writeheader()
            w.writerows(state["history"])
    procs.barrier()
    return {"steps": state["step"], "epochs": state["epoch"], "stopped_early": stopped_early,
            "minutes": (time.time() - started) / 60, "final_loss": state["history"][-1]["loss"] if state["history"] else None}


def _silent(*_args, **_kwargs) -> None:
    pass
