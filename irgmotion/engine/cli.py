"""`irgmotion build stage1|stage2 --data DIR --out DIR`: run the data engine."""
from __future__ import annotations

import sys
from ..cliargs import nonnegative_int, positive_int, seed


def build_main(args) -> int:
    from .annotators import check_endpoint_url
    from .build import EngineConfig, build
    if args.annotator is not None:
        try:
            check_endpoint_url(args.annotator)  # before any work: the annotator is made after the retrieval
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    from ..data.humanml3d import DatasetError, check_dataset_dir
    try:  # before any work (and before OUT is made)
        check_dataset_dir(args.data, (args.split,))
    except DatasetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    cfg = EngineConfig(data=args.data, out=args.out, split=args.split, n_retrieval=args.n_retrieval,
                       n_perturb=args.n_perturb, evaluator=args.evaluator, annotator=args.annotator,
                       limit=args.limit, workers=args.workers, seed=args.seed,
                       assessment_style=args.assessment_style)
    stages = ("stage1", "stage2") if args.stage == "all" else (args.stage,)
    try:
        summary = build(cfg, stages)
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {args.out}: {summary['goals']} goals, entries {summary['entries']}, "
          f"assessment levels {summary['level_counts']}")
    return 0


def add_parsers(sub) -> None:
    p = sub.add_parser("build", help="data engine: write stage-1 tasks and/or stage-2 traces")
    p.add_argument("stage", choices=("stage1", "stage2", "all"))
    p.add_argument("--data", required=True, help="dataset in HumanML3D layout (procedural corpus or real)")
    p.add_argument("--out", required=True, help="output directory (annotation JSON + rendered near-misses)")
    p.add_argument("--split", default="train", choices=("train", "val", "test"))
    p.add_argument("--evaluator", default=None, help="evaluator directory for ranked retrieval (default: random)")
    p.add_argument("--annotator", default=None,
                   help="http(s) URL of an OpenAI-compatible endpoint for captions-only datasets; a call it cannot "
                        "answer falls back to the offline caption rules (a warning, and the count at the end)")
    p.add_argument("--n-retrieval", type=positive_int, default=3)
    p.add_argument("--n-perturb", type=nonnegative_int, default=4)
    p.add_argument("--limit", type=nonnegative_int, default=None)
    p.add_argument("--workers", type=positive_int, default=None)
    p.add_argument("--seed", type=seed, default=0)
    from .assessment import ASSESSMENT_STYLES
    p.add_argument("--assessment-style", choices=ASSESSMENT_STYLES, default="compare",
                   help="compare: what matches, then what differs; checklist: one verdict per goal action; "
                        "aligned: each goal action, the motion's matching action, then the verdict; "
                        "slots: each goal action compared one parameter at a time, then the order "
                        "(all but compare: procedural data only)")
    p.set_defaults(func=build_main)
