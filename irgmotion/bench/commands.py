"""The command lines of `irgmotion bench`, `bench-stage1` and `diagnose`.

Declared apart from the benchmarks themselves, which import torch and transformers: building the parser (and
`irgmotion --help`) stays fast, and a command imports its module only when it runs.
"""
from __future__ import annotations

import importlib

from ..cliargs import add_device_argument, nonnegative_int, positive_int, seed
from ..reason.options import PERCEPTIONS, VERDICTS


def _lazy(target: str):
    """A command function that imports "module:function" when it is called."""
    module, name = target.split(":")

    def run(args) -> int:
        return getattr(importlib.import_module(module), name)(args)
    return run


def add_parsers(sub) -> None:
    p = sub.add_parser("bench", help="benchmark the bundle (and stage-1 / other models) on the test split")
    p.add_argument("--bundle", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--evaluator", action="append", help="evaluator directory (repeat for several)")
    p.add_argument("--stage1", default=None, help="stage-1 MotionLLM directory for the stage-1 rows")
    p.add_argument("--llm", action="append", help="NAME=DIR: another MotionLLM to add rows for (e.g. Stage-3)")
    p.add_argument("--limit", type=nonnegative_int, default=320, help="test clips used (multiples of 32)")
    p.add_argument("--repeats", type=positive_int, default=20)
    p.add_argument("--batch-size", type=positive_int, default=32)
    p.add_argument("--max-rounds", type=positive_int, default=6, help="cap on generated motions per trace")
    p.add_argument("--max-new-tokens", type=positive_int, default=1400, help="cap on the tokens of one trace")
    p.add_argument("--seed", type=seed, default=0)
    p.add_argument("--only-llm", action="store_true", help="score only the --llm (and --stage1) rows")
    p.add_argument("--verdict", action="append", choices=VERDICTS,
                   help="stage-2 rows under this verdict (repeat for several; default: model and rule)")
    p.add_argument("--perception", action="append", choices=PERCEPTIONS,
                   help="under the rule verdict, who describes the motions: describer (the bundle's motion describer, "
                        "where it has one), model (the LLM); repeat for both (the default)")
    p.add_argument("--compositional", type=nonnegative_int, default=0,
                   help="also score this many clips of the compositional split (unseen chains of 2-4 actions)")
    p.add_argument("--freeform", type=nonnegative_int, default=0,
                   help="also run this many of the held-out free-form prompts, judged by the kinematic checker")
    p.add_argument("--no-standard", action="store_true",
                   help="skip the standard test split (score only --compositional and --freeform)")
    p.add_argument("--out", default="docs/results", help="writes OUT.md and OUT.json")
    add_device_argument(p)
    p.set_defaults(func=_lazy("irgmotion.bench.runner:bench_main"))
    p = sub.add_parser("bench-stage1", help="stage-1 abilities: direct T2M, assessment, instruction, captioning")
    p.add_argument("--llm", required=True)
    p.add_argument("--vq", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--engine-test", required=True, help="engine output built on a held-out split (test; val to choose settings)")
    p.add_argument("--evaluator", required=True)
    p.add_argument("--limit", type=nonnegative_int, default=320)
    p.add_argument("--pairs", type=positive_int, default=400)
    p.add_argument("--seed", type=seed, default=0)
    p.add_argument("--beams", type=positive_int, default=1, help="beam search for the assessment and instruction (1: greedy)")
    p.add_argument("--assessment-only", action="store_true", help="skip text-to-motion and captioning")
    p.add_argument("--out", default="docs/stage1_results.json")
    p.set_defaults(func=_lazy("irgmotion.bench.stage1:bench_stage1_main"))
    p = sub.add_parser("diagnose", help="score each step of the interleaved trace on held-out pairs with known truth")
    p.add_argument("--bundle", required=True)
    p.add_argument("--engine-test", required=True, help="engine output built on a held-out split")
    p.add_argument("--evaluator", required=True, help="evaluator for the refinement step (a proxy)")
    p.add_argument("--pairs", type=positive_int, default=300)
    p.add_argument("--seed", type=seed, default=0)
    p.add_argument("--batch-size", type=positive_int, default=32)
    p.add_argument("--verdict", action="append", choices=VERDICTS,
                   help="diagnose under this verdict (repeat for several; default: model and rule); under the rule, "
                        "the bundle's describer too where it has one")
    p.add_argument("--out", default="docs/diagnosis", help="writes OUT.md and OUT.json")
    p.set_defaults(func=_lazy("irgmotion.bench.diagnosis:diagnose_main"))
