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
    align = rewards.alignment(prompts, completions, goal=["a b c"] * 4)
    assert len(align) == 4 and all(np.isfinite(align))


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
