"""Reading a canonical description ("walk forward 4 steps, then jump twice") back into a program, and the
verdict that follows from two descriptions by the engine's own rule.

An assessment first restates the goal and describes the motion in these canonical words, then judges.
Given only those two descriptions, the rule that wrote the training assessments (`compare_programs`,
`level_from_differences`) fixes the check list, the level and the refinement. That serves two ends:
- inference can let the model perceive (write both descriptions) and then apply the rule, so the
  verdict follows what the model itself saw;
- benchmarks can measure how often a model's own verdict contradicts its own descriptions.
What a description does not write, the rule cannot judge: sizes appear in the "aligned" style's "(small)"
marks and in the "slots" style's check list (`small_in_checks`), and no style writes the look-around side or
a curved walk's angle.
"""
from __future__ import annotations

import itertools
import random
import re
from dataclasses import dataclass
from functools import lru_cache

from ..data.synth.actions import ACTIONS
from ..data.synth.program import Action, Program
from .assessment import Assessment, level_from_differences, level_of, write_assessment
from .programs import AMPLITUDE_PARAMS, compare_programs, phrase

# The parameters a phrase shows (phrase() writes nothing for speed, hold, duration, knee lift).
# ("first", the look-around side, and the angle of a curved walk are not written either.)
_VISIBLE = ("direction", "path", "turn", "angle", "hand", "leg", "foot", "knee", "count", "steps", "turns")
_SMALL = " (small)"
_UPPER = " while doing this: "
DESCRIBED = re.compile(r"The goal asks for: (.*?)\. The motion shows: (.*?)\.(?: |$)")


@lru_cache(maxsize=1)
def _phrase_table() -> dict[str, Action]:
    """Every phrase an action can have -> the action (the fewest non-default parameters when several agree)."""
    table: dict[str, Action] = {}
    for name, spec in ACTIONS.items():
        keys = [k for k in spec.params if k in _VISIBLE and spec.params[k].kind in ("choice", "int")
                and (k != "angle" or name == "turn")]
        options = [spec.params[k].values if spec.params[k].kind == "choice"
                   else range(int(spec.params[k].lo), int(spec.params[k].hi) + 1) for k in keys]
        defaults = spec.defaults()
        for combo in itertools.product(*options):
            params = {k: v for k, v in zip(keys, combo) if v != defaults[k]}
            action = Action(name, params)
            text = phrase(action, with_upper=False)
            if text not in table or len(params) < len(table[text].params):
                table[text] = action
    return table


def _read_action(text: str) -> Action | None:
    small = text.endswith(_SMALL)
    action = _phrase_table().get(text[: -len(_SMALL)] if small else text)
    if action is None or not small:
        return action
    keys = [k for k in AMPLITUDE_PARAMS if k in ACTIONS[action.name].params]
    if not keys:
        return None  # "(small)" on an action without a size: not a canonical description
    lo = ACTIONS[action.name].params[keys[0]].lo  # the range's low end is "too small" against every default
    return Action(action.name, {**action.params, keys[0]: lo})


def read_description(text: str) -> Program | None:
    """The program a canonical description names, or None when any part of it is not canonical."""
    text = (text or "").strip().rstrip(".").strip()
    if not text:
        return None
    actions = []
    for part in text.split(", then "):
        main, _, upper = part.partition(_UPPER)
        action = _read_action(main.strip())
        if action is None:
            return None
        if upper:
            extra = _read_action(upper.strip())
            if extra is None or ACTIONS[extra.name].category != "upper":
                return None
            action = Action(action.name, action.params, extra)
        actions.append(action)
    return Program(tuple(actions))


@dataclass
class RuleVerdict:
    goal: Program
    motion: Program
    assessment: Assessment  # its text starts at "Check:" (the compare style: at what matches, then the level)

    @property
    def level(self) -> int:
        return self.assessment.level


def small_in_checks(checks: str) -> list[str]:
    """Names of the actions a "slots" check list saw too small ("jump: ..., size full vs small wrong" -> jump),
    in order: the one perception a slots description leaves to its check list."""
    docs = {spec.doc: name for name, spec in ACTIONS.items()}
    found = []
    for entry in checks.split(";"):
        head, _, slots = entry.strip().partition(": ")
        if head in docs and re.search(r"(?<!upper )size \w+ vs small", slots):
            found.append(docs[head])
    return found


def _mark_small(program: Program, names: list[str]) -> Program:
    """The program with the first unmarked action of each listed name given a too-small size."""
    actions, todo = list(program.actions), list(names)
    for i, a in enumerate(actions):
        keys = [k for k in AMPLITUDE_PARAMS if k in ACTIONS[a.name].params]
        if a.name in todo and keys:
            todo.remove(a.name)
            actions[i] = Action(a.name, {**a.params, keys[0]: ACTIONS[a.name].params[keys[0]].lo}, a.upper)
    return Program(tuple(actions))


def rule_verdict(asked: str, shown: str, style: str, seed: int = 0, small: list[str] = ()) -> RuleVerdict | None:
    """The check list, level and refinement that follow from two descriptions by the engine's rule,
    worded in `style`; None when either description is not canonical. `small` names motion actions seen too small
    where the description cannot say it (the "slots" style writes sizes in its check list: `small_in_checks`)."""
    goal, motion = read_description(asked), read_description(shown)
    if goal is None or motion is None:
        return None
    if small:
        motion = _mark_small(motion, list(small))
    matches, diffs, n_matched, checks, _ = compare_programs(goal, motion, style)
    level = level_from_differences(diffs, len(goal.actions), n_matched=n_matched)
    assessment = write_assessment(level, matches, diffs, random.Random(seed),
                                  checks=checks if style != "compare" else None)
    return RuleVerdict(goal, motion, assessment)


_PROBLEM = re.compile(r"\bwrong\b|\bmissing\b|\bextra:|done, but")


def implied_level(assessment: str, style: str) -> int | None:
    """The level an assessment's own two descriptions imply by the rule (for "slots", with the sizes its check
    list saw); None when they cannot be read or the style's descriptions leave judged slots out."""
    found = DESCRIBED.search(assessment or "")
    if style not in ("aligned", "slots") or not found:
        return None
    checks = re.search(r"Check:(.*?)Alignment is", assessment, re.DOTALL)
    small = small_in_checks(checks.group(1)) if style == "slots" and checks else []
    verdict = rule_verdict(found.group(1), found.group(2), style, small=small)
    return None if verdict is None else verdict.level


def verdict_contradiction(assessment: str, style: str = "aligned") -> bool | None:
    """Whether an assessment's verdict contradicts what it wrote before it (True: a contradiction); None when it
    states no level or cannot be read.

    "aligned" and "slots": the stated level must be `implied_level`. "checklist" writes sizes only inside its
    verdicts, so there the test is the check list itself: "perfect" exactly when no check is wrong, missing or
    extra."""
    stated = level_of(assessment)
    if stated is None:
        return None
    if style in ("aligned", "slots"):
        implied = implied_level(assessment, style)
        return None if implied is None else implied != stated
    checks = re.search(r"Check:(.*?)Alignment is", assessment or "", re.DOTALL)
    if not checks:
        return None
    return (stated == 3) == bool(_PROBLEM.search(checks.group(1)))


def self_consistency(assessments: list[str], style: str = "aligned") -> dict:
    """Share of assessments whose verdict contradicts what they wrote before it, over those that can be read."""
    flags = [verdict_contradiction(a, style) for a in assessments]
    read = [f for f in flags if f is not None]
    return {"assessments": len(assessments), "readable": len(read),
            "contradiction_rate": (sum(read) / len(read)) if read else None}
