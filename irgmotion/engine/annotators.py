"""Annotators for datasets that have captions only (HumanML3D, KIT-ML, a user's data).

`CaptionComparer` (offline default) compares the goal caption with the
candidate's caption: actions, sides, directions, body parts and counts.
`EndpointAnnotator` asks any OpenAI-compatible chat endpoint, given both
captions, as the authors did with an external LLM. For the procedural corpus
the exact program-based annotator in `programs.py` is used instead.
"""
from __future__ import annotations

import json
import random
import re
import sys
import urllib.parse
import urllib.request
import dataclasses
from dataclasses import dataclass

from .assessment import Assessment, Difference, level_from_differences, level_of, write_assessment

SIDES = {"left", "right", "both"}
# Verbs that name the same movement in motion captions: compared as one action ("lifts" meets "raises").
SYNONYMS = {"lift": "raise", "jog": "run", "sprint": "run", "stroll": "walk", "rotate": "turn", "pivot": "turn"}
DIRECTIONS = {"forward", "forwards", "backward", "backwards", "sideways", "around", "up", "down", "clockwise",
              "counterclockwise", "anticlockwise", "circle", "diagonally"}
BODY_PARTS = {"hand", "hands", "arm", "arms", "leg", "legs", "foot", "feet", "head", "knee", "knees", "hip",
              "hips", "shoulder", "shoulders", "torso", "body", "waist", "elbow", "toe", "toes"}
NUMBERS = {"once": 1, "one": 1, "twice": 2, "two": 2, "three": 3, "thrice": 3, "four": 4, "five": 5, "six": 6,
           "seven": 7, "eight": 8, "nine": 9, "ten": 10}
STOP_VERBS = {"be", "is", "are", "do", "does", "have", "has", "start", "begin", "continue", "stand", "keep",
              "seem", "appear", "use", "make", "get", "go", "come", "look"}
_WORD = re.compile(r"[a-z]+|\d+")
# Untagged captions: a verb is the word after a subject, an auxiliary or a connective.
_TRIGGERS = {"person", "man", "woman", "someone", "he", "she", "they", "figure", "human", "then", "and", "while",
             "before", "after", "to", "is", "are", "was", "also"}
_NOT_VERBS = {"the", "a", "an", "his", "her", "their", "is", "are", "was", "then", "and", "while", "before", "after",
              "again", "slowly", "quickly", "also", "it", "to", "with", "in", "on"}


def _stem(word: str) -> str:
    """A crude stem, applied alike to both captions so that "waves" meets "waving"."""
    for suffix in ("ing", "es", "s", "ed", "e"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    if len(word) > 3 and word[-1] == word[-2]:  # running -> runn -> run
        word = word[:-1]
    return word


def _action_key(word: str) -> str:
    """The stem an action is compared by, synonyms made one."""
    stem = _stem(word)
    return _SYNONYM_STEMS.get(stem, stem)


_NOT_MANNER = {"only", "really", "finally", "early", "likely", "nearly", "mainly", "mostly", "fully", "family",
               "elderly", "holy", "lively", "friendly", "apply", "supply", "reply", "rally", "fly", "ugly", "belly"}
_SYNONYM_STEMS = {_stem(k): _stem(v) for k, v in SYNONYMS.items()}


def _side_text(sides: set[str]) -> str:
    return "both sides" if sides == {"both"} else f"the {'/'.join(sorted(sides))} side"


@dataclass
class CaptionFacts:
    actions: list[str]
    sides: set[str]
    directions: set[str]
    parts: set[str]
    counts: list[int]
    surface: dict[str, str]  # stem -> the word as written, for readable assessments
    manner: set[str] = dataclasses.field(default_factory=set)  # how: adverbs in -ly ("slowly", "gracefully")


def caption_facts(caption: str, tokens: list[str] | None = None) -> CaptionFacts:
    """Facts of a caption; uses the dataset's word/POS tokens when given (lemmas, verb tags)."""
    if tokens:
        pairs = [(t.rsplit("/", 1)[0].lower(), t.rsplit("/", 1)[-1]) for t in tokens]
        actions = [w for w, p in pairs if p == "VERB" and w not in STOP_VERBS]
        surface = {_stem(a): a for a in actions}
        words = [w for w, _ in pairs]
    else:
        words = _WORD.findall(caption.lower())
        # Without tags: verbs are the words right after a subject or a connective.
        actions, prev = [], ""
        for w in words:
            if prev in _TRIGGERS and w not in SIDES | DIRECTIONS | BODY_PARTS | _NOT_VERBS:
                if _stem(w) not in STOP_VERBS:
                    actions.append(w)
            prev = w
        surface = {_stem(a): a for a in actions}
    counts = [NUMBERS[w] if w in NUMBERS else int(w) for w in words if w in NUMBERS or w.isdigit()]
    surface = {_action_key(a): a for a in actions}
    manner = {w for w in words if w.endswith("ly") and len(w) > 4 and w not in _NOT_MANNER}
    return CaptionFacts([_action_key(a) for a in actions], SIDES & set(words), {_stem(w) for w in DIRECTIONS & set(words)},
                        {_stem(w) for w in BODY_PARTS & set(words)}, counts, surface, manner)


class CaptionComparer:
    """Rule-based assessment of a candidate against a goal, both known by captions."""

    def __init__(self, seed: int = 0):
        self.rng = random.Random(seed)

    def __call__(self, goal: str, candidate: str, goal_tokens=None, candidate_tokens=None) -> Assessment:
        g, c = caption_facts(goal, goal_tokens), caption_facts(candidate, candidate_tokens)
        diffs, matches = [], []
        for a in dict.fromkeys(g.actions):
            word = g.surface.get(a, a)
            if a in c.actions:
                matches.append(f"the action '{word}'")
            else:
                diffs.append(Difference("missing", f"the action '{word}' is absent", f"add the action '{word}'"))
        for a in dict.fromkeys(c.actions):
            if a not in g.actions:
                word = c.surface.get(a, a)
                diffs.append(Difference("extra", f"it adds the action '{word}', which the goal does not ask for",
                                        f"leave out the action '{word}'", weight=0.5))
        if g.sides and c.sides and g.sides != c.sides:
            diffs.append(Difference("wrong_side", f"it uses {_side_text(c.sides)} instead of {_side_text(g.sides)}",
                                    f"use {_side_text(g.sides)}"))
        elif g.sides and g.sides == c.sides:
            matches.append(_side_text(g.sides))
        if g.manner and c.manner and not (g.manner & c.manner):
            diffs.append(Difference("manner", f"it moves {'/'.join(sorted(c.manner))} instead of "
                                    f"{'/'.join(sorted(g.manner))}", f"move {'/'.join(sorted(g.manner))}", weight=0.5))
        if g.directions and c.directions and not (g.directions & c.directions):
            diffs.append(Difference("wrong_direction", f"it moves {'/'.join(sorted(c.directions))} instead of "
                                    f"{'/'.join(sorted(g.directions))}", f"move {'/'.join(sorted(g.directions))}"))
        if g.counts and c.counts and g.counts[0] != c.counts[0]:
            diffs.append(Difference("wrong_count", f"it repeats {c.counts[0]} times instead of {g.counts[0]}",
                                    f"do it {g.counts[0]} times"))
        level = level_from_differences(diffs, max(1, len(set(g.actions))), n_matched=len(matches))
        if not g.actions and goal.strip().lower() != candidate.strip().lower():
            level = min(level, 2)  # nothing to compare on: never claim a perfect match
        return write_assessment(level, matches, diffs, self.rng, shown=candidate, asked=goal)


def _label_words(value: str) -> list[str]:
    return [w for w in re.split(r"[-_\s]+", str(value).lower()) if w]


class LabelComparer:
    """Assessment of a candidate against a goal when both clips carry a dataset's labels (the Bandai-Namco clips:
    content and style, `irgmotion data import-bvh`): exact on the labels, where two paraphrased captions of the
    same label ("lifts both hands up", "raises both arms") would read as different actions.

    The first label field says what is done (content), the others how (style). Level: 3 when every label
    agrees; 2 when only the how differs; 1 when the what differs but shares a word ("wave-left-hand" against
    "wave-right-hand", "walk" against "walk-turn-left"); 0 when the what shares nothing."""

    def __init__(self, seed: int = 0):
        self.rng = random.Random(seed)

    def __call__(self, goal: str, candidate: str, goal_labels: dict, candidate_labels: dict) -> Assessment:
        fields = list(goal_labels)
        matches, diffs, level = [], [], 3
        for k, name in enumerate(fields):
            want, got = str(goal_labels[name]), candidate_labels.get(name)
            want_text = " ".join(_label_words(want))
            if got is not None and str(got) == want:
                matches.append(f"the {name} '{want_text}'")
                continue
            got_text = " ".join(_label_words(got)) if got is not None else "unlabelled"
            if k == 0:
                shared = set(_label_words(want)) & set(_label_words(got or ""))
                sides = {"left", "right", "both"}
                only_side = shared and (set(_label_words(want)) ^ set(_label_words(got or ""))) <= sides
                kind = "wrong_side" if only_side else ("other" if shared else "missing")
                diffs.append(Difference(kind, f"the {name} is '{got_text}' where the goal asks for '{want_text}'",
                                        f"make the {name} '{want_text}' instead of '{got_text}'", weight=1.5))
                level = min(level, 1 if shared else 0)
            else:
                diffs.append(Difference("other", f"the {name} is '{got_text}' where the goal asks for '{want_text}'",
                                        f"perform it with the {name} '{want_text}'", weight=0.5))
                level = min(level, 2)
        return write_assessment(level, matches, diffs, self.rng, shown=candidate, asked=goal)


def check_endpoint_url(url) -> str:
    """An annotator endpoint URL, refused (ValueError) unless it is http:// or https:// with a host."""
    parts = urllib.parse.urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise ValueError(f"--annotator {url!r}: expected an http:// or https:// URL of an OpenAI-compatible endpoint "
                         "(e.g. http://localhost:8000/v1)")
    return url


class EndpointAnnotator:
    """Any OpenAI-compatible chat endpoint (`POST {url}/chat/completions`), given both captions."""

    PROMPT = ("You compare a goal description of a human motion with the description of a generated motion. "
              "Answer with JSON only: {\"level\": one of \"poor\", \"partial\", \"close\", \"perfect\", "
              "\"assessment\": two sentences on what matches and what does not, "
              "\"refinement\": one instruction to fix the motion, or \"No refinements needed.\"}.")

    def __init__(self, url: str, model: str = "default", api_key: str | None = None, timeout: float = 60.0,
                 warn=None):
        """`url` must be http(s) (checked here: urllib would also open file:, ftp: and data: URLs). A call the
        endpoint cannot answer falls back to the offline `CaptionComparer`; `fallbacks` counts those calls,
        `last_error` keeps the latest reason, and `warn` (default: a line on stderr) is told once, at the first."""
        self.url = check_endpoint_url(url).rstrip("/") + "/chat/completions"
        parts = urllib.parse.urlsplit(self.url)  # for messages: never print credentials written into the URL
        self.shown_url = parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()
        self.model, self.api_key, self.timeout = model, api_key, timeout
        self.fallback = CaptionComparer()
        self.calls = 0
        self.fallbacks = 0
        self.last_error: str | None = None
        self._warn = warn or (lambda line: print(line, file=sys.stderr))

    def summary(self) -> str:
        """One line on how many assessments the endpoint gave and how many fell back to the offline rules."""
        if not self.fallbacks:
            return f"annotator {self.shown_url}: answered all {self.calls} assessments"
        return (f"annotator {self.shown_url}: {self.fallbacks} of {self.calls} assessments fell back to the offline "
                f"caption rules (last reason: {self.last_error})")

    def __call__(self, goal: str, candidate: str, goal_tokens=None, candidate_tokens=None) -> Assessment:
        body = {"model": self.model, "temperature": 0.2, "messages": [
            {"role": "system", "content": self.PROMPT},
            {"role": "user", "content": f"Goal: {goal}\nGenerated motion: {candidate}"}]}
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        self.calls += 1
        try:
            req = urllib.request.Request(self.url, json.dumps(body).encode(), headers)
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                content = json.loads(resp.read())["choices"][0]["message"]["content"]
            reply = json.loads(content[content.find("{"): content.rfind("}") + 1])
            level = ["poor", "partial", "close", "perfect"].index(str(reply["level"]).lower())
            # Same order as the engine's own assessments: restate, describe, compare, then the level.
            text = (f"The goal asks for: {goal.strip().rstrip('.')}. The motion shows: {candidate.strip().rstrip('.')}. "
                    f"{reply['assessment'].strip()} Alignment is {reply['level'].lower()}.")
            if level_of(text) != level:
                raise ValueError("the reply's assessment states another level than its 'level'")
            return Assessment(level, text, reply["refinement"].strip())
        except Exception as exc:  # unreachable endpoint or malformed reply: the offline rules answer instead
            self.fallbacks += 1
            self.last_error = " ".join(f"{type(exc).__name__}: {exc}".split())[:200]
            if self.fallbacks == 1:
                self._warn(f"warning: annotator {self.shown_url} failed ({self.last_error}); this and every further "
                           "failed call use the offline caption rules instead (the count is printed at the end)")
            return self.fallback(goal, candidate, goal_tokens, candidate_tokens)


def analyse_caption(caption: str, tokens: list[str] | None, rng: random.Random, n: int = 4) -> list[str]:
    """Rule-based goal analyses of a caption: its actions, sides, directions and counts."""
    f = caption_facts(caption, tokens)
    actions = [f.surface.get(a, a) for a in dict.fromkeys(f.actions)] or ["the described movement"]
    details = []
    if f.sides:
        details.append(f"the {'/'.join(sorted(f.sides))} side")
    if f.directions:
        details.append(f"moving {'/'.join(sorted(f.directions))}")
    if f.parts:
        details.append(f"the {', '.join(sorted(f.parts))}")
    if f.counts:
        details.append(f"{f.counts[0]} repetitions")
    detail = (" It involves " + ", ".join(details) + ".") if details else ""
    act = ", then ".join(actions)
    forms = [f"The goal asks for: {act}.{detail}",
             f"Key actions in order: {act}.{detail} These must be clearly visible.",
             f"A correct motion performs {act}.{detail}",
             f"The critical aspects are the actions ({act}) and their details.{detail}"]
    rng.shuffle(forms)
    return forms[:n]
