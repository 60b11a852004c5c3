"""Alignment levels and the wording of assessments and refinement instructions.

Every assessment states its level ("Alignment is close.") after describing the
motion and comparing it with the goal, so the level can be read back from a
model's output and scored; the rest varies.
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

from ..llm.templates import NO_REFINEMENT

LEVELS = ("poor", "partial", "close", "perfect")  # index = level 0..3
# "compare" lists what matches and what differs; "checklist" gives one verdict per goal action right after
# naming it, so the step that decides the level is a lookup a small model can make (procedural data only);
# "aligned" also copies the motion's matching action next to each goal action before the verdict, so the
# verdict compares two adjacent phrases instead of two far-apart lists; "slots" compares each goal action
# one parameter at a time ("direction in place vs forward wrong"), so every verdict compares two adjacent
# words, and checks the order of the actions position by position.
ASSESSMENT_STYLES = ("compare", "checklist", "aligned", "slots")
_LEVEL_RE = re.compile(r"alignment is (poor|partial|close|perfect)", re.IGNORECASE)

_OPENERS = {
    3: ["The motion does exactly what the goal asks", "Everything the goal describes is there",
        "The motion and the goal agree in every respect", "This motion fully realises the goal"],
    2: ["The motion is nearly right", "Most of the goal is there", "The motion comes close to the goal",
        "The motion gets the main action right"],
    1: ["The motion only partly follows the goal", "Some of the goal is there, but not all",
        "The motion captures part of the goal", "Only a portion of the goal is carried out"],
    0: ["The motion does not follow the goal", "The motion misses what the goal asks for",
        "This motion shows something else than the goal", "The goal is not carried out"],
}


@dataclass
class Difference:
    """One way in which a candidate motion departs from the goal."""

    kind: str  # wrong_side | wrong_direction | wrong_count | missing | extra | order | amplitude | other
    problem: str  # "the left hand waves instead of the right"
    fix: str  # "wave the right hand instead of the left"
    weight: float = 1.0  # how much it costs alignment


@dataclass
class Assessment:
    level: int
    assessment: str
    refinement: str
    differences: list[Difference] = field(default_factory=list)

    def as_text(self) -> dict:
        return {"assessment": self.assessment, "refinement": self.refinement}


def level_of(text: str) -> int | None:
    """The alignment level stated in an assessment, or None."""
    m = _LEVEL_RE.search(text or "")
    return LEVELS.index(m.group(1).lower()) if m else None


def level_from_differences(diffs: list[Difference], n_goal_actions: int, n_matched: int | None = None) -> int:
    """3 when nothing differs, 2 for one small difference, 1 while part of the goal
    is still right, 0 when nothing of it is."""
    cost = sum(d.weight for d in diffs)
    if cost == 0:
        return 3
    if cost <= 1.0:
        return 2
    if (n_matched if n_matched is not None else n_goal_actions - cost) > 0:
        return 1
    return 0


def join_phrases(items: list[str]) -> str:
    """"a, b and c": how assessments, checklists and instructions list things."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def write_assessment(level: int, matches: list[str], diffs: list[Difference], rng: random.Random,
                     shown: str | None = None, asked: str | None = None, checks: list[str] | None = None) -> Assessment:
    """Compose varied text for a level: what the goal asks, what the motion shows, what matches,
    what differs, then the level.

    Describe first, judge last: the model restates the goal and transcribes the motion in the same
    canonical words (which goal analysis and captioning teach it), then compares two aligned texts,
    instead of judging raw motion tokens against a free-form caption in one step.
    `asked` / `shown` describe the goal and the candidate. With `checks` (one verdict per goal action,
    then extras), the comparison is written as that checklist instead of matches and problems."""
    parts = []
    if asked:
        parts.append(f"The goal asks for: {asked.rstrip('.')}.")
    if shown:
        parts.append(f"The motion shows: {shown.rstrip('.')}.")
    if checks is not None:
        parts.append("Check: " + "; ".join(checks) + ".")
    elif matches and level > 0:
        parts.append(rng.choice(["It correctly shows ", "Correct: ", "What matches: "]) + join_phrases(matches) + ".")
    if diffs and checks is None:
        problems = [d.problem for d in diffs]
        parts.append(rng.choice(["However, ", "But ", "The problem: ", "What is wrong: "]) + join_phrases(problems) + ".")
    parts.append(f"Alignment is {LEVELS[level]}. {rng.choice(_OPENERS[level])}.")
    if level == 3:
        return Assessment(level, " ".join(parts), NO_REFINEMENT, diffs)
    fixes = [d.fix for d in diffs] or ["perform the motion the goal describes"]
    refinement = rng.choice(["", "Please ", "To fix it, "]) + join_phrases(fixes) + "."
    refinement = refinement[0].upper() + refinement[1:]
    return Assessment(level, " ".join(parts), refinement, diffs)
