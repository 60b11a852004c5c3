"""The interleaved reasoning trace: format (for training) and tolerant parse (for inference).

    <think>[plan]P1[/plan]
    [analyze]...[/analyze]
    [plan]P2[/plan]
    [generate]<Motion>...</Motion>[/generate]
    [plan]P3[/plan]
    [assess]Assessment: ...
    Refinement: ...[/assess]
    [plan]P4[/plan]          (then the next [generate] ...)
    ...
    [plan]P5[/plan]
    </think>

Tags and plan sentences are the authors' (paper §4), so traces read the same.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from .templates import NO_REFINEMENT
from .vocab import MOTION_END, MOTION_START, motion_to_string, string_to_motion

PLAN_ANALYZE = "I need to analyze the goal and identify the critical aspects to generate the motion."
PLAN_GENERATE = "I need to generate a motion according to the previous analysis."
PLAN_ASSESS = ("I need to assess the alignment between the generated motion and the goal text, then provide "
               "specific refinement instructions for improvement.")
PLAN_REFINE = "I need to refine the motion according to the instruction."
PLAN_FINISH = "I need to finish thinking as the satisfactory motion is generated."

THINK_START, THINK_END = "<think>", "</think>"


def plan_text(text: str) -> str:
    return f"[plan]{text}[/plan]\n"


@dataclass
class Round:
    motion: list[int] | None  # None when the round produced no usable motion
    assessment: str = ""
    refinement: str = ""

    @property
    def satisfied(self) -> bool:
        return is_no_refinement(self.refinement)


def is_no_refinement(text: str) -> bool:
    return bool(re.search(r"no refinements? (are )?needed", text, re.IGNORECASE))


def format_trace(analysis: str, rounds: list[Round], close: bool = True) -> list[tuple[str, bool]]:
    """The trace as (text, supervised) segments. Motions of rounds that are not
    the last are marked unsupervised: the model should not learn to produce
    the wrong motions, only to assess and refine them (the paper's
    "ignore incorrect" masking)."""
    segs: list[tuple[str, bool]] = [(THINK_START + plan_text(PLAN_ANALYZE) + f"[analyze]{analysis}[/analyze]\n"
                                     + plan_text(PLAN_GENERATE), True)]
    for i, r in enumerate(rounds):
        last = i == len(rounds) - 1
        segs.append((f"[generate]{motion_to_string(r.motion or [])}[/generate]\n", last))
        text = plan_text(PLAN_ASSESS) + f"[assess]Assessment: {r.assessment}\nRefinement: {r.refinement}[/assess]\n"
        text += plan_text(PLAN_FINISH if last else PLAN_REFINE)
        segs.append((text, True))
    if close:
        segs.append((THINK_END, True))
    return segs


def trace_text(analysis: str, rounds: list[Round]) -> str:
    return "".join(t for t, _ in format_trace(analysis, rounds))


@dataclass
class ParsedTrace:
    analysis: str = ""
    rounds: list[Round] = field(default_factory=list)
    finished: bool = False  # the model closed its reasoning itself
    warnings: list[str] = field(default_factory=list)

    @property
    def motions(self) -> list[list[int]]:
        return [r.motion for r in self.rounds if r.motion]

    @property
    def final_motion(self) -> list[int] | None:
        motions = self.motions
        return motions[-1] if motions else None

    @property
    def first_motion(self) -> list[int] | None:
        motions = self.motions
        return motions[0] if motions else None

    @property
    def n_generations(self) -> int:
        return len(self.motions)

    def to_dict(self) -> dict:
        return {"analysis": self.analysis, "finished": self.finished, "warnings": self.warnings,
                "rounds": [{"motion": r.motion, "assessment": r.assessment, "refinement": r.refinement}
                           for r in self.rounds]}


_TAG = re.compile(r"\[(/?)(plan|analyze|generate|assess)\]|(</?think>)")


def parse_trace(text: str, codebook_size: int | None = None, max_motion_tokens: int | None = None) -> ParsedTrace:
    """Read a (possibly malformed or truncated) trace. Never raises.

    Motions longer than `max_motion_tokens` (a model that never closed its span)
    are cut to that length with a warning."""
    out = ParsedTrace()
    if not isinstance(text, str):
        out.warnings.append(f"trace is not text ({type(text).__name__})")
        return out
    if THINK_START not in text:
        out.warnings.append("trace does not open with <think>")
    out.finished = THINK_END in text
    open_tag, open_at = None, 0
    spans: list[tuple[str, str, bool]] = []  # (tag, content, closed)
    for m in _TAG.finditer(text):
        closing, name = m.group(1) == "/", m.group(2)
        if m.group(3):  # <think> / </think>
            if open_tag:
                out.warnings.append(f"[{open_tag}] not closed before {m.group(3)}")
                spans.append((open_tag, text[open_at:m.start()], False))
                open_tag = None
            continue
        if not closing:
            if open_tag:
                out.warnings.append(f"[{open_tag}] not closed before [{name}]")
                spans.append((open_tag, text[open_at:m.start()], False))
            open_tag, open_at = name, m.end()
        elif open_tag == name:
            spans.append((name, text[open_at:m.start()], True))
            open_tag = None
        else:
            out.warnings.append(f"stray [/{name}]")
    if open_tag:
        out.warnings.append(f"trace ends inside [{open_tag}] (cut by the token budget?)")
        spans.append((open_tag, text[open_at:], False))

    for tag, content, closed in spans:
        if tag == "analyze":
            if out.analysis:
                out.warnings.append("more than one [analyze]; kept the first")
            else:
                out.analysis = content.strip()
        elif tag == "generate":
            out.rounds.append(Round(_read_motion(content, codebook_size, len(out.rounds), out.warnings,
                                                 max_motion_tokens)))
        elif tag == "assess":
            assessment, refinement = _read_assessment(content)
            if not out.rounds or out.rounds[-1].assessment or out.rounds[-1].refinement:
                out.warnings.append("[assess] without a preceding [generate]")
                out.rounds.append(Round(None))
            out.rounds[-1].assessment, out.rounds[-1].refinement = assessment, refinement
    if not any(tag == "generate" for tag, _, _ in spans) and MOTION_START in text:
        out.warnings.append("motion outside [generate] tags; used it")
        for chunk in text.split(MOTION_START)[1:]:
            out.rounds.append(Round(_read_motion(MOTION_START + chunk, codebook_size, len(out.rounds), out.warnings,
                                                 max_motion_tokens)))
    if not out.motions:
        out.warnings.append("no motion was generated")
    return out


def _read_motion(content: str, codebook_size: int | None, index: int, warnings: list[str],
                 max_tokens: int | None = None) -> list[int] | None:
    if MOTION_START not in content and "<Motion_" not in content:
        warnings.append(f"round {index + 1}: [generate] holds no motion")
        return None
    if content.count(MOTION_START) > 1:
        warnings.append(f"round {index + 1}: several motion spans in one [generate]; used the last")
        content = MOTION_START + content.split(MOTION_START)[-1]
    ids, notes = string_to_motion(content, codebook_size)
    warnings.extend(f"round {index + 1}: {n}" for n in notes)
    if not ids:
        warnings.append(f"round {index + 1}: empty motion span")
        return None
    if max_tokens and len(ids) > max_tokens:
        warnings.append(f"round {index + 1}: motion of {len(ids)} tokens cut to {max_tokens}")
        ids = ids[:max_tokens]
    return ids


def _read_assessment(content: str) -> tuple[str, str]:
    """(assessment, refinement): the text after the first "Assessment:", split at the first
    "Refinement:" after it. Plain string search, linear in the length (a regex with a lazy
    group before optional whitespace was quadratic in long whitespace runs)."""
    text = content.strip()
    start = text.find("Assessment:")
    if start < 0:
        return text, ""
    rest = text[start + len("Assessment:"):]
    cut = rest.find("Refinement:")
    if cut < 0:
        return rest.strip(), ""
    return rest[:cut].strip(), rest[cut + len("Refinement:"):].strip()


__all__ = ["Round", "ParsedTrace", "format_trace", "plan_text", "trace_text", "parse_trace", "is_no_refinement", "PLAN_ANALYZE",
           "PLAN_GENERATE", "PLAN_ASSESS", "PLAN_REFINE", "PLAN_FINISH", "NO_REFINEMENT", "MOTION_END"]
