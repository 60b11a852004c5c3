"""Whole-process latency of `irgmotion generate` (one round; --no-render, and with the GIF), side by side.

    python benchmarks/cli_latency.py [--repeats 7] [--compare OTHER_CHECKOUT] [--out FILE]

Each repeat runs every variant once, in turn (this checkout, and with --compare another checkout of the project,
e.g. an older commit in a git worktree), so that both see the same machine load; the medians and their ratio are
printed and written to benchmarks/results/cli_latency.json. Run it on idle cores: the issue's targets (2.5 s
without the GIF, 4 s with it) are for 2 idle cores."""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GOAL = "a person jumps twice"


def run_once(root: Path, render: bool) -> float:
    env = {**os.environ, "PYTHONPATH": str(root), "HF_HUB_OFFLINE": "1", "MPLBACKEND": "Agg"}
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "irgmotion", "generate", GOAL, "--out", str(Path(tmp) / "out"),
               "--max-rounds", "1"] + ([] if render else ["--no-render"])
        started = time.perf_counter()
        subprocess.run(cmd, cwd=root, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--compare", type=Path, help="another checkout of irgmotion, timed in the same rounds")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "cli_latency.json")
    args = ap.parse_args()
    roots = {"this checkout": REPO}
    if args.compare:
        roots["compared"] = args.compare.resolve()
    for root in roots.values():
        # An installed package has its bytecode; a checkout run with PYTHONDONTWRITEBYTECODE=1 would compile the
        # modules it imports at every start (a tenth of a second here), which is not what a user waits for.
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(root / "irgmotion")], check=True)
    times = {(name, render): [] for name in roots for render in (False, True)}
    for _ in range(args.repeats):
        for name, root in roots.items():
            for render in (False, True):
                times[(name, render)].append(run_once(root, render))
    rows = {}
    for (name, render), values in times.items():
        label = f"{name}, {'with GIF' if render else '--no-render'}"
        rows[label] = {"median_s": round(statistics.median(values), 3), "runs_s": [round(v, 3) for v in values]}
        print(f"{label}: median {statistics.median(values):.2f} s over {len(values)} runs "
              f"(min {min(values):.2f}, max {max(values):.2f})")
    if args.compare:
        for render in (False, True):
            ratio = statistics.median(times[("compared", render)]) / statistics.median(times[("this checkout", render)])
            print(f"{'with GIF' if render else '--no-render'}: compared / this = {ratio:.2f}x")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"goal": GOAL, "cpus": os.cpu_count(), "repeats": args.repeats,
                                    "compare": str(args.compare) if args.compare else None, "rows": rows}, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
