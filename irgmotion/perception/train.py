"""Training the motion describer on data engine builds: every (candidate motion, goal) pair of the engine's assessment
task, with the two descriptions its exact assessment gives ("The goal asks for: X. The motion shows: Y."): the
describer reads the motion and X and learns to write Y.

`irgmotion train-describer --engine BUILD [--engine MORE] --vq VQ --out DIR`: progress every `log_every` steps,
an atomic checkpoint (weights, optimiser, step, random states) every `checkpoint_every`, `--resume` after a kill,
and the weights that describe the validation motions best exported as the describer directory.
"""
from __future__ import annotations

import json
import math
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from ..checkpointing import load_checkpoint, save_checkpoint, set_rng_state
from ..data.annotations import MotionRef, read_annotations
from ..fileio import write_text
from ..tokenizer.catalog import MotionCatalog
from ..tokenizer.pretrained import MotionTokenizer
from .model import PAD, SPECIALS, DescriberConfig, MotionDescriber, split_words

ASSESSMENT_FILE = "stage1/TM2T_assessment_analysis_annots.json"
CHECKPOINT = "checkpoint.pt"
# "The goal asks for: X. The motion shows: Y." (engine.descriptions.DESCRIBED; read here without the engine layer)
_DESCRIBED = "The goal asks for: ", ". The motion shows: "


def _descriptions(text: str) -> tuple[str, str] | None:
    head, mid = _DESCRIBED
    if not text.startswith(head) or mid not in text:
        return None
    asked, _, rest = text[len(head):].partition(mid)
    shown = rest.split(". Check:")[0].rstrip(".")
    return asked, shown


def engine_examples(build: str | Path) -> tuple[list[tuple[str, str, str]], list[str]]:
    """(motion name, goal description, motion description) for each distinct pair of the build's assessment task,
    and the build's motion roots."""
    build = Path(build)
    path = build / ASSESSMENT_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing; --engine takes a data engine build (irgmotion build)")
    roots = json.loads((build / "engine.json").read_text())["motion_roots"]
    pairs: dict[tuple[str, str, str], None] = {}
    for entry in read_annotations(path):
        for cand in entry.candidates:
            found = _descriptions(cand.text["<Assessment_Analysis>"][0])
            if found is not None:
                pairs[(cand.motions["<Generated_Motion>"].motion_name, *found)] = None
    return list(pairs), roots


@dataclass
class DescriberTrainConfig:
    steps: int = 4000
    batch_size: int = 64
    lr: float = 1e-3
    warmup: int = 200
    weight_decay: float = 0.01
    label_smoothing: float = 0.05
    # share of training pairs whose goal is another pair's: the goal the LLM restates can be wrong, and the
    # describer must then still describe the motion
    goal_noise: float = 0.1
    val_share: float = 0.03
    log_every: int = 100
    checkpoint_every: int = 500
    seed: int = 0
    threads: int = 0  # 0: torch's default


class DescriberTrainer:
    def __init__(self, engines: list[str], vq_dir: str | Path, out: str | Path, config: DescriberTrainConfig,
                 model_config: dict | None = None, resume: bool = False, log=print):
        self.out, self.config, self.log = Path(out), config, log
        if config.threads:
            torch.set_num_threads(config.threads)
        vq = MotionTokenizer.from_pretrained(vq_dir)
        triples: list[tuple[str, str, str]] = []
        roots: list[str] = []
        for build in engines:
            found, build_roots = engine_examples(build)
            triples += found
            roots += [r for r in build_roots if r not in roots]
        if not triples:
            raise ValueError(f"{', '.join(map(str, engines))}: no assessment reads 'The goal asks for: ... The motion "
                             "shows: ...'")
        self.out.mkdir(parents=True, exist_ok=True)  # after the inputs are read: a bad build leaves no folder
        catalog = MotionCatalog(roots, vq, cache=self.out / "motion_tokens.json")
        names = sorted({n for n, _, _ in triples})
        missing = [n for n in names if f"{n}|0|0" not in catalog.ids]
        if missing:
            log(f"encoding {len(missing)} motions with {vq_dir}")
            for s in range(0, len(missing), 512):
                chunk = missing[s:s + 512]
                for n, ids in zip(chunk, vq.encode([catalog.features(MotionRef(n)) for n in chunk])):
                    catalog.ids[f"{n}|0|0"] = ids.tolist()
            catalog.save()
        words = sorted({w for _, g, t in triples for text in (g, t) for w in split_words(text)})
        state = load_checkpoint(self.out / CHECKPOINT) if resume else None
        cfg = (DescriberConfig.from_dict(state["model_config"], str(self.out / CHECKPOINT)) if state else
               DescriberConfig(codebook_size=vq.codebook_size, words=[*SPECIALS, *words], **(model_config or {})))
        self.model = MotionDescriber(cfg)
        examples = []
        for n, goal, shown in triples:
            ids = self.model.word_ids(shown)
            if ids is not None:
                examples.append((catalog.ids[f"{n}|0|0"], ids, shown, goal))
        # validation: the pairs of held-back motions (a motion's other pairs would leak its description)
        rng = random.Random(config.seed)
        held = set(rng.sample(names, max(1, min(400, int(len(names) * config.val_share)))))
        self.val = [e for e, (n, _, _) in zip(examples, triples) if n in held][:400]
        self.train = [e for e, (n, _, _) in zip(examples, triples) if n not in held]
        log(f"{len(self.train)} training pairs ({len(names) - len(held)} motions), {len(self.val)} validation pairs, "
            f"{len(words)} words")
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        self.step, self.best, self.rng = 0, -1.0, rng
        if state:
            self.model.load_state_dict(state["model"])
            self.opt.load_state_dict(state["optimizer"])
            self.step, self.best = int(state["step"]), float(state["best"])
            set_rng_state(state["rng"])
            version, internal, gauss = state["sampler"]
            self.rng.setstate((version, tuple(internal), gauss))
            log(f"resumed at step {self.step} (best validation exact {self.best:.3f})")

    def _lr(self) -> float:
        c = self.config
        if self.step < c.warmup:
            return c.lr * (self.step + 1) / c.warmup
        return c.lr * 0.5 * (1 + math.cos(math.pi * min(1.0, (self.step - c.warmup) / max(1, c.steps - c.warmup))))

    def loss(self, batch) -> torch.Tensor:
        codes, mask = self.model.motion_batch([m for m, _, _, _ in batch])
        goals = [g if self.rng.random() >= self.config.goal_noise else self.train[self.rng.randrange(len(self.train))][3]
                 for _, _, _, g in batch]
        width = max(len(w) for _, w, _, _ in batch)
        words = torch.full((len(batch), width), PAD, dtype=torch.long)
        for i, (_, w, _, _) in enumerate(batch):
            words[i, : len(w)] = torch.tensor(w)
        memory, mask = self.model.encode(codes, mask, self.model.goal_batch(goals))
        logits = self.model.logits(memory, mask, words[:, :-1])
        return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), words[:, 1:].reshape(-1),
                                                 ignore_index=PAD, label_smoothing=self.config.label_smoothing)

    def validate(self) -> float:
        said = self.model.describe([m for m, _, _, _ in self.val], [g for _, _, _, g in self.val])
        return sum(s == t for s, (_, _, t, _) in zip(said, self.val)) / len(self.val)

    def save_checkpoint(self) -> None:
        version, internal, gauss = self.rng.getstate()
        save_checkpoint(self.out / CHECKPOINT, model=self.model.state_dict(), optimizer=self.opt.state_dict(),
                        step=self.step, best=self.best, model_config=asdict(self.model.config),
                        sampler=[version, list(internal), gauss])

    def run(self) -> dict:
        c = self.config
        self.model.train()
        started, losses = time.time(), []
        try:
            while self.step < c.steps:
                for g in self.opt.param_groups:
                    g["lr"] = self._lr()
                batch = [self.train[self.rng.randrange(len(self.train))] for _ in range(c.batch_size)]
                loss = self.loss(batch)
                self.opt.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
                self.opt.step()
                self.step += 1
                losses.append(loss.item())
                if self.step % c.log_every == 0:
                    self.log(f"step {self.step}/{c.steps} loss {sum(losses) / len(losses):.4f} "
                             f"lr {self._lr():.2e} {time.time() - started:.0f} s")
                    losses = []
                if self.step % c.checkpoint_every == 0 or self.step == c.steps:
                    exact = self.validate()
                    if exact > self.best:
                        self.best = exact
                        self.model.save_pretrained(self.out / "describer", {"trained_steps": self.step,
                                                                             "validation_exact": exact})
                    self.log(f"step {self.step}: validation exact {exact:.3f} (best {self.best:.3f})")
                    self.save_checkpoint()
        except KeyboardInterrupt:
            self.save_checkpoint()
            self.log(f"interrupted at step {self.step}; checkpoint saved, continue with --resume")
            raise
        summary = {"steps": self.step, "best_validation_exact": self.best, "train_pairs": len(self.train),
                   "validation_pairs": len(self.val), "config": asdict(c)}
        write_text(self.out / "train_summary.json", json.dumps(summary, indent=1))
        return summary
