"""The free-form prompt benchmark: goals written unlike the corpus captions, judged by the kinematic checker.

`freeform_prompts.jsonl` holds held-out prompts (synonyms, other word orders, typos, numerals as digits or
words, extra words, casual phrasing), each with the program it asks for and the slots it leaves open. A motion
passes when `kinematic.check_motion` finds the program's actions, in order, in its joint positions: no model
and no learned evaluator is involved in the verdict. Rows: stage-1 direct generation (with a stage-1 model),
and the stage-2 trace's first, last and best-assessed motion. Two reference rows separate the causes of a
failure: the program rendered by the corpus generator and passed through the motion tokenizer (the ceiling the
tokenizer and the checker allow), and the same model given a canonical corpus-style caption of the same program
(what the wording of the free-form prompt costs).
"""
from __future__ import annotations

import json
import random
from collections import defaultdict
from pathlib import Path

import numpy as np

from ..data.synth import caption_program, render_program
from ..motion.features import features_to_joints, joints_to_features
from ..reason.decoding import DecodeOptions
from ..reason.pipeline import Reasoner
from .judges import judge_label
from .kinematic import check_motion

PROMPTS = Path(__file__).with_name("freeform_prompts.jsonl")


def load_prompts(path: Path = PROMPTS, limit: int | None = None, seed: int = 0) -> list[dict]:
    """The prompt set: [{"text", "program", "styles", "unspecified"?}]. With `limit`, a seeded random sample of
    that many, in file order (the file is sorted by action, so its first lines are all single walks)."""
    items = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    if limit and limit < len(items):
        keep = set(random.Random(seed).sample(range(len(items)), limit))
        items = [it for k, it in enumerate(items) if k in keep]
    return items


def motion_passes(reasoner: Reasoner, ids: list[int] | None, item: dict) -> bool:
    """Whether the motion of these VQ token ids shows the prompt's program (no motion fails)."""
    feats = reasoner.decode(ids)
    if feats is None or len(feats) < 2:
        return False
    joints = features_to_joints(feats.astype(np.float64), append_last=True)
    return check_motion(joints, item["program"], ignore=item.get("unspecified", ())).passed


def _rates(flags: list[bool], items: list[dict]) -> dict:
    by_style = defaultdict(list)
    for ok, item in zip(flags, items):
        for style in item.get("styles", ()):
            by_style[style].append(ok)
        by_style["chains (2+ actions)" if len(item["program"]["actions"]) > 1 else "single action"].append(ok)
    return {"pass_rate": float(np.mean(flags)), "passed": int(sum(flags)), "n": len(flags),
            "by_style": {k: {"pass_rate": float(np.mean(v)), "n": len(v)} for k, v in sorted(by_style.items())}}


def canonical_captions(items: list[dict], seed: int = 0) -> list[str]:
    """One caption per prompt program, written by the corpus's own caption writer."""
    rng = np.random.default_rng(seed)
    return [caption_program(it["program"], rng, n=1)[0][0] for it in items]


def tokenizer_ceiling(reasoner: Reasoner, items: list[dict], seed: int = 0) -> list[bool]:
    """Whether each prompt's program, rendered by the corpus generator and passed through the VQ tokenizer, passes."""
    out = []
    for k, it in enumerate(items):
        feats = joints_to_features(render_program(it["program"], seed=seed + k)).astype(np.float32)
        out.append(motion_passes(reasoner, reasoner.vq.encode(feats)[0].tolist(), it))
    return out


def run_freeform(bundle, opts: DecodeOptions, max_rounds: int, verdict: str, stage1_llm=None,
                 limit: int | None = None, log=print, references: bool = True, seed: int = 0, procs=None,
                 perception: str = "model") -> dict:
    """Pass rates of each row on the prompt set, overall and per writing style; `references` adds the
    tokenizer ceiling and the canonical-caption rows. `procs` (irgmotion.distributed.Processes): the prompts of
    every reasoning call split over a launch's processes, the results gathered back in order."""
    from ..distributed import Processes
    procs = procs or Processes()
    items = load_prompts(limit=limit, seed=seed)
    texts = [it["text"] for it in items]
    rows: dict[str, list[bool]] = {}
    reasoner = bundle.reasoner(verdict, "best", perception)
    verdict = judge_label(verdict, perception)
    if references:
        rows["Reference: the program rendered, through the tokenizer"] = tokenizer_ceiling(reasoner, items)
    if stage1_llm is not None:
        s1 = Reasoner(stage1_llm, bundle.vq)
        log(f"free-form prompts: stage-1 direct generation on {len(items)} prompts")
        s1_opts = DecodeOptions(max_new_tokens=64, batch_size=opts.batch_size, progress=opts.progress)
        res = procs.map(lambda t: s1.direct(t, s1_opts), texts)
        rows["Stage-1 direct"] = [motion_passes(s1, r.final_motion, it) for r, it in zip(res, items)]
    if references:
        log(f"free-form prompts: interleaved reasoning ({verdict}) on canonical captions of the same programs")
        canon = procs.map(lambda t: reasoner.interleaved(t, opts, max_rounds), canonical_captions(items))
        rows["Reference: canonical caption, stage-2 first motion"] = [
            motion_passes(reasoner, r.first_motion, it) for r, it in zip(canon, items)]
        rows[f"Reference: canonical caption, stage-2 best assessed motion ({verdict})"] = [
            motion_passes(reasoner, r.answer_motion, it) for r, it in zip(canon, items)]
    log(f"free-form prompts: interleaved reasoning ({verdict}) on {len(items)} prompts")
    res = procs.map(lambda t: reasoner.interleaved(t, opts, max_rounds), texts)
    rows["Stage-2 first motion"] = [motion_passes(reasoner, r.first_motion, it) for r, it in zip(res, items)]
    rows[f"Stage-2 final motion ({verdict})"] = [motion_passes(reasoner, r.final_motion, it)
                                                        for r, it in zip(res, items)]
    for select in ("best", "best-earliest"):
        for r in res:
            r.select = select
        rows[f"Stage-2 {select} assessed motion ({verdict})"] = [
            motion_passes(reasoner, r.answer_motion, it) for r, it in zip(res, items)]
    first = rows["Stage-2 first motion"]
    final = rows[f"Stage-2 final motion ({verdict})"]
    return {"prompts": len(items), "verdict": verdict, "rows": {k: _rates(v, items) for k, v in rows.items()},
            "first_vs_final": {"fixed": sum(not a and b for a, b in zip(first, final)),
                               "broken": sum(a and not b for a, b in zip(first, final))},
            "mean_generations": float(np.mean([r.trace.n_generations for r in res]))}


def freeform_markdown(part: dict) -> list[str]:
    styles = sorted({s for row in part["rows"].values() for s in row["by_style"]})
    lines = [f"## Free-form prompts, {part['verdict']}: kinematic checker pass rate "
             f"({part['prompts']} held-out prompts)", "",
             "| row | pass rate | " + " | ".join(styles) + " |", "|---|---|" + "---|" * len(styles)]
    for name, row in part["rows"].items():
        cells = [f"{row['by_style'][s]['pass_rate']:.3f}" if s in row["by_style"] else "–" for s in styles]
        lines.append(f"| {name} | {row['pass_rate']:.3f} ({row['passed']}/{row['n']}) | " + " | ".join(cells) + " |")
    ff = part["first_vs_final"]
    lines += ["", "Prompts per style: " + ", ".join(
        f"{s} {next(iter(part['rows'].values()))['by_style'][s]['n']}" for s in styles) + ". "
              f"First to final motion: {ff['fixed']} fixed, {ff['broken']} broken; "
              f"{part['mean_generations']:.2f} generations per trace.", ""]
    return lines
