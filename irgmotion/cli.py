"""The `irgmotion` command line: thin shells over the library layers.

Every command prints one clear line and exits with status 2 on bad input,
and writes outputs atomically so a failure leaves no partial file.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from .fileio import save_npy

EXIT_BAD_INPUT = 2


class CLIError(Exception):
    """A user-facing error: printed as one line, exit code 2."""


def _load(path: str, dataset: str | None):
    from .motion.io import MotionFileError, load_motion
    try:
        return load_motion(path, dataset)
    except MotionFileError as exc:
        raise CLIError(str(exc)) from None


def _check_suffix(path: str, allowed: tuple[str, ...]) -> Path:
    out = Path(path)
    if out.suffix.lower() not in allowed:
        raise CLIError(f"{out}: output must end in one of {', '.join(allowed)}")
    return out


def cmd_convert(args) -> int:
    out = _check_suffix(args.output, (".npy",))
    motion = _load(args.input, args.dataset)
    if args.to == motion.kind:
        raise CLIError(f"{args.input}: already {motion.kind} of shape {motion.data.shape}")
    if args.to == "features" and len(motion.data) < 2:
        raise CLIError(f"{args.input}: need at least 2 frames of joints to compute features")
    result = motion.features() if args.to == "features" else motion.joints()
    save_npy(out, result.astype(np.float32))
    print(f"wrote {out}: {args.to} {tuple(result.shape)} ({motion.skeleton.name})")
    return 0


def cmd_render(args) -> int:
    from .motion.render import render_motions
    out = _check_suffix(args.output, (".gif", ".mp4"))
    paths = [args.input] + list(args.compare or [])
    motions = [_load(p, args.dataset) for p in paths]
    specs = {m.skeleton.name for m in motions}
    if len(specs) > 1:
        raise CLIError(f"cannot put different skeletons side by side: {', '.join(sorted(specs))}")
    titles = list(args.titles) if args.titles else [args.title or Path(paths[0]).stem] + [Path(p).stem for p in paths[1:]]
    if len(titles) != len(motions):
        raise CLIError(f"--titles gives {len(titles)} title(s) for {len(motions)} motion(s)")
    spec = motions[0].skeleton
    render_motions([m.joints() for m in motions], out, titles=titles, fps=args.fps or spec.fps, skeleton=spec)
    print(f"wrote {out}")
    return 0


def cmd_export(args) -> int:
    from .motion.bvh import joints_to_bvh
    out = _check_suffix(args.output, (".bvh",))
    motion = _load(args.input, args.dataset)
    joints_to_bvh(motion.joints(), out, skeleton=motion.skeleton, fps=args.fps)
    print(f"wrote {out}")
    return 0


def cmd_generate(args) -> int:
    import json
    import time

    from .fileio import write_text
    from .motion.bvh import joints_to_bvh
    from .motion.features import features_to_joints
    from .motion.render import render_motions
    from .reason.bundle import BundleError, load_bundle
    from .reason.decoding import DecodeOptions
    from .reason.pipeline import PromptInputError, check_goal

    try:
        goal = check_goal(args.text)
        bundle = load_bundle(args.bundle)
    except (PromptInputError, BundleError) as exc:
        raise CLIError(str(exc)) from None
    if args.max_rounds < 1:
        raise CLIError("--max-rounds must be at least 1")
    from .reason.pipeline import RULE_STYLES
    if args.verdict == "rule" and bundle.assessment_style not in RULE_STYLES:
        raise CLIError(f"--verdict rule needs a bundle whose assessments are in the {' or '.join(RULE_STYLES)} style; "
                       f"{bundle.root / 'manifest.json'} records {bundle.assessment_style!r}; use --verdict model")
    reasoner = bundle.reasoner(args.verdict, args.select)
    args.verdict = reasoner.verdict
    opts = DecodeOptions(max_new_tokens=args.max_new_tokens, do_sample=args.sample, seed=args.seed,
                         temperature=args.temperature)
    started = time.perf_counter()
    result = reasoner.interleaved([goal], opts, max_rounds=args.max_rounds)[0]
    seconds = time.perf_counter() - started
    trace = result.trace
    print(f"Goal: {goal}")
    print(f"Analysis: {trace.analysis or '(none)'}")
    for k, r in enumerate(trace.rounds, 1):
        size = f"{len(r.motion)} tokens, {len(r.motion) * bundle.vq.unit_length} frames" if r.motion else "no motion"
        print(f"Round {k}: generated {size}")
        if r.assessment:
            print(f"  Assessment: {r.assessment}")
        if r.refinement:
            print(f"  Refinement: {r.refinement}")
    for w in result.warnings:
        print(f"warning: {w}")
    if not trace.final_motion:
        raise CLIError("the model produced no motion; try --sample with another --seed")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    round_joints, titles = [], []
    for k, r in enumerate(trace.rounds, 1):
        if r.motion:
            feats = bundle.vq.decode([r.motion])[0]
            joints = features_to_joints(feats.astype(np.float64)).astype(np.float32)
            save_npy(out / f"round_{k}_joints.npy", joints)
            round_joints.append(joints)
            titles.append(f"round {k}" + (" (answer)" if k - 1 == result.answer_round else ""))
    final_feats = bundle.vq.decode([result.answer_motion])[0]
    final_joints = features_to_joints(final_feats.astype(np.float64)).astype(np.float32)
    save_npy(out / "final_features.npy", final_feats)
    save_npy(out / "final_joints.npy", final_joints)
    joints_to_bvh(final_joints, out / "final.bvh")
    render_path = out / f"rounds.{args.format}"
    if not args.no_render:
        render_motions(round_joints, render_path, titles=titles, suptitle=goal[:80])
    record = {"goal": goal, "mode": result.mode, "generation_seconds": seconds, "text": result.text,
              "n_generations": trace.n_generations, "finished": trace.finished, "warnings": result.warnings,
              "verdict": args.verdict, "select": args.select,
              "answer_round": result.answer_round + 1,  # numbered from 1, as printed and as the round_K files
              **trace.to_dict()}
    write_text(out / "trace.json", json.dumps(record, indent=2))
    print(f"Final motion: round {result.answer_round + 1} of {len(trace.rounds)} ({args.select}), {len(final_joints)} "
          f"frames; reasoning took {seconds:.2f} s")
    print(f"wrote {out}/: final_features.npy, final_joints.npy, final.bvh, trace.json"
          + ("" if args.no_render else f", {render_path.name}"))
    return 0


def cmd_data(args) -> int:
    from .data import synth
    if args.data_command == "synth":
        return synth.synth_main(args)
    return synth.program_main(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="irgmotion", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    datasets = ("humanml3d", "kit")

    p = sub.add_parser("convert", help="joints <-> features (kind detected from the shape)")
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("--to", choices=("joints", "features"), required=True)
    p.add_argument("--dataset", choices=datasets, default=None, help="skeleton (default: from the shape)")
    p.set_defaults(func=cmd_convert)

    p = sub.add_parser("render", help="3-D stick-figure animation to .gif or .mp4")
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("--title", default=None)
    p.add_argument("--compare", nargs="+", default=None, metavar="B.npy", help="more motions side by side")
    p.add_argument("--titles", nargs="+", default=None, help="one title per motion (with --compare)")
    p.add_argument("--fps", type=float, default=None)
    p.add_argument("--dataset", choices=datasets, default=None)
    p.set_defaults(func=cmd_render)

    p = sub.add_parser("export", help="write a BVH file")
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("--fps", type=float, default=None)
    p.add_argument("--dataset", choices=datasets, default=None)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("data", help="procedural corpus: synthesise a dataset or render a program")
    dsub = p.add_subparsers(dest="data_command", required=True)
    s = dsub.add_parser("synth", help="write a procedural text-motion dataset in HumanML3D layout")
    s.add_argument("--out", required=True)
    s.add_argument("--n", type=int, default=20000)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--workers", type=int, default=None)
    s.set_defaults(func=cmd_data)
    s = dsub.add_parser("program", help="render a motion from an action-program JSON")
    s.add_argument("program")
    s.add_argument("output")
    s.add_argument("--seed", type=int, default=None, help="render seed (default: the program's own, else 0)")
    s.add_argument("--to", choices=("joints", "features"), default="joints")
    s.set_defaults(func=cmd_data)

    p = sub.add_parser("generate", help="text -> motion through interleaved generation, assessment and refinement")
    p.add_argument("text", help="the goal, e.g. \"a person walks forward and waves the right hand\"")
    p.add_argument("--out", default="irgmotion_out")
    p.add_argument("--bundle", default=None, help="bundle directory (default: the embedded one)")
    p.add_argument("--sample", action="store_true", help="sample instead of greedy decoding")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--max-rounds", type=int, default=6, help="cap on generated motions")
    p.add_argument("--max-new-tokens", type=int, default=1400)
    p.add_argument("--verdict", choices=("model", "rule"), default=None,
                   help="rule (the default where the bundle's assessment style allows it): the model describes the goal "
                        "and the motion, the engine's rule judges those two descriptions, so the verdict follows what "
                        "the model saw; model: the model judges too")
    p.add_argument("--select", choices=("last", "best", "best-earliest"), default="best",
                   help="the answer: best (default) = the round with the best assessed level, ties to the latest; "
                        "best-earliest = ties to the earliest; last = the last motion")
    p.add_argument("--format", choices=("gif", "mp4"), default="gif")
    p.add_argument("--no-render", action="store_true")
    p.set_defaults(func=cmd_generate)

    from .engine.cli import add_parsers as add_engine_parsers
    from .tokenizer.cli import add_parsers as add_tokenizer_parsers
    from .train.cli import add_parsers as add_train_parsers
    add_tokenizer_parsers(sub)
    add_engine_parsers(sub)
    add_train_parsers(sub)
    from .bench.runner import add_parsers as add_bench_parsers
    add_bench_parsers(sub)
    from .bench.stage1 import add_parsers as add_stage1_bench_parsers
    add_stage1_bench_parsers(sub)
    from .bench.diagnosis import add_parsers as add_diagnosis_parsers
    add_diagnosis_parsers(sub)
    from .pipeline import add_parsers as add_pipeline_parsers
    add_pipeline_parsers(sub)

    from .evaluator.cli import add_parsers as add_evaluator_parsers
    add_evaluator_parsers(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from .tokenizer.cli import UsageError as TokenizerUsageError
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (CLIError, TokenizerUsageError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
