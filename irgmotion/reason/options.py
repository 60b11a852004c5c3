"""The choices the reasoning loop offers (verdict, answer selection) and the assessment styles the rule
verdict can read. Plain constants, so that command lines can list them without importing torch.
"""
# "model": the model writes its whole assessment. "rule": the model restates the goal and describes the motion,
# then the engine's rule writes the check list, the level and the refinement from those two descriptions, so
# the verdict always follows the model's own perception (a description the rule cannot read keeps the model's).
VERDICTS = ("model", "rule")
# Styles whose assessments write everything the rule judges before the verdict: "aligned" marks too-small actions
# "(small)" in the motion's description, "slots" writes each size in its check list; "checklist" writes sizes only
# inside its verdicts, and "compare" has no check list.
RULE_STYLES = ("aligned", "slots")
# "last": the answer is the last motion (the paper). "best": the motion of the best self-assessed round, ties
# going to the latest. "best-earliest": the same, ties going to the earliest (a refinement must be judged
# strictly better to replace a motion).
SELECTIONS = ("last", "best", "best-earliest")
# The measured default (docs/bundle_card.md): with runaway motions closed and assessed, more rounds are refined, and
# a later round judged only as good as an earlier one is not better on average.
DEFAULT_SELECT = "best-earliest"
# Who writes what a motion shows under the rule verdict: "describer" (the bundle's motion describer, a model trained
# on that one task; the default where a bundle has one) or "model" (the LLM, in its own assessment).
PERCEPTIONS = ("describer", "model")
