"""Command-line entry points (`irgmotion data synth`, `irgmotion data program`).

Both take the parsed argparse namespace (or the same values as keywords),
print one clear line on bad input and return exit code 2, and never leave a
partial output behind.
"""
from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np

EXIT_BAD_INPUT = 2


def _ns(args, kw):
    if args is None:
        return SimpleNamespace(**kw)
    for k, v in kw.items():
        setattr(args, k, v)
    return args


def _fail(msg: str) -> int:
    print(f"error: {msg}", file=sys.stderr)
    return EXIT_BAD_INPUT


def synth_main(args=None, **kw) -> int:
    """Write a corpus: args.out, args.n, args.seed, args.workers (None: all cores)."""
    from .corpus import write_corpus
    a = _ns(args, kw)
    out, n = getattr(a, "out", None), getattr(a, "n", 20000)
    seed, workers = getattr(a, "seed", 0) or 0, getattr(a, "workers", None)
    if not out:
        return _fail("--out DIR is required")
    if n is None or int(n) < 1:
        return _fail(f"--n must be at least 1, got {n}")
    if seed < 0:
        return _fail(f"--seed must be a non-negative integer, got {seed}")
    if workers is not None and int(workers) < 1:
        return _fail(f"--workers must be at least 1, got {workers}")
    from ...fileio import OutputPathError, check_output_dir
    try:  # before any work: absent or empty, and its parent writable (the corpus is built beside it)
        path = check_output_dir(out, "corpus directory")
    except OutputPathError as exc:
        return _fail(str(exc))
    summary = write_corpus(path, int(n), int(seed), workers, progress=True)
    sizes = summary["sizes"]
    print(f"wrote {summary['n']} motions to {path} in {summary['seconds']:.1f}s "
          f"({summary['n'] / max(summary['seconds'], 1e-9):.1f} motions/s): "
          f"train {sizes['train']}, val {sizes['val']}, test {sizes['test']}")
    return 0


def program_main(args=None, **kw) -> int:
    """Render a program file: args.program, args.output (.npy), args.seed (None: the program's), args.to."""
    from ...fileio import OutputPathError, check_output_path, save_npy
    from ...motion.features import joints_to_features
    from .compose import render
    from .program import ProgramError, load_program
    a = _ns(args, kw)
    out = Path(getattr(a, "output"))
    to = getattr(a, "to", "joints") or "joints"
    if out.suffix.lower() != ".npy":
        return _fail(f"{out}: output must end in .npy")
    try:
        check_output_path(out)
    except OutputPathError as exc:
        return _fail(str(exc))
    if to not in ("joints", "features"):
        return _fail(f"--to must be joints or features, got {to!r}")
    seed = getattr(a, "seed", None)
    if seed is not None and int(seed) < 0:
        return _fail(f"--seed must be a non-negative integer, got {seed}")
    try:
        program = load_program(getattr(a, "program"))
    except ProgramError as exc:
        return _fail(str(exc))
    r = render(program, seed)
    data = r.joints if to == "joints" else joints_to_features(r.joints.astype(np.float64)).astype(np.float32)
    if not np.isfinite(data).all():  # never write NaN
        return _fail(f"{getattr(a, 'program')}: the program renders to NaN or inf values")
    save_npy(out, data)
    print(f"wrote {out}: {to} {tuple(data.shape)} from {len(program.actions)} action(s)")
    return 0
