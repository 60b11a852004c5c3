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


@pytest.mark.parametrize("text, final, warning", [
    ("", None, "no motion"),
    ("<think>[plan]x[/plan][analyze]a[/analyze][generate]<Motion></Motion>[/generate]", None, "empty motion"),
    ("<think>[generate]<Motion><Motion_3><Motion_4>", [3, 4], "ends inside [generate]"),
    ("<think>[generate]<Motion><Motion_3></Motion>[/generate][generate]<Motion><Motion_900><Motion_5></Motion>[/generate]",
     [5], "outside the codebook"),
    ("<think>[generate]<Motion><Motion_1></Motion>[assess]Assessment: ok\nRefinement: No refinements needed.[/assess]",
     [1], "not closed"),
    ("<Motion><Motion_2><Motion_3></Motion>", [2, 3], "outside [generate]"),
    ("<think>[assess]Assessment: hm[/assess][generate]<Motion><Motion_9></Motion>[/generate]</think>", [9], "without a preceding"),
    ("<think>[analyze]a[/analyze][analyze]b[/analyze][generate]<Motion_6>[/generate]", [6], "more than one"),
    ("<think>[generate]<Motion><Motion_1></Motion><Motion><Motion_2></Motion>[/generate]", [2], "several motion spans"),
])
def test_parser_tolerates_malformed_traces(text, final, warning):
    parsed = parse_trace(text, K)
    assert parsed.final_motion == final
    assert any(warning in w for w in parsed.warnings), parsed.warnings


def test_parser_rejects_nothing():
    assert parse_trace(None, K).warnings  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_parser_never_raises_on_cut_or_shuffled_traces(data):
    analysis, rounds = _trace(data.draw(st.integers(1, 5)))
    text = trace_text(analysis, rounds)
    cut = data.draw(st.integers(0, len(text)))
    parsed = parse_trace(text[:cut], K)
    assert parsed.n_generations <= len(rounds)
    for m in parsed.motions:
        assert all(0 <= i < K for i in m)
    pieces = text.split("\n")
    random.Random(data.draw(st.integers(0, 1000))).shuffle(pieces)
    shuffled = parse_trace("\n".join(pieces), K)
    assert isinstance(shuffled.warnings, list)


@given(st.text(max_size=300))
def test_parser_on_arbitrary_text(text):
    parse_trace(text, K)


def test_unclosed_runaway_motion_is_cut():
    text = "<think>[generate]<Motion>" + "<Motion_1>" * 300
    parsed = parse_trace(text, K, max_motion_tokens=49)
    assert len(parsed.final_motion) == 49 and any("cut to 49" in w for w in parsed.warnings)
