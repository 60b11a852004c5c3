"""Exact assessments for the procedural corpus: the difference between the goal's
action program and a candidate's, and controlled near-miss perturbations.

Because both programs are known, an assessment can say precisely what is
wrong ("the left hand waves, the goal asks for the right") where the authors
had to ask an LLM to compare two captions.
"""
from __future__ import annotations

import difflib
import random

from ..data.synth.actions import ACTIONS, UPPER_ACTIONS
from ..data.synth.program import Action, Program
from .assessment import (ASSESSMENT_STYLES, Assessment, Difference, join_phrases, level_from_differences,
                         write_assessment)

_NUM = {1: "once", 2: "twice"}
_DIR_WORDS = {"forward": "forward", "backward": "backward", "left": "to the left", "right": "to the right",
              "forward_left": "diagonally forward to the left", "forward_right": "diagonally forward to the right",
              "backward_left": "diagonally backward to the left", "backward_right": "diagonally backward to the right",
              "in_place": "in place", "sideways": "sideways", "overhead": "overhead"}
_OPPOSITE = {"left": "right", "right": "left", "forward": "backward", "backward": "forward",
             "forward_left": "forward_right", "forward_right": "forward_left", "backward_left": "backward_right",
             "backward_right": "backward_left", "in_place": "forward", "sideways": "forward", "overhead": "sideways"}
COUNT_PARAMS = ("count", "steps", "turns")
AMPLITUDE_PARAMS = ("height", "depth", "amount")


def too_small(value, goal_value) -> bool:
    """The one amplitude rule: under 70% of the goal's is an error (assessments, "(small)" marks, perturbations)."""
    return float(value) < 0.7 * float(goal_value)


def _is_side(name: str, action: str) -> bool:
    p = ACTIONS[action].params.get(name)
    return p is not None and p.kind == "choice" and set(p.values) <= {"left", "right", "both"} and name != "direction"


def _params(a: Action) -> dict:
    return {**ACTIONS[a.name].defaults(), **a.params}


def _times(n: int, unit: str = "times") -> str:
    if unit == "times":
        return _NUM.get(n, f"{n} times")
    return f"{n} {unit if n != 1 else unit.rstrip('s')}"


def phrase(a: Action, with_upper: bool = True, small: tuple[bool, bool] = (False, False)) -> str:
    """A short imperative phrase for an action, e.g. 'wave the right hand 3 times'.
    `small` marks the action and its upper-body action "(small)" where an assessment saw them too small."""
    spec, p = ACTIONS[a.name], _params(a)
    words = [spec.doc]
    if "direction" in p and spec.category != "upper":
        words.append(_DIR_WORDS.get(str(p["direction"]), str(p["direction"])))
    elif "direction" in p:
        words.append(_DIR_WORDS.get(str(p["direction"]), str(p["direction"])))
    for name in ("hand", "leg", "foot", "knee"):
        if name in p and _is_side(name, a.name):
            part = {"hand": "hand", "leg": "leg", "foot": "foot", "knee": "knee"}[name]
            words.append("with both hands" if p[name] == "both" else f"with the {p[name]} {part}")
    if "turn" in p and p.get("path", "straight") != "straight":
        words.append(f"along a {p['path']} to the {p['turn']}")
    if a.name in ("turn", "spin") and "direction" in p:
        words[1] = f"to the {p['direction']}"
    if a.name == "turn":
        words.append(f"by {p['angle']} degrees")
    for name, unit in (("count", "times"), ("steps", "steps"), ("turns", "turns")):
        if name in p:
            words.append(_times(int(p[name]), unit))
    text = " ".join(w for w in words if w) + (" (small)" if small[0] else "")
    if with_upper and a.upper is not None:
        text += " while doing this: " + phrase(a.upper, with_upper=False, small=(small[1], False))
    return text


def _too_small(g: Action, c: Action) -> bool:
    gp, cp = _params(g), _params(c)
    return any(n in gp and n in cp and too_small(cp[n], gp[n]) for n in AMPLITUDE_PARAMS)


def _small_marks(g: Action, c: Action) -> tuple[bool, bool]:
    upper = g.upper is not None and c.upper is not None and g.upper.name == c.upper.name and _too_small(g.upper, c.upper)
    return _too_small(g, c), upper


def _param_difference(name: str, g: Action, c: Action, where: str) -> Difference | None:
    """How the candidate's value of one of the goal action's parameters departs from it, or None."""
    gp, cp = _params(g), _params(c)
    gv, cv = gp[name], cp.get(name)
    if cv == gv:
        return None
    if name in ("turn", "angle") and "path" in gp and gp["path"] == "straight" and cp.get("path") == "straight":
        return None  # a straight walk has no turn to get wrong
    doc = ACTIONS[g.name].doc
    if _is_side(name, g.name) or (name in ("direction", "turn", "first") and {gv, cv} <= {"left", "right"}):
        part = {"hand": "hand", "leg": "leg", "foot": "foot", "knee": "knee"}.get(name, "side")
        if name in ("direction", "turn", "first"):
            return Difference("wrong_side", f"the {doc}{where} goes to the {cv} where the goal asks for the {gv}",
                              f"{doc} to the {gv} instead of the {cv}")
        parts = lambda v: "both hands" if v == "both" else f"the {v} {part}"  # noqa: E731
        return Difference("wrong_side", f"the {doc}{where} uses {parts(cv)} where the goal asks for "
                          f"{parts(gv)}", f"{doc} with {parts(gv)} instead of {parts(cv)}")
    if name == "direction":
        return Difference("wrong_direction", f"the {doc}{where} goes {_DIR_WORDS.get(cv, cv)} instead of "
                          f"{_DIR_WORDS.get(gv, gv)}", f"{doc} {_DIR_WORDS.get(gv, gv)}")
    if name in COUNT_PARAMS:
        # Step counts are only loosely visible; a difference of one or two is not an error.
        if name == "steps" and abs(int(cv) - int(gv)) < 3:
            return None
        unit = "times" if name == "count" else name
        verb = "happens" if name == "count" else "takes"
        return Difference("wrong_count", f"the {doc}{where} {verb} {_times(int(cv), unit)} instead of "
                          f"{_times(int(gv), unit)}", f"{doc} {_times(int(gv), unit)}")
    if name == "angle":
        return Difference("wrong_direction", f"the {doc}{where} turns {cv} degrees instead of {gv}", f"turn {gv} degrees")
    if name in AMPLITUDE_PARAMS and too_small(cv, gv):
        return Difference("amplitude", f"the {doc}{where} is too small", f"make the {doc} bigger", weight=0.5)
    if name == "path":
        return Difference("wrong_direction", f"the {doc}{where} follows a {cv} path instead of a {gv} one",
                          f"{doc} along a {gv} path")
    return None  # speed, hold, duration: not visible enough to judge


def _upper_difference(g: Action, c: Action) -> Difference | None:
    """A missing, extra or different upper-body action during a matched action."""
    if g.upper is not None and c.upper is None:
        return Difference("missing", f"the {phrase(g.upper, False)} during the {g.name} is missing",
                          f"{phrase(g.upper, False)} while you {ACTIONS[g.name].doc}", weight=1.5)
    if g.upper is None and c.upper is not None:
        return Difference("extra", f"it adds a {ACTIONS[c.upper.name].doc} during the {c.name}",
                          f"do not {ACTIONS[c.upper.name].doc} while you {ACTIONS[c.name].doc}", weight=0.5)
    if g.upper is not None and c.upper is not None and g.upper.name != c.upper.name:
        return Difference("missing", f"it does a {ACTIONS[c.upper.name].doc} instead of a "
                          f"{ACTIONS[g.upper.name].doc} during the {g.name}", f"{phrase(g.upper, False)} instead")
    return None


def _param_diffs(g: Action, c: Action, where: str) -> list[Difference]:
    out = [d for name in _params(g) if (d := _param_difference(name, g, c, where)) is not None]
    if (d := _upper_difference(g, c)) is not None:
        out.append(d)
    elif g.upper is not None and c.upper is not None:
        out += _param_diffs(g.upper, c.upper, f" during the {g.name}")
    return out


# The parameters a "slots" assessment compares one at a time, and the word that names each.
_SLOT_NAMES = {"hand": "side", "leg": "side", "foot": "side", "knee": "side", "first": "first side",
               "direction": "direction", "path": "path", "turn": "turn", "angle": "angle", "count": "count",
               "steps": "steps", "turns": "turns", "height": "size", "depth": "size", "amount": "size"}


def _slot_value(name: str, value, goal_value) -> str:
    if name == "direction":
        return _DIR_WORDS.get(str(value), str(value))
    if name == "angle":
        return f"{value} degrees"
    if name == "count":
        return _times(int(value))
    if name in AMPLITUDE_PARAMS:
        return "small" if too_small(value, goal_value) else "full"
    return str(value)


def _slot_checks(g: Action, c: Action, prefix: str = "") -> list[str]:
    """One comparison per visible parameter, goal value then motion value then the verdict
    ("direction in place vs forward wrong", "steps 4 vs 12 wrong"), so each verdict compares two adjacent words; the
    verdicts come from _param_difference, the same rule the differences use."""
    gp, cp = _params(g), _params(c)
    out = []
    for name in gp:
        if name not in _SLOT_NAMES or (_SLOT_NAMES[name] == "side" and not _is_side(name, g.name)):
            continue
        if name in ("path", "turn", "angle") and gp.get("path") == "straight" and cp.get("path") == "straight":
            continue
        ok = _param_difference(name, g, c, "") is None
        out.append(f"{prefix}{_SLOT_NAMES[name]} {_slot_value(name, gp[name], gp[name])} vs "
                   f"{_slot_value(name, cp.get(name, gp[name]), gp[name])} {'ok' if ok else 'wrong'}")
    if g.upper is not None or c.upper is not None:
        if _upper_difference(g, c) is not None:
            shown = lambda a: phrase(a, False) if a is not None else "nothing"  # noqa: E731
            out.append(f"upper {shown(g.upper)} vs {shown(c.upper)} wrong")
        else:
            out += _slot_checks(g.upper, c.upper, prefix="upper ")
    return out


def program_difference(goal: Program, cand: Program) -> tuple[list[str], list[Difference], int]:
    """(what matches, what differs, how many goal actions the candidate performs) between two programs."""
    matches, diffs, n_matched, _, _ = compare_programs(goal, cand)
    return matches, diffs, n_matched


def compare_programs(goal: Program, cand: Program, style: str = "compare",
                     ) -> tuple[list[str], list[Difference], int, list[str], dict[int, tuple[bool, bool]]]:
    """program_difference plus a checklist: one verdict per goal action, in the goal's order ("walk forward
    4 steps: done", "clap twice: missing", "jump twice: done, but ..."), then the candidate's extra actions;
    last, for each candidate action matched to a goal action (by position), whether it and its upper-body
    action are too small against it.
    Aligned, each goal action is followed by the motion's matching action before its verdict
    ("jump twice | shown: jump twice (small) | done, but the jump is too small").
    Slots, each goal action is followed by one comparison per parameter, and the order of the actions
    is checked position by position whenever the motion performs the same actions ("order: walk vs jump wrong, jump vs
    walk wrong")."""
    gn, cn = goal.names, cand.names
    aligned = style == "aligned"
    matches, diffs, checks, small = [], [], [], {}

    def check(g, d, j):
        c = cand.actions[j]
        small[j] = _small_marks(g, c)
        verdict = "done" + (", but " + join_phrases([x.problem for x in d]) if d else "")
        if style == "slots":  # the goal's words are already written above; the action's name is enough here
            checks.append(f"{ACTIONS[g.name].doc}: " + (", ".join(_slot_checks(g, c)) or "done"))
        else:
            checks.append(f"{phrase(g)} | shown: {phrase(c, small=small[j])} | {verdict}" if aligned
                          else f"{phrase(g)}: {verdict}")

    def check_missing(g):
        checks.append(f"{phrase(g)} | shown: nothing | missing" if aligned
                      else f"{ACTIONS[g.name].doc}: missing" if style == "slots" else f"{phrase(g)}: missing")

    def order_check():
        # slots: the goal's i-th action against the motion's i-th, so each verdict compares two adjacent names
        pairs = [(ACTIONS[g].doc, ACTIONS[c].doc) for g, c in zip(gn, cn)]
        checks.append("order: " + ", ".join(f"{g} vs {c} {'ok' if g == c else 'wrong'}" for g, c in pairs)
                      if style == "slots" else "order: wrong")

    if gn != cn and sorted(gn) == sorted(cn) and len(gn) > 1:
        diffs.append(Difference("order", "the actions come in the wrong order: " + ", then ".join(
            ACTIONS[n].doc for n in cn), "do them in this order: " + ", then ".join(phrase(a) for a in goal.actions)))
        pairs = [(g, next(j for j, c in enumerate(cand.actions) if c.name == g.name)) for g in goal.actions]
        for g, j in pairs:
            d = _param_diffs(g, cand.actions[j], "")
            diffs += d
            check(g, d, j)
            if not d:
                matches.append(phrase(g))
        order_check()
        return matches, diffs, len(gn), checks, small
    sm = difflib.SequenceMatcher(a=gn, b=cn, autojunk=False)
    n_matched = 0
    extras = []
    for op, i1, i2, j1, j2 in sm.get_opcodes():
        if op == "equal":
            n_matched += i2 - i1
            for g, j in zip(goal.actions[i1:i2], range(j1, j2)):
                d = _param_diffs(g, cand.actions[j], "")
                diffs += d
                check(g, d, j)
                if not d:
                    matches.append(phrase(g))
                else:
                    matches.append(f"the {ACTIONS[g.name].doc}")
        if op in ("delete", "replace"):
            for g in goal.actions[i1:i2]:
                diffs.append(Difference("missing", f"the goal's '{phrase(g)}' is missing", phrase(g), weight=1.5))
                check_missing(g)
        if op in ("insert", "replace"):
            # A goal action's upper-body overlay performed alone (the wave of "walk while waving", without the
            # walk) is the missing action done in part, not an extra to leave out: the fix is the missing action.
            overlays = {g.upper.name for g in goal.actions[i1:i2] if g.upper is not None} if op == "replace" else set()
            for c in cand.actions[j1:j2]:
                if c.name in overlays and c.upper is None:
                    continue
                diffs.append(Difference("extra", f"it adds '{phrase(c, False)}', which the goal does not ask for",
                                        f"leave out the {ACTIONS[c.name].doc}", weight=0.5))
                extras.append(phrase(c, False))
    checks += [f"extra: {e}" for e in extras]
    if style == "slots" and gn == cn and len(gn) > 1:
        order_check()
    return matches, diffs, n_matched, checks, small


def assess_programs(goal: Program, cand: Program, rng: random.Random, style: str = "compare") -> Assessment:
    if style not in ASSESSMENT_STYLES:
        raise ValueError(f"unknown assessment style {style!r}; choose from {', '.join(ASSESSMENT_STYLES)}")
    matches, diffs, n_matched, checks, small = compare_programs(goal, cand, style)
    level = level_from_differences(diffs, len(goal.actions), n_matched=n_matched)
    # aligned: the motion's description also carries what looked too small against the goal, so every
    # difference a verdict names is already written down before the verdict
    shown = describe_program(cand, small if style == "aligned" else None)
    return write_assessment(level, matches, diffs, rng, shown=shown, asked=describe_program(goal),
                            checks=checks if style != "compare" else None)


def describe_program(program: Program, small: dict[int, tuple[bool, bool]] | None = None) -> str:
    """The canonical description assessments use: 'walk forward 4 steps, then jump twice'."""
    small = small or {}
    return ", then ".join(phrase(a, small=small.get(i, (False, False))) for i, a in enumerate(program.actions))


# ---- controlled near-misses ------------------------------------------------------------
PERTURBATIONS = ("wrong_side", "wrong_direction", "wrong_count", "missing", "extra", "order", "amplitude", "wrong_action")


def _replace_action(prog: Program, i: int, action: Action) -> Program:
    acts = list(prog.actions)
    acts[i] = action
    return Program(tuple(acts), prog.body, prog.seed)


def perturb(prog: Program, kind: str, rng: random.Random) -> Program | None:
    """A copy of `prog` changed in one controlled way, or None when that kind does not apply
    (or the change would break the program's constraints, e.g. a circle needs enough steps)."""
    from ..data.synth.program import ProgramError, validate_program
    changed = _perturb(prog, kind, rng)
    if changed is None:
        return None
    try:
        return validate_program(changed.to_dict())
    except ProgramError:
        return None


def _perturb(prog: Program, kind: str, rng: random.Random) -> Program | None:
    acts = list(prog.actions)
    order = list(range(len(acts)))
    rng.shuffle(order)
    if kind in ("wrong_side", "wrong_direction", "wrong_count", "amplitude"):
        for i in order:
            targets = [acts[i]] + ([acts[i].upper] if acts[i].upper is not None else [])
            for t_index, a in enumerate(targets):
                p = _params(a)
                new = dict(a.params)
                if kind == "wrong_side":
                    keys = [k for k in p if _is_side(k, a.name) or (k in ("direction", "turn", "first")
                                                                   and p[k] in ("left", "right"))]
                    if p.get("path") == "straight" and "turn" in keys:
                        keys.remove("turn")
                    if not keys:
                        continue
                    k = rng.choice(keys)
                    new[k] = {"left": "right", "right": "left", "both": rng.choice(["left", "right"])}[p[k]]
                elif kind == "wrong_direction":
                    if "direction" not in p or p["direction"] in ("left", "right") and a.name in ("turn", "spin", "lean", "side_step"):
                        continue
                    values = ACTIONS[a.name].params["direction"].values
                    opposite = _OPPOSITE.get(p["direction"])
                    new["direction"] = opposite if opposite in values else rng.choice([v for v in values if v != p["direction"]])
                elif kind == "wrong_count":
                    keys = [k for k in ("count", "turns") if k in p] + (["steps"] if "steps" in p else [])
                    if not keys:
                        continue
                    k = keys[0]
                    spec = ACTIONS[a.name].params[k]
                    options = [v for v in range(int(spec.lo), int(spec.hi) + 1)
                               if abs(v - int(p[k])) >= (3 if k == "steps" else 1)]
                    if not options:
                        continue
                    new[k] = rng.choice(options)
                else:
                    keys = [k for k in AMPLITUDE_PARAMS if k in p]
                    if not keys:
                        continue
                    k = keys[0]
                    spec = ACTIONS[a.name].params[k]
                    small = max(spec.lo, float(p[k]) * 0.45)
                    if not too_small(small, p[k]):
                        continue
                    new[k] = round(small, 3)
                changed = Action(a.name, new, a.upper)
                if t_index == 0:
                    return _replace_action(prog, i, changed)
                return _replace_action(prog, i, Action(acts[i].name, acts[i].params, changed))
        return None
    if kind == "missing":
        with_upper = [i for i in order if acts[i].upper is not None]
        if len(acts) > 1 and (not with_upper or rng.random() < 0.5):
            i = order[0]
            return Program(tuple(a for j, a in enumerate(acts) if j != i), prog.body, prog.seed)
        if with_upper:
            i = with_upper[0]
            return _replace_action(prog, i, Action(acts[i].name, acts[i].params, None))
        return None
    if kind == "extra":
        if len(acts) >= 4:
            return None
        name = rng.choice([n for n in ACTIONS if n not in prog.names and n != "idle"])
        acts.insert(rng.randint(0, len(acts)), Action(name, {}))
        return Program(tuple(acts), prog.body, prog.seed)
    if kind == "order":
        pairs = [i for i in range(len(acts) - 1) if acts[i].name != acts[i + 1].name]
        if not pairs:
            return None
        i = rng.choice(pairs)
        acts[i], acts[i + 1] = acts[i + 1], acts[i]
        return Program(tuple(acts), prog.body, prog.seed)
    if kind == "wrong_action":
        i = order[0]
        same_kind = [n for n, s in ACTIONS.items() if n != acts[i].name and n != "idle"
                     and (s.category == "upper") == (acts[i].name in UPPER_ACTIONS)]
        return _replace_action(prog, i, Action(rng.choice(same_kind), {}))
    raise ValueError(f"unknown perturbation {kind!r}; choose from {', '.join(PERTURBATIONS)}")


def analyse_program(prog: Program, rng: random.Random, n: int = 4) -> list[str]:
    """Goal analyses from the program: actions in order, sides, directions, counts."""
    steps = [phrase(a) for a in prog.actions]
    order = ", then ".join(steps)
    k = len(steps)
    parts = sorted({w for a in prog.actions for w in ("arms" if ACTIONS[a.name].category == "upper" else "legs",)})
    forms = [
        f"The goal has {k} part{'s' if k > 1 else ''}: {order}. The order and the details of each part matter.",
        f"To match the goal the body must {order}. Each action should be clearly visible, with the stated sides, "
        "directions and repetitions.",
        f"Key aspects: {'; '.join(f'({i + 1}) {s}' for i, s in enumerate(steps))}. The motion mainly involves the "
        f"{' and '.join(parts)}.",
        f"A correct motion will {order}, in exactly this order, without extra actions.",
        f"The critical elements are the action{'s' if k > 1 else ''} {', '.join(ACTIONS[a.name].doc for a in prog.actions)}; "
        f"concretely: {order}.",
    ]
    rng.shuffle(forms)
    return forms[:n]
