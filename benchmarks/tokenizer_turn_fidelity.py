"""How much of a turn survives the motion tokenizer, and what the kinematic checker makes of the result.

    python benchmarks/tokenizer_turn_fidelity.py [VQ_DIR ...]     (default: the embedded bundle's tokenizer)

For turns on the spot (45-180 degrees, both sides, several render seeds) rendered by the corpus generator,
prints the heading change after encode -> decode divided by the rendered one (median and range; 1.0 is
exact) and the same ratio for the root's angular-velocity channel summed over time. Then, for every program of
the free-form prompt set rendered once, the kinematic checker's pass rate on the raw joints, on the joints
recovered from the features without the tokenizer, and after the tokenizer, with the action types that fail
most after it. Numpy and the tokenizer only; a minute on 2 cores.
"""
from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from irgmotion.bench.freeform import load_prompts  # noqa: E402
from irgmotion.bench.kinematic import check_motion  # noqa: E402
from irgmotion.data.synth import render_program  # noqa: E402
from irgmotion.motion.features import features_to_joints, joints_to_features  # noqa: E402
from irgmotion.tokenizer.pretrained import MotionTokenizer  # noqa: E402

BUNDLE_VQ = Path(__file__).resolve().parents[1] / "irgmotion" / "assets" / "bundle" / "vq"


def heading_change(joints: np.ndarray) -> float:
    """Degrees the hip line turns from the first to the last frame (about the vertical axis)."""
    hip = joints[:, 2] - joints[:, 1]  # right hip minus left hip
    angle = np.unwrap(np.arctan2(hip[:, 0], hip[:, 2]))
    return float(np.degrees(angle[-1] - angle[0]))


def through(vq: MotionTokenizer, joints: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    feats = joints_to_features(joints).astype(np.float32)
    rec = vq.decode([vq.encode(feats)[0].tolist()])[0]
    return feats, rec, features_to_joints(rec.astype(np.float64), append_last=True)


def main(paths: list[str]) -> None:
    for path in paths or [str(BUNDLE_VQ)]:
        vq = MotionTokenizer.from_pretrained(path)
        heading, channel = [], []
        for seed in range(3):
            for angle in (45, 90, 135, 180):
                for side in ("left", "right"):
                    joints = render_program({"actions": [{"name": "turn", "params": {"direction": side,
                                                                                     "angle": angle}}]}, seed=seed)
                    feats, rec, rj = through(vq, joints)
                    heading.append(heading_change(rj) / heading_change(joints))
                    channel.append(float(rec[:, 0].sum() / feats[:, 0].sum()))
        print(f"{path}: turns on the spot ({len(heading)}): heading change kept, median {np.median(heading):.2f} "
              f"(range {min(heading):.2f}-{max(heading):.2f}); root angular-velocity channel kept, median "
              f"{np.median(channel):.2f}")
        passed = Counter()
        failed_actions = Counter()
        items = load_prompts()
        for k, item in enumerate(items):
            joints = render_program(item["program"], seed=k)
            feats, _, rj = through(vq, joints)
            ignore = item.get("unspecified", ())
            passed["raw"] += check_motion(joints, item["program"], ignore=ignore).passed
            passed["features"] += check_motion(features_to_joints(feats.astype(np.float64), append_last=True),
                                               item["program"], ignore=ignore).passed
            res = check_motion(rj, item["program"], ignore=ignore)
            passed["tokenizer"] += res.passed
            failed_actions.update(v.name for v in res.actions
                                  if not v.passed or (v.upper is not None and not v.upper.passed))
        n = len(items)
        print(f"  free-form programs ({n}) pass: raw joints {passed['raw'] / n:.3f}, through the features "
              f"{passed['features'] / n:.3f}, through the tokenizer {passed['tokenizer'] / n:.3f}; failing after "
              "the tokenizer: " + ", ".join(f"{a} {c}" for a, c in failed_actions.most_common(6)))


if __name__ == "__main__":
    main(sys.argv[1:])
