"""The transformers-free text tokenizer (irgmotion/llm/inference_tokenizer.py) against transformers'
PreTrainedTokenizerFast on the embedded bundle: the same ids, texts and special tokens; the same generated trace with
either; and a whole `generate` that imports no transformers."""
import json
import shutil
import subprocess
import sys
from functools import cache

import pytest
from hypothesis import given
from hypothesis import strategies as st

from irgmotion.llm.inference_tokenizer import InferenceTokenizer
from irgmotion.llm.vocab import motion_to_string
from irgmotion.reason.bundle import EMBEDDED

LLM = EMBEDDED / "llm"
FIXTURE = EMBEDDED.parents[2] / "tests" / "fixtures" / "decoding" / "reference_traces.json"
pytestmark = pytest.mark.skipif(not (LLM / "tokenizer.json").is_file(), reason="embedded bundle absent")

TEXTS = [
    "", " ", "a person jumps twice", "  two  spaces and a trailing one ", "Someone WALKS forward, then waves!",
    ("The goal asks for: jump in place twice. The motion shows: jump in place once. Check: jump in place twice | "
     "shown: jump in place once | done, but the jump happens once instead of twice. Alignment is close."),
    "[assess]Alignment is good.[/assess]\n[plan]I need to refine.[/plan]", "Please jump twice.\n\n Response:",
    "<Motion><Motion_3></Motion>", "<Motion_0><Motion_255>x<Motion_12 >", "<motion_id_3> <Motion_9999>",
    "<bos>system\n\nUser: hi\n\n Response:ok<eos>", "<pad><unk><eos><bos>", "<eos>text<eos>", "<Motion>",
    "café naïve résumé", "人が二回ジャンプする", "emoji 🤸‍♀️ and ZWJ", "tab\tnew\nline\r\n", "\u00a0non-breaking",
    "x" * 300, "1,234.5 m/s -> 90° turn", "don't can't it's", "  leading", "trailing  ",
]


@cache
def _pair():
    from transformers import PreTrainedTokenizerFast
    return InferenceTokenizer.from_pretrained(LLM), PreTrainedTokenizerFast.from_pretrained(str(LLM))


def _texts():
    traces = json.loads(FIXTURE.read_text()) if FIXTURE.is_file() else {}
    return TEXTS + traces.get("goals", []) + traces.get("rule", []) + traces.get("model", []) + \
        traces.get("direct", []) + [motion_to_string(list(range(k, k + 7))) for k in range(0, 250, 37)]


def test_special_tokens_and_ids_equal():
    ours, theirs = _pair()
    for name in ("bos_token", "eos_token", "unk_token", "pad_token"):
        assert getattr(ours, name) == getattr(theirs, name)
        assert getattr(ours, name + "_id") == getattr(theirs, name + "_id")
    tokens = ["<Motion>", "</Motion>", "<Motion_0>", "<Motion_255>", "<eos>", "Ġjump", "no-such-token"]
    assert ours.convert_tokens_to_ids(tokens) == theirs.convert_tokens_to_ids(tokens)
    assert ours.convert_tokens_to_ids("no-such-token") == theirs.convert_tokens_to_ids("no-such-token")


def test_ids_and_texts_equal():
    ours, theirs = _pair()
    texts = _texts()
    for text in texts:
        for special in (False, True):
            want = theirs(text, add_special_tokens=special)
            got = ours(text, add_special_tokens=special)
            assert got["input_ids"] == want["input_ids"] and got["attention_mask"] == want["attention_mask"], text
        ids = want["input_ids"]
        for skip in (False, True):
            assert ours.decode(ids, skip_special_tokens=skip) == theirs.decode(ids, skip_special_tokens=skip), text
    assert ours(texts, add_special_tokens=False)["input_ids"] == theirs(texts, add_special_tokens=False)["input_ids"]
    assert ours.decode(ours.eos_token_id) == theirs.decode(theirs.eos_token_id)


@given(st.text(max_size=60))
def test_any_text_encodes_and_decodes_the_same(text):
    ours, theirs = _pair()
    ids = theirs(text, add_special_tokens=False)["input_ids"]
    assert ours(text, add_special_tokens=False)["input_ids"] == ids
    assert ours.decode(ids, skip_special_tokens=True) == theirs.decode(ids, skip_special_tokens=True)


@given(st.lists(st.integers(0, 1900), max_size=20))
def test_any_ids_decode_the_same(ids):
    ours, theirs = _pair()
    for skip in (False, True):
        assert ours.decode(ids, skip_special_tokens=skip) == theirs.decode(ids, skip_special_tokens=skip)


def test_special_tokens_map_is_read_and_unknown_settings_are_left_to_transformers(tmp_path):
    from transformers import PreTrainedTokenizerFast
    shutil.copy(LLM / "tokenizer.json", tmp_path / "tokenizer.json")
    config = json.loads((LLM / "tokenizer_config.json").read_text())
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({**config, "pad_token": None}))
    (tmp_path / "special_tokens_map.json").write_text(json.dumps({"pad_token": {"content": "<eos>"}}))
    ours, theirs = InferenceTokenizer.from_pretrained(tmp_path), PreTrainedTokenizerFast.from_pretrained(str(tmp_path))
    assert (ours.pad_token, ours.pad_token_id) == (theirs.pad_token, theirs.pad_token_id) == ("<eos>", 2)
    assert InferenceTokenizer.reads(tmp_path)
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({**config, "add_bos_token": True}))
    assert not InferenceTokenizer.reads(tmp_path)  # transformers would rewrite the post-processor


def test_generated_trace_is_the_same_with_either_tokenizer():
    from irgmotion.reason.bundle import load_bundle
    from irgmotion.reason.decoding import DecodeOptions
    bundle = load_bundle()
    assert isinstance(bundle.llm.tokenizer, InferenceTokenizer)
    goals = ["a person jumps twice", "someone walks forward four steps and waves with the left hand",
             "a man squats three times"]
    opts = DecodeOptions(max_new_tokens=700, batch_size=3)
    ours = [r.text for r in bundle.reasoner().interleaved(goals, opts, max_rounds=1)]
    bundle.llm.tokenizer = bundle.llm.transformers_tokenizer()
    assert type(bundle.llm.tokenizer).__name__ != "InferenceTokenizer"
    assert [r.text for r in bundle.reasoner().interleaved(goals, opts, max_rounds=1)] == ours
    assert all("[assess]" in text for text in ours)  # the rule's stop strings were met


def test_generate_imports_no_transformers(tmp_path):
    code = ("import sys; from irgmotion.cli import main; "
            f"rc = main(['generate', 'a person jumps twice', '--out', {str(tmp_path / 'g')!r}, '--max-rounds', '1', "
            "'--no-render']); "
            "print('RESULT', rc, sorted(m for m in sys.modules if m.split('.')[0] == 'transformers'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[-1] == "RESULT 0 []"
    assert (tmp_path / "g" / "trace.json").is_file()
