"""The stop-string rule of transformers' `StopStringCriteria`, without importing transformers (a second of a
command's start-up).

The rule: a sequence stops when a stop string occurs in the text of its tokens and ends inside its last token (the
last token may run past the string's end, the first may start before it), looking only at as many last tokens as the
longest string is long. As transformers does, a byte-level vocabulary is matched in bytes (so a character split
across tokens still matches) and every token, special or not, counts with its own text. Each token's text is worked
out the first time it is seen, not for the whole vocabulary up front. tests/test_stop_strings.py compares the two."""
from __future__ import annotations

import json


def _byte_level_decoder() -> dict[str, int]:
    """GPT-2's printable stand-in character for each byte (as `tokenizers`' ByteLevel), inverted."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    others = [b for b in range(256) if b not in printable]
    chars = printable + [256 + n for n in range(len(others))]
    return {chr(c): b for c, b in zip(chars, printable + others)}


def _has_type(node, name: str) -> bool:
    if isinstance(node, dict):
        return node.get("type") == name or any(_has_type(v, name) for v in node.values())
    return isinstance(node, list) and any(_has_type(v, name) for v in node)


def _matching_mode(decoder) -> str | None:
    """'byte_level', 'byte_fallback' or None (whole characters), as transformers reads it from the decoder."""
    if decoder is None:
        return None
    if type(decoder).__name__ == "ByteLevel":
        return "byte_level"
    state = json.loads(decoder.__getstate__())
    if _has_type(state, "ByteFallback"):
        return "byte_fallback"
    return "byte_level" if _has_type(state, "ByteLevel") else None


class StopStrings:
    """Built once per decoding call from the tokenizer (anything with transformers' `backend_tokenizer`)."""

    PREFIX = "abcdef"  # decoded before a token and cut off, so a decoder's word-start rules leave the token alone

    def __init__(self, tokenizer, strings):
        self.backend = tokenizer.backend_tokenizer
        self.mode = _matching_mode(self.backend.decoder)
        self.strings = [s.encode("utf-8") if self.mode else s for s in strings]
        self.span = max(len(s) for s in self.strings)  # a match takes at least one unit of each of its tokens
        self.bytes_of = _byte_level_decoder() if self.mode == "byte_level" else None
        self.base = self.backend.encode(self.PREFIX, add_special_tokens=False).tokens
        self.texts: dict[int, str | bytes] = {}

    def _text(self, token_id: int) -> str | bytes:
        text = self.texts.get(token_id)
        if text is None:
            text = self.texts[token_id] = self._work_out(self.backend.id_to_token(token_id))
        return text

    def _work_out(self, token: str) -> str | bytes:
        if self.mode == "byte_level" and all(c in self.bytes_of for c in token):
            return bytes(self.bytes_of[c] for c in token)
        if self.mode == "byte_fallback" and len(token) == 6 and token.startswith("<0x") and token.endswith(">") \
                and all(c in "0123456789abcdefABCDEF" for c in token[3:5]):
            return bytes([int(token[3:5], 16)])
        tokens = [*self.base, token]
        text = self.backend.decoder.decode(tokens) if self.backend.decoder is not None else " ".join(tokens)
        text = text[text.index(self.PREFIX) + len(self.PREFIX):]
        return text.encode("utf-8") if self.mode else text

    def ends(self, context: list[int], token: int) -> bool:
        """Whether a sequence whose tokens are `context` (its last ones suffice) and then `token` stops here."""
        parts = [self._text(t) for t in context[max(0, len(context) - self.span + 1):]] + [self._text(token)]
        text = parts[0][:0].join(parts)
        before_last = len(text) - len(parts[-1])
        return any(text.find(s, max(0, before_last - len(s) + 1)) >= 0 for s in self.strings)
