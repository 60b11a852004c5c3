"""The batched decoder (reason/decoding.py): greedy outputs equal transformers' `generate` and the traces the
pass-by-pass rule loop wrote before it (tests/fixtures/decoding), at any batch size; the rule's words enter the
context exactly as their re-tokenized text would; sampling is seeded; the cache grows, admits and packs rows."""
import hashlib
import json
from pathlib import Path

import pytest
import torch

from irgmotion.llm.templates import STAGE2_TEMPLATE
from irgmotion.reason.bundle import EMBEDDED, load_bundle
from irgmotion.reason.decoding import DecodeOptions, StopRules, decode_segments, generate_texts

FIXTURE = Path(__file__).parent / "fixtures" / "decoding" / "reference_traces.json"


@pytest.fixture(scope="module")
def bundle():
    if not (EMBEDDED / "manifest.json").is_file():
        pytest.skip("no embedded bundle")
    torch.set_num_threads(2)
    return load_bundle()


@pytest.fixture(scope="module")
def reference(bundle):
    """Traces of the decoding before the batched decoder, for the bundle they were made with."""
    ref = json.loads(FIXTURE.read_text())
    digest = hashlib.sha256((bundle.root / "llm" / "model.safetensors").read_bytes()).hexdigest()
    assert ref["llm_sha256"] == digest, (
        "the embedded LLM changed since tests/fixtures/decoding/reference_traces.json was written: regenerate it "
        "with benchmarks/decoding_reference.py run at the commit before the change (see its docstring)")
    return ref


@pytest.mark.parametrize("batch", [1, 8])
def test_rule_verdict_traces_equal_the_pass_by_pass_loop(bundle, reference, batch):
    from irgmotion.reason.pipeline import Reasoner
    # as before the batched decoder: a runaway motion span ends the trace
    reasoner = Reasoner(bundle.llm, bundle.vq, bundle.assessment_style, verdict="rule", select="best",
                        close_runaway=False)
    got = reasoner.interleaved(reference["goals"], DecodeOptions(max_new_tokens=1400, batch_size=batch))
    assert [r.text for r in got] == reference["rule"]


def test_model_verdict_traces_and_direct_generation_equal_the_reference(bundle, reference):
    opts = DecodeOptions(max_new_tokens=1400, batch_size=3)  # 8 goals: rows join as others end
    got = bundle.reasoner(verdict="model").interleaved(reference["goals"], opts)
    assert [r.text for r in got] == reference["model"]
    direct = bundle.reasoner().direct(reference["goals"], DecodeOptions(max_new_tokens=64, batch_size=5))
    assert [r.text for r in direct] == reference["direct"]


def test_greedy_equals_transformers_generate(bundle):
    """Live, on any bundle: stage-2 traces cut at 2 motions, several batch sizes against generate at batch 1."""
    r = bundle.reasoner(verdict="model")
    goals = ["a person jumps twice", "someone walks forward four steps and waves with the left hand",
             "a man squats three times", "a person turns around to the right, then bows"]
    prompts = [bundle.llm.prompt(r._user(STAGE2_TEMPLATE, Goal_Caption=g)) for g in goals]
    stop = {"stop_after_token": (bundle.llm.motion_end_id, 2), "max_motion_tokens": r.max_motion_tokens,
            "stop_strings": ["[/assess]"]}
    want = generate_texts(bundle.llm, prompts, DecodeOptions(max_new_tokens=300, batch_size=1), engine="generate",
                          **stop)
    for batch in (1, 3, 4):
        assert generate_texts(bundle.llm, prompts, DecodeOptions(max_new_tokens=300, batch_size=batch), **stop) == want


class _Rewriter:
    """Two segments per row: after the first, the row's text is cut to half and a fixed phrase appended (the
    cache must drop the cut tokens and take the phrase's); the second segment's text is kept."""

    def __init__(self, n):
        self.part, self.first, self.second = [0] * n, [""] * n, [""] * n

    def limit(self, i):
        self.part[i] += 1
        return 12 if self.part[i] <= 2 else None

    def after(self, i, text):
        if self.part[i] == 1:
            self.first[i] = text[: len(text) // 2] + " The motion shows: walk forward"
            return self.first[i]
        self.second[i] = text
        return None


def test_replaced_text_reaches_the_model_as_its_tokens(bundle):
    """What the model writes after a rewrite equals what generate writes from prompt + rewritten text."""
    r = bundle.reasoner()
    goals = ["a person jumps twice", "someone waves with the right hand", "a person kicks with the left leg"]
    prompts = [bundle.llm.prompt(r._user(STAGE2_TEMPLATE, Goal_Caption=g)) for g in goals]
    ctl = _Rewriter(len(goals))
    decode_segments(bundle.llm, prompts, [""] * len(goals), DecodeOptions(batch_size=2), StopRules(), ctl)
    want = generate_texts(bundle.llm, [p + f for p, f in zip(prompts, ctl.first)],
                          DecodeOptions(max_new_tokens=12, batch_size=1), engine="generate")
    assert ctl.second == want


def test_forced_text_through_transformers_class_equals_the_inference_forward(bundle):
    """The forced rows' forward of their own takes a copy of their cache rows when the model is transformers' class
    (it asks its cache more than the inference-only Llama): same continuations as the inference-only forward."""
    from irgmotion.llm.model import MotionLLM
    slow = MotionLLM.from_pretrained(bundle.root / "llm", fast=False)
    assert not isinstance(slow.model, type(bundle.llm.model))
    r = bundle.reasoner()
    goals = ["a person jumps twice", "someone waves with the right hand", "a person kicks with the left leg"]
    prompts = [bundle.llm.prompt(r._user(STAGE2_TEMPLATE, Goal_Caption=g)) for g in goals]
    got = {}
    for name, llm in (("fast", bundle.llm), ("slow", slow)):
        ctl = _Rewriter(len(goals))
        decode_segments(llm, prompts, [""] * len(goals), DecodeOptions(batch_size=2), StopRules(), ctl)
        got[name] = (ctl.first, ctl.second)
    assert got["slow"] == got["fast"]


def test_sampling_is_seeded_and_stops_at_the_cap(bundle):
    r = bundle.reasoner()
    prompts = [bundle.llm.prompt(r._user("<Text2Motion_Template>", Goal_Caption="a person jumps twice"))] * 4
    opts = DecodeOptions(max_new_tokens=20, do_sample=True, temperature=0.9, top_k=20, top_p=0.95, seed=3,
                         batch_size=4)
    a = generate_texts(bundle.llm, prompts, opts)
    assert a == generate_texts(bundle.llm, prompts, opts)
    assert len(set(a)) > 1  # rows draw apart
    assert all(len(bundle.llm.tokenizer(t, add_special_tokens=False)["input_ids"]) <= 20 for t in a)


def test_growing_cache_places_and_packs_rows():
    from transformers import LlamaConfig, LlamaForCausalLM

    from irgmotion.reason.kv_cache import growing_cache
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=50, hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                                         num_attention_heads=2, num_key_value_heads=2)).eval()
    cache = growing_cache(model)
    ids = torch.randint(0, 50, (2, 5))
    with torch.no_grad():
        model(input_ids=ids, cache=cache, use_cache=True)
    layer = cache.layers[0]
    before = layer.keys.clone()
    layer.extend(3)
    assert layer.keys.shape[2] == 8 and torch.equal(layer.keys[:, :, :5], before)
    layer.place(1, 5, before[0, :, :3], before[0, :, :3].clone())
    assert torch.equal(layer.keys[1, :, 5:], before[0, :, :3])
    layer.gather(torch.tensor([[0, 1, 2], [5, 6, 7]]))
    assert torch.equal(layer.keys[0], before[0, :, :3]) and torch.equal(layer.keys[1], before[0, :, :3])
    layer.batch_select_indices(torch.tensor([1]))
    assert layer.keys.shape[:3] == (1, 2, 3) and layer.get_seq_length() == 3


def test_cache_rows_read_some_rows_and_entries_fill_empty_columns():
    """A forward of some rows reads their keys in place with the new ones after them (CacheRows); the new entries can
    go into any columns of the shared cache (place_columns), in the order given."""
    from irgmotion.reason.kv_cache import CacheRows, GrowingCache
    cache = GrowingCache(1)
    keys = torch.arange(3 * 2 * 4 * 2, dtype=torch.float).reshape(3, 2, 4, 2)
    cache.update(keys, -keys, 0)
    view = CacheRows(cache, torch.tensor([2, 0]))
    new = torch.full((2, 2, 1, 2), 7.0)
    k, v = view.update(new, -new, 0)
    assert k.shape == (2, 2, 5, 2) and torch.equal(k[0, :, :4], keys[2]) and torch.equal(v[1, :, 4:], -new[1])
    assert view.get_seq_length() == 4 and torch.equal(view.new[0][0], new)
    cache.layers[0].place_columns(1, torch.tensor([3, 0]), view.new[0][0][0].expand(2, 2, 2), -new[0].expand(2, 2, 2))
    assert torch.equal(cache.layers[0].keys[1, :, [0, 3]], torch.full((2, 2, 2), 7.0))
    assert torch.equal(cache.layers[0].keys[1, :, 1:3], keys[1, :, 1:3])  # the other columns untouched


def test_the_grammar_words_enter_in_few_forwards(bundle, monkeypatch):
    """Under the rule verdict the plan sentences and the rule's words are forced text: one row feeds them in a few
    forwards, so a trace takes far fewer forwards than it has tokens (the model writes well under two thirds)."""
    from irgmotion.reason import decoding
    calls = []
    forward = decoding._BatchDecoder._forward
    monkeypatch.setattr(decoding._BatchDecoder, "_forward", lambda self, *a, **k: calls.append(1) or forward(self, *a, **k))
    r = bundle.reasoner(verdict="rule")
    got = r.interleaved(["a person jumps twice"], DecodeOptions(max_new_tokens=1400, batch_size=1), max_rounds=2)[0]
    tokens = len(bundle.llm.tokenizer(got.text, add_special_tokens=False)["input_ids"])
    assert got.trace.rounds and "[plan]" in got.text
    assert len(calls) < 0.65 * tokens, (len(calls), tokens)
