"""`irgmotion train-describer --engine BUILD [--engine MORE] --vq VQ --out DIR`: train the motion describer."""
from __future__ import annotations

import sys
from pathlib import Path

from ..cliargs import positive_float, positive_int, seed


def train_describer_main(args) -> int:
    from .train import ASSESSMENT_FILE, DescriberTrainConfig, DescriberTrainer
    problems = [f"--engine {e}: missing {Path(e) / ASSESSMENT_FILE} (a data engine build, irgmotion build stage1)"
                for e in args.engine if not (Path(e) / ASSESSMENT_FILE).is_file()]
    problems += [f"--engine {e}: missing {Path(e) / 'engine.json'}" for e in args.engine
                 if not (Path(e) / "engine.json").is_file()]
    if not (Path(args.vq) / "config.json").is_file():
        problems.append(f"--vq {args.vq}: not a motion tokenizer directory (config.json missing)")
    if args.resume and not (Path(args.out) / "checkpoint.pt").is_file():
        problems.append(f"--resume: {Path(args.out) / 'checkpoint.pt'} does not exist")
    if not args.resume:  # a new run never writes over another one's checkpoint
        from ..fileio import OutputPathError, check_output_dir
        try:
            check_output_dir(args.out, "--out")
        except OutputPathError as exc:
            problems.append(f"{exc} (continue a run there with --resume)")
    if problems:  # before any work
        print(f"error: {problems[0]}", file=sys.stderr)
        return 2
    config = DescriberTrainConfig(steps=args.steps, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                                  checkpoint_every=args.checkpoint_every, threads=args.threads or 0)
    try:
        trainer = DescriberTrainer(args.engine, args.vq, args.out, config, resume=args.resume,
                                   log=lambda m: print(m, flush=True))
        summary = trainer.run()
    except (ValueError, FileNotFoundError, KeyError) as exc:
        print(f"error: train-describer: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {Path(args.out) / 'describer'}: best validation exact {summary['best_validation_exact']:.3f} "
          f"after {summary['steps']} steps")
    return 0


def add_parsers(sub) -> None:
    p = sub.add_parser("train-describer", help="train the motion describer (motion tokens -> canonical description) "
                                               "on data engine builds")
    p.add_argument("--engine", action="append", required=True, help="data engine build (repeat for several)")
    p.add_argument("--vq", required=True, help="motion tokenizer directory (the bundle's)")
    p.add_argument("--out", required=True, help="writes OUT/describer (the model), checkpoints and a summary")
    p.add_argument("--steps", type=positive_int, default=4000)
    p.add_argument("--batch-size", type=positive_int, default=64)
    p.add_argument("--lr", type=positive_float, default=1e-3)
    p.add_argument("--checkpoint-every", type=positive_int, default=500)
    p.add_argument("--threads", type=positive_int, default=None)
    p.add_argument("--seed", type=seed, default=0)
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    p.set_defaults(func=train_describer_main)
