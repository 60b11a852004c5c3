"""Runs `irgmotion pipeline --preset smoke` in this process and dies like a SIGKILL at a chosen file operation.

usage: kill_driver.py OUT LOG [MATCH NTH]
Every os.replace and Path.rename (the renames that publish files and checkpoints) is appended to LOG as
"operation<TAB>target". With MATCH and NTH the process calls os._exit(137) just before the NTH operation whose
target contains MATCH: its temporary file is complete and unrenamed, as after a kill during that write.
"""
import os
import sys
from pathlib import Path

out, log_path = sys.argv[1], sys.argv[2]
match, nth = (sys.argv[3], int(sys.argv[4])) if len(sys.argv) > 4 else (None, 0)
count = 0
log = open(log_path, "a", buffering=1)
real_replace, real_rename = os.replace, Path.rename


def _before(op: str, target) -> None:
    global count
    log.write(f"{op}\t{target}\n")
    if match is None or match not in str(target):
        return
    count += 1
    if count == nth:
        log.flush()
        os._exit(137)


def replace(src, dst, *a, **k):
    _before("replace", dst)
    return real_replace(src, dst, *a, **k)


def rename(self, target):
    _before("rename", f"{self} -> {target}")
    return real_rename(self, target)


os.replace = replace
Path.rename = rename
from irgmotion.cli import main  # noqa: E402  (after the patch, so every module sees it)

sys.exit(main(["pipeline", "--preset", "smoke", "--out", out]))
