"""Stage-3 rewards on whole interleaved traces.

- format: 1 when the trace follows the grammar and holds at least one
  generation (the authors' regex admitted zero rounds; ours does not);
- alignment: minus the evaluator distance between the goal text and the final motion;
- fidelity: minus the evaluator distance between the final motion and the ground truth.
Motion spans are read with the same parser and tokenizer as inference.
Optionally the non-format rewards are min-max normalised within each group
(the authors' code); otherwise they are used as they are (the paper's formula).
"""
from __future__ import annotations

import re
from collections import defaultdict

import numpy as np

from ..llm.trace import parse_trace

MAX_MOTION_FRAMES = 196  # the datasets' longest motion; inference cuts an unclosed span there too

_SPAN = r"\[plan\][^\[]*\[/plan\]\s*"
_ROUND = (r"\[generate\]<Motion>(?:<Motion_\d+>)+</Motion>\[/generate\]\s*" + _SPAN
          + r"\[assess\].*?\[/assess\]\s*" + _SPAN)
STRICT_FORMAT = re.compile(r"\s*<think>\s*" + _SPAN + r"\[analyze\].*?\[/analyze\]\s*" + _SPAN
                           + f"(?:{_ROUND})+" + r"</think>\s*", re.DOTALL)


def format_reward(text: str, codebook_size: int) -> float:
    if not STRICT_FORMAT.fullmatch(text or ""):
        return 0.0
    parsed = parse_trace(text, codebook_size)
    return 1.0 if parsed.n_generations >= 1 and not parsed.warnings else 0.0


def group_minmax(values: list[float], groups: list) -> list[float]:
    """(r - min) / (max - min + 1e-4) within each group (the authors' normalisation)."""
    out = list(values)
    members = defaultdict(list)
    for i, g in enumerate(groups):
        members[g].append(i)
    for idx in members.values():
        v = np.array([values[i] for i in idx])
        lo, hi = v.min(), v.max()
        for i, x in zip(idx, v):
            out[i] = float((x - lo) / (hi - lo + 1e-4))
    return out


class MotionRewards:
    """Reward functions in TRL's signature: f(prompts, completions, **columns) -> list[float]."""

    def __init__(self, vq, evaluator, ground_truth: dict[str, np.ndarray], group_norm: bool = False):
        self.vq, self.evaluator, self.gt = vq, evaluator, ground_truth
        self.group_norm = group_norm
        self._gt_emb: dict[str, np.ndarray] = {}
        self._last: tuple[tuple, np.ndarray] | None = None  # both rewards embed the same batch once

    def final_motions(self, completions: list[str]) -> list[np.ndarray]:
        """Decoded final motions; a trace without one gets a zero motion (as the authors do). A span that never
        closes is cut where inference cuts it (Reasoner.max_motion_tokens: 196 frames), so the rewarded motion is
        the one inference would return."""
        out = []
        cap = MAX_MOTION_FRAMES // self.vq.unit_length
        for text in completions:
            ids = parse_trace(text, self.vq.codebook_size, cap).final_motion
            if ids:
                out.append(self.vq.decode([ids])[0])
            else:
                out.append(np.zeros((MAX_MOTION_FRAMES, self.vq.config.input_dim), np.float32))
        return out

    def _motion_emb(self, completions):
        key = tuple(completions)
        if self._last is None or self._last[0] != key:
            self._last = (key, self.evaluator.embed_motions(self.final_motions(completions)))
        return self._last[1]

    def format(self, prompts, completions, **kw) -> list[float]:
        return [format_reward(c, self.vq.codebook_size) for c in completions]

    def alignment(self, prompts, completions, goal, **kw) -> list[float]:
        text = self.evaluator.embed_texts(list(goal))
        motion = self._motion_emb(completions)
        r = (-np.linalg.norm(text - motion, axis=-1)).tolist()
        return group_minmax(r, list(prompts)) if self.group_norm else r

    def fidelity(self, prompts, completions, motion_id, **kw) -> list[float]:
        missing = [m for m in set(motion_id) if m not in self._gt_emb]
        if missing:
            for m, e in zip(missing, self.evaluator.embed_motions([self.gt[m] for m in missing])):
                self._gt_emb[m] = e
        gt = np.stack([self._gt_emb[m] for m in motion_id])
        r = (-np.linalg.norm(gt - self._motion_emb(completions), axis=-1)).tolist()
        return group_minmax(r, list(prompts)) if self.group_norm else r

    def functions(self):
        def reward_format(prompts, completions, **kw):
            return self.format(prompts, completions, **kw)

        def reward_alignment(prompts, completions, **kw):
            return self.alignment(prompts, completions, **kw)

        def reward_fidelity(prompts, completions, **kw):
            return self.fidelity(prompts, completions, **kw)

        return [reward_format, reward_alignment, reward_fidelity]
