"""Who judges the stage-2 rows of a benchmark: a verdict (the model's own, or the rule's) and, under the rule, who
perceives the motion (the LLM, or the bundle's motion describer). Each pair is a row set of its own."""
from __future__ import annotations

from ..reason.options import PERCEPTIONS, RULE_STYLES, VERDICTS


def judges(bundle, verdicts=VERDICTS, perceptions=PERCEPTIONS) -> list[tuple[str, str]]:
    """(verdict, perception) pairs the bundle can run: the LLM's perception under each verdict it takes, the
    describer under the rule verdict where the bundle has one."""
    out = []
    for verdict in verdicts:
        if verdict == "rule" and bundle.assessment_style not in RULE_STYLES:
            continue
        for perception in perceptions:
            if perception == "describer" and (verdict != "rule" or bundle.describer is None):
                continue
            out.append((verdict, perception))
    return out


def judge_label(verdict: str, perception: str) -> str:
    return f"{verdict} verdict" + (", describer" if perception == "describer" else "")
