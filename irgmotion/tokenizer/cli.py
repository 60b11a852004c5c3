"""Command-line verbs of the tokenizer layer: train-vq, tokenize, detokenize, tokenize-dataset."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from ..fileio import save_npy, write_text
from ..cliargs import add_device_argument, nonnegative_float, nonnegative_int, positive_float, positive_int, seed


class UsageError(ValueError):
    """Bad input from the command line; printed as one line, exit code 2."""


def _tokenizer(path: str):
    from .pretrained import MotionTokenizer
    try:
        return MotionTokenizer.from_pretrained(path)
    except (FileNotFoundError, ValueError) as exc:
        raise UsageError(str(exc)) from None


def train_vq_main(args) -> int:
    from .train import TrainVQConfig, train_vq
    cfg = TrainVQConfig(data=args.data, out=args.out, preset=args.preset, steps=args.steps,
                        batch_size=args.batch_size, window=args.window, lr=args.lr, seed=args.seed,
                        val_every=args.val_every, threads=args.threads, max_minutes=args.max_minutes,
                        init=args.init, warmup=args.warmup)
    from ..checkpointing import load_checkpoint
    from ..data.humanml3d import DatasetError, check_dataset_dir
    from ..fileio import OutputPathError, check_output_dir
    from ..distributed import batch_split_error, launched_main
    if batch_split_error(args.batch_size):
        raise UsageError(batch_split_error(args.batch_size))
    ckpt = Path(args.out) / "checkpoint.pt"
    try:  # before any work: the data, and a checkpoint exactly when --resume asks for one
        check_dataset_dir(args.data, ("train",))
        if args.resume:
            load_checkpoint(ckpt)
        elif ckpt.is_file():
            raise UsageError(f"{ckpt}: a training run is already there; pass --resume to continue it or choose "
                             "another --out")
        else:
            check_output_dir(args.out, "--out directory")
    except (DatasetError, OutputPathError, FileNotFoundError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    overrides = {"w_root": args.w_root, "w_joints": args.w_joints, "width": args.width}
    if args.init is not None:
        given = [f"--{k.replace('_', '-')}" for k, v in overrides.items() if v is not None]
        if given:
            raise UsageError(f"{' '.join(given)}: the model shape and losses come from --init {args.init}")
        overrides = {}
        _tokenizer(args.init)  # a bad --init is one line, before any work
    try:
        result = train_vq(cfg, resume=args.resume, vq_overrides=overrides, device=args.device)
    except DatasetError as exc:
        raise UsageError(str(exc)) from None
    if not launched_main():
        return 0
    last = result["history"][-1] if result["history"] else {}
    print(f"saved tokenizer to {args.out} after {result['steps']} steps; "
          f"val MPJPE {last.get('root_relative_mpjpe_mm', float('nan')):.1f} mm root-relative "
          f"({last.get('mpjpe_mm', float('nan')):.1f} mm global), usage {last.get('codebook_usage', float('nan')):.2f}")
    return 0


def tokenize_main(args) -> int:
    from ..motion.io import MotionFileError, load_motion
    from .pretrained import TokenizerInputError
    try:
        motion = load_motion(args.input)  # checked before the tokenizer loads: errors name the file
        if motion.kind == "joints":
            motion.checked_joints()  # millimetres, 1e30 or a collapsed skeleton would encode to nonsense
    except MotionFileError as exc:
        raise UsageError(str(exc)) from None
    tok = _tokenizer(args.vq)
    try:
        with np.errstate(all="ignore"):
            feats = motion.features()
        ids = tok.encode(feats)[0]
    except TokenizerInputError as exc:
        msg = str(exc).removeprefix("motion 0: ")
        raise UsageError(f"{args.input}: {msg}") from None
    print(" ".join(map(str, ids.tolist())))
    return 0


def parse_ids(text: str) -> list[int]:
    """'3 17 250', '3,17,250' or '<Motion><Motion_3>...</Motion>' -> ids; ASCII digits only."""
    import re
    max_digits = 9  # far above any codebook; int() of a longer run is slow or refused by Python
    cleaned = text.replace(",", " ").replace("<Motion>", " ").replace("</Motion>", " ")
    cleaned = cleaned.replace("<Motion_", " ").replace(">", " ")
    parts = cleaned.split()
    if not parts:
        raise UsageError("no token ids given (expected e.g. \"3 17 250\")")
    number = re.compile(r"-?[0-9]{1,%d}" % max_digits)
    for p in parts:
        if not number.fullmatch(p):
            shown = p if len(p) <= 24 else p[:20] + "..."
            why = f"more than {max_digits} digits" if re.fullmatch(r"-?[0-9]+", p) else "not an integer id"
            raise UsageError(f"token {shown!r} is {why} (expected ids like \"3 17 250\")")
    return [int(p) for p in parts]


def detokenize_main(args) -> int:
    from ..fileio import OutputPathError, check_output_path
    from .pretrained import TokenizerInputError
    if Path(args.output).suffix != ".npy":
        raise UsageError(f"{args.output}: output must end in .npy")
    try:
        check_output_path(args.output)
    except OutputPathError as exc:
        raise UsageError(str(exc)) from None
    ids = parse_ids(args.ids if args.ids != "-" else sys.stdin.read())
    tok = _tokenizer(args.vq)
    try:
        feats = tok.decode([ids])[0]
    except TokenizerInputError as exc:
        raise UsageError(str(exc)) from None
    if args.to == "joints":
        from ..motion.features import features_to_joints
        feats = features_to_joints(feats.astype(np.float64)).astype(np.float32)
    save_npy(args.output, feats)
    print(f"wrote {args.output}: {args.to} {tuple(feats.shape)}")
    return 0


def tokenize_dataset_main(args) -> int:
    from ..data.humanml3d import DatasetError, MotionTextDataset, check_dataset_dir
    from ..fileio import OutputPathError, check_output_path
    from .pretrained import MotionTokenizer
    try:
        check_dataset_dir(args.data, (args.split,))
        check_output_path(args.out)
    except (DatasetError, OutputPathError) as exc:
        raise UsageError(str(exc)) from None
    tok = _tokenizer(args.vq)
    try:
        ds = MotionTextDataset(args.data, args.split, normalize=False, min_len=args.min_len, max_len=args.max_len)
    except DatasetError as exc:
        raise UsageError(str(exc)) from None
    ids = tok.encode([c.motion for c in ds.clips])
    cache = {"vq": str(args.vq), "split": args.split, "codebook_size": tok.codebook_size,
             "unit_length": tok.unit_length, "tokens": {c.id: seq.tolist() for c, seq in zip(ds.clips, ids)}}
    write_text(args.out, json.dumps(cache))
    print(f"wrote {args.out}: {len(ids)} motions, {sum(len(s) for s in ids)} tokens")
    assert isinstance(tok, MotionTokenizer)
    return 0


def add_parsers(sub) -> None:
    p = sub.add_parser("train-vq", help="train the motion VQ-VAE tokenizer")
    p.add_argument("--data", required=True, help="dataset in HumanML3D layout")
    p.add_argument("--out", required=True, help="output directory (weights, config, checkpoint)")
    p.add_argument("--preset", default="tiny", choices=("tiny", "paper"))
    p.add_argument("--steps", type=positive_int, default=6000)
    p.add_argument("--batch-size", type=positive_int, default=64,
                   help="global batch of windows (split over the processes of an accelerate launch)")
    p.add_argument("--window", type=positive_int, default=64)
    p.add_argument("--lr", type=positive_float, default=None, help="default: 6e-4 for tiny, 2e-4 for paper")
    p.add_argument("--w-root", type=nonnegative_float, default=None, help="extra loss weight on the root channels (preset's if unset)")
    p.add_argument("--w-joints", type=nonnegative_float, default=None, help="loss weight on recovered global joints (preset's if unset)")
    p.add_argument("--width", type=positive_int, default=None, help="encoder/decoder width (preset's if unset)")
    p.add_argument("--val-every", type=positive_int, default=500)
    p.add_argument("--warmup", type=nonnegative_int, default=200, help="learning-rate warm-up steps")
    p.add_argument("--seed", type=seed, default=0)
    p.add_argument("--threads", type=positive_int, default=None)
    p.add_argument("--max-minutes", type=positive_float, default=None, help="stop and save after this wall time")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    p.add_argument("--init", default=None, metavar="VQ_DIR",
                   help="fine-tune this trained tokenizer (keeps its configuration and normalisation statistics)")
    add_device_argument(p)
    p.set_defaults(func=train_vq_main)

    p = sub.add_parser("tokenize", help="print the token ids of a motion file")
    p.add_argument("input")
    p.add_argument("--vq", required=True)
    p.set_defaults(func=tokenize_main)

    p = sub.add_parser("detokenize", help="decode token ids into a motion file")
    p.add_argument("ids", help='ids like "3 17 250" (or "-" to read stdin)')
    p.add_argument("output")
    p.add_argument("--vq", required=True)
    p.add_argument("--to", choices=("features", "joints"), default="features")
    p.set_defaults(func=detokenize_main)

    p = sub.add_parser("tokenize-dataset", help="encode a dataset split into a token cache (JSON)")
    p.add_argument("--vq", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--split", default="train", choices=("train", "val", "test"))
    p.add_argument("--out", required=True)
    p.add_argument("--min-len", type=positive_int, default=40)
    p.add_argument("--max-len", type=positive_int, default=200)
    p.set_defaults(func=tokenize_dataset_main)
