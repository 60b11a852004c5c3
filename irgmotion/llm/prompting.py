"""Turning annotation entries into training examples: (prompt, response segments).

Template keys become a random paraphrase, motion keys become motion-token
strings, text keys become one of their alternatives. The stage-2 response
`<Unified_Mogen_COT_Trace>` becomes a whole interleaved trace.
"""
from __future__ import annotations

import random
import re
from collections.abc import Callable

from ..data.annotations import Annotation, Candidate, MotionRef
from .templates import SYSTEM_KEYS, SYSTEM_PROMPT, TEMPLATES
from .trace import Round, format_trace, is_no_refinement
from .vocab import motion_to_string

TRACE_KEY = "<Unified_Mogen_COT_Trace>"
_PLACEHOLDER = re.compile(r"<[A-Z][A-Za-z0-9_]*>")
MotionResolver = Callable[[MotionRef], list[int]]


class PromptError(ValueError):
    """An annotation that cannot be turned into an example (missing text or motion)."""


def pick_text(value, rng: random.Random) -> str:
    if isinstance(value, list):
        return rng.choice(value)
    if isinstance(value, dict):
        return f"Assessment: {value['assessment']}\nRefinement: {value['refinement']}"
    return str(value)


def fill(template: str, cand: Candidate, resolve: MotionResolver, rng: random.Random) -> str:
    def sub(m: re.Match) -> str:
        key = m.group(0)
        if key in cand.motions:
            return motion_to_string(resolve(cand.motions[key]))
        if key in cand.text:
            return pick_text(cand.text[key], rng)
        return key  # literal text such as <think> stays as written

    return _PLACEHOLDER.sub(sub, template)


def _template(key: str, rng: random.Random) -> str:
    if key in TEMPLATES:
        return rng.choice(TEMPLATES[key])
    return key


def stage2_rounds(cand: Candidate, resolve: MotionResolver, rng: random.Random, max_intermediate: int = 4) -> list[Round]:
    """k ~ U{0..max} intermediate motions (a random subset kept in worst-to-best order), then the goal."""
    inter = []
    i = 0
    while f"<Intermediate_Motion_{i}>" in cand.motions:
        assess = cand.text.get(f"<Assess_Intermediate_Motion_{i}>")
        if isinstance(assess, dict):
            refinement = assess.get("refinement", "")
            # A negative whose instruction says nothing useful teaches nothing.
            if not is_no_refinement(refinement) and len(refinement.split()) > 3:
                inter.append((i, assess))
        i += 1
    k = rng.randint(0, min(max_intermediate, len(inter)))
    chosen = sorted(rng.sample(inter, k))
    rounds = [Round(resolve(cand.motions[f"<Intermediate_Motion_{i}>"]), a["assessment"], a["refinement"])
              for i, a in chosen]
    goal = cand.text.get("<Assess_Goal_Motion>")
    if not isinstance(goal, dict):
        raise PromptError("stage-2 candidate lacks <Assess_Goal_Motion> {assessment, refinement}")
    rounds.append(Round(resolve(cand.motions["<Goal_Motion>"]), goal["assessment"], goal["refinement"]))
    return rounds


def build_example(entry: Annotation, resolve: MotionResolver, rng: random.Random,
                  candidate: Candidate | None = None) -> tuple[str, str, list[tuple[str, bool]]]:
    """(system, user, response segments) for one annotation entry; one candidate drawn at random."""
    cand = candidate or rng.choice(entry.candidates)
    system = SYSTEM_PROMPT
    user = response_key = None
    for role, value in entry.conversations:
        if role == "system":
            system = SYSTEM_PROMPT if value in SYSTEM_KEYS else fill(value, cand, resolve, rng)
        elif role == "human":
            user = fill(_template(value, rng), cand, resolve, rng)
        elif role == "gpt":
            response_key = value
    if user is None or response_key is None:
        raise PromptError(f"annotation {entry.id}: needs a human and a gpt turn")
    if response_key == TRACE_KEY:
        analysis = pick_text(cand.text.get("<Prompt_Analysis>", ""), rng)
        return system, user, format_trace(analysis, stage2_rounds(cand, resolve, rng))
    response = fill(response_key, cand, resolve, rng)
    if response == response_key and response_key not in cand.motions and response_key not in cand.text:
        raise PromptError(f"annotation {entry.id}: response key {response_key} has no value")
    return system, user, [(response, True)]
