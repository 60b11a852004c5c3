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
    words = json.loads((bundle.root / "llm" / "caption_words.json").read_text())["words"]  # goal spelling correction
    assert "person" in words or "man" in words
    import numpy as np

    from irgmotion.llm.trace import parse_trace
    from irgmotion.llm.vocab import motion_to_string
    llm, vq = bundle.llm, bundle.vq
    assert llm.codebook_size == vq.codebook_size
    given = [0, 1, 2, vq.codebook_size - 1]  # the LLM's motion vocabulary covers the VQ's whole codebook
    assert llm.tokenizer(motion_to_string(given), add_special_tokens=False)["input_ids"] == [
        llm.motion_start_id, *(llm.code_offset + i for i in given), llm.motion_end_id]
    feats = vq.decode([given])[0]
    assert feats.shape == (4 * len(given), 263) and np.isfinite(feats).all()
    reasoner = Reasoner(llm, vq)
    opts = DecodeOptions(max_new_tokens=16)
    # Untrained, the model writes no usable trace: its text is cut by the budget and parsed with warnings.
    result = reasoner.interleaved(["a person walks forward"], opts)[0]
    assert len(llm.tokenizer(result.text, add_special_tokens=False)["input_ids"]) <= 16
    assert result.trace == parse_trace(result.text, llm.codebook_size, reasoner.max_motion_tokens)
    assert result.warnings and result.warnings[:len(result.trace.warnings)] == result.trace.warnings
    # Forced decoding: a given first motion is spliced into the trace and the model decodes on from it, so the
    # answer holds a motion whatever the untrained model writes, and it decodes through the bundle's VQ.
    forced = reasoner.robustness(["a person walks forward"], [given], opts, max_rounds=2)[0]
    assert forced.first_motion == given and forced.trace.rounds[0].motion == given
    assert motion_to_string(given) + "[/generate]" in forced.text
    motion = reasoner.decode(forced.final_motion)
    assert motion.shape == (4 * len(forced.final_motion), 263) and np.isfinite(motion).all()
    # the manifest records the engine's assessment wording, which the rule verdict writes in
    assert bundle.assessment_style == "compare"
    import pytest
    with pytest.raises(ValueError, match="describe every judged slot"):  # compare assessments have no check list
        Reasoner(bundle.llm, bundle.vq, bundle.assessment_style, verdict="rule")

    logged = []
    from irgmotion.pipeline import run_pipeline
    run_pipeline("smoke", out, log=logged.append)
    assert sum("done already" in line for line in logged) == 7
