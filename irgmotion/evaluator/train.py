"""Training an evaluator on a dataset in HumanML3D layout, resumably.

Each step draws a batch of training clips, a random caption of each and a random
window of at most 196 frames cut to whole 4-frame units, and pulls each text
towards its own motion and away from the other motions of the batch:

* `guo`: the contrastive margin loss of Guo et al. (squared distance of true pairs
  plus squared hinge `max(0, margin - d)` on false pairs). The official code takes
  one false pair per text (the batch shifted); here every other motion of the batch
  is a false pair, which gives more signal per step at the same cost. Pairs whose
  captions are identical are not treated as false.
* `tmr`: symmetric InfoNCE on cosine similarity with a temperature, skipping as
  negatives captions whose sentence embeddings are near-duplicates (TMR).

Every `val_every` steps the model is scored on the validation split (R-precision
on 32-pair chunks with the first caption of each clip); the best so far is
written to the output directory as a loadable evaluator, and the training state
(weights, optimiser, step, random generators) to `checkpoint.pt`, atomically.
`resume=True` continues from that checkpoint.

Under `accelerate launch` every process draws the same batch, encodes its share of it, and the loss is taken on
the embeddings of the whole batch gathered from all processes (every other motion of the batch stays a false
pair), so N processes follow the one-process run; the gradients are averaged and only the main process writes.
"""
from __future__ import annotations

import json
import math
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from ..checkpointing import load_checkpoint, save_checkpoint, set_rng_state
from ..data.humanml3d import MotionTextDataset
from ..distributed import Processes, gather_rows_with_grad
from ..fileio import atomic_path, write_text
from .base import MAX_FRAMES, UNIT_LENGTH, EvaluatorError, config_from_dict
from .guo import GuoConfig, GuoEvaluator
from .metrics import mm_dist, r_precision
from .text import PosTagger, WordVectors, glove_50d, load_official_vectors, split_token
from .tmr import TMRConfig, TMREvaluator

CHECKPOINT = "checkpoint.pt"
SENTENCE_CACHE = "sentence_cache.npz"


@dataclass
class TrainConfig:
    kind: str = "guo"
    preset: str = "default"
    steps: int = 3000
    batch_size: int = 64
    lr: float = 0.0  # 0 = the kind's own: 1e-3 for guo, 5e-4 for tmr
    weight_decay: float = 0.0
    grad_clip: float = 5.0
    loss: str = ""  # "" = the kind's own: margin for guo, infonce for tmr
    margin: float = 10.0
    val_every: int = 250
    max_minutes: float = 0.0  # 0 = no time limit; counts training time across resumes
    seed: int = 0
    threads: int = 2
    max_frames: int = MAX_FRAMES
    min_len: int = 40
    max_len: int = 200
    vocab_top: int = 20000  # most frequent GloVe words kept besides the corpus words (guo)
    glove: str = ""  # directory of official our_vab_* word vectors (guo); "" = GloVe 50-d package
    model: dict = field(default_factory=dict)  # overrides of the preset's model config

    def learning_rate(self) -> float:
        return self.lr or (1e-3 if self.kind == "guo" else 5e-4)

    def loss_name(self) -> str:
        return self.loss or ("margin" if self.kind == "guo" else "infonce")


def _word_list(datasets) -> set[str]:
    words = set()
    for ds in datasets:
        for clip in ds.clips:
            for t in clip.texts:
                words.update(split_token(tok)[0] for tok in t.tokens)
    return words


class EvaluatorTrainer:
    def __init__(self, data: str | Path, out: str | Path, config: TrainConfig, resume: bool = False,
                 progress: bool = True, log: Callable[[str], None] = print,
                 word_vectors: WordVectors | None = None, text_embedder=None, procs: Processes | None = None,
                 device: str = "cpu"):
        # One process on `device`; a launch's processes meet over gloo on the CPU (or accelerate's GPUs).
        self.procs = procs or Processes.start(device=device)
        if not self.procs.is_main:
            progress, log = False, _silent
        if config.kind not in ("guo", "tmr"):
            raise EvaluatorError(f"--kind must be guo or tmr, got {config.kind!r}")
        if config.loss_name() not in ("margin", "infonce"):
            raise EvaluatorError(f"loss must be margin or infonce, got {config.loss!r}")
        self.data = Path(data)
        self.out = Path(out)
        self.progress = progress
        self.log = log
        ckpt_path = self.out / CHECKPOINT
        self.state = None
        if resume:
            self.state = load_checkpoint(ckpt_path)  # tensors and plain values only: never runs code
            saved = dict(self.state["train_config"])
            # The run's identity comes from the checkpoint; only the length and time budget may change.
            for key in ("steps", "max_minutes", "val_every", "threads"):
                saved[key] = getattr(config, key)
            config = TrainConfig(**saved)
        elif ckpt_path.is_file():
            raise FileExistsError(f"{ckpt_path}: a training run is already there; pass --resume to continue it "
                                  "or choose another --out")
        self.config = config
        torch.set_num_threads(max(1, config.threads))
        self.train_set = MotionTextDataset(self.data, "train", min_len=config.min_len, max_len=config.max_len,
                                           max_frames=config.max_frames)
        if len(self.train_set) < 2:
            raise EvaluatorError(f"{self.data}: the train split has {len(self.train_set)} usable clip(s); need at least 2")
        try:
            self.val_set = MotionTextDataset(self.data, "val", min_len=config.min_len, max_len=config.max_len,
                                             max_frames=config.max_frames)
        except Exception as exc:
            if "missing split file" not in str(exc):
                raise
            self.val_set = None
        self.normalizer = self.train_set.normalizer
        n = min(config.batch_size, len(self.train_set))
        if n % self.procs.world_size:
            raise EvaluatorError(f"the batch of {n} clips does not split equally over {self.procs.world_size} "
                                 f"processes; use a --batch-size (at most the {len(self.train_set)} training clips) "
                                 f"that is a multiple of {self.procs.world_size}")
        torch.manual_seed(config.seed)  # the initial weights depend on the seed only
        random.seed(config.seed)
        self.device = self.procs.device  # where it trains is not part of the run: a resume may move it
        self.model = self._build_model(word_vectors, text_embedder).to(self.device)
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=config.learning_rate(), weight_decay=config.weight_decay)
        self.step = 0
        self.elapsed = 0.0
        self.best: dict | None = None
        self.history: list[dict] = []
        self.rng = np.random.default_rng(config.seed)
        if self.state is not None:
            self._restore(self.state)
        self._texts = [[(t.caption, list(t.tokens)) for t in c.texts] for c in self.train_set.clips]
        if isinstance(self.model, TMREvaluator):
            self._cache_sentences()

    # Set-up -----------------------------------------------------------------
    def _cache_sentences(self) -> None:
        """Embed every caption once, in large batches; kept in OUT/sentence_cache.npz for resuming."""
        sets = [self.train_set] + ([self.val_set] if self.val_set else [])
        captions = sorted({t.caption for ds in sets for c in ds.clips for t in c.texts})
        embedder = self.model.text_embedder
        cache_path = self.out / SENTENCE_CACHE
        cache = getattr(embedder, "cache", None)
        if cache is not None and cache_path.is_file():
            with np.load(cache_path) as z:
                cache.update(zip(z["captions"].tolist(), z["embeddings"].astype(np.float32), strict=True))
        todo = [c for c in captions if cache is None or c not in cache]
        if todo:
            t0 = time.perf_counter()
            self.log(f"embedding {len(todo)} captions with {self.model.config.text_model} ...")
            self.model.sentence_embeddings(todo)
            self.log(f"embedded in {time.perf_counter() - t0:.0f} s")
            if cache is not None and self.procs.is_main:
                self.out.mkdir(parents=True, exist_ok=True)
                with atomic_path(cache_path) as tmp:
                    with open(tmp, "wb") as f:
                        np.savez(f, captions=np.array(captions), embeddings=np.stack([cache[c] for c in captions]))

    def _model_config(self):
        c = self.config
        dim = self.normalizer.dim
        if self.state is not None:
            cls = GuoConfig if c.kind == "guo" else TMRConfig
            return config_from_dict(cls, self.state["model_config"], "checkpoint")
        base = GuoConfig.preset(c.preset, dim) if c.kind == "guo" else TMRConfig.preset(c.preset, dim)
        data = {**asdict(base), **c.model}
        return config_from_dict(type(base), data, "model overrides")

    def _build_model(self, word_vectors, text_embedder):
        mc = self._model_config()
        if self.config.kind == "tmr":
            return TMREvaluator(mc, self.normalizer, text_embedder)
        if self.state is not None:
            vectors = WordVectors(self.state["vocab"], self.state["model"]["word_vectors"].numpy())
            tagger = PosTagger({w: tuple(v) for w, v in self.state["pos_lexicon"].items()})
        else:
            corpus = [self.train_set] + ([self.val_set] if self.val_set else [])
            words = _word_list(corpus)
            if word_vectors is not None:
                vectors = word_vectors.subset(words | set(word_vectors.words[: self.config.vocab_top]))
            elif self.config.glove:
                vectors = load_official_vectors(self.config.glove)
                vectors = vectors.subset(words | set(vectors.words[: self.config.vocab_top]))
            else:
                vectors = glove_50d(words, top=self.config.vocab_top)
            if vectors.dim != mc.dim_word:
                mc.dim_word = vectors.dim
            tagger = PosTagger.from_lines((t.caption, t.tokens) for c in self.train_set.clips for t in c.texts)
        return GuoEvaluator(mc, self.normalizer, vectors, tagger)

    def _restore(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.step = int(state["step"])
        self.elapsed = float(state.get("elapsed", 0.0))
        self.best = state.get("best")
        self.history = list(state.get("history", []))
        self.rng.bit_generator.state = state["sampler_rng"]
        set_rng_state(state["rng"])

    def save_checkpoint(self) -> Path:
        state = {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "step": self.step,
            "elapsed": self.elapsed,
            "best": self.best,
            "history": self.history,
            "train_config": asdict(self.config),
            "model_config": asdict(self.model.config),
            "sampler_rng": self.rng.bit_generator.state,
        }
        if isinstance(self.model, GuoEvaluator):
            state["vocab"] = self.model.vectors.words
            state["pos_lexicon"] = {w: list(v) for w, v in self.model.tagger.table.items()}
        path = self.out / CHECKPOINT
        save_checkpoint(path, **state)
        return path

    # Batches ------------------------------------------------------------------
    def sample_batch(self) -> dict:
        clips = self.train_set.clips
        n = min(self.config.batch_size, len(clips))
        idx = self.rng.choice(len(clips), n, replace=False)
        motions, captions, tokens = [], [], []
        for i in idx:
            motion = clips[i].motion
            texts = self._texts[i]
            caption, tok = texts[int(self.rng.integers(len(texts)))]
            if len(motion) > self.config.max_frames:
                start = int(self.rng.integers(len(motion) - self.config.max_frames + 1))
                motion = motion[start:start + self.config.max_frames]
            length = max(UNIT_LENGTH, (len(motion) // UNIT_LENGTH) * UNIT_LENGTH)
            motions.append(self.normalizer.normalize(motion[:length]))
            captions.append(caption)
            tokens.append(tok)
        lengths = torch.tensor([len(m) for m in motions])
        x = torch.zeros(n, int(lengths.max()), motions[0].shape[1])
        for j, m in enumerate(motions):
            x[j, : len(m)] = torch.from_numpy(m)
        return {"motion": x, "length": lengths, "caption": captions, "tokens": tokens}

    def _false_pair_mask(self, captions: list[str]) -> torch.Tensor:
        """(B, B) True where pair (i, j) may serve as a negative."""
        keys = [c.strip().lower() for c in captions]
        same = torch.tensor([[a == b for b in keys] for a in keys], device=self.device)
        if isinstance(self.model, TMREvaluator) and self.model.config.negative_filter < 1.0:
            sent = self.model.sentence_embeddings(captions)
            same |= (sent @ sent.T) > self.model.config.negative_filter
        return ~same

    def loss(self, batch: dict) -> torch.Tensor:
        share = self.procs.rows(len(batch["caption"]))  # the whole batch on one process
        t = gather_rows_with_grad(self.model.encode_text(batch["caption"][share], batch["tokens"][share]))
        m = gather_rows_with_grad(self.model.encode_motion(batch["motion"][share].to(self.device),
                                                           batch["length"][share]))
        neg = self._false_pair_mask(batch["caption"])
        eye = torch.eye(len(t), dtype=torch.bool, device=self.device)
        sq = (t * t).sum(-1, keepdim=True) - 2 * t @ m.T + (m * m).sum(-1)[None]
        d = sq.clamp_min(1e-12).sqrt()  # no infinite gradient at distance 0
        if self.config.loss_name() == "margin":
            pos = sq.diagonal().clamp_min(0).mean()
            hinge = F.relu(self.config.margin - d).pow(2)
            negl = (hinge * neg).sum() / neg.sum().clamp_min(1)
            return pos + negl
        if isinstance(self.model, TMREvaluator):
            logits = t @ m.T / self.model.config.temperature
        else:
            logits = -d
        logits = logits.masked_fill(~(neg | eye), float("-inf"))
        target = torch.arange(len(t), device=self.device)
        return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))

    # Validation ---------------------------------------------------------------
    def validate(self) -> dict:
        ds = self.val_set if self.val_set is not None and len(self.val_set) >= 2 else self.train_set
        clips = ds.clips
        captions = [c.texts[0].caption for c in clips]
        tokens = [list(c.texts[0].tokens) for c in clips]
        t = self.model.embed_texts(captions, tokens)
        m = self.model.embed_motions([c.motion for c in clips], max_frames=self.config.max_frames)
        chunk = min(32, len(clips))
        rp = r_precision(t, m, chunk=chunk)
        return {"split": ds.split, "n": len(clips), "chunk": chunk, "top1": float(rp[0]), "top2": float(rp[1]),
                "top3": float(rp[2]), "mm_dist": mm_dist(t, m, chunk)}

    def export(self, info: dict) -> None:
        self.model.save(self.out, {"training": {**asdict(self.config), "step": self.step,
                                                "train_seconds": round(self.elapsed, 1)},
                                   "validation": info, "data": str(self.data)})

    # Loop -----------------------------------------------------------------------
    def run(self) -> dict:
        from tqdm import tqdm
        c = self.config
        procs = self.procs
        procs.barrier()  # every process has read what it needs before the main one writes
        if procs.is_main:
            self.out.mkdir(parents=True, exist_ok=True)
            record = procs.batch_record(min(c.batch_size, len(self.train_set)) // procs.world_size)
            write_text(self.out / "train_config.json", json.dumps({**asdict(c), **record}, indent=2) + "\n")
        self.model.train()
        bar = tqdm(total=c.steps, initial=self.step, disable=not self.progress, desc=f"train {c.kind}",
                   dynamic_ncols=True)
        budget = c.max_minutes * 60 if c.max_minutes > 0 else math.inf
        self.log(f"training {c.kind} evaluator ({c.preset}, {sum(p.numel() for p in self.model.parameters()):,} "
                 f"parameters) on {len(self.train_set)} clips; step {self.step}/{c.steps}")
        mark = time.perf_counter()
        last_loss = float("nan")

        def tick():  # training time, validation and checkpoints included
            nonlocal mark
            now = time.perf_counter()
            self.elapsed += now - mark
            mark = now

        try:
            while self.step < c.steps and not (budget < math.inf and procs.any(self.elapsed >= budget)):
                batch = self.sample_batch()
                loss = self.loss(batch)
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                procs.average_gradients(self.model.parameters())
                if c.grad_clip > 0:
                    torch.nn.utils.clip_grad_norm_(self.model.parameters(), c.grad_clip)
                self.optimizer.step()
                self.step += 1
                last_loss = loss.item()
                bar.update(1)
                bar.set_postfix(loss=f"{last_loss:.3f}")
                tick()
                if self.step % c.val_every == 0 or self.step >= c.steps:
                    self._checkpoint(last_loss)
                    tick()
        except KeyboardInterrupt:
            tick()
            if procs.is_main:
                self.save_checkpoint()
            bar.close()
            self.log(f"interrupted at step {self.step}; checkpoint saved, continue with --resume")
            raise
        bar.close()
        if not self.history or self.history[-1]["step"] != self.step:
            self._checkpoint(last_loss)
        if self.elapsed >= budget:
            self.log(f"time budget of {c.max_minutes} min reached at step {self.step}")
        return {"step": self.step, "train_seconds": self.elapsed, "best": self.best, "last": self.history[-1]}

    def _checkpoint(self, loss: float) -> None:
        t0 = time.perf_counter()
        info = self.validate()
        self.model.train()
        info.update(step=self.step, loss=loss, train_seconds=round(self.elapsed + time.perf_counter() - t0, 1))
        self.history.append(info)
        better = self.best is None or (info["top1"], info["top3"]) >= (self.best["top1"], self.best["top3"])
        if better:
            self.best = info
        self.procs.barrier()
        if self.procs.is_main:  # every process validated the same model; one writes
            if better:
                self.export(info)
            self.save_checkpoint()
            with atomic_path(self.out / "train_log.jsonl") as tmp:
                tmp.write_text("".join(json.dumps(h) + "\n" for h in self.history))
        self.procs.barrier()
        self.log(f"step {self.step}: loss {loss:.4f}  val R@1 {info['top1']:.3f}  R@3 {info['top3']:.3f}  "
                 f"MM-Dist {info['mm_dist']:.3f}  ({self.elapsed / 60:.1f} min{', best' if better else ''}; "
                 f"validation {time.perf_counter() - t0:.1f} s)")


def _silent(*_args, **_kwargs) -> None:
    pass
