import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from irgmotion.llm.trace import Round, format_trace, parse_trace, trace_text
from irgmotion.llm.vocab import motion_to_string, string_to_motion

K = 64


@given(st.lists(st.integers(0, K - 1), min_size=1, max_size=60))
def test_motion_string_round_trip(ids):
    assert string_to_motion(motion_to_string(ids), K) == (ids, [])


def test_motion_string_tolerance():
    ids, warn = string_to_motion("<Motion><Motion_1>oops<Motion_99><Motion_2>", K)
    assert ids == [1, 2]
    assert any("closing" in w for w in warn) and any("outside" in w for w in warn) and any("text" in w for w in warn)


def _trace(n_rounds=3):
    rounds = [Round([i, i + 1, i + 2], f"assessment {i}", f"make change {i} to the arms") for i in range(n_rounds - 1)]
    rounds.append(Round([7, 8], "it fits", "No refinements needed."))
    return "an analysis", rounds


def test_format_parse_round_trip():
    analysis, rounds = _trace()
    parsed = parse_trace(trace_text(analysis, rounds), K)
    assert parsed.warnings == [] and parsed.finished
    assert parsed.analysis == analysis and parsed.n_generations == 3
    assert [r.motion for r in parsed.rounds] == [r.motion for r in rounds]
    assert parsed.rounds[-1].satisfied and not parsed.rounds[0].satisfied
    assert parsed.final_motion == [7, 8] and parsed.first_motion == [0, 1, 2]


def test_loss_mask_segments_hide_only_wrong_motions():
    analysis, rounds = _trace()
    segs = format_trace(analysis, rounds)
    hidden = [t for t, sup in segs if not sup]
    assert len(hidden) == 2 and all(t.startswith("[generate]<Motion>") for t in hidden)
    assert sum(1 for t, sup in segs if sup and "[generate]" in t) == 1  # the final motion is supervised
    assert all("[assess]" not in t for t in hidden)  # assessments of wrong motions stay supervised


# text, motions of the parsed rounds (None: a round without a usable motion), analysis, finished, and the warnings:
# one substring per expected warning, in order (the count is checked too, so no unexpected warning slips through)
MALFORMED = [
    ("", [], "", False, ["does not open with <think>", "no motion was generated"]),
    ("<think>[plan]x[/plan][analyze]a[/analyze][generate]<Motion></Motion>[/generate]", [None], "a", False,
     ["round 1: empty motion span", "no motion was generated"]),
    ("<think>[generate]<Motion><Motion_3><Motion_4>", [[3, 4]], "", False,
     ["ends inside [generate]", "round 1: motion span has no closing </Motion>"]),
    ("<think>[generate]<Motion><Motion_3></Motion>[/generate][generate]<Motion><Motion_900><Motion_5></Motion>[/generate]",
     [[3], [5]], "", False, ["round 2: motion token 900 is outside the codebook (size 64)"]),
    ("<think>[generate]<Motion><Motion_1></Motion>[assess]Assessment: ok\nRefinement: No refinements needed.[/assess]",
     [[1]], "", False, ["[generate] not closed before [assess]"]),
    ("<Motion><Motion_2><Motion_3></Motion>", [[2, 3]], "", False,
     ["does not open with <think>", "motion outside [generate] tags"]),
    ("<think>[assess]Assessment: hm[/assess][generate]<Motion><Motion_9></Motion>[/generate]</think>", [None, [9]], "",
     True, ["[assess] without a preceding [generate]"]),
    ("<think>[analyze]a[/analyze][analyze]b[/analyze][generate]<Motion_6>[/generate]", [[6]], "a", False,
     ["more than one [analyze]; kept the first"]),
    ("<think>[generate]<Motion><Motion_1></Motion><Motion><Motion_2></Motion>[/generate]", [[2]], "", False,
     ["round 1: several motion spans in one [generate]; used the last"]),
]


@pytest.mark.parametrize("text, motions, analysis, finished, warnings", MALFORMED)
def test_parser_tolerates_malformed_traces(text, motions, analysis, finished, warnings):
    parsed = parse_trace(text, K)
    assert [r.motion for r in parsed.rounds] == motions
    assert parsed.final_motion == next((m for m in reversed(motions) if m), None)
    assert (parsed.analysis, parsed.finished) == (analysis, finished)
    assert len(parsed.warnings) == len(warnings), parsed.warnings
    for expected, got in zip(warnings, parsed.warnings):
        assert expected in got, parsed.warnings


def test_parser_assessment_without_generation_opens_an_empty_round():
    parsed = parse_trace(MALFORMED[6][0], K)
    assert (parsed.rounds[0].assessment, parsed.rounds[0].refinement) == ("hm", "")
    assert parsed.rounds[1].assessment == "" and parsed.first_motion == [9] and parsed.n_generations == 1


def test_parser_rejects_nothing():
    parsed = parse_trace(None, K)  # type: ignore[arg-type]
    assert parsed.warnings == ["trace is not text (NoneType)"]
    assert parsed.rounds == [] and parsed.analysis == "" and not parsed.finished
    assert parsed.final_motion is None and parsed.n_generations == 0


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_parser_never_raises_on_cut_or_shuffled_traces(data):
    analysis, rounds = _trace(data.draw(st.integers(1, 5)))
    originals = [r.motion for r in rounds]
    text = trace_text(analysis, rounds)
    cut = data.draw(st.integers(0, len(text)))
    head = text[:cut]
    parsed = parse_trace(head, K)
    # A cut trace keeps every round it opened, in order: the complete motions exactly, the one being written as a
    # (possibly empty) prefix, and the assessments it closed.
    assert len(parsed.rounds) == head.count("[generate]")
    got = parsed.motions
    assert len(parsed.rounds) - 1 <= len(got) <= len(parsed.rounds)
    if got:
        assert got[:-1] == originals[:len(got) - 1]
        assert got[-1] == originals[len(got) - 1][:len(got[-1])]
    for j in range(head.count("[/assess]")):
        assert (parsed.rounds[j].assessment, parsed.rounds[j].refinement) == (rounds[j].assessment,
                                                                                rounds[j].refinement)
    assert parsed.finished == (cut == len(text))
    if "[/analyze]" in head:
        assert parsed.analysis == analysis
    if cut == len(text):
        assert parsed.warnings == [] and got == originals
    elif not got:
        assert "no motion was generated" in parsed.warnings
    # Shuffled lines: every [generate] line is whole, so each motion is read, in the shuffled order, and the one
    # analysis and the </think> are found whatever the order; the broken [assess] spans only cost warnings.
    pieces = text.split("\n")
    order = list(range(len(pieces)))
    random.Random(data.draw(st.integers(0, 1000))).shuffle(order)
    shuffled_text = "\n".join(pieces[i] for i in order)
    shuffled = parse_trace(shuffled_text, K)
    generate_lines = [i for i, piece in enumerate(pieces) if piece.startswith("[generate]")]
    assert shuffled.motions == [originals[generate_lines.index(i)] for i in order if i in generate_lines]
    assert shuffled.analysis == analysis and shuffled.finished
    assert all(isinstance(w, str) and w for w in shuffled.warnings)
    if shuffled_text == text:
        assert shuffled.warnings == []
    elif "[/assess]" in shuffled_text.split("[assess]")[0]:
        assert "stray [/assess]" in shuffled.warnings  # a closing tag before any opening one


TAGS = ["<think>", "</think>", "[plan]", "[/plan]", "[analyze]", "[/analyze]", "[generate]", "[/generate]", "[assess]",
        "[/assess]", "<Motion>", "</Motion>", "<Motion_0>", "<Motion_5>", "<Motion_63>", "<Motion_64>", "<Motion_700>",
        "Assessment: ", "Refinement: ", "No refinements needed.", "x", " ", "\n", "[", "]", "<", ">", "_"]


def _check_invariants(text: str) -> None:
    parsed = parse_trace(text, K)
    assert all(0 <= i < K for m in parsed.motions for i in m)
    assert all(m for m in parsed.motions)  # an empty span is a round without motion, never an empty motion
    assert parsed.finished == ("</think>" in text)
    assert ("trace does not open with <think>" in parsed.warnings) == ("<think>" not in text)
    assert ("no motion was generated" in parsed.warnings) == (parsed.motions == [])
    assert parsed.n_generations <= text.count("<Motion_") and parsed.n_generations == len(parsed.motions)
    assert parsed.final_motion == (parsed.motions[-1] if parsed.motions else None)
    if "[generate]" not in text and "<Motion>" not in text:
        assert parsed.rounds == [] or all(r.motion is None for r in parsed.rounds)
    assert all(isinstance(w, str) and w for w in parsed.warnings)


@given(st.text(max_size=300))
def test_parser_on_arbitrary_text(text):
    _check_invariants(text)


@settings(max_examples=200)
@given(st.lists(st.sampled_from(TAGS), max_size=40))
def test_parser_on_tag_soup(pieces):
    _check_invariants("".join(pieces))


def test_unclosed_runaway_motion_is_cut():
    text = "<think>[generate]<Motion>" + "<Motion_1>" * 300
    parsed = parse_trace(text, K, max_motion_tokens=49)
    assert len(parsed.final_motion) == 49 and any("cut to 49" in w for w in parsed.warnings)
