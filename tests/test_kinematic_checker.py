"""The free-form prompt set and the kinematic checker (irgmotion/bench/kinematic.py)."""
from __future__ import annotations

import copy
import json
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from irgmotion.bench.kinematic import DEFAULTS, JUDGED, Analysis, analyse, check_motion

REPO = Path(__file__).resolve().parents[1]
PROMPTS = REPO / "irgmotion" / "bench" / "freeform_prompts.jsonl"
STYLES = {"synonym", "word-order", "typo", "numerals", "extra-words", "casual"}


def load_prompts():
    return [json.loads(line) for line in PROMPTS.read_text(encoding="utf-8").splitlines() if line.strip()]


# ------------------------------------------------------------------------------------------- prompt set

def test_prompt_file_loads_and_programs_validate():
    from irgmotion.data.synth import validate_program
    prompts = load_prompts()
    assert len(prompts) >= 150
    texts = [p["text"] for p in prompts]
    assert len(set(t.lower() for t in texts)) == len(texts), "duplicate prompts"
    for p in prompts:
        assert set(p) <= {"text", "program", "styles", "unspecified"}, p
        assert isinstance(p["text"], str) and p["text"].strip()
        validate_program(p["program"])  # raises on an invalid program
        assert p["styles"] and set(p["styles"]) <= STYLES, p
        n = len(p["program"]["actions"])
        for item in p.get("unspecified", []):
            parts = item.split(".")
            i = int(parts[0])
            assert i < n, item
            act = p["program"]["actions"][i]
            if len(parts) == 3:
                assert parts[1] == "upper" and "upper" in act, item
                act = act["upper"]
            assert parts[-1] in DEFAULTS[act["name"]], item
            assert parts[-1] not in act.get("params", {}), f"{item} is given in the program: {p['text']}"


def test_prompt_styles_and_chains_are_spread():
    prompts = load_prompts()
    counts = Counter(s for p in prompts for s in p["styles"])
    for style in STYLES:
        assert counts[style] >= 20, (style, counts)
    chains = sum(len(p["program"]["actions"]) > 1 for p in prompts)
    assert 0.25 * len(prompts) <= chains <= 0.45 * len(prompts), chains
    names = Counter(a["name"] for p in prompts for a in p["program"]["actions"])
    for common in ("walk", "jog", "run", "turn", "jump", "squat", "wave", "raise_arm", "kick", "clap", "punch",
                   "sit_down", "side_step", "hop", "jumping_jacks", "kneel"):
        assert names[common] >= 2, common
    # every action the prompts use is one the checker judges
    assert set(names) <= set(JUDGED)


_NUM = r"\b(\d+|zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|once|twice|thrice)\b"
_SUBJECT = r"^(a person|a man|someone|the person|a woman|the man|a figure|a human)\s+"


def _norm(text):
    return " ".join(re.sub(r"[^a-z0-9 ]+", " ", text.lower()).split())


def _template(text):
    t = re.sub(_NUM, "<n>", _norm(text))
    t = re.sub(r"\b(left|right)\b", "<side>", t)
    return re.sub(r"\b(forwards?|backwards?|ahead)\b", "<dir>", t)


def test_prompts_are_not_training_captions():
    # the corpus's own caption writer, sampled 15 times per prompt program: no prompt is one of its captions,
    # with or without the subject, nor the same sentence with other numbers, sides or directions
    from irgmotion.data.synth.captions import caption_program
    rng = np.random.default_rng(0)
    prompts = load_prompts()
    caps = {_norm(c) for p in prompts for c, _ in caption_program(p["program"], rng, n=15)}
    assert len(caps) > 5 * len(prompts)
    bare = {re.sub(_SUBJECT, "", c) for c in caps}
    templates = {_template(c) for c in bare}
    for p in prompts:
        n = re.sub(_SUBJECT, "", _norm(p["text"]))  # "a woman ..." is the caption "a man ..." all the same
        assert n not in bare, p["text"]
        assert _template(n) not in templates, p["text"]


def test_defaults_mirror_the_corpus_schema():
    from irgmotion.data.synth import schema
    sch = schema()
    assert set(DEFAULTS) == set(sch) == set(JUDGED)
    for name, spec in sch.items():
        assert DEFAULTS[name] == {k: v["default"] for k, v in spec["params"].items()}, name
        assert set(JUDGED[name]) <= set(spec["params"]), name


# ------------------------------------------------------------------------------------------- checker

def _render(program, seed=3):
    from irgmotion.data.synth import render
    return render(program, seed=seed).joints


def _prog(*actions):
    return {"actions": list(actions)}


def _act(name, upper=None, **params):
    d = {"name": name, "params": params}
    if upper is not None:
        d["upper"] = upper
    return d


def _with(program, index, upper=False, name=None, **params):
    p = copy.deepcopy(program)
    a = p["actions"][index]
    if upper:
        a = a["upper"]
    if name is not None:
        a["name"] = name
        a["params"] = {}
    a["params"].update(params)
    return p


CASES = [
    # (program, near misses that must fail)
    (_prog(_act("walk", direction="forward", steps=4), _act("turn", direction="left", angle=90),
           _act("jump", count=2)),
     [dict(index=1, direction="right"), dict(index=2, count=3), dict(index=0, direction="backward"),
      dict(index=0, name="run", direction="forward", steps=4), dict(index=1, angle=180)]),
    (_prog(_act("wave", hand="right", count=3)),
     [dict(index=0, hand="left"), dict(index=0, name="clap", count=3), dict(index=0, hand="both")]),
    (_prog(_act("kick", leg="left", direction="sideways", count=1), _act("squat", count=2)),
     [dict(index=0, leg="right"), dict(index=0, direction="forward"), dict(index=1, count=1),
      dict(index=1, name="crouch")]),
    (_prog(_act("walk", direction="backward", steps=5, upper=_act("clap", count=3)), _act("hop", leg="left", count=2)),
     [dict(index=1, leg="right"), dict(index=1, count=3), dict(index=0, upper=True, name="wave", hand="right")]),
    (_prog(_act("jumping_jacks", count=2), _act("punch", hand="left", count=2), _act("sit_down")),
     [dict(index=1, hand="right"), dict(index=0, count=3), dict(index=2, name="kneel", knee="both")]),
    (_prog(_act("raise_arm", hand="left", direction="overhead"), _act("lean", direction="right", count=1)),
     [dict(index=0, hand="right"), dict(index=0, direction="sideways"), dict(index=1, direction="left"),
      dict(index=0, name="stretch")]),
    (_prog(_act("stomp", foot="both", count=2), _act("squat", count=1), _act("march", steps=6)),
     [dict(index=0, name="march", steps=4), dict(index=2, name="stomp", foot="both", count=3),
      dict(index=0, foot="left"), dict(index=2, steps=10)]),
    (_prog(_act("side_step", direction="right", steps=3), _act("spin", direction="left", turns=1),
           _act("jog", direction="forward", path="curve", turn="right", angle=90, steps=6)),
     [dict(index=0, direction="left"), dict(index=0, name="walk", direction="right", steps=6),
      dict(index=1, direction="right"), dict(index=1, name="turn", direction="left", angle=360),
      dict(index=2, turn="left"), dict(index=2, path="straight")]),
]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_checker_passes_rendered_programs_and_fails_near_misses(case):
    program, misses = CASES[case]
    joints = _render(program)
    an = Analysis(joints)
    res = check_motion(joints, program, analysis=an)
    assert res.passed, res.summary()
    assert all(v.passed for v in res.actions) and res.in_order
    for m in misses:
        m = dict(m)
        idx = m.pop("index")
        up = m.pop("upper", False)
        name = m.pop("name", None)
        wrong = _with(program, idx, upper=up, name=name, **m)
        r = check_motion(joints, wrong, analysis=an)
        assert not r.passed, (m, name, r.summary())
        v = r.actions[idx]
        assert not (v.upper.passed if up else v.passed), (m, name, r.summary())


def test_prompt_programs_rendered_by_the_corpus_generator_pass():
    # every 8th prompt: its program, rendered, passes the checker with the slots the text leaves open ignored
    from irgmotion.data.synth import render
    for p in load_prompts()[::8]:
        joints = render(p["program"], seed=5).joints
        r = check_motion(joints, p["program"], ignore=p.get("unspecified", []))
        assert r.passed, (p["text"], r.summary())


def test_order_is_checked():
    program = _prog(_act("squat", count=1), _act("jump", count=1), _act("clap", count=2))
    joints = _render(program)
    assert check_motion(joints, program).passed
    swapped = _prog(program["actions"][1], program["actions"][0], program["actions"][2])
    r = check_motion(joints, swapped)
    assert all(v.passed for v in r.actions)  # each action is there ...
    assert not r.passed and not r.in_order  # ... but not in that order


def test_ignored_slots_and_other_frame_rates():
    program = _prog(_act("walk", direction="left", steps=6), _act("clap", count=4))
    joints = _render(program)
    loose = _prog(_act("walk", direction="left", steps=12), _act("clap", count=2))
    assert not check_motion(joints, loose).passed
    assert check_motion(joints, loose, ignore=["0.steps", "1.count"]).passed
    assert not check_motion(joints, _with(loose, 0, direction="right"), ignore=["0.steps", "1.count"]).passed
    with pytest.raises(ValueError):
        check_motion(joints, loose, ignore=["steps"])
    # the same motion sampled at 30 fps
    t20 = np.arange(len(joints)) / 20.0
    t30 = np.arange(0, t20[-1], 1 / 30.0)
    j30 = np.stack([np.stack([np.interp(t30, t20, joints[:, k, c]) for c in range(3)], -1) for k in range(22)], 1)
    assert check_motion(j30, program, fps=30).passed


def test_corpus_program_records_and_bad_input():
    program = _prog(_act("turn", direction="right", angle=180), _act("side_step", direction="left", steps=2))
    joints = _render(program)
    record = {"id": "x", "length": len(joints), "actions": [dict(a, start=0, end=10) for a in program["actions"]]}
    assert check_motion(joints, record).passed
    assert check_motion(joints, json.dumps(program)).passed
    out = analyse(joints)
    assert out["turn"][0]["direction"] == "right" and out["side_step"][0]["direction"] == "left"
    with pytest.raises(ValueError):
        check_motion(joints[:, :21], program)
    with pytest.raises(ValueError):
        check_motion(joints, {"actions": [{"name": "moonwalk"}]})
    with pytest.raises(ValueError):
        check_motion(joints, {"actions": []})
    bad = joints.copy()
    bad[3, 2, 1] = np.nan
    with pytest.raises(ValueError):
        check_motion(bad, program)


def test_a_still_motion_shows_nothing_but_idle():
    joints = _render(_prog(_act("idle", duration=3.0)))
    out = analyse(joints)
    assert set(out) == {"idle"}, out
    assert check_motion(joints, _prog(_act("idle", duration=3.0))).passed
    for name in ("walk", "jump", "squat", "wave", "clap", "kick", "turn"):
        assert not check_motion(joints, _prog(_act(name))).passed, name
