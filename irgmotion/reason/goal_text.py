"""Reading a user's goal before the model does: conservative spelling correction against the words the model
knows, and a few numeric shorthands.

Why: the model learned its words from the training captions. A typo ("wlak", "jmup", "sidestp") reaches it as
byte pieces it never saw in a caption, and it then generates an unrelated motion (free-form prompts with typos
passed 9% of the time against 57% for the same programs' canonical captions, docs/bundle_v2/bench.md). Only
corrections that cannot turn one real word into another are made: two swapped neighbouring letters, a doubled
letter, or (in words of five letters or more) one dropped letter, and only when exactly one known word is that
close. Substitutions ("toss" -> "toes") are never made. The known words are those of the captions the model was
trained on (`caption_words.json` beside its weights, written when a bundle is assembled); a model without that file
gets its goals unchanged but for the numeric shorthands."""
from __future__ import annotations

import re

_WORD = re.compile(r"[A-Za-z]+")
# "x4", "4x" -> "4 times"; "45°" -> "45 degrees"
_TIMES = re.compile(r"\b(?:x(\d+)|(\d+)x)\b", re.IGNORECASE)
_DEGREES = re.compile(r"(\d+)\s*°")


def _times(n: int) -> str:
    return {1: "once", 2: "twice"}.get(n, f"{n} times")


WORDS_FILE = "caption_words.json"  # in a MotionLLM directory: the words of the captions it was trained on


class GoalReader:
    def __init__(self, words):
        self.known = frozenset(w.lower() for w in words)

    @classmethod
    def for_llm_dir(cls, directory) -> GoalReader:
        """The reader of a MotionLLM directory's caption words (none: numeric shorthands only)."""
        import json
        from pathlib import Path
        path = Path(directory) / WORDS_FILE if directory is not None else None
        if path is None or not path.is_file():
            return cls(())
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise ValueError(f"{path}: not JSON ({exc})") from None
        words = doc.get("words") if isinstance(doc, dict) else None
        if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
            raise ValueError(f"{path}: expected {{\"words\": [strings]}}")
        return cls(words)

    def _candidates(self, word: str) -> set[str]:
        found = set()
        for i in range(len(word) - 1):  # swapped neighbours
            swapped = word[:i] + word[i + 1] + word[i] + word[i + 2:]
            if swapped != word and swapped in self.known:
                found.add(swapped)
        if len(word) >= 4:
            for i in range(1, len(word)):  # a doubled letter ("jogg"; not "off", a word of its own)
                if word[i] == word[i - 1] and (single := word[:i] + word[i + 1:]) in self.known:
                    found.add(single)
            # one letter dropped inside a word of five or more ("sidestp"); a missing last letter is more often
            # another form of the word ("hold", "tiptoe") than a typo, so the user's form stands
            for known in self.known:
                if len(known) == len(word) + 1 and len(known) >= 5 and not known.startswith(word) and any(
                        known[:i] + known[i + 1:] == word for i in range(len(known) - 1)):
                    found.add(known)
        return found

    def correct(self, word: str) -> str | None:
        """The one known word `word` is a typo of, or None."""
        low = word.lower()
        if len(low) < 3 or low in self.known:
            return None
        found = self._candidates(low)
        if len(found) != 1:
            return None
        fixed = found.pop()
        return fixed.capitalize() if word[:1].isupper() else fixed

    def read(self, goal: str) -> tuple[str, list[str]]:
        """(the goal as the model should read it, a note per change)."""
        notes = []
        text = _TIMES.sub(lambda m: _times(int(m.group(1) or m.group(2))), goal)
        text = _DEGREES.sub(lambda m: f"{m.group(1)} degrees", text)
        if text != goal:
            notes.append(f"read the numbers of {goal!r} as {text!r}")

        def fix(match: re.Match) -> str:
            word = match.group(0)
            fixed = self.correct(word)
            if fixed is None:
                return word
            notes.append(f"read {word!r} as {fixed!r}")
            return fixed
        return _WORD.sub(fix, text), notes
