"""A saved text tokenizer (tokenizer.json) read with `tokenizers` alone, for decoding.

Why: transformers' `PreTrainedTokenizerFast` is a wrapper around the same `tokenizers.Tokenizer`, but importing it
costs a command about a second of start-up. This class offers the part of its API that inference uses (encode one
text or a list, decode, convert tokens to ids, the named special tokens, `backend_tokenizer`), reads the special
tokens from tokenizer_config.json / special_tokens_map.json as transformers does, and gives the same ids and texts
(tests/test_inference_tokenizer.py). It takes only directories whose tokenizer_config.json holds nothing else that
changes what transformers computes (`reads`); training, `generate` and saving use transformers' class
(`MotionLLM.transformers_tokenizer`)."""
from __future__ import annotations

import json
from pathlib import Path

from tokenizers import AddedToken, Tokenizer

NAMED = ("bos_token", "eos_token", "unk_token", "pad_token")
# transformers' classes that load a tokenizer.json as it stands (llm/model.py loads those classes from it too)
TOKENIZER_JSON_CLASSES = {"TokenizersBackend", "PreTrainedTokenizerFast"}
# tokenizer_config.json keys that do not change the ids or texts of the calls this class offers
_INERT = {"backend", "tokenizer_class", "is_local", "local_files_only", "model_max_length", "name_or_path",
          "padding_side", "truncation_side", "model_input_names", "chat_template", *NAMED}


def _config(directory: Path) -> dict:
    path = directory / "tokenizer_config.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _content(value) -> str | None:
    """A special token as saved: a string, or an AddedToken's fields."""
    return value.get("content") if isinstance(value, dict) else value


class InferenceTokenizer:
    def __init__(self, tokenizer: Tokenizer, special: dict):
        self.backend_tokenizer = tokenizer
        # as transformers' first call would: a saved truncation or padding setting is not applied to plain calls
        tokenizer.no_truncation()
        tokenizer.no_padding()
        self.bos_token = self.eos_token = self.unk_token = self.pad_token = None
        added = []
        for name in NAMED:
            value = special.get(name)
            if value is None:
                continue
            setattr(self, name, _content(value))
            fields = {k: v for k, v in value.items() if k not in ("__type", "special")} if isinstance(value, dict) \
                else {"content": value, "normalized": False}
            added.append(AddedToken(**fields, special=True))
        tokenizer.add_special_tokens(added)  # as transformers: named special tokens exist and are special

    @staticmethod
    def reads(directory: str | Path) -> bool:
        """Whether this class gives exactly what transformers' tokenizer would for `directory`."""
        directory = Path(directory)
        config = _config(directory)
        return ((directory / "tokenizer.json").is_file() and config.get("tokenizer_class") in TOKENIZER_JSON_CLASSES
                and all(key in _INERT or (key == "clean_up_tokenization_spaces" and value is False)
                        for key, value in config.items()))

    @classmethod
    def from_pretrained(cls, directory: str | Path) -> InferenceTokenizer:
        directory = Path(directory)
        if not cls.reads(directory):
            raise ValueError(f"{directory}: a tokenizer this class cannot read exactly; use transformers' class")
        special = _config(directory)
        extra = directory / "special_tokens_map.json"
        if extra.is_file():  # transformers lets it override the config
            special.update(json.loads(extra.read_text(encoding="utf-8")))
        return cls(Tokenizer.from_file(str(directory / "tokenizer.json")), special)

    def _id(self, token: str | None) -> int | None:
        return None if token is None else self.backend_tokenizer.token_to_id(token)

    @property
    def bos_token_id(self) -> int | None:
        return self._id(self.bos_token)

    @property
    def eos_token_id(self) -> int | None:
        return self._id(self.eos_token)

    @property
    def unk_token_id(self) -> int | None:
        return self._id(self.unk_token)

    @property
    def pad_token_id(self) -> int | None:
        return self._id(self.pad_token)

    def __call__(self, text: str | list[str], add_special_tokens: bool = True) -> dict:
        """{"input_ids", "attention_mask"}: lists of ids, or one list per text for a list of texts (no padding)."""
        if isinstance(text, str):
            ids = self.backend_tokenizer.encode(text, add_special_tokens=add_special_tokens).ids
            return {"input_ids": ids, "attention_mask": [1] * len(ids)}
        ids = [e.ids for e in self.backend_tokenizer.encode_batch(list(text), add_special_tokens=add_special_tokens)]
        return {"input_ids": ids, "attention_mask": [[1] * len(row) for row in ids]}

    def decode(self, ids, skip_special_tokens: bool = False) -> str:
        ids = ids.tolist() if hasattr(ids, "tolist") else ids
        return self.backend_tokenizer.decode([ids] if isinstance(ids, int) else list(ids),
                                             skip_special_tokens=skip_special_tokens)

    def convert_tokens_to_ids(self, tokens: str | list[str]) -> int | None | list[int | None]:
        """Unknown tokens give the unk token's id, as in transformers."""
        if isinstance(tokens, str):
            found = self.backend_tokenizer.token_to_id(tokens)
            return self.unk_token_id if found is None else found
        return [self.convert_tokens_to_ids(t) for t in tokens]
