"""The inference paths: the plumbing (budgets, caps, parsing, decoding) on an untrained tiny model, and what
they produce (motions of plausible length, the rounds the trace says it made) on the trained embedded bundle,
decoded greedily."""
import numpy as np
import pytest
import torch

from irgmotion.llm.model import MotionLLM, get_preset
from irgmotion.llm.templates import TEMPLATES
from irgmotion.llm.templates import NO_REFINEMENT
from irgmotion.llm.vocab import motion_to_string
from irgmotion.motion import Normalizer
from irgmotion.reason.bundle import EMBEDDED, load_bundle
from irgmotion.reason.decoding import DecodeOptions
from irgmotion.reason.pipeline import PromptInputError, Reasoner
from irgmotion.tokenizer import MotionTokenizer, MotionVQVAE, get_preset as vq_preset

K = 16


@pytest.fixture(scope="module")
def reasoner():
    torch.manual_seed(0)
    vq = MotionVQVAE(vq_preset("tiny", nb_code=K, code_dim=8, width=8, depth=1))
    vq.train()
    vq(torch.randn(2, 16, 263))
    texts = [t for v in TEMPLATES.values() for t in v] * 3
    llm = MotionLLM.create(get_preset("tiny", hidden_size=32, num_layers=1, num_heads=2, intermediate_size=64,
                                      text_vocab_size=300), K, texts)
    # Bias the untrained model towards motion tokens so that spans appear.
    with torch.no_grad():
        llm.model.lm_head.weight[llm.code_offset:llm.code_offset + K] += 0.5
    return Reasoner(llm, MotionTokenizer(vq, Normalizer(np.zeros(263), np.ones(263))))


@pytest.fixture(scope="module")
def trained():
    """The embedded (trained) bundle with the model's own verdict and the last motion as the answer."""
    if not (EMBEDDED / "manifest.json").is_file():
        pytest.skip("no embedded bundle")
    bundle = load_bundle()
    return Reasoner(bundle.llm, bundle.vq)


def _plausible(reasoner, motion) -> None:
    """A motion of 20 to 196 frames, in the codebook, that decodes to finite features."""
    assert motion is not None
    assert 5 <= len(motion) <= reasoner.max_motion_tokens == 49
    assert all(0 <= i < reasoner.llm.codebook_size for i in motion)
    feats = reasoner.decode(motion)
    assert feats.shape == (4 * len(motion), 263) and np.isfinite(feats).all()


def test_interleaved_respects_token_budget(reasoner):
    out = reasoner.interleaved(["a person walks", "someone jumps twice"], DecodeOptions(max_new_tokens=12))
    assert len(out) == 2
    for r in out:
        assert len(reasoner.llm.tokenizer(r.text, add_special_tokens=False)["input_ids"]) <= 12
        assert r.warnings  # a 12-token trace cannot be complete: the parser says so


def test_sampling_is_seeded(reasoner):
    opts = DecodeOptions(max_new_tokens=10, do_sample=True, seed=7)
    a = reasoner.interleaved(["a person walks"], opts)[0].text
    b = reasoner.interleaved(["a person walks"], opts)[0].text
    assert a == b


def test_direct_and_composed_produce_motions(trained):
    goals = ["a person walks forward", "a person jumps twice"]
    direct = trained.direct(goals, DecodeOptions(max_new_tokens=64))
    for r in direct:
        _plausible(trained, r.final_motion)
        assert r.mode == "direct" and r.warnings == [] and r.trace.n_generations == 1
        assert r.text == motion_to_string(r.final_motion)  # one clean span, nothing after </Motion>
    assert direct[0].final_motion != direct[1].final_motion  # the motion follows the text
    again = trained.direct(goals[:1], DecodeOptions(max_new_tokens=64))[0]
    assert again.final_motion == direct[0].final_motion  # greedy decoding is deterministic

    composed = trained.composed(goals[:1], DecodeOptions(max_new_tokens=64), max_rounds=1)[0]
    rounds = composed.trace.rounds
    assert composed.mode == "composed" and 1 <= len(rounds) <= 2
    assert rounds[0].motion == direct[0].final_motion  # composed starts from the direct motion
    for r in rounds:
        _plausible(trained, r.motion)
    assert composed.final_motion == rounds[-1].motion and composed.trace.n_generations == len(rounds)
    if len(rounds) == 2:  # an instruction was given and followed by a refined motion
        assert rounds[0].refinement and not rounds[0].satisfied and rounds[1].refinement == ""
    else:  # the model judged the first motion fine, or its refinement held no motion
        assert rounds[0].refinement == NO_REFINEMENT or composed.warnings


def test_interleaved_on_the_trained_bundle_finishes_with_a_motion(trained):
    goals = ["a person walks forward", "a person jumps twice"]
    out = trained.interleaved(goals, DecodeOptions(max_new_tokens=900), max_rounds=2)
    for r in out:
        trace = r.trace
        assert r.warnings == [] and trace.finished, r.warnings  # a complete trace within the budget
        assert 1 <= trace.n_generations <= 2
        # every round the text holds made a motion, and the trace counts exactly those
        assert trace.n_generations == len(trace.rounds) == r.text.count("</Motion>") == r.text.count("[generate]")
        for k, round_ in enumerate(trace.rounds):
            _plausible(trained, round_.motion)
            assert round_.assessment and round_.satisfied == (k == len(trace.rounds) - 1)
        assert r.answer_motion == r.final_motion == trace.rounds[-1].motion
    # the cap: decoding stops after the max_rounds-th motion, and the result says so
    capped = trained.interleaved(goals[:1], DecodeOptions(max_new_tokens=900), max_rounds=1)[0]
    assert capped.trace.n_generations == 1 and not capped.trace.finished
    _plausible(trained, capped.final_motion)
    assert "stopped at the cap of 1 generations" in capped.warnings


def test_robustness_splices_the_given_first_motion(reasoner, trained):
    # plumbing: the untrained model's trace holds the given motion as its first round, whatever follows
    r = reasoner.robustness(["a person walks"], [[1, 2, 3, 4]], DecodeOptions(max_new_tokens=10), max_rounds=3)[0]
    assert r.first_motion == [1, 2, 3, 4] and r.trace.rounds[0].motion == [1, 2, 3, 4] and r.mode == "robustness"
    # the trained model judges a random first motion wrong and generates one refinement (the cap of 2 motions)
    random_motion = [5, 9, 200, 31, 7, 7, 100, 12]
    r = trained.robustness(["a person walks forward"], [random_motion], DecodeOptions(max_new_tokens=700),
                           max_rounds=2)[0]
    first, second = r.trace.rounds
    assert first.motion == random_motion == r.first_motion
    assert first.assessment and first.refinement and not first.satisfied
    _plausible(trained, second.motion)
    assert second.motion != random_motion and r.final_motion == second.motion
    assert r.trace.n_generations == 2 == r.text.count("</Motion>")
    assert not r.trace.finished  # stopped right after the capped motion


@pytest.mark.parametrize("goal, match", [("", "empty"), ("   ", "empty"), (123, "text"), ("x" * 3000, "characters")])
def test_bad_goals_rejected(reasoner, goal, match):
    with pytest.raises(PromptInputError, match=match):
        reasoner.interleaved([goal])


def test_runaway_motion_span_stop_criterion():
    """A sequence whose open motion span passes the cap is stopped; closed spans are not."""
    from irgmotion.reason.generate_reference import RunawayMotionStop
    stop = RunawayMotionStop(start_id=1, end_id=2, limit=3, prompt_width=2)
    ids = torch.tensor([[9, 9, 1, 5, 5, 5, 5],    # open span of 4 codes > 3: stop
                        [9, 9, 1, 5, 5, 2, 5],    # span closed: go on
                        [9, 9, 1, 5, 5, 5, 0],    # open span of 4 tokens counted after <Motion>: stop
                        [9, 9, 7, 7, 7, 7, 7]])   # no span: go on
    assert stop(ids, None).tolist() == [True, False, True, False]
    # only the last span counts: a closed first span, then an open one that runs past the cap
    two = torch.tensor([[9, 9, 1, 5, 2, 1, 5, 5, 5, 5], [9, 9, 1, 5, 5, 5, 5, 2, 1, 5]])
    assert stop(two, None).tolist() == [True, False]


def test_beam_search_reaches_generate_and_returns_one_text_per_prompt(reasoner, monkeypatch):
    seen = []
    original = reasoner.llm.model.generate

    def spy(*args, **kwargs):
        seen.append(kwargs.get("num_beams", 1))
        return original(*args, **kwargs)

    monkeypatch.setattr(reasoner.llm.model, "generate", spy)
    goals = ["a person walks", "someone jumps twice", "a man waves"]
    said = reasoner.assess(goals, [[1, 2, 3]] * 3, DecodeOptions(max_new_tokens=6, num_beams=3, batch_size=2))
    assert len(said) == 3 and all(isinstance(s, str) for s in said)
    assert seen == [3, 3]  # two batches, both beam-searched
    reasoner.assess(goals[:1], [[1, 2, 3]], DecodeOptions(max_new_tokens=6))
    assert seen == [3, 3]  # greedy decodes in the batched decoder, not through generate


def test_bench_stage1_rejects_zero_beams(capsys):
    from irgmotion.cli import main
    assert main(["bench-stage1", "--llm", "x", "--vq", "x", "--data", "x", "--engine-test", "x",
                 "--evaluator", "x", "--beams", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: irgmotion bench-stage1: argument --beams: must be at least 1, got 0"]
