"""Stage-3 rewards on hand-made traces, group normalisation, and a GRPO step whose
reference model keeps its own weights while the policy moves."""
import numpy as np
import pytest
import torch

from irgmotion.llm.trace import Round, trace_text
from irgmotion.motion import Normalizer
from irgmotion.tokenizer import MotionTokenizer, MotionVQVAE, get_preset as vq_preset
from irgmotion.train.rewards import MotionRewards, format_reward, group_minmax

K = 16


class StubEvaluator:
    """Embeds a motion by its mean features and a text by a fixed vector per word count."""

    def embed_motions(self, motions):
        return np.stack([np.asarray(m, np.float32)[:, :4].mean(0) for m in motions])

    def embed_texts(self, captions, tokens=None):
        return np.stack([np.full(4, float(len(c.split())), np.float32) for c in captions])


@pytest.fixture(scope="module")
def vq():
    torch.manual_seed(0)
    model = MotionVQVAE(vq_preset("tiny", nb_code=K, code_dim=8, width=8, depth=1))
    model.train()
    model(torch.randn(4, 32, 263))
    return MotionTokenizer(model, Normalizer(np.zeros(263), np.ones(263)))


def _trace(motions):
    rounds = [Round(m, "so-so", "move more") for m in motions[:-1]] + [Round(motions[-1], "good", "No refinements needed.")]
    return trace_text("an analysis", rounds)


def test_format_reward():
    good = _trace([[1, 2, 3], [4, 5]])
    assert format_reward(good, K) == 1.0
    assert format_reward(good.replace("</think>", ""), K) == 0.0  # cut trace
    assert format_reward(good.replace("<Motion_4><Motion_5>", ""), K) == 0.0  # empty motion
    assert format_reward("<think>[plan]x[/plan][analyze]a[/analyze][plan]y[/plan]</think>", K) == 0.0  # zero rounds
    assert format_reward(good.replace("<Motion_4>", "<Motion_99>"), K) == 0.0  # outside the codebook
    assert format_reward("", K) == 0.0


def test_group_minmax():
    out = group_minmax([1.0, 3.0, 2.0, 10.0, 10.0, 12.0], ["a", "a", "a", "b", "b", "b"])
    assert out[0] == pytest.approx(0.0) and out[1] == pytest.approx(2 / 2.0001, rel=1e-4)
    assert out[3] == pytest.approx(0.0) and out[5] == pytest.approx(2 / 2.0001, rel=1e-4)


def test_perfect_motion_gets_the_best_rewards_in_its_group(vq):
    gt_ids = [3, 7, 7, 1, 9, 2]
    gt = vq.decode([gt_ids])[0]
    rewards = MotionRewards(vq, StubEvaluator(), {"m1": gt}, group_norm=False)
    completions = [_trace([[5, 5], gt_ids]), _trace([[0, 1, 2, 3]]), _trace([[15, 15, 15]]), "garbage without a motion"]
    prompts = ["p"] * 4
    fid = rewards.fidelity(prompts, completions, motion_id=["m1"] * 4)
    assert int(np.argmax(fid)) == 0 and fid[0] == pytest.approx(0.0, abs=1e-5)
    fmt = rewards.format(prompts, completions)
    assert fmt == [1.0, 1.0, 1.0, 0.0]
    normed = MotionRewards(vq, StubEvaluator(), {"m1": gt}, group_norm=True).fidelity(prompts, completions,
                                                                                      motion_id=["m1"] * 4)
    assert max(normed) == pytest.approx(1.0, abs=1e-3) and min(normed) == pytest.approx(0.0)


class KeyedEvaluator:
    """Embeds a motion by its length in tokens and its mean first four features (the untrained VQ decodes every
    id to nearly the same frame, so the length is what tells motions apart), and a caption by the embedding of
    the motion it names: a caption then matches its own motion exactly (distance 0)."""

    def __init__(self, vq, named: dict[str, list[int]]):
        self.text = {c: self.embed_motions(vq.decode([ids]))[0] for c, ids in named.items()}

    def embed_motions(self, motions):
        return np.stack([np.append(np.asarray(m, np.float32)[:, :4].mean(0), len(m) / 4) for m in motions])

    def embed_texts(self, captions, tokens=None):
        return np.stack([self.text[c] for c in captions])


WALK, JUMP = [3, 7, 7, 1], [12, 0, 12, 0, 5]


def test_alignment_and_fidelity_reward_the_final_motion_against_their_own_targets(vq):
    evaluator = KeyedEvaluator(vq, {"walk": WALK, "jump": JUMP})
    walk, jump = evaluator.text["walk"], evaluator.text["jump"]
    apart = float(np.linalg.norm(walk - jump))
    assert apart > 0.5  # the two motions are told apart, else the orderings below prove nothing
    rewards = MotionRewards(vq, evaluator, {"m_walk": vq.decode([WALK])[0], "m_jump": vq.decode([JUMP])[0]})
    # final motions: walk (refined from a jump), jump (refined from a walk), walk, none (a zero motion)
    completions = [_trace([JUMP, WALK]), _trace([WALK, JUMP]), _trace([WALK]), "garbage without a motion"]
    finals = rewards.final_motions(completions)
    assert [len(m) for m in finals] == [4 * len(WALK), 4 * len(JUMP), 4 * len(WALK), 196]
    assert not finals[3].any() and finals[3].shape == (196, vq.config.input_dim)
    prompts = ["p"] * 4
    none = evaluator.embed_motions([np.zeros((196, vq.config.input_dim), np.float32)])[0]
    to_none = {"walk": float(np.linalg.norm(walk - none)), "jump": float(np.linalg.norm(jump - none))}

    align = rewards.alignment(prompts, completions, goal=["walk"] * 4)
    assert align == pytest.approx([0.0, -apart, 0.0, -to_none["walk"]], abs=1e-5)
    assert align[0] > align[1] and align[0] > align[3]  # the motion matching the text scores higher
    # the same completions against the other text: the order turns round
    align = rewards.alignment(prompts, completions, goal=["jump"] * 4)
    assert align == pytest.approx([-apart, 0.0, -apart, -to_none["jump"]], abs=1e-5)
    # fidelity compares with each row's ground truth, not with the text
    fid = rewards.fidelity(prompts, completions, motion_id=["m_jump", "m_jump", "m_walk", "m_walk"])
    assert fid == pytest.approx([-apart, 0.0, 0.0, -to_none["walk"]], abs=1e-5)
    # the embedding shared by both rewards follows the batch: new completions are not scored with the old motions
    fid = rewards.fidelity(prompts, completions[::-1], motion_id=["m_walk"] * 4)
    assert fid == pytest.approx([-to_none["walk"], 0.0, -apart, 0.0], abs=1e-5)

    # group normalisation: (r - min) / (max - min + 1e-4) within the rows of one prompt
    def minmax(*raw):
        return [(r - min(raw)) / (max(raw) - min(raw) + 1e-4) for r in raw]

    normed = MotionRewards(vq, evaluator, rewards.gt, group_norm=True)
    groups = ["p", "p", "q", "q"]
    got = normed.alignment(groups, completions, goal=["walk"] * 4)
    assert got == pytest.approx(minmax(0.0, -apart) + minmax(0.0, -to_none["walk"]), abs=1e-5)
    assert got[0] == pytest.approx(1.0, abs=1e-3) and got[2] == pytest.approx(1.0, abs=1e-3)
    got = normed.fidelity(groups, completions, motion_id=["m_jump"] * 4)
    assert got == pytest.approx(minmax(-apart, 0.0) + minmax(-apart, -to_none["jump"]), abs=1e-5)


def test_rewards_read_a_runaway_motion_as_inference_does(vq):
    """A completion cut inside its motion span is rewarded for the motion inference would return: cut to
    196 frames' worth of tokens, like Reasoner.max_motion_tokens."""
    cap = 196 // vq.unit_length
    codes = [(3 * i) % K for i in range(cap + 11)]
    runaway = _trace([[1, 2]]).split("[generate]")[0] + "[generate]<Motion>" + "".join(f"<Motion_{i}>" for i in codes)
    rewards = MotionRewards(vq, StubEvaluator(), {})
    final = rewards.final_motions([runaway])[0]
    assert final.shape == (196, vq.config.input_dim)
    np.testing.assert_allclose(final, vq.decode([codes[:cap]])[0], atol=1e-5)
    assert rewards.format(["p"], [runaway]) == [0.0]


def test_grpo_step_keeps_reference_weights(vq, tmp_path):
    pytest.importorskip("trl")
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    from irgmotion.llm.model import MotionLLM, get_preset
    from irgmotion.llm.templates import TEMPLATES
    texts = [t for v in TEMPLATES.values() for t in v] * 3
    llm = MotionLLM.create(get_preset("tiny", hidden_size=32, num_layers=1, num_heads=2, intermediate_size=64,
                                      text_vocab_size=300), K, texts)
    llm.save_pretrained(tmp_path / "stage2")
    llm = MotionLLM.from_pretrained(tmp_path / "stage2")
    before = {k: v.clone() for k, v in llm.model.state_dict().items()}
    rewards = MotionRewards(vq, StubEvaluator(), {"m1": vq.decode([[1, 2, 3]])[0]}, group_norm=True)
    data = Dataset.from_list([{"prompt": llm.prompt("walk"), "goal": "a person walks", "motion_id": "m1"}] * 4)
    config = GRPOConfig(output_dir=str(tmp_path / "out"), max_steps=1, learning_rate=1e-2, per_device_train_batch_size=4,
                        num_generations=4, max_completion_length=12, beta=0.01, loss_type="grpo", report_to=[],
                        use_cpu=True, logging_steps=1, save_strategy="no", temperature=1.0, top_k=50)
    def length(prompts, completions, **kw):  # an untrained model's traces all score alike; this separates them
        return [float(len(c)) for c in completions]

    trainer = GRPOTrainer(model=llm.model, reward_funcs=rewards.functions() + [length], args=config,
                          train_dataset=data, processing_class=llm.tokenizer)
    ref_before = {k: v.clone() for k, v in trainer.ref_model.state_dict().items()}
    trainer.train()
    moved = any(not torch.equal(before[k], v) for k, v in trainer.model.state_dict().items())
    assert moved, "the policy did not change"
    for k, v in trainer.ref_model.state_dict().items():
        assert torch.equal(ref_before[k], v), f"reference weight {k} changed"
    # The reference's own weights are the stage-2 weights from disk, not the policy's.
    for k, v in trainer.ref_model.state_dict().items():
        if k in before:
            assert torch.equal(before[k], v)
