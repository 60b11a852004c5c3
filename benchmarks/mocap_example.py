"""A generated motion next to a real clip of the same label, as one small PNG (docs/mocap/).

    python benchmarks/mocap_example.py --bundle runs/mocap/pipe/bundle --data runs/mocap/pipe/real \
        --content wave-right-hand --out docs/mocap/example.png

Takes the first test-split clip (held out by clip) whose content label is --content (and --style, if given),
gives its first caption to the bundle as the goal, and draws two rows of --frames frames: the bundle's answer
and the real clip. Prints the goal, the clip, the answer's round and its assessment.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bundle", required=True)
    ap.add_argument("--data", required=True, help="an imported dataset (`irgmotion data import-bvh`) with labels")
    ap.add_argument("--content", required=True)
    ap.add_argument("--style", default=None)
    ap.add_argument("--frames", type=int, default=5)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    from irgmotion import MotionReasoner
    from irgmotion.data.bvh_dataset import read_clip_labels
    from irgmotion.data.humanml3d import MotionTextDataset
    from irgmotion.motion.features import features_to_joints
    from irgmotion.motion.render import render_contact_sheet

    labels = read_clip_labels(args.data)
    test = MotionTextDataset(args.data, "test", normalize=False)
    clips = [c for c in test.clips if labels.get(c.id, {}).get("content") == args.content
             and (args.style is None or labels[c.id].get("style") == args.style)]
    if not clips:
        print(f"error: {args.data}: no test clip with content {args.content!r}"
              + (f" and style {args.style!r}" if args.style else ""), file=sys.stderr)
        return 2
    clip = clips[0]
    goal = clip.texts[0].caption
    reasoner = MotionReasoner.from_pretrained(args.bundle)
    motion = reasoner.generate(goal)
    answer = motion.rounds[motion.answer_round]
    real = features_to_joints(clip.motion.astype("float64"))
    lab = labels[clip.id]
    render_contact_sheet([motion.joints, real],
                         [f"generated: \"{goal}\" (round {motion.answer_round + 1} of {len(motion.rounds)})",
                          f"real clip {clip.id} ({lab['content']}, {lab['style']}; Bandai-Namco, CC BY-NC 4.0)"],
                         args.out, n_frames=args.frames)
    print(f"goal: {goal}")
    print(f"real clip: {clip.id} ({lab['content']}, {lab['style']}), {len(real)} frames")
    print(f"answer: round {motion.answer_round + 1} of {len(motion.rounds)}, {len(motion.joints)} frames")
    print(f"assessment: {answer.assessment}")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
