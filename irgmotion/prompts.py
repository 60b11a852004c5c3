"""Prompt files for batched generation: one goal per line, as plain text or as JSON lines.

    a person jumps twice                                  (text: every non-blank line is a goal)
    {"text": "a person jumps twice", "seed": 3, "max_rounds": 2}     (JSONL: "seed" and "max_rounds" optional)

A file is JSONL when its name ends in .jsonl or its first non-blank line starts with "{"; then every non-blank
line must be a JSON object. Every line is checked before any work; the first problem is a PromptFileError
naming the file and the line.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .cliargs import MAX_SEED
from .reason.pipeline import PromptInputError, check_goal

MAX_PROMPTS = 100_000
_KEYS = ("text", "seed", "max_rounds")


class PromptFileError(ValueError):
    """A prompt file that cannot be used; the message names the file (and line) and the problem."""


@dataclass
class Prompt:
    text: str
    line: int  # in the file, from 1
    seed: int | None = None
    max_rounds: int | None = None


def _integer(doc: dict, key: str, low: int, high: int, where: str) -> int | None:
    value = doc.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise PromptFileError(f"{where}: {key!r} must be an integer between {low} and {high}, got {value!r}")
    return value


def read_prompts(path: str | Path, max_rounds_cap: int = 1000) -> list[Prompt]:
    """The goals of a prompt file, checked as `irgmotion generate` checks one goal."""
    path = Path(path)
    if path.is_dir():
        raise PromptFileError(f"{path}: is a directory; expected a file of prompts")
    if not path.is_file():
        raise PromptFileError(f"{path}: file not found")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PromptFileError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise PromptFileError(f"{path}: cannot read ({exc.strerror or type(exc).__name__})") from None
    lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    if not lines:
        raise PromptFileError(f"{path}: no prompts (the file is empty); write one goal per line")
    if len(lines) > MAX_PROMPTS:
        raise PromptFileError(f"{path}: {len(lines)} prompts; at most {MAX_PROMPTS} per file")
    jsonl = path.suffix.lower() == ".jsonl" or lines[0][1].lstrip().startswith("{")
    prompts = []
    for n, line in lines:
        where = f"{path}:{n}"
        doc = {"text": line}
        if jsonl:
            try:
                doc = json.loads(line)
            except json.JSONDecodeError as exc:
                raise PromptFileError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno}); expected an object "
                                      'like {"text": "a person jumps twice"}') from None
            if not isinstance(doc, dict):
                raise PromptFileError(f'{where}: expected a JSON object like {{"text": "..."}}, got {type(doc).__name__}')
            unknown = sorted(set(doc) - set(_KEYS))
            if unknown:
                raise PromptFileError(f"{where}: unknown key {unknown[0]!r}; a prompt has {', '.join(_KEYS)}")
            if "text" not in doc:
                raise PromptFileError(f'{where}: no "text"; each line needs the goal as "text"')
        try:
            goal = check_goal(doc["text"])
        except PromptInputError as exc:
            raise PromptFileError(f"{where}: {exc}") from None
        prompts.append(Prompt(goal, n, _integer(doc, "seed", 0, MAX_SEED, where),
                              _integer(doc, "max_rounds", 1, max_rounds_cap, where)))
    return prompts
