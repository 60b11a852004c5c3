"""Run the irgmotion command line, recording every file or folder this process creates, opens for writing,
renames or removes under ROOT (Python audit events), for tests/test_distributed.py.

Usage (one process or under `accelerate launch`): record_writes.py ROOT LOG_PREFIX irgmotion-arguments...
Writes LOG_PREFIX.RANK: one line per event, "event<TAB>path". Writes made by C++/Rust code itself (torch's zip
writer, safetensors) are not seen; the project's own writes of such files go through a temporary file and a
rename, which are.
"""
import atexit
import os
import sys

root, prefix, argv = os.path.realpath(sys.argv[1]), sys.argv[2], sys.argv[3:]
rank = os.environ.get("RANK", "0")
events: list[tuple[str, str]] = []
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def _under_root(path) -> str | None:
    if isinstance(path, int) or path is None:
        return None
    try:
        full = os.path.realpath(os.fsdecode(path))
    except (TypeError, ValueError):
        return None
    return full if full == root or full.startswith(root + os.sep) else None


def hook(event: str, args) -> None:
    if event == "open":
        path, mode, flags = args
        writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & WRITE_FLAGS)
        paths = [path] if writes else []
    elif event in ("os.rename", "os.remove", "os.mkdir", "os.rmdir", "shutil.rmtree", "os.truncate"):
        paths = list(args[:2]) if event == "os.rename" else [args[0]]
    else:
        return
    for p in paths:
        full = _under_root(p)
        if full is not None:
            events.append((event, os.path.relpath(full, root)))


def dump() -> None:
    sys.addaudithook  # noqa: B018 (the hook stays; the log lies outside ROOT)
    with open(f"{prefix}.{rank}", "w") as f:
        f.writelines(f"{e}\t{p}\n" for e, p in events)


atexit.register(dump)
sys.addaudithook(hook)
from irgmotion.cli import main  # noqa: E402

sys.exit(main(argv))
