"""What the data engine knows about a goal and its candidate motions, and how that
becomes the authors' annotation files (eight stage-1 tasks, stage-2 traces)."""
from __future__ import annotations

import random
from dataclasses import dataclass, field

from ..data.annotations import Annotation, Candidate, MotionRef
from ..llm.templates import STAGE1_TASKS, STAGE2_TASK, STAGE2_TEMPLATE
from .assessment import Assessment

SYSTEM = ("system", "<General_System_Prompt>")


@dataclass
class ScoredCandidate:
    motion: MotionRef
    assessment: Assessment
    source: str  # "retrieval" | "perturbation" | "ground_truth"
    detail: str = ""  # e.g. which perturbation, the retrieval rank


@dataclass
class GoalRecord:
    motion: MotionRef
    captions: list[str]
    analyses: list[str]  # several phrasings of the goal analysis
    detailed_prompts: list[str]  # analysis-guided generation prompts
    candidates: dict[int, list[ScoredCandidate]] = field(default_factory=dict)  # caption index -> candidates
    program: dict | None = None


def _entry(i: int, task: str, human: str, gpt: str, candidates: list[Candidate], single: bool) -> Annotation:
    return Annotation(i, task, [SYSTEM, ("human", human), ("gpt", gpt)], candidates, single)


def stage1_annotations(goals: list[GoalRecord]) -> dict[str, list[Annotation]]:
    """The eight stage-1 tasks, one list of entries per task (file)."""
    out: dict[str, list[Annotation]] = {task: [] for task in STAGE1_TASKS}

    def add(task: str, candidates: list[Candidate], single: bool = False):
        human, gpt = STAGE1_TASKS[task]
        out[task].append(_entry(len(out[task]), task, human, gpt, candidates, single))

    for g in goals:
        gm = {"<Goal_Motion>": g.motion}
        add("m2t_motion_caption", [Candidate(dict(gm), {"<Goal_Caption>": list(g.captions)})], single=True)
        add("t2m_direct_generation", [Candidate(dict(gm), {"<Goal_Caption>": list(g.captions)})], single=True)
        if g.analyses:
            add("t2t_prompt_analysis", [Candidate({}, {"<Goal_Caption>": [c], "<Goal_Analysis>": list(g.analyses)})
                                        for c in g.captions])
        if g.detailed_prompts:
            add("t2m_detailed_prompt_generation",
                [Candidate(dict(gm), {"<Goal_Caption>": list(g.detailed_prompts)})], single=True)
        pairs = []
        for k, cands in sorted(g.candidates.items()):
            for c in cands:
                text = {"<Goal_Caption>": [g.captions[k]], "<Assessment_Analysis>": [c.assessment.assessment],
                        "<Refinement_Instruction>": [c.assessment.refinement]}
                meta = {"meta_inst_name": f"{g.motion.motion_name}_{k}", "level": c.assessment.level,
                        "source": c.source, "detail": c.detail}
                pairs.append(Candidate({"<Generated_Motion>": c.motion, **gm}, text, meta))
        if pairs:
            for task in ("tm2t_assessment_analysis", "tm2t_refinement_instruction", "tm2m_direct_refinement",
                         "tm2m_instructed_refinement"):
                add(task, pairs)
    return out


def stage2_annotations(goals: list[GoalRecord], max_intermediate: int = 4, seed: int = 0) -> list[Annotation]:
    """One entry per goal motion, one candidate per caption: intermediates ordered worst to best."""
    rng = random.Random(seed)
    entries = []
    for g in goals:
        cands = []
        for k, scored in sorted(g.candidates.items()):
            negatives = [c for c in scored if c.source != "ground_truth" and c.assessment.level < 3]
            truth = next((c for c in scored if c.source == "ground_truth"), None)
            if truth is None:
                continue
            rng.shuffle(negatives)
            # worst first; equal levels keep a random order
            negatives = sorted(negatives[:max_intermediate], key=lambda c: c.assessment.level)
            motions = {"<Goal_Motion>": g.motion}
            text: dict[str, object] = {"<Goal_Caption>": g.captions[k], "<Prompt_Analysis>": list(g.analyses),
                                       "<Assess_Goal_Motion>": truth.assessment.as_text()}
            for i, c in enumerate(negatives):
                motions[f"<Intermediate_Motion_{i}>"] = c.motion
                text[f"<Assess_Intermediate_Motion_{i}>"] = c.assessment.as_text()
            cands.append(Candidate(motions, text, {"meta_inst_name": f"{g.motion.motion_name}_{k}"}))
        if cands:
            entries.append(Annotation(len(entries), STAGE2_TASK, [SYSTEM, ("human", STAGE2_TEMPLATE),
                                                                  ("gpt", "<Unified_Mogen_COT_Trace>")], cands))
    return entries
