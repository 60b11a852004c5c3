"""The action registry: name -> parameter schema, category and generator.

`ACTIONS[name].params` maps each parameter to a `Param` (allowed values or an
inclusive range, and the default). Programs name actions and give any subset
of their parameters; the rest take the defaults.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from . import locomotion as loco
from . import moves

DIRECTIONS8 = ("forward", "backward", "left", "right", "forward_left", "forward_right", "backward_left",
               "backward_right")
SIDES = ("left", "right")
HANDS = ("left", "right", "both")


@dataclass(frozen=True)
class Param:
    kind: str                       # "choice", "int" or "float"
    default: object
    values: tuple = ()              # choice: allowed values (str or int)
    lo: float | None = None         # int / float: inclusive range
    hi: float | None = None
    sample: tuple | None = None     # optional narrower/typical range or weights for random programs

    def describe(self) -> str:
        if self.kind == "choice":
            return "one of " + ", ".join(repr(v) for v in self.values)
        kind = "an integer" if self.kind == "int" else "a number"
        return f"{kind} in [{self.lo}, {self.hi}]"

    def to_json(self) -> dict:
        d = {"type": self.kind, "default": self.default}
        if self.kind == "choice":
            d["values"] = list(self.values)
        else:
            d["min"], d["max"] = self.lo, self.hi
        return d


def choice(values, default, sample=None):
    return Param("choice", default, tuple(values), sample=sample)


def integer(lo, hi, default, sample=None):
    return Param("int", default, lo=lo, hi=hi, sample=sample)


def number(lo, hi, default, sample=None):
    return Param("float", default, lo=lo, hi=hi, sample=sample)


@dataclass(frozen=True)
class ActionSpec:
    name: str
    category: str                   # "locomotion", "jump", "body", "upper"
    params: dict
    generate: Callable
    doc: str = ""
    upper_ok: bool = False          # can carry an upper-body action ("walks while waving")
    weight: float = 1.0             # how often random programs pick it
    uses: tuple = field(default=())  # for upper actions: which channels the overlay replaces

    def defaults(self) -> dict:
        return {k: p.default for k, p in self.params.items()}


def _gait(gait):
    def gen(body, rng, p, tempo=1.0):
        return loco.walk_plan(body, rng, gait, p["direction"], p["steps"], p["speed"] * tempo, path=p["path"],
                              turn=p["turn"], angle=p["angle"])
    return gen


def _gait_params(max_steps, default_steps, sample_steps):
    return {
        "direction": choice(DIRECTIONS8, "forward",
                            sample=(0.4, 0.12, 0.11, 0.11, 0.07, 0.07, 0.06, 0.06)),
        "path": choice(("straight", "curve", "circle"), "straight", sample=(0.78, 0.16, 0.06)),
        "turn": choice(SIDES, "left"),
        "angle": choice((45, 90, 135, 180), 90),
        "steps": integer(2, max_steps, default_steps, sample=sample_steps),
        "speed": number(0.6, 1.5, 1.0, sample=(0.65, 1.45)),
    }


def _side_step(body, rng, p, tempo=1.0):
    return loco.side_step_plan(body, rng, p["direction"], p["steps"], p["speed"] * tempo)


def _turn(body, rng, p, tempo=1.0):
    sign = 1 if p["direction"] == "left" else -1
    return loco.turn_plan(body, rng, sign * p["angle"], p["speed"] * tempo)


def _spin(body, rng, p, tempo=1.0):
    sign = 1 if p["direction"] == "left" else -1
    return loco.turn_plan(body, rng, sign * 360 * p["turns"], 1.0 * tempo, spin=True)


def _march(body, rng, p, tempo=1.0):
    return loco.march_plan(body, rng, p["steps"], p["speed"] * tempo, p["knee"])


def _stomp(body, rng, p, tempo=1.0):
    return loco.stomp_plan(body, rng, p["foot"], p["count"], 1.0 * tempo)


SPEED = number(0.6, 1.5, 1.0, sample=(0.7, 1.4))

_SPECS = [
    ActionSpec("walk", "locomotion", _gait_params(16, 4, (2, 10)), _gait("walk"), "walk", upper_ok=True, weight=3.0),
    ActionSpec("jog", "locomotion", _gait_params(16, 6, (3, 12)), _gait("jog"), "jog", upper_ok=True, weight=1.5),
    ActionSpec("run", "locomotion", _gait_params(16, 6, (3, 12)), _gait("run"), "run", upper_ok=True, weight=1.5),
    ActionSpec("side_step", "locomotion", {"direction": choice(SIDES, "left"), "steps": integer(1, 6, 2, (1, 4)),
                                           "speed": SPEED}, _side_step, "side-step", upper_ok=True),
    ActionSpec("turn", "locomotion", {"direction": choice(SIDES, "left"),
                                      "angle": choice((45, 90, 135, 180, 225, 270, 315, 360), 90,
                                                      sample=(0.12, 0.3, 0.1, 0.28, 0.04, 0.06, 0.02, 0.08)),
                                      "speed": SPEED}, _turn, "turn on the spot", upper_ok=True, weight=1.5),
    ActionSpec("spin", "locomotion", {"direction": choice(SIDES, "left"), "turns": integer(1, 2, 1, (1, 2))},
               _spin, "spin around"),
    ActionSpec("jump", "jump", {"direction": choice(("in_place", "forward", "backward", "left", "right"), "in_place",
                                                    sample=(0.4, 0.3, 0.1, 0.1, 0.1)),
                                "count": integer(1, 5, 1, (1, 4)), "height": number(0.1, 0.45, 0.25, (0.1, 0.45))},
               moves.gen_jump, "jump", weight=1.5),
    ActionSpec("hop", "jump", {"leg": choice(SIDES, "right"), "count": integer(1, 6, 3, (1, 5)),
                               "direction": choice(("in_place", "forward"), "in_place")}, moves.gen_hop,
               "hop on one leg"),
    ActionSpec("jumping_jacks", "jump", {"count": integer(1, 6, 3, (1, 5)), "speed": SPEED}, moves.gen_jumping_jacks,
               "jumping jacks"),
    ActionSpec("march", "locomotion", {"steps": integer(2, 12, 6, (2, 10)), "speed": SPEED,
                                       "knee": number(0.6, 1.3, 1.0, (0.7, 1.3))}, _march, "march in place",
               upper_ok=True),
    ActionSpec("stomp", "locomotion", {"foot": choice(HANDS, "right"), "count": integer(1, 4, 1, (1, 4))}, _stomp,
               "stomp"),
    ActionSpec("squat", "body", {"count": integer(1, 5, 1, (1, 4)), "depth": number(0.4, 1.0, 0.8, (0.4, 1.0)),
                                 "speed": SPEED}, moves.gen_squat, "squat", weight=1.5),
    ActionSpec("crouch", "body", {"hold": number(0.3, 2.0, 1.0, (0.3, 1.8)), "depth": number(0.6, 1.0, 1.0, (0.6, 1.0))},
               moves.gen_crouch, "crouch down and rise"),
    ActionSpec("kneel", "body", {"knee": choice(HANDS, "right"), "hold": number(0.5, 2.5, 1.0, (0.5, 2.0))},
               moves.gen_kneel, "kneel and get up"),
    ActionSpec("sit_down", "body", {"hold": number(0.5, 3.0, 1.5, (0.5, 2.5))}, moves.gen_sit_down,
               "sit down on the ground and stand up"),
    ActionSpec("bow", "body", {"count": integer(1, 3, 1, (1, 3)), "depth": number(0.3, 1.0, 0.6, (0.3, 1.0))},
               moves.gen_bow, "bow"),
    ActionSpec("touch_toes", "body", {"count": integer(1, 3, 1, (1, 3))}, moves.gen_touch_toes,
               "bend down to touch the toes"),
    ActionSpec("lean", "body", {"direction": choice(SIDES, "left"), "count": integer(1, 3, 1, (1, 3)),
                                "amount": number(0.3, 1.0, 0.7, (0.3, 1.0))}, moves.gen_lean, "lean sideways"),
    ActionSpec("lunge", "body", {"leg": choice(SIDES, "right"), "count": integer(1, 3, 1, (1, 2))}, moves.gen_lunge,
               "lunge forward and step back"),
    ActionSpec("balance", "body", {"leg": choice(SIDES, "left"), "hold": number(0.8, 3.0, 1.5, (0.8, 2.5))},
               moves.gen_balance, "stand on one leg"),
    ActionSpec("kick", "body", {"leg": choice(SIDES, "right"), "direction": choice(("forward", "sideways"), "forward",
                                                                                 sample=(0.65, 0.35)),
                                "count": integer(1, 3, 1, (1, 3)), "height": number(0.3, 1.0, 0.7, (0.3, 1.0))},
               moves.gen_kick, "kick", weight=1.5),
    ActionSpec("tiptoe", "body", {"count": integer(1, 4, 1, (1, 3))}, moves.gen_tiptoe, "rise onto the toes"),
    ActionSpec("torso_twist", "body", {"count": integer(1, 4, 2, (1, 3))}, moves.gen_torso_twist, "twist the torso"),
    ActionSpec("idle", "body", {"duration": number(1.0, 4.0, 2.0, (1.0, 3.0))}, moves.gen_idle, "stand still",
               weight=0.5),
    ActionSpec("wave", "upper", {"hand": choice(HANDS, "right", sample=(0.35, 0.45, 0.2)),
                                 "count": integer(1, 6, 3, (1, 5))}, moves.gen_wave, "wave",
               weight=1.5, uses=("arms",)),
    ActionSpec("raise_arm", "upper", {"hand": choice(HANDS, "right"),
                                      "direction": choice(("forward", "sideways", "overhead"), "overhead"),
                                      "hold": number(0.3, 2.0, 1.0, (0.3, 1.5))}, moves.gen_raise_arm,
               "raise the arm(s)", weight=1.5, uses=("arms",)),
    ActionSpec("clap", "upper", {"count": integer(1, 8, 3, (1, 6))}, moves.gen_clap, "clap",
               weight=1.2, uses=("arms", "both")),
    ActionSpec("punch", "upper", {"hand": choice(HANDS, "right", sample=(0.3, 0.4, 0.3)),
                                  "count": integer(1, 6, 2, (1, 5))}, moves.gen_punch, "punch",
               weight=1.2, uses=("arms", "both", "spine")),
    ActionSpec("throw", "upper", {"hand": choice(SIDES, "right", sample=(0.3, 0.7))}, moves.gen_throw,
               "throw overhand", uses=("arms", "both", "spine")),
    ActionSpec("look_around", "upper", {"count": integer(1, 3, 1, (1, 2)), "first": choice(SIDES, "left")},
               moves.gen_look_around, "look around", uses=("head", "spine")),
    ActionSpec("stretch", "upper", {"hold": number(0.5, 2.5, 1.2, (0.5, 2.0))}, moves.gen_stretch,
               "stretch the arms overhead", uses=("arms", "both", "spine", "head")),
    ActionSpec("shrug", "upper", {"count": integer(1, 3, 1, (1, 3))}, moves.gen_shrug, "shrug",
               uses=("arms", "both", "collar", "head")),
    ActionSpec("arm_circles", "upper", {"hand": choice(HANDS, "both"), "count": integer(1, 5, 3, (1, 4)),
                                        "direction": choice(("forward", "backward"), "forward")},
               moves.gen_arm_circles, "circle the arms", uses=("arms",)),
]

ACTIONS: dict[str, ActionSpec] = {s.name: s for s in _SPECS}

# Upper-body actions that may run during a locomotion action ("upper" in a program).
UPPER_ACTIONS = ("wave", "raise_arm", "clap", "punch", "look_around", "shrug", "stretch", "arm_circles")
UPPER_BASES = tuple(n for n, s in ACTIONS.items() if s.upper_ok)


def overlay_sides(name: str, params: dict) -> tuple[int, ...]:
    """Which arms an upper action drives (0 left, 1 right)."""
    spec = ACTIONS[name]
    if "arms" not in spec.uses:
        return ()
    if "both" in spec.uses:
        return (0, 1)
    return {"left": (0,), "right": (1,), "both": (0, 1)}[params.get("hand", "both")]


def schema() -> dict:
    """The registry as plain JSON-able data (for docs and tools)."""
    return {name: {"category": s.category, "doc": s.doc, "upper_ok": s.upper_ok,
                   "params": {k: p.to_json() for k, p in s.params.items()}} for name, s in ACTIONS.items()}
