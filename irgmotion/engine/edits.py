"""A user's instruction in their own words ("use the left hand instead", "jump higher", "take more steps",
"turn the other way", "also clap", "don't wave"), read as an edit of the goal's action program, and the
refinement instruction the model was trained on, written by the engine's own rule.

The model learned instructed refinement from instructions in the engine's canonical grammar ("Please wave with
the left hand instead of the right hand.", "To fix it, jump 3 times."), written by `compare_programs` from the
difference between a goal program and a candidate's. It follows other wordings poorly. So the user's words are
not passed on: `interpret` changes the goal's program (which the model's own assessment restates in canonical
words, read back by `descriptions.read_description`), `goal_text` writes the updated goal as a caption of the
corpus grammar, and `edit_instruction` writes the canonical instruction from the updated goal against the motion
(as the rule that wrote the training instructions would) and against the old goal (so the edit itself is named).

What can be read: a side swap (left / right / both hand, leg, foot, knee, or "the other one"), a count (a number,
"more", "fewer", "one more"), a size ("higher", "bigger", "deeper", "smaller", "lower"), a direction ("backwards",
"to the left", "the other way", "clockwise"), a speed ("faster", "slower": only actions whose corpus captions
have a pace), and adding or removing an action ("also clap", "then jump twice", "while walking wave", "don't
wave", "skip the squat", "squat instead of jumping"). Words it cannot place are reported in `notes`.
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

import numpy as np

from ..data.synth.actions import ACTIONS, UPPER_ACTIONS
from ..data.synth.captions import ACTION_LEMMAS
from ..data.synth.program import Action, Program, ProgramError, validate_program
from .annotators import NUMBERS
from .assessment import Difference, level_from_differences, write_assessment
from .programs import _OPPOSITE, AMPLITUDE_PARAMS, COUNT_PARAMS, _param_difference, _params, compare_programs, phrase

SIDE_PARAMS = ("hand", "leg", "foot", "knee")
_PART = {"hand": "hand", "hands": "hand", "arm": "hand", "arms": "hand", "fist": "hand", "leg": "leg",
         "legs": "leg", "foot": "foot", "feet": "foot", "knee": "knee", "knees": "knee"}
# lemmas of ACTION_LEMMAS that name too many things to mark an action on their own
_GENERIC = {"take", "step", "stand", "knee", "toe", "circle", "bend", "rotate", "look", "lift", "shuffle"}
_PHRASES = [  # multi-word names, checked before single lemmas
    (r"\bjumping[ -]?jacks?\b", "jumping_jacks"), (r"\btouch(?:es|ing)? (?:the |your |my |their )?toes\b", "touch_toes"),
    (r"\b(?:side[ -]?steps?|sidesteps?|step(?:s|ping)? (?:to the side|sideways))\b", "side_step"),
    (r"\bstand(?:s|ing)? on one (?:leg|foot)\b", "balance"), (r"\b(?:arm circles|circl(?:e|es|ing) (?:the |your )?arms?)\b",
                                                            "arm_circles"),
    (r"\blook(?:s|ing)? around\b", "look_around"), (r"\btip ?toes?\b", "tiptoe"), (r"\bsit(?:s|ting)? down\b", "sit_down"),
    (r"\bstand(?:s|ing)? still\b", "idle"), (r"\btwist(?:s|ing)?\b", "torso_twist"),
    (r"\bkneel(?:s|ing)?\b|\bknelt\b", "kneel"),
    ((r"\b(?:raise|lift)(?:s|ing|ed)? (?:the |your |my |their |his |her )?(?:left |right |both )?(?:arm|hand)s?\b"),
     "raise_arm"),
    (r"\bspin(?:s|ning)?\b", "spin"),
]
_NEGATORS = {"not", "no", "without", "skip", "stop", "remove", "drop", "omit", "never", "quit", "delete", "lose"}
_MORE = {"more", "extra", "additional", "another", "again", "longer", "double", "further", "add"}
_FEWER = {"fewer", "less", "shorter", "only", "half"}
_SIZE_UP = {"higher", "bigger", "larger", "deeper", "wider", "stronger", "high", "big", "huge", "deep", "taller"}
_SIZE_DOWN = {"lower", "smaller", "shallower", "lighter", "gentler", "low", "small", "little", "tiny",
              "softer"}
_FASTER = {"faster", "quicker", "quickly", "fast", "rapidly", "briskly", "hurry", "speed", "quick"}
_SLOWER = {"slower", "slowly", "slow", "leisurely", "calmer", "calmly"}
_FLIP = {"other", "opposite", "switch", "swap", "mirror", "reverse", "flip", "wrong"}
_DIRECTION_WORDS = {"backward": "backward", "backwards": "backward", "back": "backward", "forward": "forward",
                    "forwards": "forward", "ahead": "forward", "sideways": "sideways", "overhead": "overhead",
                    "above": "overhead",
                    "clockwise": "right", "counterclockwise": "left", "anticlockwise": "left"}


@dataclass
class Edit:
    """One change of the goal: `slot` is the action's index and "upper" for its upper-body action."""
    kind: str  # side | count | size | direction | speed | add | remove | replace
    action: str
    param: str | None = None
    old: object = None
    new: object = None

    def describe(self) -> str:
        doc = ACTIONS[self.action].doc
        if self.kind == "add":
            return f"add: {doc}"
        if self.kind == "remove":
            return f"remove: {doc}"
        if self.kind == "replace":
            return f"replace: {ACTIONS[self.old].doc} -> {doc}"
        return f"{doc}: {self.param} {self.old} -> {self.new}"


@dataclass
class Interpretation:
    goal: Program  # the goal's program with the edits applied
    edits: list[Edit] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was understood but could not be applied

    @property
    def understood(self) -> bool:
        return bool(self.edits)


# ---- words ----------------------------------------------------------------------------------------------------
def _words(text: str) -> list[str]:
    text = text.lower().replace("n't", " not").replace("’", "'")
    return re.findall(r"[a-z]+|\d+", text)


def _lemma_candidates(word: str) -> list[str]:
    out = [word]
    for suffix in ("ing", "es", "s", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 2:
            stem = word[: -len(suffix)]
            out += [stem, stem + "e"]
            if len(stem) > 2 and stem[-1] == stem[-2]:
                out.append(stem[:-1])
    return out


def _lemma_table() -> dict[str, str]:
    table: dict[str, list[str]] = {}
    for name, lemmas in ACTION_LEMMAS.items():
        for lemma in lemmas - _GENERIC:
            table.setdefault(lemma, []).append(name)
    return {lemma: names[0] for lemma, names in table.items() if len(names) == 1}


_LEMMAS = _lemma_table()


def mentioned_actions(text: str) -> list[tuple[int, str]]:
    """(word position, action name) of every action the text names, in order (the corpus's caption verbs)."""
    words = _words(text)
    lowered = " ".join(words)
    found: dict[int, str] = {}
    taken: set[int] = set()
    for pattern, name in _PHRASES:
        for m in re.finditer(pattern, lowered):
            start = len(lowered[: m.start()].split())
            n = len(m.group(0).split())
            if any(k in taken for k in range(start, start + n)):
                continue
            found[start] = name
            taken.update(range(start, start + n))
    for k, w in enumerate(words):
        if k in taken:
            continue
        for cand in _lemma_candidates(w):
            if cand in _LEMMAS:
                found[k] = _LEMMAS[cand]
                break
    return sorted(found.items())


def _number(words: list[str], k: int) -> int | None:
    """The count a word states; not "one" or "once" in "one more", "once more", "another one"."""
    w = words[k]
    if w in ("one", "once") and ((k + 1 < len(words) and words[k + 1] == "more") or (k and words[k - 1] == "another")):
        return None
    if w.isdigit():
        return int(w)
    return NUMBERS.get(w)


# ---- the program as editable slots ------------------------------------------------------------------------------
def _slots(actions: list[dict]) -> list[tuple[int, bool]]:
    out = []
    for i, a in enumerate(actions):
        out.append((i, False))
        if a.get("upper"):
            out.append((i, True))
    return out


def _get(actions, slot) -> dict:
    i, upper = slot
    return actions[i]["upper"] if upper else actions[i]


def _value(action: dict, param: str):
    return {**ACTIONS[action["name"]].defaults(), **action["params"]}[param]


def _choose(actions, wanted: list[str], has) -> tuple[int, bool] | None:
    """The slot to edit: one named in the words (in their order) that has what the edit needs, else the first that
    has it."""
    slots = [s for s in _slots(actions) if has(_get(actions, s))]
    for name in wanted:
        for s in slots:
            if _get(actions, s)["name"] == name:
                return s
    return slots[0] if slots else None


class _Reader:
    def __init__(self, text: str, goal: Program, shown: Program | None = None):
        self.text = text
        self.shown = [] if shown is None else [a.to_dict() for a in shown.actions]
        self.words = _words(text)
        self.actions = [a.to_dict() for a in goal.actions]
        self.edits: list[Edit] = []
        self.notes: list[str] = []
        self.mentions = mentioned_actions(text)
        self.used: set[int] = set()  # word positions an edit consumed
        self.flipped = False  # "the other ..." was read as a side swap

    def has(self, *words) -> bool:
        return any(w in self.words for w in words)

    def modifies(self) -> bool:
        """Whether the words ask for a change of manner (size, pace, count, side): "don't jump so high" keeps the
        jump."""
        return self.has(*(_SIZE_UP | _SIZE_DOWN | _FASTER | _SLOWER | {"left", "right", "both", "times", "steps"})) \
            or any(_number(self.words, k) is not None for k in range(len(self.words)))

    def negated(self, k: int) -> bool:
        return any(w in _NEGATORS for w in self.words[max(0, k - 4):k]) or \
            (k >= 2 and self.words[k - 2] == "leave" and self.words[k - 1] == "out") or \
            (k >= 3 and self.words[k - 3:k - 1] == ["leave", "out"])

    def names(self) -> list[str]:
        present = {a["name"] for a in self.actions} | {a["upper"]["name"] for a in self.actions if a.get("upper")}
        return [n for _, n in self.mentions if n in present]

    def set(self, slot, kind: str, param: str, new) -> None:
        a = _get(self.actions, slot)
        old = _value(a, param)
        if old == new:
            self.notes.append(f"the {ACTIONS[a['name']].doc} already has {param} {new}")
            return
        a["params"] = {**a["params"], param: new}
        self.edits.append(Edit(kind, a["name"], param, old, new))

    # -- edits --
    def add_remove(self) -> None:
        present = [a["name"] for a in self.actions] + [a["upper"]["name"] for a in self.actions if a.get("upper")]
        removed, added = [], []
        for k, name in self.mentions:
            if name in present and self.negated(k) and not self.modifies():
                removed.append(name)
            elif name not in present and not self.negated(k):
                added.append((k, name))
        replace = self.has("instead", "replace", "rather") and len(added) == 1 and (
            removed or (len(self.actions) == 1 and not self.actions[0].get("upper")))
        if replace:
            old = removed[0] if removed else self.actions[0]["name"]
            k, new = added[0]
            for slot in _slots(self.actions):
                a = _get(self.actions, slot)
                if a["name"] == old:
                    params = self._params_near(new, k)
                    if slot[1] and new not in UPPER_ACTIONS:
                        self.notes.append(f"the {ACTIONS[new].doc} cannot be done during the {self.actions[slot[0]]['name']}")
                        return
                    if slot[1]:
                        self.actions[slot[0]]["upper"] = {"name": new, "params": params}
                    else:
                        self.actions[slot[0]] = {"name": new, "params": params}
                    self.edits.append(Edit("replace", new, None, old, new))
                    return
        for name in removed:
            self._remove(name)
        for k, name in added:
            self._add(k, name)

    def _params_near(self, name: str, k: int) -> dict:
        """Parameters of a new action from the words after its name (up to the next action): count, side."""
        nxt = [j for j, _ in self.mentions if j > k]
        span = range(k, nxt[0] if nxt else len(self.words))
        spec = ACTIONS[name].params
        params = {}
        for j in span:
            n = _number(self.words, j)
            key = next((p for p in COUNT_PARAMS if p in spec), None)
            if n is not None and key and spec[key].lo <= n <= spec[key].hi:
                params[key] = n
                self.used.add(j)
            w = self.words[j]
            side = next((p for p in SIDE_PARAMS if p in spec), None)
            if w in ("left", "right", "both") and side and w in spec[side].values:
                params[side] = w
                self.used.add(j)
            elif w in ("left", "right") and "direction" in spec and w in spec["direction"].values:
                params["direction"] = w
                self.used.add(j)
        return params

    def _remove(self, name: str) -> None:
        for i, a in enumerate(self.actions):
            if a.get("upper") and a["upper"]["name"] == name:
                del a["upper"]
                self.edits.append(Edit("remove", name))
                return
        for i, a in enumerate(self.actions):
            if a["name"] == name:
                if len(self.actions) == 1:
                    self.notes.append(f"the {ACTIONS[name].doc} is the only action; say what to do instead")
                    return
                del self.actions[i]
                self.edits.append(Edit("remove", name))
                return

    def _add(self, k: int, name: str) -> None:
        params = self._params_near(name, k)
        during = self.has("while", "during", "as")
        if during and name in UPPER_ACTIONS:
            for a in self.actions:
                if ACTIONS[a["name"]].upper_ok and not a.get("upper"):
                    a["upper"] = {"name": name, "params": params}
                    self.edits.append(Edit("add", name))
                    return
        entry = {"name": name, "params": params}
        if self.has("first", "before", "start", "begin") and not self.has("then", "after", "end", "finally"):
            self.actions.insert(0, entry)
        else:
            self.actions.append(entry)
        self.edits.append(Edit("add", name))

    def side(self) -> bool:
        sides = [(k, w) for k, w in enumerate(self.words) if w in ("left", "right", "both") and k not in self.used]
        parts = [_PART[w] for w in self.words if w in _PART]
        flip = any(w in _FLIP for w in self.words)
        if not sides and not (flip and (parts or self.has("side", "sides"))):
            return False
        part = parts[0] if parts else None

        def sided(a):
            spec = ACTIONS[a["name"]].params
            keys = [p for p in SIDE_PARAMS if p in spec]
            if part == "foot":
                return bool(keys) and keys[0] in ("foot", "leg", "knee")
            if part == "leg":
                return bool(keys) and keys[0] in ("leg", "foot", "knee")
            return bool(keys) and (part is None or keys[0] == part)
        if part is None and sides and not self.has("side", "sides", "instead", "use", "with", "other", "switch", "swap"):
            return False  # "left" alone: a direction
        slot = _choose(self.actions, self.names(), sided)
        if slot is None:
            return False
        a = _get(self.actions, slot)
        spec = ACTIONS[a["name"]].params
        key = next(p for p in SIDE_PARAMS if p in spec)
        current = _value(a, key)
        if sides:
            # the side asked for: "both" when said; else the first side word that is not the one replaced
            # ("the left hand instead of the right", "not the right but the left")
            if any(w == "both" for _, w in sides) and "both" in spec[key].values:
                new = "both"
            else:
                kept = [w for k, w in sides if w != "both" and not self._replaced(k)]
                new = kept[0] if kept else {"left": "right", "right": "left"}.get(sides[0][1])
        else:
            new = {"left": "right", "right": "left"}.get(current)
            if new is None:
                self.notes.append(f"the {ACTIONS[a['name']].doc} uses both sides; say which one")
                return True
        if new not in spec[key].values:
            self.notes.append(f"the {ACTIONS[a['name']].doc} cannot use {new}")
            return True
        self.set(slot, "side", key, new)
        self.used.update(k for k, _ in sides)
        self.flipped = True
        return True

    def _replaced(self, k: int) -> bool:
        before = self.words[max(0, k - 3):k]
        return "of" in before and ("instead" in before or "rather" in before) or "not" in before[-2:] or \
            "than" in before

    def direction(self) -> bool:
        flip = not self.flipped and (any(w in _FLIP for w in self.words) or self.has("around") and self.has("turn"))
        wanted = None
        for k, w in enumerate(self.words):
            if k in self.used or self._replaced(k):
                continue
            if w in _DIRECTION_WORDS and not (w == "back" and self.has("step") and not self.has("walk", "go")):
                wanted = _DIRECTION_WORDS[w]
                break
            if w in ("left", "right"):
                wanted = w
                break
            if w in ("front",):
                wanted = "forward"
                break
            if w == "place" or w == "spot":
                wanted = "in_place"
                break
            if w == "side" and not flip:
                wanted = "sideways"
                break
        if wanted is None and not flip:
            return False

        def directed(a):
            spec = ACTIONS[a["name"]].params
            if wanted is not None:
                return "direction" in spec and wanted in spec["direction"].values or \
                    "turn" in spec and wanted in ("left", "right") and _value(a, "path") != "straight"
            return "direction" in spec or "first" in spec
        slot = _choose(self.actions, self.names(), directed)
        if slot is None:
            if wanted is not None:
                self.notes.append(f"no action of the goal can go {wanted.replace('_', ' ')}")
            return wanted is not None
        a = _get(self.actions, slot)
        spec = ACTIONS[a["name"]].params
        curved = "path" in spec and _value(a, "path") != "straight"
        if wanted is None:  # the other way
            if curved and a["name"] in ("walk", "jog", "run"):
                self.set(slot, "direction", "turn", {"left": "right", "right": "left"}[_value(a, "turn")])
                return True
            key = "direction" if "direction" in spec else "first"
            current = _value(a, key)
            new = _OPPOSITE.get(current)
            if key == "first" or (a["name"] in ("turn", "spin", "lean", "side_step")):
                new = {"left": "right", "right": "left"}.get(current)
            if new is None or new not in spec[key].values:
                self.notes.append(f"the {ACTIONS[a['name']].doc} has no other way than {current}")
                return True
            self.set(slot, "direction", key, new)
            return True
        if curved and wanted in ("left", "right") and a["name"] in ("walk", "jog", "run") and self.has("turn", "curve"):
            self.set(slot, "direction", "turn", wanted)
        else:
            self.set(slot, "direction", "direction", wanted)
        return True

    def count(self) -> bool:
        numbers = [(k, _number(self.words, k)) for k in range(len(self.words)) if k not in self.used
                   and _number(self.words, k) is not None]
        degrees = [(k, n) for k, n in numbers if k + 1 < len(self.words) and self.words[k + 1].startswith("degree")]
        numbers = [(k, n) for k, n in numbers if (k, n) not in degrees]
        more = self.has(*_MORE) or self.has("once") and self.has("more")
        fewer = self.has(*_FEWER) or self.has("many", "much") and self.has("not", "too", "so")
        manner = self.has(*(_SIZE_UP | _SIZE_DOWN | _FASTER | _SLOWER)) and not self.has(
            "times", "steps", "step", "repetitions", "reps", "more times")
        if manner and not numbers:  # "more slowly", "less high": a manner, not a count
            more = fewer = False
        if degrees:
            slot = _choose(self.actions, self.names(), lambda a: "angle" in ACTIONS[a["name"]].params)
            if slot is not None:
                n = degrees[0][1]
                if n in ACTIONS[_get(self.actions, slot)["name"]].params["angle"].values:
                    self.set(slot, "count", "angle", n)
                else:
                    self.notes.append(f"{n} degrees is not an angle the corpus has (45, 90, 135, 180, ...)")
        if not numbers and not more and not fewer:
            return bool(degrees)
        steps = self.has("step", "steps", "stride", "strides", "further", "longer", "farther")
        key_of = lambda a: next((p for p in (("steps",) if steps else ()) + COUNT_PARAMS
                                 if p in ACTIONS[a["name"]].params), None)
        slot = _choose(self.actions, self.names(), lambda a: key_of(a) is not None)
        if slot is None:
            return False
        a = _get(self.actions, slot)
        key = key_of(a)
        spec = ACTIONS[a["name"]].params[key]
        current = int(_value(a, key))
        seen = [int(_value(b, key)) for b in self.shown if b["name"] == a["name"] and key in ACTIONS[b["name"]].params]
        if not numbers and len(seen) == 1 and (more and seen[0] >= current or fewer and seen[0] <= current):
            current = seen[0]  # "more" / "fewer" than the motion the user watched, when it already has more / fewer
        if numbers:
            new = numbers[0][1]
        else:
            step = 1 if self.has("one", "another", "once") else (max(3, current // 2) if key == "steps" else 2)
            if self.has("double"):
                step = current
            new = current + step if more and not fewer else current - (max(3, current // 2) if key == "steps"
                                                                         else max(1, current // 2))
            if self.has("only") and self.has("once"):
                new = 1
        if not spec.lo <= new <= spec.hi:
            clamped = int(min(max(new, spec.lo), spec.hi))
            if clamped == current:
                self.notes.append(f"the {ACTIONS[a['name']].doc} {key} is already {current}; the corpus has "
                                  f"{int(spec.lo)} to {int(spec.hi)}")
                return True
            new = clamped
        self.set(slot, "count", key, int(new))
        return True

    def _size_sign(self, depth: bool) -> int:
        """+1 bigger, -1 smaller, 0 unsaid. For a depth (squat, bow, crouch) "lower" is deeper and "higher"
        shallower; "not so", "too", "less" turn a word the other way ("not so high", "too deep")."""
        sign = 0
        for k, w in enumerate(self.words):
            if w not in _SIZE_UP and w not in _SIZE_DOWN:
                continue
            bigger = w in _SIZE_UP
            if depth and w in ("lower", "low", "higher", "high"):
                bigger = w in ("lower", "low")
            if any(x in ("so", "too", "less", "not") for x in self.words[max(0, k - 2):k]):
                bigger = not bigger
            sign = 1 if bigger else -1
        return sign

    def size(self) -> bool:
        if not self.has(*(_SIZE_UP | _SIZE_DOWN)):
            return False
        raise_arm = _choose(self.actions, self.names(), lambda a: a["name"] == "raise_arm")
        if raise_arm is not None and self._size_sign(False) > 0 and self.has("higher", "high", "up", "above") and (
                self.names()[:1] in ([], ["raise_arm"])):
            a = _get(self.actions, raise_arm)
            if _value(a, "direction") != "overhead":
                self.set(raise_arm, "size", "direction", "overhead")
                return True
        slot = _choose(self.actions, self.names(),
                       lambda a: any(p in ACTIONS[a["name"]].params for p in AMPLITUDE_PARAMS))
        if slot is None:
            self.notes.append("no action of the goal has a size to change")
            return True
        a = _get(self.actions, slot)
        spec = ACTIONS[a["name"]].params
        key = next(p for p in AMPLITUDE_PARAMS if p in spec)
        bigger = self._size_sign(key == "depth") > 0
        current = float(_value(a, key))
        lo, hi = float(spec[key].lo), float(spec[key].hi)
        new = round(min(hi, max(current * 1.6, current + 0.5 * (hi - current))), 3) if bigger \
            else round(max(lo, min(current * 0.5, current - 0.5 * (current - lo))), 3)
        if abs(new - current) < 1e-6:
            self.notes.append(f"the {ACTIONS[a['name']].doc} is already as {'big' if bigger else 'small'} as the "
                              "corpus makes it")
            return True
        self.set(slot, "size", key, new)
        return True

    def speed(self) -> bool:
        faster, slower = self.has(*_FASTER), self.has(*_SLOWER)
        if not faster and not slower:
            return False
        slot = _choose(self.actions, self.names(), lambda a: "speed" in ACTIONS[a["name"]].params)
        if slot is None:
            self.notes.append("no action of the goal has a pace in the corpus's grammar")
            return True
        self.set(slot, "speed", "speed", 1.45 if faster and not slower else 0.65)
        return True


PACE_FACTOR = 1.5  # "faster" plays the motion 1.5 times as fast, "slower" at 1/1.5 (a clear change, steps still read)


def pace(instruction: str) -> float | None:
    """How many times as fast the words ask the motion to play: PACE_FACTOR for "faster", 1 / PACE_FACTOR for
    "slower"; None when they say neither or both. The training grammar has no pace, so steering applies it by
    retiming the motion (`motion.timing.retime`) instead of asking the model."""
    words = set(_words(instruction))
    faster, slower = bool(words & _FASTER), bool(words & _SLOWER)
    if faster == slower:
        return None
    return PACE_FACTOR if faster else 1 / PACE_FACTOR


def _swap_sides(value):
    """left <-> right in a parameter's value ("forward_left" -> "forward_right"); anything else unchanged."""
    if not isinstance(value, str):
        return value
    return "_".join({"left": "right", "right": "left"}.get(part, part) for part in value.split("_"))


def _sided(action: Action | None, mirror: bool = False) -> tuple | None:
    """An action with every parameter stated (defaults filled), its sides swapped when `mirror`."""
    if action is None:
        return None
    params = {**ACTIONS[action.name].defaults(), **action.params}
    if mirror:
        params = {k: _swap_sides(v) for k, v in params.items()}
    return action.name, tuple(sorted(params.items())), _sided(action.upper, mirror)


def is_mirror_edit(old: Program, new: Program, shown: Program | None) -> bool:
    """Whether the edit from the goal `old` to `new` is the goal mirrored: every left made right and every right
    left, nothing else changed ("use the left hand instead" on "raise the right arm"), and the motion, as the model
    described it (`shown`), does the goal's actions but not with the requested sides already. The motion mirrored
    (`motion.features.mirror_features`) then makes the edit exactly, as the datasets' mirrored clips do, where the
    model's refinement often keeps the side. The user asked for the other side after watching the motion: where the
    model's description names no side or both sides, the user's eyes are the better evidence of the side it shows."""
    if shown is None or len(old.actions) != len(new.actions) or old == new:
        return False
    mirrored = [_sided(a, mirror=True) for a in old.actions]
    if mirrored != [_sided(a) for a in new.actions] or mirrored == [_sided(a) for a in old.actions]:
        return False

    def sides(program: Program) -> list:
        out = []
        for a in program.actions:
            while a is not None:
                out += [(a.name, k, v) for k, v in _sided(a)[1] if _swap_sides(v) != v]
                a = a.upper
        return out
    return shown.names == old.names and sides(shown) != sides(new)


def stride_edit(reading: Interpretation, shown: Program | None) -> int | None:
    """Strides (two steps each) to add (negative: remove) when the only edit is the step count of a goal that is one
    walking action and the model saw that action (`motion.timing.loop_strides` then makes the edit from the motion's
    own gait cycles, where the model's refinements keep the count), else None."""
    edits = reading.edits
    if len(edits) != 1 or edits[0].kind != "count" or edits[0].param != "steps" or len(reading.goal.actions) != 1:
        return None
    action = reading.goal.actions[0]
    if ACTIONS[action.name].category != "locomotion" or action.upper is not None or shown is None \
            or shown.names != [action.name]:
        return None
    delta = int(edits[0].new) - int(_params(shown.actions[0]).get("steps", edits[0].old))
    if delta == 0:
        return None
    return max(1, round(abs(delta) / 2)) * (1 if delta > 0 else -1)


def interpret(instruction: str, goal: Program, shown: Program | None = None) -> Interpretation:
    """The goal's program changed as the user's words ask; `edits` is empty when nothing could be read. `shown` is
    the motion as the model described it: "more" and "fewer" count from what the user saw when it went past the
    goal ("not so many steps" after a motion with fewer steps than asked means fewer than those)."""
    r = _Reader(instruction, goal, shown)
    r.add_remove()
    if not any(e.kind in ("add", "replace") for e in r.edits):
        r.side()
        r.direction()
        r.count()
        r.size()
        r.speed()
    else:  # the new action's own words were read with it
        r.speed()
    if not r.edits:
        return Interpretation(goal, [], r.notes)
    try:
        updated = validate_program({"actions": r.actions})
    except ProgramError as exc:
        return Interpretation(goal, [], r.notes + [f"the edited goal is not a valid program ({exc})"])
    return Interpretation(updated, r.edits, r.notes)


# ---- what the model is given ---------------------------------------------------------------------------------
def _edit_words(edit: Edit) -> set[str]:
    """Words a caption of the updated goal should hold to carry this edit."""
    from ..data.synth.captions import NUM_WORDS
    if edit.kind == "count" and isinstance(edit.new, int):
        n = edit.new
        return {str(n), NUM_WORDS[n] if n < len(NUM_WORDS) else str(n)} | ({"once"} if n == 1 else set()) | \
            ({"twice"} if n == 2 else set())
    if edit.kind in ("side", "direction") and isinstance(edit.new, str):
        return {edit.new, edit.new + "ward", edit.new + "s"} | set(edit.new.split("_"))
    if edit.kind == "size":
        return {"high", "big", "deep", "deeply", "far", "overhead", "above", "over"} if (
            isinstance(edit.new, str) or edit.new > edit.old) else {"slightly", "little", "small", "lightly", "low",
                                                                    "shallow"}
    if edit.kind == "speed":
        return {"quickly", "fast", "briskly", "run", "sprint"} if edit.new > 1 else {"slowly", "slow", "stroll"}
    return set(ACTION_LEMMAS.get(edit.action, set()))


def goal_text(program: Program, edits: list[Edit], seed: int = 0, n: int = 12) -> str:
    """The updated goal as a corpus caption (the wording the model read its goals in), chosen among `n` so that it
    states what the edits changed; the canonical description when none does."""
    from ..data.synth import caption_program
    from .programs import describe_program
    captions = [c for c, _ in caption_program(program, np.random.default_rng(seed), n=n)]
    wanted = [_edit_words(e) for e in edits if e.kind != "remove"]

    def score(caption: str) -> int:
        words = set(_words(caption)) | {c for w in _words(caption) for c in _lemma_candidates(w)}
        return sum(bool(w & words) for w in wanted)
    best = max(captions, key=score, default=None)
    if best is None or score(best) < len(wanted):
        return describe_program(program)
    return best


def edit_instruction(goal: Program, old_goal: Program, edits: list[Edit], motion: Program | None = None,
                     seed: int = 0) -> str:
    """The refinement instruction in the training grammar: the rule's fixes from the updated goal against the
    motion as the model perceived it (when known), then those that name each edit against the old goal; a size that
    grew is named as the rule names a too-small one ("make the jump bigger"). When no rule fix names an edit (a
    smaller size, a pace: the grammar writes neither), the edited action's canonical phrase stands for it."""
    diffs: list[Difference] = []
    if motion is not None:
        diffs += compare_programs(goal, motion)[1]
    own = compare_programs(goal, old_goal)[1]
    by_name = {a.name: a for a in goal.actions} | {a.upper.name: a.upper for a in goal.actions if a.upper}
    for e in edits:
        if e.kind == "size" and e.param in AMPLITUDE_PARAMS and e.new > e.old and e.action in by_name:
            g = by_name[e.action]
            lo = ACTIONS[g.name].params[e.param].lo
            d = _param_difference(e.param, g, Action(g.name, {**g.params, e.param: lo}), "")
            if d is not None:
                own.append(d)
    if not own:  # the grammar names none of the edits: the edited actions as they should now be
        own = [Difference("other", "", phrase(by_name[e.action], with_upper=False)) for e in edits
               if e.kind != "remove" and e.action in by_name]
    fixes, seen = [], set()
    for d in diffs + own:
        if d.fix not in seen:
            seen.add(d.fix)
            fixes.append(d)
    if not fixes:
        return goal_instruction(goal, seed)
    level = level_from_differences(fixes, len(goal.actions))
    return write_assessment(min(level, 2), [], fixes, random.Random(seed)).refinement


def goal_instruction(goal: Program, seed: int = 0) -> str:
    """The whole updated goal as a refinement instruction of the grammar ("Please walk backward 4 steps and jump
    twice."): how the rule words the fix of a motion that misses every action."""
    fixes = [Difference("missing", "", phrase(a)) for a in goal.actions]
    return write_assessment(min(level_from_differences(fixes, len(goal.actions)), 2), [], fixes,
                            random.Random(seed)).refinement
