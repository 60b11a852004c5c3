"""`irgmotion pipeline` from nothing to a bundle, at toy size: every step's command runs, the
bundle loads offline and reasons, and a second run skips the finished steps."""
import json

from irgmotion.cli import main
from irgmotion.reason.bundle import load_bundle
from irgmotion.reason.decoding import DecodeOptions
from irgmotion.reason.pipeline import Reasoner


def test_smoke_pipeline_builds_a_working_bundle(tmp_path):
    out = tmp_path / "run"
    assert main(["pipeline", "--preset", "smoke", "--out", str(out)]) == 0
    for step in ("corpus", "vq", "evaluators/guo", "evaluators/tmr", "engine", "stage1", "stage2"):
        assert (out / step / ".done").is_file(), step
    assert json.loads((out / "stage1" / "train_config.json").read_text())["steps"] == 3
    # stage 2 is mixed training: traces plus the single-step tasks
    assert json.loads((out / "stage2" / "train_config.json").read_text())["sources"]["stage1_fraction"] == 0.33

    bundle = load_bundle(out / "bundle")
    assert not any(bundle.root.rglob("checkpoint*"))  # the bundle holds what generation needs, no optimiser state
    reasoner = Reasoner(bundle.llm, bundle.vq)
    result = reasoner.interleaved(["a person walks forward"], DecodeOptions(max_new_tokens=16))[0]
    assert result.text  # untrained, so only the plumbing is checked
    # the manifest records the engine's assessment wording, which the rule verdict writes in
    assert bundle.assessment_style == "compare"
    import pytest
    with pytest.raises(ValueError, match="describe every judged slot"):  # compare assessments have no check list
        Reasoner(bundle.llm, bundle.vq, bundle.assessment_style, verdict="rule")

    logged = []
    from irgmotion.pipeline import run_pipeline
    run_pipeline("smoke", out, log=logged.append)
    assert sum("done already" in line for line in logged) == 7
