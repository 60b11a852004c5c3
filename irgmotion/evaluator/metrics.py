"""The field's standard text-to-motion and captioning metrics.

Text-to-motion (all on evaluator embeddings, as in Guo et al. 2022 and its successors):
    fid            Frechet distance between the Gaussians fitted to two embedding sets
    r_precision    top-1/2/3 retrieval accuracy of each text among the 32 motions of its
                   chunk (Euclidean distance matrix, the incomplete last chunk dropped)
    mm_dist        mean distance between each text and its own motion
    diversity      mean distance of 300 random pairs of motions
    multimodality  mean distance of 10 random pairs among the motions generated for one text
    repeat         run an evaluation n times; mean and 95% confidence interval 1.96 sd / sqrt(n)

Captioning (`caption_scores`): BLEU-1, BLEU-4 and CIDEr-D from pycocoevalcap (the
COCO caption evaluation code, pure Python for these three), ROUGE-L from rouge-score
(F-measure, best over references).
"""
from __future__ import annotations

import re
from typing import Callable, Mapping, Sequence

import numpy as np
from scipy import linalg

R_PRECISION_CHUNK = 32
DIVERSITY_TIMES = 300
MULTIMODALITY_TIMES = 10


def euclidean_distance_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, M) distances between the rows of `a` (N, D) and of `b` (M, D)."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    sq = (a * a).sum(1)[:, None] - 2 * a @ b.T + (b * b).sum(1)[None]
    return np.sqrt(np.maximum(sq, 0.0))


# FID ------------------------------------------------------------------------
def activation_statistics(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"need at least 2 embeddings of shape (N, D), got {x.shape}")
    return x.mean(0), np.cov(x, rowvar=False)


def frechet_distance(mu1, sigma1, mu2, sigma2, eps: float = 1e-6) -> float:
    """||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2))."""
    mu1, mu2 = np.atleast_1d(mu1).astype(np.float64), np.atleast_1d(mu2).astype(np.float64)
    s1, s2 = np.atleast_2d(sigma1).astype(np.float64), np.atleast_2d(sigma2).astype(np.float64)
    if mu1.shape != mu2.shape or s1.shape != s2.shape:
        raise ValueError(f"mismatched statistics: means {mu1.shape} vs {mu2.shape}, covariances {s1.shape} vs {s2.shape}")
    diff = mu1 - mu2
    covmean = linalg.sqrtm(s1 @ s2)
    if not np.isfinite(covmean).all():  # singular product: nudge the diagonals, as the reference code does
        offset = np.eye(len(s1)) * eps
        covmean = linalg.sqrtm((s1 + offset) @ (s2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError(f"FID: imaginary component {np.max(np.abs(covmean.imag)):.3g} in the matrix square root")
        covmean = covmean.real
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def fid(x: np.ndarray, y: np.ndarray) -> float:
    """Frechet distance between embedding sets `x` (N, D) and `y` (M, D)."""
    return frechet_distance(*activation_statistics(x), *activation_statistics(y))


# Retrieval -------------------------------------------------------------------
def _chunks(n: int, chunk: int) -> list[slice]:
    return [slice(i, i + chunk) for i in range(0, n - chunk + 1, chunk)]


def r_precision(text_emb: np.ndarray, motion_emb: np.ndarray, top_k: int = 3,
                chunk: int = R_PRECISION_CHUNK) -> np.ndarray:
    """Top-1..top_k accuracy (array of top_k values) of retrieving row i of `motion_emb` for text i,
    among the motions of its chunk of `chunk` consecutive pairs; an incomplete last chunk is dropped."""
    text_emb, motion_emb = np.asarray(text_emb), np.asarray(motion_emb)
    if text_emb.shape[0] != motion_emb.shape[0]:
        raise ValueError(f"{len(text_emb)} texts but {len(motion_emb)} motions")
    parts = _chunks(len(text_emb), chunk)
    if not parts:
        raise ValueError(f"R-precision needs at least {chunk} pairs, got {len(text_emb)}")
    hits = np.zeros(top_k)
    for s in parts:
        dist = euclidean_distance_matrix(text_emb[s], motion_emb[s])
        hits += r_precision_from_distances(dist, top_k) * chunk
    return hits / (len(parts) * chunk)


def r_precision_from_distances(dist: np.ndarray, top_k: int = 3) -> np.ndarray:
    """Top-k accuracies for a square distance matrix whose diagonal holds the true pairs."""
    dist = np.asarray(dist)
    order = np.argsort(dist, axis=1, kind="stable")
    rank = np.argmax(order == np.arange(len(dist))[:, None], axis=1)  # position of the true match
    return np.array([(rank < k).mean() for k in range(1, top_k + 1)])


def mm_dist(text_emb: np.ndarray, motion_emb: np.ndarray, chunk: int | None = R_PRECISION_CHUNK) -> float:
    """Mean distance between each text and its motion (over the complete chunks, as R-precision)."""
    text_emb, motion_emb = np.asarray(text_emb, np.float64), np.asarray(motion_emb, np.float64)
    n = len(text_emb) if chunk is None else (len(text_emb) // chunk) * chunk
    if n == 0:
        raise ValueError("MM-Dist needs at least one complete chunk of pairs")
    return float(np.linalg.norm(text_emb[:n] - motion_emb[:n], axis=1).mean())


def diversity(emb: np.ndarray, times: int = DIVERSITY_TIMES, rng: np.random.Generator | None = None) -> float:
    """Mean distance between `times` random pairs (two independent draws without replacement)."""
    emb = np.asarray(emb, np.float64)
    if len(emb) <= times:
        raise ValueError(f"diversity with {times} pairs needs more than {times} embeddings, got {len(emb)}")
    rng = rng or np.random.default_rng()
    first = rng.choice(len(emb), times, replace=False)
    second = rng.choice(len(emb), times, replace=False)
    return float(np.linalg.norm(emb[first] - emb[second], axis=1).mean())


def multimodality(emb: np.ndarray, times: int = MULTIMODALITY_TIMES, rng: np.random.Generator | None = None) -> float:
    """`emb` (n_texts, n_per_text, D): mean distance of `times` random pairs among each text's motions."""
    emb = np.asarray(emb, np.float64)
    if emb.ndim != 3 or emb.shape[1] <= times:
        raise ValueError(f"multimodality needs (n_texts, n_per_text > {times}, D) embeddings, got {emb.shape}")
    rng = rng or np.random.default_rng()
    first = rng.choice(emb.shape[1], times, replace=False)
    second = rng.choice(emb.shape[1], times, replace=False)
    return float(np.linalg.norm(emb[:, first] - emb[:, second], axis=2).mean())


# Repeats ----------------------------------------------------------------------
def mean_ci(values: Sequence[float]) -> tuple[float, float]:
    """Mean and 95% confidence half-width 1.96 * std / sqrt(n) (population std, as the reference code)."""
    v = np.asarray(values, np.float64)
    return float(v.mean()), float(1.96 * v.std() / np.sqrt(len(v)))


def repeat(fn: Callable[[np.random.Generator], Mapping[str, float]], times: int = 20,
           seed: int = 0) -> dict[str, dict]:
    """Call `fn(rng)` `times` times with independent generators; per metric {mean, ci, values}."""
    if times < 1:
        raise ValueError("repeat needs times >= 1")
    seeds = np.random.SeedSequence(seed).spawn(times)
    runs = [dict(fn(np.random.default_rng(s))) for s in seeds]
    out = {}
    for name in runs[0]:
        values = [float(r[name]) for r in runs]
        m, ci = mean_ci(values)
        out[name] = {"mean": m, "ci": ci, "values": values}
    return out


# Captioning ---------------------------------------------------------------------
def caption_tokens(text: str) -> str:
    """Lower case, punctuation removed, single spaces: the form the scorers compare."""
    return " ".join(re.findall(r"[a-z0-9]+(?:'[a-z]+)?", text.lower()))


def caption_scores(predictions: Mapping[str, str], references: Mapping[str, Sequence[str]]) -> dict[str, float]:
    """Corpus BLEU-1, BLEU-4, ROUGE-L and CIDEr-D of one caption per id against its references."""
    try:
        from pycocoevalcap.bleu.bleu import Bleu
        from pycocoevalcap.cider.cider import Cider
        from rouge_score import rouge_scorer
    except ImportError:
        raise ImportError("captioning metrics need pycocoevalcap and rouge-score: pip install 'irgmotion[eval]'") from None
    ids = sorted(predictions)
    missing = [i for i in ids if not references.get(i)]
    if missing:
        raise ValueError(f"no reference captions for {len(missing)} id(s), e.g. {missing[0]!r}")
    if not ids:
        raise ValueError("no predictions to score")
    res = {i: [caption_tokens(predictions[i])] for i in ids}
    gts = {i: [caption_tokens(r) for r in references[i]] for i in ids}
    bleu, _ = Bleu(4).compute_score(gts, res, verbose=0)
    cider, _ = Cider().compute_score(gts, res)
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
    rouge = [max(scorer.score(r, res[i][0])["rougeL"].fmeasure for r in gts[i]) for i in ids]
    return {"bleu1": float(bleu[0]), "bleu4": float(bleu[3]), "rougeL": float(np.mean(rouge)), "cider": float(cider)}
