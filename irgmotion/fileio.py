"""Atomic file writing: a reader never sees a half-written output file."""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import numpy as np


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path beside `path`; move it into place only on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix or ".tmp", dir=path.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the usual permissions
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def remove_torn_temporaries(path: str | os.PathLike) -> None:
    """Delete the temporaries `atomic_path` left beside `path` when a kill came before the rename."""
    path = Path(path)
    if path.parent.is_dir():
        for tmp in path.parent.glob(f".{path.name}.*"):
            if tmp.is_file():
                tmp.unlink(missing_ok=True)


def save_npy(path: str | os.PathLike, array: np.ndarray) -> None:
    with atomic_path(path) as tmp:
        np.save(tmp, array)


def write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


class OutputPathError(ValueError):
    """An output destination that cannot be written; the message names the path and the problem."""


def _nearest_existing(path: Path) -> Path:
    """The path itself or its closest ancestor that exists (as anything, a file included)."""
    for cand in (path, *path.parents):
        if os.path.lexists(cand):
            return cand
    return Path(".")


def _check_writable_dir(path: Path, target: Path) -> None:
    """`path` exists: it must be a directory in which a file can be created."""
    if not path.is_dir():
        raise OutputPathError(f"{target}: cannot create it because {path} is a file, not a directory")
    if not os.access(path, os.W_OK | os.X_OK):
        raise OutputPathError(f"{target}: cannot write to {path} (permission denied)")
    try:  # os.access misses read-only filesystems for root and some mounts: try for real
        fd, probe = tempfile.mkstemp(prefix=".irgmotion-write-test.", dir=path)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise OutputPathError(f"{target}: cannot write to {path} ({reason})") from None
    os.close(fd)
    os.remove(probe)


def check_output_path(path: str | os.PathLike) -> Path:
    """Check that a file can be written at `path` before any work is done; return it as a Path.

    The target must not be a directory; its parent must be a writable directory
    or creatable (every existing ancestor a directory, the nearest one writable).
    Raises OutputPathError with one line naming the path.
    """
    out = Path(path)
    if not str(path).strip():
        raise OutputPathError("output path is empty")
    if out.is_dir():
        raise OutputPathError(f"{out}: is a directory; expected a file path")
    if os.path.lexists(out) and not out.is_file():
        raise OutputPathError(f"{out}: exists and is not a regular file")
    parent = out.parent
    existing = _nearest_existing(parent)
    _check_writable_dir(existing, out)
    return out


def check_output_dir(path: str | os.PathLike, what: str = "output directory") -> Path:
    """Check that a new directory can be written at `path` (absent, or an empty directory); return it.

    Its parent gets the same checks as in `check_output_path` (the directory is
    built beside it and moved into place). Raises OutputPathError.
    """
    out = Path(path)
    if not str(path).strip():
        raise OutputPathError(f"{what} is empty")
    if os.path.lexists(out):
        if not out.is_dir():
            raise OutputPathError(f"{out}: exists and is not a directory; expected a new {what}")
        try:
            entries = next(os.scandir(out), None) is not None
        except OSError as exc:
            raise OutputPathError(f"{out}: cannot read ({exc.strerror or type(exc).__name__})") from None
        if entries:
            held = "holds a previous corpus" if (out / "splits.json").is_file() else "is not empty"
            raise OutputPathError(f"{out}: already exists and {held}; choose a new directory")
    _check_writable_dir(_nearest_existing(out.parent), out)
    return out
