"""The native stop-string rule (irgmotion/reason/stop_strings.py) says what transformers' StopStringCriteria says, at
every token of many sequences: the decoder's own stop strings, tokenized whole and split at every character, matches
that overhang a token, multi-byte characters split across tokens, special and motion tokens."""
import random

import pytest

from irgmotion.reason.bundle import EMBEDDED
from irgmotion.reason.stop_strings import StopStrings

LLM = EMBEDDED / "llm"
pytestmark = pytest.mark.skipif(not (LLM / "tokenizer.json").is_file(), reason="embedded bundle absent")
STOPS = ["Check:", "[/assess]", "Alignment is", "é!", "<eos>x"]


def _sequences(tok):
    """Token sequences whose texts contain the stop strings in many tokenizations, and random ones."""
    def enc(text):
        return tok(text, add_special_tokens=False)["input_ids"]

    seqs = []
    for stop in STOPS:
        for cut in range(len(stop) + 1):  # the string split into two separately tokenized pieces
            seqs.append(enc("The motion shows: walk. " + stop[:cut]) + enc(stop[cut:] + " more text"))
            seqs.append(enc("xx" + stop[:cut]) + enc(stop[cut:]) + enc("yy"))
        seqs.append([i for ch in stop for i in enc(ch)] + enc(" tail"))  # a token per character
    seqs.append(enc("caf") + tok.convert_tokens_to_ids(["Ã", "©", "!"]))  # é as its two bytes' tokens
    seqs.append(enc("<Motion><Motion_3><Motion_7></Motion>[/generate] Check: done <eos>x") + enc("café! né!"))
    rng = random.Random(0)
    vocab = tok.backend_tokenizer.get_vocab_size()
    seqs += [[rng.randrange(vocab) for _ in range(30)] for _ in range(40)]
    return seqs


def test_native_rule_equals_stop_string_criteria():
    import torch
    from transformers import PreTrainedTokenizerFast, StopStringCriteria

    from irgmotion.llm.inference_tokenizer import InferenceTokenizer
    theirs = PreTrainedTokenizerFast.from_pretrained(str(LLM))
    criterion = StopStringCriteria(theirs, STOPS)
    natives = [StopStrings(tok, STOPS) for tok in (theirs, InferenceTokenizer.from_pretrained(LLM))]
    hits = 0
    for seq in _sequences(theirs):
        for end in range(1, len(seq) + 1):
            want = bool(criterion(torch.tensor([seq[:end]]), None)[0])
            hits += want
            for native in natives:
                assert native.ends(seq[:end - 1], seq[end - 1]) == want, (theirs.decode(seq[:end]), want)
    assert hits > 2 * len(STOPS)


def _built(kind: str):
    """Small trained tokenizers of the two other kinds transformers matches differently: a sentencepiece-style BPE
    with byte fallback (as Llama's and Gemma's, matched in bytes) and a WordPiece (matched in characters)."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast
    texts = ["The motion shows: walk forward. Check: done [/assess] Alignment is close.",
             "a person jumps twice, café, naïve", "someone waves with the right hand", "abcdef"] * 20
    if kind == "byte_fallback":
        tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True))
        tok.normalizer = normalizers.Replace(" ", "▁")
        tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse()])
        alphabet = [f"<0x{b:02X}>" for b in range(256)]
        tok.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=400, special_tokens=["<unk>", "<eos>", *alphabet],
                                                           show_progress=False))
    else:
        tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
        tok.pre_tokenizer = pre_tokenizers.Whitespace()
        tok.decoder = decoders.WordPiece()
        tok.train_from_iterator(texts, trainers.WordPieceTrainer(vocab_size=300, special_tokens=["[UNK]", "<eos>"],
                                                                 show_progress=False))
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token=tok.id_to_token(0), eos_token="<eos>")


@pytest.mark.parametrize("kind", ["byte_fallback", "wordpiece"])
def test_native_rule_equals_stop_string_criteria_on_other_decoders(kind):
    import torch
    from transformers import StopStringCriteria
    tok = _built(kind)
    stops = ["Check:", "[/assess]", "é,", "is close"]
    criterion, native = StopStringCriteria(tok, stops), StopStrings(tok, stops)
    assert native.mode == ("byte_fallback" if kind == "byte_fallback" else None)
    rng = random.Random(1)
    seqs = [tok(t, add_special_tokens=False)["input_ids"] for t in
            ["The motion shows: walk forward. Check: done [/assess] Alignment is close.", "café, naïve é,"]]
    seqs += [[rng.randrange(len(tok)) for _ in range(25)] for _ in range(30)]
    hits = 0
    for seq in seqs:
        for end in range(1, len(seq) + 1):
            want = bool(criterion(torch.tensor([seq[:end]]), None)[0])
            hits += want
            assert native.ends(seq[:end - 1], seq[end - 1]) == want, (tok.convert_ids_to_tokens(seq[:end]), want)
    assert hits >= 3
