"""The data engine: gather candidate motions for every goal, assess them, and
write the stage-1 (eight tasks) and stage-2 (trace) annotation files.

Candidates for a goal, from clearly wrong to right:
  a. dataset motions ranked by an evaluator's text-motion distance and sampled
     across the ranks (the authors' ranked sampling; random without an evaluator);
  b. controlled near-misses: the goal's program perturbed (wrong side, direction,
     count, missing/extra action, swapped order, small amplitude, wrong action)
     and rendered by the procedural engine (procedural corpus only);
  c. the ground truth, assessed as perfect with "No refinements needed.".
For the procedural corpus every assessment is exact (program difference); real clips
imported with labels (`irgmotion data import-bvh`) are compared by their labels; for
captions-only datasets an annotator compares captions. A mix of these (`irgmotion data
mix`) takes, for each (goal, candidate) pair, the first of these that both sides allow.
"""
from __future__ import annotations

import json
import os
import random
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..data.annotations import MotionRef, write_annotations
from ..data.humanml3d import Clip, MotionTextDataset
from ..fileio import save_npy, write_text
from .assessment import ASSESSMENT_STYLES, write_assessment
from .records import GoalRecord, ScoredCandidate, stage1_annotations, stage2_annotations

STAGE1_FILES = {
    "m2t_motion_caption": "M2T_motion_caption_annots.json",
    "t2m_direct_generation": "T2M_direct_generation_annots.json",
    "t2t_prompt_analysis": "T2T_prompt_analysis_annots.json",
    "t2m_detailed_prompt_generation": "T2M_detailed_prompt_generation_annots.json",
    "tm2t_assessment_analysis": "TM2T_assessment_analysis_annots.json",
    "tm2t_refinement_instruction": "TM2T_refinement_instruction_annots.json",
    "tm2m_direct_refinement": "TM2M_direct_refinement_annots.json",
    "tm2m_instructed_refinement": "TM2M_instructed_motion_refinement_annots.json",
}
STAGE2_FILE = "stage2_traces.json"


@dataclass
class EngineConfig:
    data: str
    out: str
    split: str = "train"
    n_retrieval: int = 3  # ranked dataset candidates per caption
    n_perturb: int = 4  # near-miss renders per goal (procedural corpus)
    captions_per_goal: int = 3
    evaluator: str | None = None
    annotator: str | None = None  # URL of an OpenAI-compatible endpoint (captions-only data)
    limit: int | None = None
    workers: int | None = None
    seed: int = 0
    assessment_style: str = "compare"  # one of ASSESSMENT_STYLES; all but "compare" need procedural data


def _ranked_picks(order: np.ndarray, exclude: str, ids: list[str], n: int, rng: random.Random) -> list[int]:
    """n candidates spread over the ranking: from the nearest (nearly right) to the far end (clearly wrong)."""
    order = [i for i in order if ids[i] != exclude]
    if not order:
        return []
    edges = np.geomspace(1, len(order) + 1, n + 1).astype(int) - 1  # finer near the top, where it is subtle
    picks = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        hi = max(hi, lo + 1)
        picks.append(order[rng.randrange(lo, min(hi, len(order)))])
    return list(dict.fromkeys(picks))


def _retrieval_orders(clips: list[Clip], captions: list[list[str]], evaluator_path: str | None, seed: int):
    """For every (goal, caption): dataset indices sorted by evaluator distance (or shuffled)."""
    if evaluator_path is None:
        rng = np.random.default_rng(seed)
        return lambda g, k: rng.permutation(len(clips))
    from ..evaluator import load_evaluator
    ev = load_evaluator(evaluator_path)
    motion_emb = ev.embed_motions([c.motion for c in clips])
    flat = [cap for caps in captions for cap in caps]
    tokens = [list(t.tokens) for c, caps in zip(clips, captions) for t in c.texts[: len(caps)]]
    text_emb = ev.embed_texts(flat, tokens if len(tokens) == len(flat) else None)
    offsets = np.cumsum([0] + [len(c) for c in captions])

    def order(g: int, k: int) -> np.ndarray:
        d = np.linalg.norm(motion_emb - text_emb[offsets[g] + k][None], axis=-1)
        return np.argsort(d)
    return order


# ---- procedural corpus: render near-misses in worker processes -----------------------------
def _render_near_misses(job) -> list[tuple[str, str, dict | None]]:
    """(motion name, perturbation kind, program dict) for each rendered near-miss of one goal."""
    goal_id, program_dict, n, seed, out_dir = job
    from ..data.synth.compose import render_program
    from ..data.synth.program import validate_program
    from ..motion.features import joints_to_features
    from .programs import PERTURBATIONS, perturb
    rng = random.Random(f"{seed}:{goal_id}")
    program = validate_program(program_dict)
    kinds = list(PERTURBATIONS)
    rng.shuffle(kinds)
    made = []
    for kind in kinds:
        if len(made) >= n:
            break
        cand = perturb(program, kind, rng)
        if cand is None:
            continue
        name = f"P{goal_id}_{len(made)}"
        path = Path(out_dir) / "new_joint_vecs" / f"{name}.npy"
        if not path.exists():
            joints = render_program(cand, seed=program.seed if program.seed is not None else 0)
            save_npy(path, joints_to_features(joints).astype(np.float32))
        made.append((name, kind, cand.to_dict()))
    return made


def load_program_for(root: Path, motion_id: str):
    from ..data.synth.program import validate_program
    path = root / "programs" / f"{motion_id}.json"
    if not path.is_file():
        return None
    return validate_program(json.loads(path.read_text()))


def build_goals(cfg: EngineConfig, log=print) -> list[GoalRecord]:
    root = Path(cfg.data)
    out = Path(cfg.out)
    motion_dir = out / "motions"
    (motion_dir / "new_joint_vecs").mkdir(parents=True, exist_ok=True)
    ds = MotionTextDataset(root, cfg.split, normalize=False)
    clips = [c for c in ds.clips if c.id == c.source_id]  # whole motions; sub-clips have no program of their own
    if cfg.limit:
        clips = clips[: cfg.limit]
    if cfg.assessment_style not in ASSESSMENT_STYLES:  # checked before any rendering work
        raise ValueError(f"unknown assessment style {cfg.assessment_style!r}; choose from {', '.join(ASSESSMENT_STYLES)}")
    rng = random.Random(cfg.seed)
    programs = {c.id: load_program_for(root, c.id) for c in clips}
    n_programs = sum(p is not None for p in programs.values())
    if cfg.assessment_style != "compare" and not n_programs:
        raise ValueError(f"assessment style {cfg.assessment_style!r} needs motion programs (the procedural corpus); "
                         "captions-only datasets use 'compare'")
    captions = [[t.caption for t in c.texts[: cfg.captions_per_goal]] for c in clips]
    order_of = _retrieval_orders(clips, captions, cfg.evaluator, cfg.seed)
    ids = [c.id for c in clips]

    near_misses: dict[str, list] = {}
    with_program = [c for c in clips if programs[c.id] is not None]
    if with_program and cfg.n_perturb > 0:
        jobs = [(c.id, programs[c.id].to_dict(), cfg.n_perturb, cfg.seed, str(motion_dir)) for c in with_program]
        workers = cfg.workers or min(4, os.cpu_count() or 1)
        if workers > 1:
            with ProcessPoolExecutor(workers) as pool:
                results = list(tqdm(pool.map(_render_near_misses, jobs, chunksize=8), total=len(jobs),
                                    desc="near-misses", mininterval=2))
        else:
            results = [_render_near_misses(j) for j in tqdm(jobs, desc="near-misses", mininterval=2)]
        near_misses = {c.id: r for c, r in zip(with_program, results)}

    from ..data.synth.program import validate_program
    from .programs import analyse_program, assess_programs
    from ..data.bvh_dataset import read_clip_labels
    from .annotators import CaptionComparer, EndpointAnnotator, LabelComparer, analyse_caption
    labels = read_clip_labels(root)  # real mocap imported with labels (or a mix holding such clips)
    annotator = None
    if n_programs < len(clips):  # captions-only goals or candidates (real data, or a mix with real data)
        annotator = EndpointAnnotator(cfg.annotator) if cfg.annotator else CaptionComparer(cfg.seed)
    by_labels = LabelComparer(cfg.seed)

    def assess(goal: Clip, k: int, cand: Clip | None, cand_program=None):
        """Exact when both motions have programs, or both labels (the same label fields); otherwise the goal
        caption against the candidate's caption."""
        goal_program = programs[goal.id]
        cand_program = cand_program or (programs[cand.id] if cand is not None else None)
        if goal_program is not None and cand_program is not None:
            return assess_programs(goal_program, cand_program, rng, cfg.assessment_style)
        t = cand.texts[0]
        gl, cl = labels.get(goal.id), labels.get(cand.id)
        if gl and cl and set(gl) == set(cl):
            return by_labels(captions[goals_index[goal.id]][k], t.caption, gl, cl)
        return annotator(captions[goals_index[goal.id]][k], t.caption, list(goal.texts[k].tokens), list(t.tokens))

    goals_index = {c.id: g for g, c in enumerate(clips)}
    goals = []
    for g, clip in enumerate(tqdm(clips, desc="assess", mininterval=2)):
        record = GoalRecord(MotionRef(clip.id), captions[g], [], [])
        if programs[clip.id] is not None:
            record.program = programs[clip.id].to_dict()
            record.analyses = analyse_program(programs[clip.id], rng)
        else:
            record.analyses = analyse_caption(captions[g][0], list(clip.texts[0].tokens), rng)
        record.detailed_prompts = [a[0].lower() + a[1:] for a in record.analyses]
        for k, caption in enumerate(captions[g]):
            cands = []
            for j in _ranked_picks(order_of(g, k), clip.id, ids, cfg.n_retrieval, rng):
                other = clips[j]
                cands.append(ScoredCandidate(MotionRef(other.id), assess(clip, k, other), "retrieval", other.id))
            for name, kind, prog in near_misses.get(clip.id, []):
                a = assess(clip, k, None, validate_program(prog))
                cands.append(ScoredCandidate(MotionRef(name), a, "perturbation", kind))
            truth = (assess(clip, k, clip) if programs[clip.id] is not None else
                     write_assessment(3, [caption.rstrip(".")], [], rng, shown=caption, asked=caption))
            cands.append(ScoredCandidate(MotionRef(clip.id), truth, "ground_truth"))
            record.candidates[k] = cands
        goals.append(record)
    if annotator is not None and hasattr(annotator, "summary"):
        log(annotator.summary())  # how many assessments fell back to the offline rules
    return goals


def build(cfg: EngineConfig, stages=("stage1", "stage2"), log=print) -> dict:
    """Write OUT/stage1/*.json, OUT/stage2_traces.json, OUT/motions/ and OUT/engine.json."""
    goals = build_goals(cfg, log)
    out = Path(cfg.out)
    written = {}
    if "stage1" in stages:
        for task, entries in stage1_annotations(goals).items():
            path = out / "stage1" / STAGE1_FILES[task]
            write_annotations(path, entries, {"task": task, "source": cfg.data, "split": cfg.split})
            written[task] = len(entries)
    if "stage2" in stages:
        entries = stage2_annotations(goals, seed=cfg.seed)
        write_annotations(out / STAGE2_FILE, entries, {"task": "stage2", "source": cfg.data, "split": cfg.split})
        written["stage2"] = len(entries)
    levels = [c.assessment.level for g in goals for cs in g.candidates.values() for c in cs]
    summary = {"goals": len(goals), "entries": written, "motion_roots": [str(Path(cfg.data)), str(out / "motions")],
               "level_counts": {str(lv): levels.count(lv) for lv in range(4)}, "config": vars(cfg)}
    write_text(out / "engine.json", json.dumps(summary, indent=2))
    return summary
