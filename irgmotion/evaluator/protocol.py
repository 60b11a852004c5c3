"""The text-to-motion evaluation protocol over a test split and directories of generated motions.

Generated motions are `.npy` files named by clip id (`PRED_DIR/ID.npy`, HumanML3D
features or joints), one per test clip; `PRED_DIR/ID.txt` may hold the caption the
motion was generated from (otherwise each repeat draws a random caption of the
clip, as the reference loaders do). MultiModality is scored when
`PRED_DIR/multimodality/ID/*.npy` holds more than 10 motions generated for one
caption of each of several clips (the standard protocol uses 100 clips x 30 motions).

Each evaluator embeds every caption and motion once (motions cut to their first
196 frames and to whole 4-frame units); each of the 20 repeats then shuffles the
clips, drops the incomplete last chunk of 32, draws captions and scores:
R-precision top-1/2/3 and MM-Dist on 32-pair chunks, FID against the ground-truth
motions of the same repeat, Diversity over 300 pairs, MultiModality. The
ground-truth motions scored the same way give the reference row (its FID is 0 by
construction: the same embeddings on both sides).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..data.humanml3d import MotionTextDataset
from ..motion.io import MotionFileError, load_motion
from .base import MAX_FRAMES, EvaluatorError, MatchingModel
from .metrics import (DIVERSITY_TIMES, MULTIMODALITY_TIMES, R_PRECISION_CHUNK, diversity, fid, mm_dist,
                      multimodality, r_precision, repeat)

GT_ROW = "Ground truth"
COLUMNS = (("top1", "R-precision top-1", True), ("top2", "top-2", True), ("top3", "top-3", True),
           ("fid", "FID", False), ("mm_dist", "MM-Dist", False), ("diversity", "Diversity", False),
           ("multimodality", "MultiModality", False))


class EvalInputError(EvaluatorError):
    """Generated motions or a split that cannot be scored."""


@dataclass
class Generated:
    name: str
    motions: dict[str, np.ndarray]
    captions: dict[str, str]
    multimodality: dict[str, list[np.ndarray]]


def load_split(data: str | Path, split: str = "test", dataset: str | None = None) -> MotionTextDataset:
    return MotionTextDataset(data, split, dataset=dataset, normalize=False)


def _load_features(path: Path, dim: int, dataset: str | None) -> np.ndarray:
    try:
        motion = load_motion(path, dataset)
        feats = motion.features()
    except MotionFileError as exc:
        raise EvalInputError(str(exc)) from None
    if feats.shape[1] != dim:
        raise EvalInputError(f"{path}: features have {feats.shape[1]} channels, the test split has {dim}")
    return feats


def load_generated(pred_dir: str | Path, ids: list[str], dim: int, dataset: str | None = None) -> Generated:
    pred_dir = Path(pred_dir)
    if not pred_dir.is_dir():
        raise FileNotFoundError(f"{pred_dir}: directory of generated motions not found")
    missing = [i for i in ids if not (pred_dir / f"{i}.npy").is_file()]
    if missing:
        raise EvalInputError(f"{pred_dir}: no generated motion for {len(missing)} of {len(ids)} test clips "
                             f"(expected files named by clip id, e.g. {missing[0]}.npy)")
    motions, captions = {}, {}
    for i in ids:
        motions[i] = _load_features(pred_dir / f"{i}.npy", dim, dataset)
        cap = pred_dir / f"{i}.txt"
        if cap.is_file():
            lines = [ln.split("#")[0].strip() for ln in cap.read_text(encoding="utf-8").splitlines() if ln.strip()]
            if lines:
                captions[i] = lines[0]
    mm = {}
    mm_root = pred_dir / "multimodality"
    if mm_root.is_dir():
        known = set(ids)
        for sub in sorted(p for p in mm_root.iterdir() if p.is_dir()):
            if sub.name not in known:
                raise EvalInputError(f"{sub}: not a clip id of the split")
            files = sorted(sub.glob("*.npy"))
            if len(files) <= MULTIMODALITY_TIMES:
                raise EvalInputError(f"{sub}: MultiModality needs more than {MULTIMODALITY_TIMES} motions per "
                                     f"caption, found {len(files)}")
            mm[sub.name] = [_load_features(f, dim, dataset) for f in files]
        if mm and len({len(v) for v in mm.values()}) > 1:
            raise EvalInputError(f"{mm_root}: every clip needs the same number of motions")
    return Generated(pred_dir.name or str(pred_dir), motions, captions, mm)


class SplitScorer:
    """Embeddings of one split (and generated sets) under one evaluator; `run` repeats the protocol."""

    def __init__(self, evaluator: MatchingModel, split: MotionTextDataset, generated: list[Generated] = (),
                 max_frames: int = MAX_FRAMES, chunk: int = R_PRECISION_CHUNK):
        clips = split.clips
        if len(clips) < chunk:
            raise EvalInputError(f"{split.root}/{split.split}.txt: {len(clips)} usable clips; "
                                 f"the protocol needs at least {chunk} (one chunk)")
        if split.spec is not None and split.spec.feature_dim != evaluator.feature_dim:
            raise EvalInputError(f"the evaluator reads {evaluator.feature_dim}-d features, "
                                 f"the split has {split.spec.feature_dim}-d")
        self.chunk = chunk
        self.ids = [c.id for c in clips]
        self.n_caps = np.array([len(c.texts) for c in clips])
        self.cap_offset = np.concatenate([[0], np.cumsum(self.n_caps)[:-1]])
        captions = [t.caption for c in clips for t in c.texts]
        tokens = [list(t.tokens) for c in clips for t in c.texts]
        self.text = evaluator.embed_texts(captions, tokens)
        self.gt = evaluator.embed_motions([c.motion for c in clips], max_frames=max_frames)
        self.generated = []
        for g in generated:
            motion = evaluator.embed_motions([g.motions[i] for i in self.ids], max_frames=max_frames)
            own = [i for i in self.ids if i in g.captions]
            own_text = dict(zip(own, evaluator.embed_texts([g.captions[i] for i in own]))) if own else {}
            mm = None
            if g.multimodality:
                mm_ids = sorted(g.multimodality)
                flat = [m for i in mm_ids for m in g.multimodality[i]]
                emb = evaluator.embed_motions(flat, max_frames=max_frames)
                mm = emb.reshape(len(mm_ids), len(g.multimodality[mm_ids[0]]), -1)
            self.generated.append((g.name, motion, own_text, mm))

    @property
    def n_used(self) -> int:
        return (len(self.ids) // self.chunk) * self.chunk

    def once(self, rng: np.random.Generator) -> dict[str, float]:
        order = rng.permutation(len(self.ids))[: self.n_used]
        pick = self.cap_offset[order] + rng.integers(0, self.n_caps[order])
        text = self.text[pick]
        gt = self.gt[order]
        times = min(DIVERSITY_TIMES, self.n_used - 1)
        out = {}

        def score(prefix, text_emb, motion_emb):
            rp = r_precision(text_emb, motion_emb, chunk=self.chunk)
            out.update({f"{prefix}/top1": rp[0], f"{prefix}/top2": rp[1], f"{prefix}/top3": rp[2],
                        f"{prefix}/fid": fid(motion_emb, gt) if prefix != GT_ROW else 0.0,
                        f"{prefix}/mm_dist": mm_dist(text_emb, motion_emb, self.chunk),
                        f"{prefix}/diversity": diversity(motion_emb, times, rng)})

        score(GT_ROW, text, gt)
        for name, motion, own_text, mm in self.generated:
            t = np.stack([own_text.get(self.ids[j], text[k]) for k, j in enumerate(order)]) if own_text else text
            score(name, t, motion[order])
            if mm is not None:
                out[f"{name}/multimodality"] = multimodality(mm, MULTIMODALITY_TIMES, rng)
        return out

    def run(self, repeats: int = 20, seed: int = 0) -> dict[str, dict[str, dict]]:
        flat = repeat(self.once, repeats, seed)
        rows: dict[str, dict[str, dict]] = {}
        for key, value in flat.items():
            row, metric = key.rsplit("/", 1)
            rows.setdefault(row, {})[metric] = {"mean": value["mean"], "ci": value["ci"]}
        return rows


def evaluate(evaluator: MatchingModel, split: MotionTextDataset, generated: list[Generated] = (),
             repeats: int = 20, seed: int = 0, name: str = "") -> dict:
    scorer = SplitScorer(evaluator, split, generated)
    return {"evaluator": name, "kind": evaluator.kind, "split": split.split, "data": str(split.root),
            "clips": len(scorer.ids), "clips_per_repeat": scorer.n_used, "repeats": repeats, "seed": seed,
            "diversity_pairs": min(DIVERSITY_TIMES, scorer.n_used - 1), "rows": scorer.run(repeats, seed)}


def format_table(result: dict, markdown: bool = True) -> str:
    rows = result["rows"]
    cols = [c for c in COLUMNS if any(c[0] in r for r in rows.values())]
    header = ["Method"] + [title for _, title, _ in cols]
    lines = []
    for name, metrics in rows.items():
        cells = [name]
        for key, _, _ in cols:
            m = metrics.get(key)
            cells.append(f"{m['mean']:.3f} ± {m['ci']:.3f}" if m else "-")
        lines.append(cells)
    if markdown:
        out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
        out += ["| " + " | ".join(c) + " |" for c in lines]
        return "\n".join(out)
    widths = [max(len(r[i]) for r in [header] + lines) for i in range(len(header))]
    fmt = lambda r: "  ".join(c.ljust(w) for c, w in zip(r, widths))  # noqa: E731
    return "\n".join([fmt(header), "  ".join("-" * w for w in widths)] + [fmt(r) for r in lines])


def report_markdown(results: list[dict]) -> str:
    parts = []
    for r in results:
        parts.append(f"### {r['evaluator']} ({r['kind']} evaluator)\n\n"
                     f"{r['split']} split of {r['data']}: {r['clips']} clips, {r['clips_per_repeat']} per repeat "
                     f"(chunks of 32), {r['repeats']} repeats, mean ± 95% CI.\n\n{format_table(r)}\n")
    return "\n".join(parts)


def write_report(results: list[dict], prefix: str | Path) -> tuple[Path, Path]:
    from ..fileio import write_text
    prefix = Path(prefix)
    if prefix.suffix in (".md", ".json"):
        prefix = prefix.with_suffix("")
    md, js = prefix.with_name(prefix.name + ".md"), prefix.with_name(prefix.name + ".json")
    write_text(md, report_markdown(results))
    write_text(js, json.dumps(results, indent=2) + "\n")
    return md, js
