"""Command-line verbs of the tokenizer layer: train-vq, tokenize, detokenize, tokenize-dataset."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from ..fileio import save_npy, write_text


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
                        val_every=args.val_every, threads=args.threads, max_minutes=args.max_minutes)
    if not Path(args.data).is_dir():
        raise UsageError(f"{args.data}: dataset directory not found")
    overrides = {"w_root": args.w_root, "w_joints": args.w_joints, "width": args.width}
    result = train_vq(cfg, resume=args.resume, vq_overrides=overrides)
    last = result["history"][-1] if result["history"] else {}
    print(f"saved tokenizer to {args.out} after {result['steps']} steps; "
          f"val MPJPE {last.get('root_relative_mpjpe_mm', float('nan')):.1f} mm root-relative "
          f"({last.get('mpjpe_mm', float('nan')):.1f} mm global), usage {last.get('codebook_usage', float('nan')):.2f}")
    return 0


def tokenize_main(args) -> int:
    from ..motion.io import MotionFileError, load_motion
    from .pretrained import TokenizerInputError
    tok = _tokenizer(args.vq)
    try:
        motion = load_motion(args.input)
        ids = tok.encode(motion.features())[0]
    except (MotionFileError, TokenizerInputError) as exc:
        raise UsageError(str(exc)) from None
    print(" ".join(map(str, ids.tolist())))
    return 0


def parse_ids(text: str) -> list[int]:
    cleaned = text.replace(",", " ").replace("<Motion>", " ").replace("</Motion>", " ")
    cleaned = cleaned.replace("<Motion_", " ").replace(">", " ")
    parts = cleaned.split()
    if not parts:
        raise UsageError("no token ids given (expected e.g. \"3 17 250\")")
    try:
        return [int(p) for p in parts]
    except ValueError:
        bad = next(p for p in parts if not p.lstrip("-").isdigit())
        raise UsageError(f"token {bad!r} is not an integer id") from None


def detokenize_main(args) -> int:
    from .pretrained import TokenizerInputError
    if Path(args.output).suffix != ".npy":
        raise UsageError(f"{args.output}: output must end in .npy")
    tok = _tokenizer(args.vq)
    ids = parse_ids(args.ids if args.ids != "-" else sys.stdin.read())
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
    from ..data.humanml3d import MotionTextDataset
    from .pretrained import MotionTokenizer
    tok = _tokenizer(args.vq)
    ds = MotionTextDataset(args.data, args.split, normalize=False, min_len=args.min_len, max_len=args.max_len)
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
    p.add_argument("--steps", type=int, default=6000)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--window", type=int, default=64)
    p.add_argument("--lr", type=float, default=None, help="default: 6e-4 for tiny, 2e-4 for paper")
    p.add_argument("--w-root", type=float, default=None, help="extra loss weight on the root channels (preset's if unset)")
    p.add_argument("--w-joints", type=float, default=None, help="loss weight on recovered global joints (preset's if unset)")
    p.add_argument("--width", type=int, default=None, help="encoder/decoder width (preset's if unset)")
    p.add_argument("--val-every", type=int, default=500)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--max-minutes", type=float, default=None, help="stop and save after this wall time")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
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
    p.add_argument("--min-len", type=int, default=40)
    p.add_argument("--max-len", type=int, default=200)
    p.set_defaults(func=tokenize_dataset_main)
