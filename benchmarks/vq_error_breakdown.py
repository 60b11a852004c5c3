"""Where a tokenizer's reconstruction error comes from: global vs root-relative MPJPE, the error left when the
decoded root channels are replaced by the true ones, and how the error grows along the clip.

    python benchmarks/vq_error_breakdown.py --vq irgmotion/assets/bundle/vq --data corpus --n 300
"""
import argparse

import numpy as np
import torch

from irgmotion.data.humanml3d import MotionTextDataset
from irgmotion.motion.features import features_to_joints
from irgmotion.tokenizer.pretrained import MotionTokenizer


def mpjpe(a, b):
    return float(np.linalg.norm(a - b, axis=-1).mean() * 1000)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vq", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--split", default="test")
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    tok = MotionTokenizer.from_pretrained(args.vq)
    motions = [c.motion for c in MotionTextDataset(args.data, args.split, normalize=False).clips[: args.n]]
    motions = [m[: len(m) // tok.unit_length * tok.unit_length] for m in motions]
    recon = tok.decode(tok.encode(motions))
    rows = {"global": [], "root-relative": [], "root channels from the truth": [],
            "rotation velocity from the truth": [], "xz velocity from the truth": []}
    bins, counts = np.zeros(7), np.zeros(7)
    for gt, rec in zip(motions, recon):
        jt, jp = features_to_joints(gt), features_to_joints(rec)
        rows["global"].append(mpjpe(jt, jp))
        rows["root-relative"].append(mpjpe(jt - jt[:, :1], jp - jp[:, :1]))
        for name, channels in (("root channels from the truth", [0, 1, 2, 3]),
                               ("rotation velocity from the truth", [0]), ("xz velocity from the truth", [1, 2])):
            fixed = rec.copy()
            fixed[:, channels] = gt[:, channels]
            rows[name].append(mpjpe(jt, features_to_joints(fixed)))
        per_frame = np.linalg.norm(jt - jp, axis=-1).mean(1) * 1000
        for k in range(7):
            part = per_frame[k * 28:(k + 1) * 28]
            bins[k] += part.sum()
            counts[k] += len(part)
    print(f"{len(motions)} {args.split} clips, MPJPE in mm")
    for name, values in rows.items():
        print(f"  {name:34s} {np.mean(values):7.1f}")
    print("  global error by 28-frame span:    " + " ".join(f"{b:.0f}" for b in bins / np.maximum(counts, 1)))


if __name__ == "__main__":
    main()
