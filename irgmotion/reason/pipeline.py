"""Inference: the interleaved loop (one decoding pass), the stage-1 composed
pipeline, direct generation, and the robustness test (random first motion)."""
from __future__ import annotations

import random
from dataclasses import dataclass, field

import numpy as np

from ..llm.model import MotionLLM
from ..llm.templates import NO_REFINEMENT, STAGE2_TEMPLATE, TEMPLATES
from ..llm.trace import ParsedTrace, Round, is_no_refinement, parse_trace
from ..llm.vocab import MOTION_START, motion_to_string, string_to_motion
from ..tokenizer.pretrained import MotionTokenizer
from .decoding import DecodeOptions, generate_texts

MAX_PROMPT_CHARS = 2000


class PromptInputError(ValueError):
    """A goal text the model cannot take (empty, not text, too long)."""


def check_goal(goal) -> str:
    if not isinstance(goal, str):
        raise PromptInputError(f"the goal must be text, got {type(goal).__name__}")
    goal = " ".join(goal.split())
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

    @property
    def final_motion(self) -> list[int] | None:
        return self.trace.final_motion

    @property
    def first_motion(self) -> list[int] | None:
        return self.trace.first_motion


# Checklist, aligned and slots assessments restate the goal and describe the motion before judging: up to ~265 tokens.
ASSESSMENT_MAX_TOKENS = 320


class Reasoner:
    def __init__(self, llm: MotionLLM, vq: MotionTokenizer):
        if llm.codebook_size != vq.codebook_size:
            raise ValueError(f"LLM has {llm.codebook_size} motion tokens, the tokenizer {vq.codebook_size}")
        self.llm, self.vq = llm, vq
        # The datasets' longest motion is 196 frames; a span that never closes is cut there.
        self.max_motion_tokens = 196 // vq.unit_length

    def _user(self, key: str, **fields) -> str:
        text = TEMPLATES[key][0]
        for name, value in fields.items():
            text = text.replace(f"<{name}>", value)
        return text

    # ---- interleaved reasoning (stage 2 / 3) -----------------------------------
    def interleaved(self, goals: list[str], opts: DecodeOptions | None = None, max_rounds: int = 6) -> list[Reasoning]:
        opts = opts or DecodeOptions()
        goals = [check_goal(g) for g in goals]
        prompts = [self.llm.prompt(self._user(STAGE2_TEMPLATE, Goal_Caption=g)) for g in goals]
        texts = generate_texts(self.llm, prompts, opts, stop_after_token=(self.llm.motion_end_id, max_rounds),
                               max_motion_tokens=self.max_motion_tokens)
        out = []
        for g, t in zip(goals, texts):
            trace = parse_trace(t, self.llm.codebook_size, self.max_motion_tokens)
            warnings = list(trace.warnings)
            if trace.n_generations >= max_rounds and not trace.finished:
                warnings.append(f"stopped at the cap of {max_rounds} generations")
            out.append(Reasoning(g, t, trace, "interleaved", warnings))
        return out

    def robustness(self, goals: list[str], random_motions: list[list[int]], opts: DecodeOptions | None = None,
                   max_rounds: int = 6) -> list[Reasoning]:
        """The first generated motion is replaced by a given (random) motion; the model continues."""
        opts = opts or DecodeOptions()
        goals = [check_goal(g) for g in goals]
        prompts = [self.llm.prompt(self._user(STAGE2_TEMPLATE, Goal_Caption=g)) for g in goals]
        # 1) decode up to the first <Motion>
        heads = generate_texts(self.llm, prompts, opts, stop_after_token=(self.llm.motion_start_id, 1))
        spliced = []
        for head, motion in zip(heads, random_motions):
            cut = head.find(MOTION_START)
            prefix = head[:cut] if cut >= 0 else head + "[generate]"
            spliced.append(prefix + motion_to_string(motion) + "[/generate]\n")
        # 2) continue after the spliced motion
        tails = generate_texts(self.llm, [p + s for p, s in zip(prompts, spliced)], opts,
                               stop_after_token=(self.llm.motion_end_id, max_rounds - 1))
        out = []
        for g, s, t, motion in zip(goals, spliced, tails, random_motions):
            trace = parse_trace(s + t, self.llm.codebook_size, self.max_motion_tokens)
            out.append(Reasoning(g, s + t, trace, "robustness", list(trace.warnings)))
        return out

    # ---- stage-1 abilities --------------------------------------------------------
    def direct(self, goals: list[str], opts: DecodeOptions | None = None) -> list[Reasoning]:
        """Text-to-motion in one step (the response is forced to start with <Motion>)."""
        opts = opts or DecodeOptions(max_new_tokens=64)
        goals = [check_goal(g) for g in goals]
        prompts = [self.llm.prompt(self._user("<Text2Motion_Template>", Goal_Caption=g)) + MOTION_START for g in goals]
        texts = generate_texts(self.llm, prompts, opts, stop_after_token=(self.llm.motion_end_id, 1))
        return [self._single(g, MOTION_START + t, "direct") for g, t in zip(goals, texts)]

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
        return [t.strip() for t in generate_texts(self.llm, prompts, opts)]

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
