"""Metric functions against cases computed by hand."""
import math

import numpy as np
import pytest

from irgmotion.evaluator import metrics as M


def _rotation(d, seed=0):
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(d, d)))
    return q


# FID -------------------------------------------------------------------------------
def test_fid_of_identical_sets_is_zero():
    x = np.random.default_rng(0).normal(size=(500, 16))
    assert abs(M.fid(x, x)) < 1e-6


def test_frechet_distance_closed_form_commuting_covariances():
    # S1 = Q diag(a) Q^T, S2 = Q diag(b) Q^T commute, so Tr(S1 + S2 - 2 (S1 S2)^1/2) = sum (sqrt a - sqrt b)^2.
    q = _rotation(4)
    a, b = np.array([1.0, 4.0, 9.0, 0.25]), np.array([4.0, 1.0, 9.0, 1.0])
    mu1, mu2 = np.array([0.0, 1.0, 2.0, 3.0]), np.array([1.0, 1.0, 0.0, 3.0])
    got = M.frechet_distance(mu1, q @ np.diag(a) @ q.T, mu2, q @ np.diag(b) @ q.T)
    want = 1 + 0 + 4 + 0 + ((1 - 2) ** 2 + (2 - 1) ** 2 + 0 + (0.5 - 1) ** 2)  # = 7.25
    assert got == pytest.approx(want, abs=1e-9)
    assert want == 7.25


def test_frechet_distance_one_dimension():
    # N(m1, s1^2) vs N(m2, s2^2): (m1 - m2)^2 + (s1 - s2)^2
    assert M.frechet_distance([2.0], [[9.0]], [-1.0], [[1.0]]) == pytest.approx(9 + 4)


def test_fid_from_samples_approaches_closed_form():
    rng = np.random.default_rng(1)
    n = 200_000
    x = rng.normal(size=(n, 3)) * [1.0, 2.0, 3.0] + [0.0, 0.0, 1.0]
    y = rng.normal(size=(n, 3)) * [2.0, 2.0, 1.0] + [1.0, 0.0, 0.0]
    want = (1 + 0 + 1) + ((1 - 2) ** 2 + 0 + (3 - 1) ** 2)
    assert M.fid(x, y) == pytest.approx(want, rel=0.02)


def test_fid_rejects_mismatched_dimensions():
    with pytest.raises(ValueError):
        M.fid(np.zeros((5, 3)), np.zeros((5, 4)))


# R-precision, MM-Dist ------------------------------------------------------------------
def test_r_precision_on_constructed_distance_matrix():
    # The true match of row i is ranked i-th: top-1 = 1/4, top-2 = 2/4, top-3 = 3/4.
    d = np.array([[0.0, 1.0, 2.0, 3.0],
                  [0.5, 1.0, 2.0, 3.0],
                  [0.1, 0.2, 2.0, 3.0],
                  [0.1, 0.2, 0.3, 3.0]])
    np.testing.assert_allclose(M.r_precision_from_distances(d), [0.25, 0.5, 0.75])


def test_r_precision_chunks_of_32_drop_the_remainder():
    rng = np.random.default_rng(0)
    n = 70  # two chunks of 32 are scored, the last 6 pairs are dropped
    motions = rng.normal(size=(n, 8)) * 10
    texts = motions + rng.normal(size=(n, 8)) * 0.01  # every text next to its own motion
    texts[64:] = 0  # the dropped pairs would be wrong if they counted
    np.testing.assert_allclose(M.r_precision(texts, motions), [1.0, 1.0, 1.0])
    # Swap the texts of two pairs inside chunk 1: 2 of 64 texts then find the wrong motion first.
    t2 = texts.copy()
    t2[[3, 4]] = t2[[4, 3]]
    rp = M.r_precision(t2, motions)
    assert rp[0] == pytest.approx(62 / 64)
    assert rp[1] >= rp[0]
    with pytest.raises(ValueError):
        M.r_precision(texts[:31], motions[:31])


def test_mm_dist_is_mean_pair_distance():
    t = np.zeros((64, 2))
    m = np.zeros((64, 2))
    m[:, 0] = 3.0
    m[:32, 1] = 4.0  # distances 5 for the first half, 3 for the second
    assert M.mm_dist(t, m) == pytest.approx(4.0)


# Diversity, MultiModality ------------------------------------------------------------------
def test_diversity_of_a_simplex():
    # Scaled basis vectors: every two distinct points are sqrt(2) * 3 apart; two independent
    # draws pick the same point with probability 1/N, so the expectation is d (1 - 1/N).
    n = 2000
    pts = np.eye(n) * 3.0
    vals = [M.diversity(pts, 300, np.random.default_rng(s)) for s in range(20)]
    assert np.mean(vals) == pytest.approx(3 * math.sqrt(2) * (1 - 1 / n), rel=2e-3)
    assert M.diversity(np.ones((400, 5)), 300) == 0.0
    with pytest.raises(ValueError):
        M.diversity(pts[:300], 300)


def test_multimodality_of_known_sets():
    # Each text's 12 motions form a simplex of edge 2 (scaled basis vectors); pairs drawn from
    # two independent 10-of-12 draws coincide with probability 1/12.
    per = np.eye(12) * math.sqrt(2)
    emb = np.stack([per + k for k in range(5)])
    vals = [M.multimodality(emb, 10, np.random.default_rng(s)) for s in range(400)]
    assert np.mean(vals) == pytest.approx(2 * (1 - 1 / 12), rel=0.02)
    assert M.multimodality(np.ones((3, 11, 4)), 10) == 0.0
    with pytest.raises(ValueError):
        M.multimodality(np.ones((3, 10, 4)), 10)


# Repeats --------------------------------------------------------------------------------
def test_mean_ci_and_repeat():
    mean, ci = M.mean_ci([1.0, 2.0, 3.0, 4.0])
    assert mean == 2.5
    assert ci == pytest.approx(1.96 * math.sqrt(1.25) / 2)
    out = M.repeat(lambda rng: {"x": rng.normal(), "one": 1.0}, times=20, seed=3)
    assert len(out["x"]["values"]) == 20
    assert out["one"] == {"mean": 1.0, "ci": 0.0, "values": [1.0] * 20}
    assert M.repeat(lambda rng: {"x": rng.normal()}, 20, 3)["x"] == out["x"]  # reproducible


# Captioning ------------------------------------------------------------------------------
def _has(module):
    import importlib.util
    return importlib.util.find_spec(module) is not None


needs_caption_libs = pytest.mark.skipif(not (_has("pycocoevalcap") and _has("rouge_score")),
                                        reason="pycocoevalcap and rouge-score not installed (extra 'eval')")


@needs_caption_libs
def test_bleu1_textbook_modified_precision():
    # Papineni et al. (2002): "the" x7 against two references: clipped unigram precision 2/7,
    # candidate length 7 equals the closest reference length, so no brevity penalty.
    s = M.caption_scores({"a": "the the the the the the the"},
                         {"a": ["the cat is on the mat", "there is a cat on the mat"]})
    assert s["bleu1"] == pytest.approx(2 / 7, abs=1e-6)


@needs_caption_libs
def test_bleu4_and_rouge_l_by_hand():
    s = M.caption_scores({"a": "The cat sat on the mat."}, {"a": ["the cat sat on a mat"]})
    # n-gram precisions 5/6, 3/5, 2/4, 1/3; equal lengths.
    assert s["bleu4"] == pytest.approx((5 / 6 * 3 / 5 * 2 / 4 * 1 / 3) ** 0.25, abs=1e-6)
    # LCS "the cat sat on mat" = 5 of 6 words on both sides.
    assert s["rougeL"] == pytest.approx(5 / 6)
    # Lin (2004): "police killed the gunman" vs "police kill the gunman": LCS 3 of 4.
    r = M.caption_scores({"a": "police kill the gunman"}, {"a": ["police killed the gunman"]})
    assert r["rougeL"] == pytest.approx(0.75)


@needs_caption_libs
def test_cider_d_by_hand():
    # Two images with disjoint words, so every reference n-gram has idf log(2).
    # Image 1: candidate "a b c e" vs reference "a b c d": cosine 3/4 (unigrams), 2/3 (bigrams),
    # 1/2 (trigrams), 0 (4-grams); equal lengths; CIDEr-D = 10 * mean = 4.7917.
    # Image 2: identical, 10. Corpus score = mean = 7.3958.
    s = M.caption_scores({"1": "a b c e", "2": "w x y z"}, {"1": ["a b c d"], "2": ["w x y z"]})
    want = (10 * (3 / 4 + 2 / 3 + 1 / 2 + 0) / 4 + 10) / 2
    assert s["cider"] == pytest.approx(want, abs=1e-6)


@needs_caption_libs
def test_caption_scores_errors():
    with pytest.raises(ValueError):
        M.caption_scores({"a": "x"}, {})
    with pytest.raises(ValueError):
        M.caption_scores({}, {})
