"""The inference paths run end to end on an untrained tiny model (outputs are random,
the plumbing is what is tested: budgets, caps, parsing, splicing, decoding)."""
import numpy as np
import pytest
import torch

from irgmotion.llm.model import MotionLLM, get_preset
from irgmotion.llm.templates import TEMPLATES
from irgmotion.motion import Normalizer
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


def test_direct_and_composed_produce_motions(reasoner):
    direct = reasoner.direct(["a person walks"], DecodeOptions(max_new_tokens=8))[0]
    assert direct.final_motion is None or all(0 <= i < K for i in direct.final_motion)
    composed = reasoner.composed(["a person walks"], DecodeOptions(max_new_tokens=8), max_rounds=2)[0]
    assert composed.mode == "composed" and len(composed.trace.rounds) <= 3
    if composed.final_motion:
        feats = reasoner.decode(composed.final_motion)
        assert feats.shape == (4 * len(composed.final_motion), 263)


def test_robustness_splices_the_given_first_motion(reasoner):
    random_motion = [1, 2, 3, 4]
    r = reasoner.robustness(["a person walks"], [random_motion], DecodeOptions(max_new_tokens=10), max_rounds=3)[0]
    assert r.first_motion == random_motion
    assert r.trace.n_generations >= 1


@pytest.mark.parametrize("goal, match", [("", "empty"), ("   ", "empty"), (123, "text"), ("x" * 3000, "characters")])
def test_bad_goals_rejected(reasoner, goal, match):
    with pytest.raises(PromptInputError, match=match):
        reasoner.interleaved([goal])


def test_runaway_motion_span_stop_criterion():
    """A sequence whose open motion span passes the cap is stopped; closed spans are not."""
    from irgmotion.reason.decoding import RunawayMotionStop
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
    assert seen[-1] == 1  # greedy stays greedy


def test_bench_stage1_rejects_zero_beams(capsys):
    import argparse
    from irgmotion.bench.stage1 import add_parsers
    parser = argparse.ArgumentParser()
    add_parsers(parser.add_subparsers())
    args = parser.parse_args(["bench-stage1", "--llm", "x", "--vq", "x", "--data", "x", "--engine-test", "x",
                              "--evaluator", "x", "--beams", "0"])
    assert args.func(args) == 2
    assert "--beams must be >= 1" in capsys.readouterr().err
