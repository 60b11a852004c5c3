"""Write the reference traces tests/test_decoding.py compares the batched decoder with.

    python benchmarks/decoding_reference.py OUT.json [--bundle DIR] [--data runs/corpus]

Eight goals (six test captions of DATA, seeded as `irgmotion bench` draws them, and two free-form ones), decoded
one at a time with greedy decoding: stage-2 traces under the rule and the model verdict, and direct generation.
The fixture was made at commit c8fa158, the last with the pass-by-pass rule loop on transformers' `generate`.
When the embedded LLM changes, make it again there, so that it keeps recording the decoding before the batched
decoder:

    git worktree add /tmp/ref c8fa158 && cd /tmp/ref
    PYTHONPATH=. python /path/to/this/script tests/fixtures/decoding/reference_traces.json --bundle /path/to/bundle
"""
from __future__ import annotations

import argparse
import hashlib
import json
import random
from pathlib import Path

import torch

from irgmotion.data.humanml3d import MotionTextDataset
from irgmotion.reason.bundle import load_bundle
from irgmotion.reason.decoding import DecodeOptions


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--bundle", default=None)
    ap.add_argument("--data", default="runs/corpus")
    a = ap.parse_args()
    torch.set_num_threads(1)
    b = load_bundle(a.bundle)
    split = MotionTextDataset(a.data, "test", normalize=False)
    rng = random.Random(0)
    clips = list(split.clips)
    rng.shuffle(clips)
    goals = [rng.choice(c.texts).caption for c in clips[:6]]
    goals += ["a person walks two steps forwards, then turns around to the left",
              "someone jumps twice and waves with the right hand"]
    out = {"llm_sha256": hashlib.sha256((b.root / "llm" / "model.safetensors").read_bytes()).hexdigest(),
           "goals": goals}
    one = DecodeOptions(max_new_tokens=1400, batch_size=1)
    for verdict in ("rule", "model"):
        r = b.reasoner(verdict=verdict)
        out[verdict] = [x.text for g in goals for x in r.interleaved([g], one)]
    out["direct"] = [x.text for x in b.reasoner().direct(goals, DecodeOptions(max_new_tokens=64, batch_size=1))]
    Path(a.out).write_text(json.dumps(out, indent=1))
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
