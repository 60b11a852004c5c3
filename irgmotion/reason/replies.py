"""Reading the model's single-step replies (caption, assessment, instruction): each is cut where its answer ends
and checked, so a model that runs on past its answer (into trace text, motion tokens) never leaks that text.

Each reader returns the cleaned reply and the warnings about it; none raises.
"""
from __future__ import annotations

import re

from ..engine.assessment import LEVELS, level_of
from ..engine.descriptions import DESCRIBED, rule_verdict, small_in_checks

# Where a one-line answer ends: a new line, a trace tag ("[/assess]", "[plan]", or a malformed "[/ specific]"), a
# motion token or <think>; the answers the model was taught hold no brackets.
_ANSWER_END = re.compile(r"[\n\[<]")
_CHECK, _LEVEL = "Check:", "Alignment is"


def _first_line(text: str) -> tuple[str, bool]:
    """The reply up to where its answer ends, and whether anything followed it."""
    text = (text or "").strip()
    end = _ANSWER_END.search(text)
    if end is None:
        return text, False
    return text[:end.start()].strip(), bool(text[end.start():].strip())


def read_caption(reply: str) -> tuple[str, list[str]]:
    """A caption: one line of text."""
    caption, more = _first_line(reply)
    warnings = ["the model wrote past its caption; cut at the end of the first line"] if more else []
    if not caption:
        warnings.append("the model wrote no caption")
    return caption, warnings


def read_instruction(reply: str) -> tuple[str, list[str]]:
    """A refinement instruction: one line of text."""
    text = (reply or "").strip()
    text = text.removeprefix("Refinement:")
    instruction, more = _first_line(text)
    warnings = ["the model wrote past its instruction; cut at the end of the first line"] if more else []
    if not instruction:
        warnings.append("the model wrote no refinement instruction")
    return instruction, warnings


def read_assessment(reply: str) -> tuple[str, int | None, list[str]]:
    """An assessment (one line, up to any "Refinement:") and the alignment level it states (0-3), or None."""
    text = (reply or "").strip()
    text = text.removeprefix("Assessment:")
    cut = text.find("Refinement:")
    assessment, more = _first_line(text if cut < 0 else text[:cut])
    warnings = ["the model wrote past its assessment; cut at the end of the first line"] if more else []
    level = level_of(assessment)
    if level is None:
        warnings.append("the assessment states no alignment level (poor, partial, close or perfect)")
    return assessment, level, warnings


def rule_assessment(assessment: str, style: str | None) -> tuple[str, int, str] | None:
    """The rule verdict on an assessment's two descriptions ("The goal asks for: X. The motion shows: Y."), as in
    the interleaved loop: (the assessment with the rule's check list and level, the level, the rule's
    refinement); None when the descriptions cannot be read (then the model's own words stand)."""
    found = DESCRIBED.search(assessment or "")
    if found is None:
        return None
    at = assessment.find(_CHECK, found.start())
    # slots: the sizes the model saw are in its own check list, which the rule's replaces
    level_at = assessment.find(_LEVEL, at) if at >= 0 else -1
    small = small_in_checks(assessment[at + len(_CHECK):level_at]) if style == "slots" and level_at >= 0 else []
    verdict = rule_verdict(found.group(1), found.group(2), style, small=small)
    if verdict is None:
        return None
    words = verdict.assessment.assessment
    return assessment[:found.end()].rstrip() + " " + words, verdict.level, verdict.assessment.refinement


def level_name(level: int | None) -> str | None:
    return None if level is None else LEVELS[level]
