"""The free-form prompt section of `irgmotion bench` (irgmotion/bench/freeform.py)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from irgmotion.bench.freeform import (canonical_captions, freeform_markdown, load_prompts, motion_passes, run_freeform,
                                      tokenizer_ceiling)
from irgmotion.cli import main
from irgmotion.data.synth import render_program
from irgmotion.motion.features import joints_to_features

BUNDLE = Path(__file__).resolve().parents[1] / "irgmotion" / "assets" / "bundle"


class _FeatureReasoner:
    """Stands in for a Reasoner whose decoder returns the features of a rendered program for token id k."""

    def __init__(self, motions):
        self.motions = motions

    def decode(self, ids):
        return None if not ids else self.motions[ids[0]]


def test_a_motion_passes_its_prompt_through_features_and_fails_another():
    prompts = load_prompts()
    a = next(p for p in prompts if p["text"] == "stroll ahead for four paces")
    b = next(p for p in prompts if len(p["program"]["actions"]) == 1 and p["program"]["actions"][0]["name"] == "jump")
    feats = [joints_to_features(render_program(p["program"], seed=2)).astype(np.float32) for p in (a, b)]
    fake = _FeatureReasoner(feats)
    assert motion_passes(fake, [0], a) and motion_passes(fake, [1], b)
    assert not motion_passes(fake, [1], a) and not motion_passes(fake, [0], b)
    assert not motion_passes(fake, [], a) and not motion_passes(fake, None, a)


def test_run_freeform_on_the_embedded_bundle():
    from irgmotion.reason.bundle import load_bundle
    from irgmotion.reason.decoding import DecodeOptions
    bundle = load_bundle(BUNDLE)
    report = run_freeform(bundle, DecodeOptions(max_new_tokens=700, batch_size=3), 2, "rule", limit=3, log=lambda m: None,
                          references=False)
    assert report["prompts"] == 3
    rows = report["rows"]
    assert set(rows) == {"Stage-2 first motion", "Stage-2 final motion (rule verdict)",
                         "Stage-2 best assessed motion (rule verdict)",
                         "Stage-2 best-earliest assessed motion (rule verdict)"}
    for row in rows.values():
        assert row["n"] == 3 and row["passed"] == round(row["pass_rate"] * 3)
        by = row["by_style"]
        assert by.get("single action", {"n": 0})["n"] + by.get("chains (2+ actions)", {"n": 0})["n"] == 3
    assert 1 <= report["mean_generations"] <= 2
    md = "\n".join(freeform_markdown(report))
    assert "| Stage-2 first motion |" in md and "rule verdict" in md and "(3 held-out prompts)" in md


def test_a_limited_prompt_set_is_a_seeded_sample_across_the_file():
    everything = load_prompts()
    sample = load_prompts(limit=60, seed=0)
    assert len(sample) == 60 and sample == load_prompts(limit=60, seed=0)
    assert sample != load_prompts(limit=60, seed=1)
    assert [p for p in everything if p in sample] == sample  # file order kept
    assert any(len(p["program"]["actions"]) > 1 for p in sample)  # the file's first 137 lines are single actions
    assert load_prompts(limit=len(everything) + 5) == everything


def test_reference_rows_canonical_captions_and_the_tokenizer_ceiling():
    from irgmotion.reason.bundle import load_bundle
    from irgmotion.reason.pipeline import Reasoner
    items = [p for p in load_prompts() if len(p["program"]["actions"]) == 1][:4]
    captions = canonical_captions(items)
    assert len(captions) == 4 and all(c and c != p["text"] for c, p in zip(captions, items))
    bundle = load_bundle(BUNDLE)
    ceiling = tokenizer_ceiling(Reasoner(bundle.llm, bundle.vq), items)
    assert len(ceiling) == 4 and sum(ceiling) >= 3  # the corpus's own rendering survives the tokenizer


@pytest.mark.parametrize("flags, needle", [
    (["--no-standard"], "--no-standard"),
    (["--freeform", "999"], "--freeform 999"),
    (["--freeform", "4", "--only-llm"], "--only-llm"),
])
def test_bench_refuses_inconsistent_section_flags(tmp_path, capsys, flags, needle):
    code = main(["bench", "--bundle", str(BUNDLE), "--data", str(tmp_path), "--evaluator", str(tmp_path),
                 *flags, "--out", str(tmp_path / "r")])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0]
    assert not list(tmp_path.iterdir())


def test_standard_split_needs_an_evaluator(tmp_path, capsys):
    code = main(["bench", "--bundle", str(BUNDLE), "--data", str(tmp_path), "--out", str(tmp_path / "r")])
    assert code == 2 and "--evaluator" in capsys.readouterr().err
