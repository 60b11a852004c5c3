"""Free-form prompts with and without goal reading (reason/goal_text.py: typos of caption words, numeric
shorthands), embedded bundle, rule verdict, the 204 held-out prompts and the kinematic checker of `irgmotion bench`.

    python benchmarks/goal_reader_freeform.py    # ~6 minutes on 2 idle cores

Prints the first-motion and answer pass rates both ways (overall, typo and numerals prompts) and writes
benchmarks/results/goal_reader_freeform.json."""
from __future__ import annotations

import json
from pathlib import Path

from irgmotion.bench.freeform import run_freeform
from irgmotion.reason import goal_text
from irgmotion.reason.bundle import load_bundle
from irgmotion.reason.decoding import DecodeOptions
from irgmotion.reason.options import DEFAULT_SELECT

OUT = Path(__file__).resolve().parent / "results" / "goal_reader_freeform.json"
ROWS = ("Stage-2 first motion", f"Stage-2 {DEFAULT_SELECT} assessed motion (rule verdict)")


def main() -> None:
    bundle = load_bundle()
    opts = DecodeOptions(max_new_tokens=1400, batch_size=32)
    results = {"goals read": run_freeform(bundle, opts, 6, "rule", references=False)}
    goal_text.GoalReader.read = lambda self, goal: (goal, [])  # the goals as the user typed them
    results["goals as typed"] = run_freeform(bundle, opts, 6, "rule", references=False)
    for name, result in results.items():
        for row in ROWS:
            r = result["rows"][row]
            print(f"{name}: {row}: {r['pass_rate']:.3f} ({r['passed']}/{r['n']}); typo "
                  f"{r['by_style']['typo']['pass_rate']:.3f}, numerals {r['by_style']['numerals']['pass_rate']:.3f}")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, indent=1))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
