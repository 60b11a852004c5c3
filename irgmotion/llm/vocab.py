"""Motion tokens in text: `<Motion>`, `</Motion>`, `<Motion_0>` ... `<Motion_{K-1}>`.

The same strings as the authors' release, so their annotations and prompts
read unchanged. One motion token covers `unit_length` (4) frames.
"""
from __future__ import annotations

import re

MOTION_START = "<Motion>"
MOTION_END = "</Motion>"
# ASCII digits only (`\d` would take Unicode digits too), and at most 6 of them: a longer run is
# no codebook index, and int() of thousands of digits is slow or refused by Python.
MAX_CODE_DIGITS = 6
_CODE = re.compile(r"<Motion_([0-9]{1,%d})>" % MAX_CODE_DIGITS)
_BAD_CODE = re.compile(r"<Motion_[^<>]*>")


def motion_token(i: int) -> str:
    return f"<Motion_{i}>"


def motion_vocabulary(codebook_size: int) -> list[str]:
    """All added strings, in the order their ids are assigned (start, end, codes)."""
    return [MOTION_START, MOTION_END] + [motion_token(i) for i in range(codebook_size)]


def motion_to_string(ids) -> str:
    """[3, 17] -> '<Motion><Motion_3><Motion_17></Motion>'."""
    return MOTION_START + "".join(motion_token(int(i)) for i in ids) + MOTION_END


def string_to_motion(text: str, codebook_size: int | None = None) -> tuple[list[int], list[str]]:
    """Codes of the first motion span in `text` (or of bare code tokens) plus warnings.

    Tolerant: a missing end tag, text between codes and ids outside the
    codebook are skipped with a warning rather than failing.
    """
    warnings = []
    start = text.find(MOTION_START)
    body = text[start + len(MOTION_START):] if start >= 0 else text
    end = body.find(MOTION_END)
    if end >= 0:
        body = body[:end]
    elif start >= 0:
        warnings.append("motion span has no closing </Motion>")
    ids = []
    for m in _CODE.finditer(body):
        i = int(m.group(1))
        if codebook_size is not None and i >= codebook_size:
            warnings.append(f"motion token {i} is outside the codebook (size {codebook_size}); skipped")
            continue
        ids.append(i)
    rest = _CODE.sub("", body)
    bad = len(_BAD_CODE.findall(rest))
    if bad:
        warnings.append(f"{bad} malformed motion token(s) (an id must be 1 to {MAX_CODE_DIGITS} ASCII digits); skipped")
        rest = _BAD_CODE.sub("", rest)
    if rest.strip():
        warnings.append("text inside a motion span was ignored")
    return ids, warnings
