"""A small learnable text-motion dataset in HumanML3D layout, for tests and benchmarks.

Each clip is one of `len(VERBS) * len(MANNERS)` classes; its 263-d features carry
a class-specific oscillation on a class-specific set of channels plus noise, and
its captions name the class in a few paraphrases with `word/POS` tokens. It is
not motion (the joints it decodes to are meaningless); it only exercises the
evaluator code paths with something an encoder can learn in a few steps.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..fileio import save_npy, write_text

VERBS = (("walk", "walks", "walking"), ("run", "runs", "running"), ("jump", "jumps", "jumping"),
         ("kick", "kicks", "kicking"), ("wave", "waves", "waving"), ("turn", "turns", "turning"))
MANNERS = (("forward", "ADV"), ("backward", "ADV"), ("slowly", "ADV"), ("quickly", "ADV"))
SUBJECTS = (("a person", "a/DET person/NOUN"), ("someone", "someone/PRON"), ("the man", "the/DET man/NOUN"))


def _captions(verb: tuple[str, str, str], manner: tuple[str, str], rng: np.random.Generator) -> list[str]:
    lines = []
    for k in rng.permutation(len(SUBJECTS))[:2]:
        subj, subj_tok = SUBJECTS[k]
        lines.append(f"{subj} {verb[1]} {manner[0]}.#{subj_tok} {verb[0]}/VERB {manner[0]}/{manner[1]}#0.0#0.0")
    lines.append(f"{verb[2]} {manner[0]}#{verb[0]}/VERB {manner[0]}/{manner[1]}#0.0#0.0")
    return lines


def write_toy_dataset(root: str | Path, n_clips: int = 200, seed: int = 0, dim: int = 263,
                      split_fractions: tuple[float, float] = (0.7, 0.1)) -> Path:
    root = Path(root)
    rng = np.random.default_rng(seed)
    n_classes = len(VERBS) * len(MANNERS)
    proto = np.random.default_rng(1234)  # class signatures do not depend on `seed`
    channels = [proto.choice(dim - 4, 12, replace=False) for _ in range(n_classes)]
    freqs = proto.uniform(0.02, 0.15, n_classes)
    motions = []
    for i in range(n_clips):
        cls = int(rng.integers(n_classes))
        length = int(rng.integers(40, 200))
        t = np.arange(length)[:, None]
        x = rng.normal(0, 0.3, (length, dim)).astype(np.float32)
        x[:, channels[cls]] += np.sin(2 * np.pi * freqs[cls] * t + rng.uniform(0, 2 * np.pi)) * 1.5
        x[:, -4:] = (rng.random((length, 4)) > 0.5)
        cid = f"{i:06d}"
        save_npy(root / "new_joint_vecs" / f"{cid}.npy", x)
        verb, manner = VERBS[cls // len(MANNERS)], MANNERS[cls % len(MANNERS)]
        write_text(root / "texts" / f"{cid}.txt", "\n".join(_captions(verb, manner, rng)) + "\n")
        motions.append(x)
    stacked = np.concatenate(motions)
    save_npy(root / "Mean.npy", stacked.mean(0).astype(np.float32))
    save_npy(root / "Std.npy", stacked.std(0).astype(np.float32))
    ids = [f"{i:06d}" for i in range(n_clips)]
    n_train = int(n_clips * split_fractions[0])
    n_val = int(n_clips * split_fractions[1])
    for name, part in (("train", ids[:n_train]), ("val", ids[n_train:n_train + n_val]),
                       ("test", ids[n_train + n_val:])):
        write_text(root / f"{name}.txt", "\n".join(part) + "\n")
    return root
