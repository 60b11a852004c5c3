"""Action programs: the JSON format, its validation, and random programs.

A program is

    {"actions": [{"name": "walk", "params": {"direction": "forward", "steps": 4},
                  "upper": {"name": "wave", "params": {"hand": "right", "count": 2}}},
                 {"name": "jump", "params": {"count": 2}}],
     "body": {"height": 1.02, "legs": 0.98, "torso": 1.0, "arms": 1.01},   (optional)
     "seed": 7}                                                            (optional)

Parameters left out take the registry's defaults (see `ACTIONS`); "upper"
runs an upper-body action during a locomotion action. "body" factors are in
[0.9, 1.1] (missing ones are 1.0); without "body" the proportions are drawn
from the render seed. Annotation keys written by the corpus ("id", "length",
"fps", "split", "captions", and "start"/"end" frame spans on actions) are
accepted and ignored.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import numpy as np

from .actions import ACTIONS, UPPER_ACTIONS, UPPER_BASES, ActionSpec
from .body import BODY_KEYS, BODY_RANGE

MAX_ACTIONS = 8
_TOP_KEYS = {"actions", "body", "seed"}
_TOP_IGNORED = {"id", "length", "fps", "split", "captions", "version", "frames", "held_out"}
_ACTION_KEYS = {"name", "params", "upper"}
_ACTION_IGNORED = {"start", "end", "upper_start", "upper_end"}


class ProgramError(ValueError):
    """A program that does not follow the format; the message names the field."""


@dataclass(frozen=True, eq=True)
class Action:
    name: str
    params: dict = field(default_factory=dict)
    upper: "Action | None" = None

    def to_dict(self) -> dict:
        d = {"name": self.name, "params": dict(self.params)}
        if self.upper is not None:
            d["upper"] = self.upper.to_dict()
        return d

    @property
    def spec(self) -> ActionSpec:
        return ACTIONS[self.name]


@dataclass(frozen=True, eq=True)
class Program:
    actions: tuple
    body: dict | None = None
    seed: int | None = None

    def to_dict(self) -> dict:
        d = {"actions": [a.to_dict() for a in self.actions]}
        if self.body is not None:
            d["body"] = dict(self.body)
        if self.seed is not None:
            d["seed"] = self.seed
        return d

    def to_json(self, **kw) -> str:
        return json.dumps(self.to_dict(), **kw)

    @property
    def names(self) -> list[str]:
        return [a.name for a in self.actions]


# --------------------------------------------------------------------------
# validation

def _is_int(v) -> bool:
    if isinstance(v, bool):
        return False
    if isinstance(v, (int, np.integer)):
        return True
    return isinstance(v, (float, np.floating)) and math.isfinite(v) and float(v).is_integer()


def _is_number(v) -> bool:
    return not isinstance(v, bool) and isinstance(v, (int, float, np.integer, np.floating)) and math.isfinite(v)


def _short(value, limit: int = 60) -> str:
    """repr() for an error message: one line, at most `limit` characters (values can be huge)."""
    try:
        text = repr(value)
    except RecursionError:
        text = f"<deeply nested {type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _key(key) -> str:
    """A key as shown in a field path: plain when short and printable, else _short(key)."""
    return key if isinstance(key, str) and key.isprintable() and len(key) <= 40 else _short(key)


def _check_param(where: str, p, value):
    if p.kind == "choice":
        for allowed in p.values:
            if isinstance(allowed, str) and isinstance(value, str) and value == allowed:
                return allowed
            if not isinstance(allowed, str) and _is_int(value) and int(value) == allowed:
                return allowed
        raise ProgramError(f"{where}: expected {p.describe()}, got {_short(value)}")
    if p.kind == "int":
        if not _is_int(value) or not (p.lo <= int(value) <= p.hi):
            raise ProgramError(f"{where}: expected {p.describe()}, got {_short(value)}")
        return int(value)
    if not _is_number(value) or not (p.lo <= float(value) <= p.hi):
        raise ProgramError(f"{where}: expected {p.describe()}, got {_short(value)}")
    return float(value)


def _validate_action(where: str, obj, allowed_names=None) -> Action:
    if isinstance(obj, Action):
        obj = obj.to_dict()
    if not isinstance(obj, dict):
        raise ProgramError(f"{where}: expected an object with 'name' and 'params', got {type(obj).__name__}")
    unknown = set(obj) - _ACTION_KEYS - _ACTION_IGNORED
    if unknown:
        raise ProgramError(f"{where}: unknown key(s) {_short(sorted(unknown))}; expected name, params, upper")
    name = obj.get("name")
    if not isinstance(name, str):
        raise ProgramError(f"{where}.name: expected an action name (string), got {_short(name)}")
    if name not in ACTIONS:
        raise ProgramError(f"{where}.name: unknown action {_short(name)}; known actions: {', '.join(sorted(ACTIONS))}")
    if allowed_names is not None and name not in allowed_names:
        raise ProgramError(f"{where}.name: {name!r} cannot run as an upper-body action; "
                           f"expected one of {', '.join(allowed_names)}")
    spec = ACTIONS[name]
    params = obj.get("params", {})
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise ProgramError(f"{where}.params: expected an object of parameters, got {type(params).__name__}")
    full = spec.defaults()
    for key, value in params.items():
        if key not in spec.params:
            known = ", ".join(spec.params) or "none"
            raise ProgramError(f"{where}.params.{_key(key)}: unknown parameter of {name!r}; its parameters: {known}")
        full[key] = _check_param(f"{where}.params.{key}", spec.params[key], value)
    if name in ("walk", "jog", "run"):
        if full["path"] != "straight" and full["direction"] != "forward":
            raise ProgramError(f"{where}.params.path: a {full['path']!r} path needs direction 'forward', "
                               f"got direction {full['direction']!r}")
        if full["path"] == "circle" and full["steps"] < 8:
            raise ProgramError(f"{where}.params.steps: a circle needs at least 8 steps, got {full['steps']}")
    upper = None
    if obj.get("upper") is not None:
        if allowed_names is not None:
            raise ProgramError(f"{where}.upper: an upper-body action cannot carry another")
        if name not in UPPER_BASES:
            raise ProgramError(f"{where}.upper: {name!r} cannot carry an upper-body action; "
                               f"expected the base to be one of {', '.join(UPPER_BASES)}")
        upper = _validate_action(f"{where}.upper", obj["upper"], UPPER_ACTIONS)
    return Action(name, full, upper)


def validate_program(obj) -> Program:
    """Check a program (dict, JSON text or Program) and fill in defaults; raises ProgramError."""
    if isinstance(obj, Program):
        obj = obj.to_dict()
    if isinstance(obj, (str, bytes)):
        try:
            obj = json.loads(obj)
        except json.JSONDecodeError as exc:
            raise ProgramError(f"program: not valid JSON ({exc})") from None
        except RecursionError:
            raise ProgramError("program: JSON nested too deeply; a program is at most a few levels deep") from None
    if not isinstance(obj, dict):
        raise ProgramError(f"program: expected a JSON object with an 'actions' list, got {type(obj).__name__}")
    unknown = set(obj) - _TOP_KEYS - _TOP_IGNORED
    if unknown:
        raise ProgramError(f"program: unknown key(s) {_short(sorted(unknown))}; expected actions, body, seed")
    acts = obj.get("actions")
    if not isinstance(acts, list):
        raise ProgramError(f"actions: expected a list of 1 to {MAX_ACTIONS} actions, got {type(acts).__name__}")
    if not 1 <= len(acts) <= MAX_ACTIONS:
        raise ProgramError(f"actions: expected 1 to {MAX_ACTIONS} actions, got {len(acts)}")
    actions = tuple(_validate_action(f"actions[{i}]", a) for i, a in enumerate(acts))
    body = obj.get("body")
    if body is not None:
        if not isinstance(body, dict):
            raise ProgramError(f"body: expected an object with {', '.join(BODY_KEYS)}, got {type(body).__name__}")
        full = {}
        for key, value in body.items():
            if key == "seed":
                continue
            if key not in BODY_KEYS:
                raise ProgramError(f"body.{_key(key)}: unknown key; expected {', '.join(BODY_KEYS)}")
            if not _is_number(value) or not (BODY_RANGE[0] <= float(value) <= BODY_RANGE[1]):
                raise ProgramError(f"body.{key}: expected a number in [{BODY_RANGE[0]}, {BODY_RANGE[1]}], got {_short(value)}")
            full[key] = float(value)
        body = {k: full.get(k, 1.0) for k in BODY_KEYS}
    seed = obj.get("seed")
    if seed is not None and (not _is_int(seed) or int(seed) < 0):
        raise ProgramError(f"seed: expected a non-negative integer, got {_short(seed)}")
    return Program(actions, body, None if seed is None else int(seed))


def load_program(path) -> Program:
    """Read and validate a program file; errors name the file."""
    from pathlib import Path
    path = Path(path)
    if path.is_dir():
        raise ProgramError(f"{path}: is a directory; expected a program .json file")
    if not path.is_file():
        raise ProgramError(f"{path}: program file not found")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProgramError(f"{path}: cannot read ({exc})") from None
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProgramError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    except RecursionError:
        raise ProgramError(f"{path}: JSON nested too deeply; a program is at most a few levels deep") from None
    try:
        return validate_program(obj)
    except ProgramError as exc:
        raise ProgramError(f"{path}: {exc}") from None
    except RecursionError:
        raise ProgramError(f"{path}: JSON nested too deeply; a program is at most a few levels deep") from None


# --------------------------------------------------------------------------
# random programs

def _sample_param(rng: np.random.Generator, p):
    if p.kind == "choice":
        if p.sample is not None:
            w = np.asarray(p.sample, dtype=np.float64)
            return p.values[int(rng.choice(len(p.values), p=w / w.sum()))]
        return p.values[int(rng.integers(0, len(p.values)))]
    lo, hi = (p.sample if p.sample is not None else (p.lo, p.hi))
    if p.kind == "int":
        return int(rng.integers(int(lo), int(hi) + 1))
    return round(float(rng.uniform(lo, hi)), 2)


def sample_action(rng: np.random.Generator, name: str | None = None, categories=None, scale: float = 1.0) -> Action:
    """A random action; counts/steps shrink with `scale` < 1 so several actions fit in one motion."""
    if name is None:
        names = [n for n, s in ACTIONS.items() if categories is None or s.category in categories]
        w = np.array([ACTIONS[n].weight for n in names])
        name = names[int(rng.choice(len(names), p=w / w.sum()))]
    spec = ACTIONS[name]
    params = {}
    for key, p in spec.params.items():
        v = _sample_param(rng, p)
        if key in ("count", "steps") and scale < 1.0:
            lo = p.lo if p.sample is None else p.sample[0]
            v = int(max(lo, round(lo + (v - lo) * scale)))
        if key in ("hold", "duration") and scale < 1.0:
            v = round(max(p.lo, v * scale), 2)
        params[key] = v
    if name in ("walk", "jog", "run"):
        if params["path"] != "straight":
            params["direction"] = "forward"
            if params["path"] == "circle":
                params["steps"] = max(params["steps"], 8)
        if params["direction"] not in ("forward", "backward") and rng.random() < 0.5:
            params["steps"] = min(params["steps"], 6)
    return Action(name, params, None)


def sample_program(rng: np.random.Generator, n_actions: int | None = None, upper_prob: float = 0.3,
                   max_frames: int = 196, min_frames: int = 40, tries: int = 50, check_length: bool = True) -> Program:
    """A random program whose motion lasts about min_frames..max_frames at 20 fps.

    With check_length=False the length is left to the caller (the corpus checks the real render).
    """
    from .compose import estimate_frames
    for _ in range(tries):
        k = n_actions or int(rng.choice([1, 2, 3, 4], p=[0.22, 0.33, 0.25, 0.20]))
        scale = {1: 1.0, 2: 0.7, 3: 0.45, 4: 0.3}[min(k, 4)]
        acts = []
        for i in range(k):
            a = sample_action(rng, scale=scale)
            if a.spec.upper_ok and rng.random() < upper_prob:
                up = sample_action(rng, name=UPPER_ACTIONS[int(rng.integers(0, len(UPPER_ACTIONS)))], scale=scale)
                a = Action(a.name, a.params, up)
            acts.append(a)
        if k > 1 and any(acts[i].name == acts[i + 1].name for i in range(k - 1)):
            continue
        prog = Program(tuple(acts))
        if not check_length:
            return prog
        T = estimate_frames(prog)
        if min_frames + 6 <= T <= max_frames - 12:
            return prog
    # fall back to a short single action
    return Program((Action("walk", ACTIONS["walk"].defaults()),))
