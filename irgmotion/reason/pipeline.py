"""Inference: the interleaved loop (one decoding pass), the stage-1 composed
pipeline, direct generation, and the robustness test (random first motion)."""
from __future__ import annotations

import random
import re
import unicodedata
from dataclasses import dataclass, field

import numpy as np

from ..engine.assessment import level_of
from ..engine.descriptions import DESCRIBED, rule_verdict, small_in_checks
from ..llm.model import MotionLLM
from ..llm.templates import NO_REFINEMENT, STAGE2_TEMPLATE, TEMPLATES
from ..llm.trace import (PLAN_ANALYZE, PLAN_ASSESS, PLAN_FINISH, PLAN_GENERATE, PLAN_REFINE, THINK_END, THINK_START,
                         ParsedTrace, Round, is_no_refinement, parse_trace, plan_text)
from ..llm.vocab import MOTION_END, MOTION_START, motion_to_string, string_to_motion
from ..tokenizer.pretrained import MotionTokenizer
from .decoding import DecodeOptions, StopRules, decode_segments, generate_texts
from .goal_text import GoalReader
from .options import RULE_STYLES, SELECTIONS, VERDICTS  # noqa: F401 (part of this module's API)

MAX_PROMPT_CHARS = 2000
_CHECK = "Check:"
_LEVEL = "Alignment is"
ROUND_MAX_TOKENS = 480
_ASSESS_END = "[/assess]"
# aligned assessments: "The goal asks for: X. The motion shows: Y. Check: ..."; with a describer, Y is its words
_SHOWS = "The motion shows:"
_ASKED = re.compile(r"The goal asks for: (.*?)\. The motion shows:$")
_ANALYZE_END = "[/analyze]"
# The trace grammar's fixed words (llm/trace.py) between the parts the model writes. Under the rule verdict they enter
# as forced tokens, a whole sentence in one forward, instead of being decoded one token per step.
_OPENING = THINK_START + plan_text(PLAN_ANALYZE) + "[analyze]"
_OPEN_MOTION = "[generate]" + MOTION_START
_AFTER_ANALYSIS = "\n" + plan_text(PLAN_GENERATE) + _OPEN_MOTION
_AFTER_MOTION = "[/generate]\n" + plan_text(PLAN_ASSESS) + "[assess]Assessment:"


class PromptInputError(ValueError):
    """A goal text the model cannot take (empty, not text, too long)."""


def _unsafe_character(text: str) -> tuple[int, str] | None:
    """The first character a goal may not hold, with its position: a surrogate (bytes that were not UTF-8, as
    Python keeps them from argv), a control character (ESC of a terminal escape sequence, NUL, DEL, C1), or a
    bidirectional override (text that displays in another order than it reads)."""
    for i, ch in enumerate(text):
        code = ord(ch)
        if 0xD800 <= code <= 0xDFFF or unicodedata.category(ch) == "Cc" or 0x202A <= code <= 0x202E \
                or 0x2066 <= code <= 0x2069:
            return i, ch
    return None


def check_goal(goal) -> str:
    """The goal as the model reads it: one line of printable text (runs of white space become one space).
    Refused with PromptInputError (whose message never echoes the text): not a string, not valid UTF-8,
    control or escape characters, empty, or longer than MAX_PROMPT_CHARS."""
    if not isinstance(goal, str):
        raise PromptInputError(f"the goal must be text, got {type(goal).__name__}")
    goal = " ".join(goal.split())
    bad = _unsafe_character(goal)
    if bad is not None:
        at, ch = bad
        if 0xDC80 <= ord(ch) <= 0xDCFF:  # surrogateescape: an undecodable byte of argv
            raise PromptInputError(f"the goal text is not valid UTF-8 (byte 0x{ord(ch) - 0xDC00:02x} at character "
                                   f"{at + 1}); pass the goal as UTF-8 text")
        if 0xD800 <= ord(ch) <= 0xDFFF:
            raise PromptInputError(f"the goal text is not valid Unicode (lone surrogate U+{ord(ch):04X} at "
                                   f"character {at + 1})")
        raise PromptInputError(f"the goal text holds a control character (U+{ord(ch):04X} at character {at + 1}); "
                               "write the goal as plain text, without terminal escape sequences")
    if not goal:
        raise PromptInputError("the goal text is empty; describe a motion, e.g. \"a person walks forward and waves\"")
    if len(goal) > MAX_PROMPT_CHARS:
        raise PromptInputError(f"the goal text has {len(goal)} characters; keep it under {MAX_PROMPT_CHARS}")
    return goal


@dataclass
class Reasoning:
    goal: str
    text: str
    trace: ParsedTrace
    mode: str
    warnings: list[str] = field(default_factory=list)
    select: str = "last"

    @property
    def final_motion(self) -> list[int] | None:
        """The last motion of the trace."""
        return self.trace.final_motion

    @property
    def answer_round(self) -> int | None:
        """Index (into trace.rounds) of the motion returned as the answer, by `select`."""
        return choose_round(self.trace, self.select)

    @property
    def answer_motion(self) -> list[int] | None:
        k = self.answer_round
        return None if k is None else self.trace.rounds[k].motion

    @property
    def first_motion(self) -> list[int] | None:
        return self.trace.first_motion


# Checklist, aligned and slots assessments restate the goal and describe the motion before judging: up to ~265 tokens.
ASSESSMENT_MAX_TOKENS = 320


def choose_round(trace: ParsedTrace, select: str = "last") -> int | None:
    """The round whose motion is the answer: the last, or the one with the best stated level (ties: the latest;
    a round without a level ranks below "poor")."""
    rounds = [k for k, r in enumerate(trace.rounds) if r.motion]
    if not rounds:
        return None
    if select == "last":
        return rounds[-1]
    if select not in SELECTIONS:
        raise ValueError(f"unknown selection {select!r}; choose from {', '.join(SELECTIONS)}")

    def stated(k: int) -> int:
        level = level_of(trace.rounds[k].assessment)
        return -1 if level is None else level
    tie = 1 if select == "best" else -1
    return max(rounds, key=lambda k: (stated(k), tie * k))


def _grammar_after(text: str) -> str | None:
    """The grammar's words that follow a part the model ended at its analysis or at a motion, or None."""
    if text.endswith(_ANALYZE_END) and MOTION_START not in text:
        return _AFTER_ANALYSIS
    if text.endswith(MOTION_END) and text.rfind("[assess]") < text.rfind(MOTION_START):
        return _AFTER_MOTION
    return None


def _repeats_a_motion(text: str) -> bool:
    """Whether the last motion span of a trace equals an earlier one, token for token."""
    spans = [chunk.split(MOTION_END)[0] for chunk in text.split(MOTION_START)[1:]]
    return len(spans) > 1 and spans[-1] in spans[:-1]


class _RuleTraces:
    """The rule verdict's side of the decoding (decoding.decode_segments): each part the model writes ends at its
    check list (or a closed assessment, or the end of its reasoning); the rule then writes the verdict, the
    refinement and the next plan sentence, or ends the trace."""

    def __init__(self, reasoner: "Reasoner", texts: list[str], budget: int, max_rounds: int, counted: bool = False):
        """`counted`: the start texts stand for what the model would have written, so they count against the
        budget (the grammar's opening); otherwise they are given (a spliced first motion) and do not."""
        self.r, self.budget, self.max_rounds = reasoner, budget, max_rounds
        self.texts = list(texts)
        self.notes: list[list[str]] = [[] for _ in texts]
        # tokens of each trace so far, the model's and the rule's
        self.used = [self._tokens(t) for t in texts] if counted else [0] * len(texts)
        self.parts = [0] * len(texts)
        self.stop = _CHECK if reasoner.assessment_style == "aligned" else _LEVEL
        # per trace: each motion (its token text) -> how the model first described it
        self.seen: list[dict[str, str]] = [{} for _ in texts]

    def _tokens(self, text: str) -> int:
        return len(self.r.llm.tokenizer(text, add_special_tokens=False)["input_ids"])

    def _closed_runaway(self, text: str) -> str | None:
        """The text with its open motion span cut at the cap, closed, and the assessment's plan sentence added; None
        when no span is open at the cap."""
        opened = text.rfind(MOTION_START)
        if opened < 0 or text.rfind(MOTION_END) > opened:
            return None
        ids, _ = string_to_motion(text[opened:], self.r.llm.codebook_size)
        if len(ids) < self.r.max_motion_tokens:
            return None
        return text[:opened] + motion_to_string(ids[: self.r.max_motion_tokens]) + _AFTER_MOTION

    def limit(self, i: int) -> int | None:
        """Tokens the model may write in trace i's next part (~300 with the analysis), or None: it is done."""
        # the analysis takes one part; a round two (its motion, its assessment), or three when the model judges itself
        if self.parts[i] >= 3 * self.max_rounds + 1:
            self.notes[i].append("stopped at the pass limit")
            return None
        if self.used[i] >= self.budget:
            self.notes[i].append(f"stopped at the budget of {self.budget} tokens")
            return None
        self.parts[i] += 1
        return min(self.budget - self.used[i], ROUND_MAX_TOKENS)

    def after(self, i: int, cont: str) -> str | None:
        """Trace i's text after the model's part `cont` and the rule's words, or None when the trace ends."""
        stop, notes = self.stop, self.notes[i]
        text = (self.texts[i] + cont).rstrip(" ")
        self.used[i] += self._tokens(cont)
        grammar = _grammar_after(text)
        if grammar is not None:
            # the model's words count against the budget; the grammar's too, as when the model wrote them
            self.used[i] += self._tokens(grammar)
            self.texts[i] = text + grammar
            return self.texts[i]
        n_motions = text.count(MOTION_END)
        # the open assessment of this round: after the last motion and after any closed assessment
        opened = text.rfind("[assess]")
        current = opened > max(text.rfind(_ASSESS_END), text.rfind(MOTION_END))
        if current and text.endswith(_SHOWS) and self.r.describer is not None:
            span = text[text.rfind(MOTION_START, 0, opened):text.rfind(MOTION_END, 0, opened) + len(MOTION_END)]
            asked = _ASKED.search(text, opened)
            shown = self.r.describe([string_to_motion(span, self.r.llm.codebook_size)[0]],
                                    [asked.group(1) if asked else ""])[0]
            if shown is None:  # the model describes it itself
                notes.append(f"round {n_motions}: the describer wrote no description; the model describes the motion")
                self.texts[i] = text
                return text
            forced = f" {shown}. {_CHECK}"
            self.used[i] += self._tokens(forced)
            text += forced
            if stop != _CHECK:  # slots: the model writes its check list (the sizes it sees) before the rule judges
                self.texts[i] = text
                return text
        if text.rstrip().endswith(stop) and current:
            text = text.rstrip()
            found = DESCRIBED.search(text[opened:])
            if found:
                # A motion made again token for token is the same motion: it keeps its first description (the
                # model, told what to fix, can otherwise "see" the fix in an unchanged motion and call it perfect).
                motion = text[text.rfind(MOTION_START, 0, opened):text.rfind(MOTION_END, 0, opened)]
                first = self.seen[i].setdefault(motion, found.group(2))
                if first != found.group(2):
                    notes.append(f"round {n_motions}: the motion repeats an earlier one; kept its first description")
                    start, end = opened + found.start(2), opened + found.end(2)
                    text = text[:start] + first + text[end:]
                    found = DESCRIBED.search(text[opened:])
            at = text.rfind(_CHECK, opened)
            # slots: the sizes the model saw are in its check list, which the rule's then replaces
            small = small_in_checks(text[at + len(_CHECK):-len(stop)]) if stop == _LEVEL and at >= 0 else []
            verdict = found and (stop == _CHECK or at >= 0) and rule_verdict(
                found.group(1), found.group(2), self.r.assessment_style, small=small)
            if not verdict:
                notes.append(f"round {n_motions}: the descriptions are not canonical; kept the model's own verdict")
                self.texts[i] = text
                return text
            text = text[:at + len(_CHECK)]
            words = verdict.assessment.assessment
            injected = ((words[len(_CHECK):] if words.startswith(_CHECK) else " " + words)
                        + f"\nRefinement: {verdict.assessment.refinement}{_ASSESS_END}\n")
            text += injected
            # the rule's words take room in the context too: the budget bounds the whole trace
            self.used[i] += self._tokens(injected)
            satisfied = verdict.level == 3
            if not satisfied and _repeats_a_motion(text):
                # greedy decoding that answered an instruction with a motion it already made will make it again:
                # stop here rather than loop to the cap
                notes.append(f"round {n_motions}: the refinement repeated an earlier motion; stopped")
                self.texts[i] = text
                return None
        elif text.rstrip().endswith(_ASSESS_END):  # the model's own verdict (descriptions unreadable)
            text = text.rstrip() + "\n"
            closed = text[text.rfind("[assess]"):]
            satisfied = "Refinement:" in closed and is_no_refinement(closed[closed.rfind("Refinement:"):])
        elif self.r.close_runaway and (closed := self._closed_runaway(text)) is not None:
            # a motion span that ran past the longest motion (the model repeating one code) is cut there and closed,
            # and the trace goes on to its assessment instead of ending without one
            notes.append(f"round {n_motions + 1}: the motion ran past {self.r.max_motion_tokens} tokens; closed it")
            self.texts[i] = closed
            return closed
        elif THINK_END in cont or n_motions >= self.max_rounds:
            self.texts[i] = text
            return None  # the model closed its reasoning, or the cap is reached
        else:
            notes.append(f"round {n_motions}: the model wrote no check list within its budget; stopped")
            self.texts[i] = text
            return None
        if satisfied:
            self.texts[i] = text + plan_text(PLAN_FINISH) + THINK_END
            return None
        if n_motions < self.max_rounds:
            self.used[i] += self._tokens(_OPEN_MOTION)  # as when the model wrote it (the plan never counted)
            text += plan_text(PLAN_REFINE) + _OPEN_MOTION
            self.texts[i] = text
            return text
        self.texts[i] = text
        return None


class Reasoner:
    def __init__(self, llm: MotionLLM, vq: MotionTokenizer, assessment_style: str | None = None,
                 verdict: str = "model", select: str = "last", close_runaway: bool = True, describer=None):
        """`assessment_style` names the wording the model's assessments were trained on (the bundle's manifest
        records it); the "rule" verdict needs it. `describer` (perception.model.MotionDescriber, rule verdict only):
        it, not the LLM, writes what each motion shows; the rule then judges from that."""
        if llm.codebook_size != vq.codebook_size:
            raise ValueError(f"LLM has {llm.codebook_size} motion tokens, the tokenizer {vq.codebook_size}")
        if verdict not in VERDICTS:
            raise ValueError(f"unknown verdict {verdict!r}; choose from {', '.join(VERDICTS)}")
        if select not in SELECTIONS:
            raise ValueError(f"unknown selection {select!r}; choose from {', '.join(SELECTIONS)}")
        if verdict == "rule" and assessment_style not in RULE_STYLES:
            raise ValueError(f"the rule verdict needs a model whose assessments describe every judged slot "
                             f"(assessment style {' or '.join(RULE_STYLES)}; this one: {assessment_style})")
        if describer is not None and verdict != "rule":
            raise ValueError("a motion describer writes the descriptions the rule verdict judges; this reasoner has "
                             f"verdict {verdict!r}")
        if describer is not None and describer.config.codebook_size != vq.codebook_size:
            raise ValueError(f"the motion describer reads {describer.config.codebook_size} motion codes, the tokenizer "
                             f"has {vq.codebook_size}")
        self.llm, self.vq, self.describer = llm, vq, describer
        self.assessment_style, self.verdict, self.select = assessment_style, verdict, select
        self._described: dict[tuple[tuple[int, ...], str], str | None] = {}
        # rule verdict: a runaway motion span is closed at the cap and assessed (False: the trace ends there, as
        # before the batched decoder)
        self.close_runaway = close_runaway
        self.goal_reader = GoalReader.for_llm_dir(getattr(llm, "directory", None))
        # The datasets' longest motion is 196 frames; a span that never closes is cut there.
        self.max_motion_tokens = 196 // vq.unit_length

    @property
    def perception(self) -> str:
        """Who writes what a motion shows: "describer" or "model"."""
        return "model" if self.describer is None else "describer"

    def describe(self, motions: list[list[int]], goals: list[str]) -> list[str | None]:
        """The describer's description of each motion, read against its goal's description (remembered: a motion
        made again for the same goal is described once)."""
        keys = [(tuple(m), g) for m, g in zip(motions, goals)]
        todo = list(dict.fromkeys(k for k in keys if k not in self._described))
        if todo:
            if len(self._described) > 4096:  # a long-lived server's memory stays bounded
                self._described.clear()
            self._described.update(zip(todo, self.describer.describe([list(m) for m, _ in todo],
                                                                     [g for _, g in todo])))
        return [self._described[k] for k in keys]

    def _user(self, key: str, **fields) -> str:
        text = TEMPLATES[key][0]
        for name, value in fields.items():
            text = text.replace(f"<{name}>", value)
        return text

    # ---- interleaved reasoning (stage 2 / 3) -----------------------------------
    def read_goals(self, goals: list[str]) -> tuple[list[str], list[list[str]]]:
        """Goals (already checked) as the model reads them (typos against its caption words, numeric shorthands:
        goal_text.py), and a note per change for each."""
        read = [self.goal_reader.read(g) for g in goals]
        return [text for text, _ in read], [notes for _, notes in read]

    def interleaved(self, goals: list[str], opts: DecodeOptions | None = None, max_rounds: int = 6) -> list[Reasoning]:
        opts = opts or DecodeOptions()
        goals = [check_goal(g) for g in goals]
        read, read_notes = self.read_goals(goals)
        prompts = [self.llm.prompt(self._user(STAGE2_TEMPLATE, Goal_Caption=g)) for g in read]
        if self.verdict == "rule":
            texts, notes = self._rule_loop(prompts, [_OPENING] * len(prompts), opts, max_rounds, counted=True)
        else:
            texts = generate_texts(self.llm, prompts, opts, stop_after_token=(self.llm.motion_end_id, max_rounds),
                                   max_motion_tokens=self.max_motion_tokens)
            notes = [[] for _ in texts]
        out = []
        for g, t, note, read_note in zip(goals, texts, notes, read_notes):
            trace = parse_trace(t, self.llm.codebook_size, self.max_motion_tokens)
            warnings = read_note + list(trace.warnings) + note
            if trace.n_generations >= max_rounds and not trace.finished:
                warnings.append(f"stopped at the cap of {max_rounds} generations")
            out.append(Reasoning(g, t, trace, "interleaved", warnings, self.select))
        return out

    def _rule_loop(self, prompts: list[str], texts: list[str], opts: DecodeOptions,
                   max_rounds: int, counted: bool = False) -> tuple[list[str], list[list[str]]]:
        """Decode traces part by part: the model writes its analysis, each motion, and each assessment up to its
        check list ("... The motion shows: Y. Check:"); between them the grammar's fixed words follow, and after the
        check list the rule writes the verdict and the refinement from the two descriptions. All traces decode in
        one batched pass (the grammar's and the rule's words enter as forced tokens). Returns the continuations and
        per-trace notes."""
        rule = _RuleTraces(self, texts, opts.max_new_tokens, max_rounds, counted)
        # aligned: the rule takes over after the two descriptions; slots: after the model's check list, whose sizes
        # it reads. The analysis and each motion end a part too: the grammar's words that follow them are forced.
        stops = (rule.stop, _ASSESS_END, _ANALYZE_END) + ((_SHOWS,) if self.describer is not None else ())
        rules = StopRules(stop_after_token=(self.llm.motion_end_id, 1),
                          max_motion_tokens=self.max_motion_tokens, stop_strings=stops)
        decode_segments(self.llm, prompts, texts, opts, rules, rule)
        return rule.texts, rule.notes

    def _spliced(self, goals: list[str], motions: list[list[int]], opts: DecodeOptions) -> tuple[list[str], list[str]]:
        """Stage-2 prompts, and each trace decoded up to its first motion with that motion replaced by a given one."""
        prompts = [self.llm.prompt(self._user(STAGE2_TEMPLATE, Goal_Caption=g)) for g in self.read_goals(goals)[0]]
        heads = generate_texts(self.llm, prompts, opts, stop_after_token=(self.llm.motion_start_id, 1),
                               max_motion_tokens=self.max_motion_tokens)
        spliced = []
        for head, motion in zip(heads, motions):
            cut = head.find(MOTION_START)
            prefix = head[:cut] if cut >= 0 else head + "[generate]"
            spliced.append(prefix + motion_to_string(motion) + "[/generate]\n")
        return prompts, spliced

    def robustness(self, goals: list[str], random_motions: list[list[int]], opts: DecodeOptions | None = None,
                   max_rounds: int = 6) -> list[Reasoning]:
        """The first generated motion is replaced by a given (random) motion; the model continues."""
        opts = opts or DecodeOptions()
        goals = [check_goal(g) for g in goals]
        prompts, spliced = self._spliced(goals, random_motions, opts)
        if self.verdict == "rule":
            texts, notes = self._rule_loop(prompts, spliced, opts, max_rounds)
        else:
            tails = generate_texts(self.llm, [p + s for p, s in zip(prompts, spliced)], opts,
                                   stop_after_token=(self.llm.motion_end_id, max_rounds - 1),
                                   max_motion_tokens=self.max_motion_tokens)
            texts, notes = [s + t for s, t in zip(spliced, tails)], [[] for _ in tails]
        out = []
        for g, t, note in zip(goals, texts, notes):
            trace = parse_trace(t, self.llm.codebook_size, self.max_motion_tokens)
            out.append(Reasoning(g, t, trace, "robustness", list(trace.warnings) + note, self.select))
        return out

    # ---- stage-1 abilities --------------------------------------------------------
    def direct(self, goals: list[str], opts: DecodeOptions | None = None) -> list[Reasoning]:
        """Text-to-motion in one step (the response is forced to start with <Motion>)."""
        opts = opts or DecodeOptions(max_new_tokens=64)
        goals = [check_goal(g) for g in goals]
        read, read_notes = self.read_goals(goals)
        prompts = [self.llm.prompt(self._user("<Text2Motion_Template>", Goal_Caption=g)) + MOTION_START for g in read]
        texts = generate_texts(self.llm, prompts, opts, stop_after_token=(self.llm.motion_end_id, 1))
        out = [self._single(g, MOTION_START + t, "direct") for g, t in zip(goals, texts)]
        for r, note in zip(out, read_notes):
            r.warnings[:0] = note
        return out

    def _single(self, goal: str, text: str, mode: str) -> Reasoning:
        ids, warnings = string_to_motion(text, self.llm.codebook_size)
        if len(ids) > self.max_motion_tokens:
            warnings.append(f"motion of {len(ids)} tokens cut to {self.max_motion_tokens}")
            ids = ids[: self.max_motion_tokens]
        trace = ParsedTrace(rounds=[Round(ids or None)], finished=True, warnings=warnings)
        if not ids:
            trace.warnings.append("no motion was generated")
        return Reasoning(goal, text, trace, mode, list(trace.warnings))

    def instruct(self, goals: list[str], motions: list[list[int]], opts: DecodeOptions | None = None) -> list[str]:
        opts = opts or DecodeOptions(max_new_tokens=96)
        prompts = [self.llm.prompt(self._user("<Text_Motion2Refinement_Instruction_Template>", Goal_Caption=g,
                                              Generated_Motion=motion_to_string(m))) for g, m in zip(goals, motions)]
        return [t.strip() for t in generate_texts(self.llm, prompts, opts)]

    def assess(self, goals: list[str], motions: list[list[int]], opts: DecodeOptions | None = None) -> list[str]:
        opts = opts or DecodeOptions(max_new_tokens=ASSESSMENT_MAX_TOKENS)
        prompts = [self.llm.prompt(self._user("<Text_Motion2Alignment_Analysis_Template>", Goal_Caption=g,
                                              Generated_Motion=motion_to_string(m))) for g, m in zip(goals, motions)]
        replies = [t.strip() for t in generate_texts(self.llm, prompts, opts)]
        if self.describer is None:
            return replies
        # the describer's words replace the model's description of the motion; the rule verdict then judges them
        found = [DESCRIBED.search(reply) for reply in replies]
        read = [i for i, f in enumerate(found) if f is not None]
        shown = dict(zip(read, self.describe([motions[i] for i in read], [found[i].group(1) for i in read])))
        return [reply if shown.get(i) is None else reply[:found[i].start(2)] + shown[i] + reply[found[i].end(2):]
                for i, reply in enumerate(replies)]

    def caption(self, motions: list[list[int]], opts: DecodeOptions | None = None) -> list[str]:
        opts = opts or DecodeOptions(max_new_tokens=48)
        prompts = [self.llm.prompt(self._user("<Motion2X_Template>", Goal_Motion=motion_to_string(m))) for m in motions]
        return [t.strip() for t in generate_texts(self.llm, prompts, opts)]

    def refine(self, goals: list[str], motions: list[list[int]], instructions: list[str],
               opts: DecodeOptions | None = None) -> list[list[int] | None]:
        opts = opts or DecodeOptions(max_new_tokens=64)
        prompts = [self.llm.prompt(self._user("<Instructed_Motion_Refinement_Template>", Goal_Caption=g,
                                              Generated_Motion=motion_to_string(m), Refinement_Instruction=i))
                   + MOTION_START for g, m, i in zip(goals, motions, instructions)]
        texts = generate_texts(self.llm, prompts, opts, stop_after_token=(self.llm.motion_end_id, 1))
        return [string_to_motion(MOTION_START + t, self.llm.codebook_size)[0][: self.max_motion_tokens] or None
                for t in texts]

    def composed(self, goals: list[str], opts: DecodeOptions | None = None, max_rounds: int = 5) -> list[Reasoning]:
        """Stage-1 composed pipeline: generate, then up to `max_rounds` of instruction + instructed refinement."""
        results = self.direct(goals, opts)
        active = [i for i, r in enumerate(results) if r.final_motion]
        for _ in range(max_rounds):
            if not active:
                break
            gs = [results[i].goal for i in active]
            ms = [results[i].final_motion for i in active]
            instructions = self.instruct(gs, ms)
            todo = [(i, ins) for i, ins in zip(active, instructions) if not is_no_refinement(ins)]
            for i, ins in zip(active, instructions):
                if is_no_refinement(ins):
                    results[i].trace.rounds[-1].refinement = NO_REFINEMENT
            if not todo:
                break
            refined = self.refine([results[i].goal for i, _ in todo], [results[i].final_motion for i, _ in todo],
                                  [ins for _, ins in todo])
            active = []
            for (i, ins), motion in zip(todo, refined):
                results[i].trace.rounds[-1].refinement = ins
                if motion:
                    results[i].trace.rounds.append(Round(motion))
                    active.append(i)
                else:
                    results[i].warnings.append("refinement produced no motion; kept the previous one")
        for r in results:
            r.mode = "composed"
        return results

    # ---- motions ---------------------------------------------------------------------
    def decode(self, ids: list[int] | None) -> np.ndarray | None:
        """Token ids -> raw features (T, D), or None."""
        if not ids:
            return None
        return self.vq.decode([ids])[0]

    def random_motions(self, n: int, pool: list[list[int]], seed: int = 0) -> list[list[int]]:
        rng = random.Random(seed)
        return [rng.choice(pool) for _ in range(n)]
