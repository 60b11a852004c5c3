"""Throughput and plausibility of the procedural corpus.

    python benchmarks/corpus.py [--n 2000] [--workers 2] [--seed 0] [--keep DIR] [--sheet PNG]

Writes a corpus of --n motions (into a temporary directory unless --keep),
prints motions per second and the projected time for 20,000 motions, then the
corpus-wide physical plausibility of `new_joints`: foot skating (m/s while a
foot joint is on the ground), ground penetration (m), bone-length standard
deviation (m), jitter (mean joint acceleration, m/s^2) and peak joint speed (m/s).
--sheet also draws a contact sheet of 12 random motions with their shortest
caption (docs/synth_contact_sheet.png was made with --n 240 --seed 2024).
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from irgmotion.data.synth import write_corpus  # noqa: E402
from irgmotion.motion.quality import bone_length_variation, foot_skating, ground_penetration, jitter  # noqa: E402


def plausibility(root: Path) -> dict:
    skate, pen, bone, jit, speed, frames = [], [], [], [], [], []
    for path in sorted((root / "new_joints").glob("*.npy")):
        j = np.load(path).astype(np.float64)
        skate.append(foot_skating(j))
        pen.append(ground_penetration(j))
        bone.append(bone_length_variation(j))
        jit.append(jitter(j))
        speed.append(np.linalg.norm(np.diff(j, axis=0), axis=-1).max() * 20)
        frames.append(len(j))
    return {"motions": len(skate), "frames": int(np.sum(frames)),
            "foot_skating_mean": float(np.mean(skate)), "foot_skating_p99": float(np.percentile(skate, 99)),
            "ground_penetration_max": float(np.max(pen)), "bone_length_std_max": float(np.max(bone)),
            "jitter_mean": float(np.mean(jit)), "peak_speed_max": float(np.max(speed)),
            "length_min": int(np.min(frames)), "length_max": int(np.max(frames))}


def contact_sheet(root: Path, out_png: str, rows: int = 12, seed: int = 0) -> None:
    from PIL import Image

    from irgmotion.motion.render import render_contact_sheet
    ids = sorted(p.stem for p in (root / "new_joints").glob("*.npy"))
    pick = sorted(np.random.default_rng(seed).choice(len(ids), min(rows, len(ids)), replace=False))
    motions, titles = [], []
    for k in pick:
        sid = ids[k]
        motions.append(np.load(root / "new_joints" / f"{sid}.npy"))
        caps = [line.split("#")[0] for line in (root / "texts" / f"{sid}.txt").read_text().splitlines()]
        titles.append(f"{sid}: {min(caps, key=len)}")
    render_contact_sheet(motions, titles, out_png, n_frames=6)
    img = Image.open(out_png).convert("RGB").quantize(colors=64)  # keep the committed file small
    img.save(out_png, optimize=True)
    print(f"wrote {out_png}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--keep", default=None, help="write the corpus here and keep it")
    ap.add_argument("--sheet", default=None, help="also write a contact sheet PNG of 12 random motions")
    args = ap.parse_args(argv)
    tmp = None
    if args.keep:
        out = Path(args.keep)
    else:
        tmp = Path(tempfile.mkdtemp(prefix="synth-bench-"))
        out = tmp / "corpus"
    try:
        t0 = time.time()
        summary = write_corpus(out, args.n, args.seed, args.workers)
        dt = time.time() - t0
        rate = args.n / dt
        print(f"corpus: {args.n} motions, {args.workers} worker(s): {dt:.1f} s, {rate:.1f} motions/s "
              f"(20,000 motions: {20000 / rate / 60:.1f} min); splits {summary['sizes']}")
        q = plausibility(out)
        print(f"plausibility over {q['motions']} motions ({q['frames']} frames, lengths {q['length_min']}-"
              f"{q['length_max']}):")
        print(f"  foot skating      mean {q['foot_skating_mean'] * 100:.2f} cm/s  (p99 {q['foot_skating_p99'] * 100:.2f} cm/s)")
        print(f"  ground penetration max {q['ground_penetration_max'] * 100:.2f} cm")
        print(f"  bone-length std    max {q['bone_length_std_max']:.2e} m")
        print(f"  jitter            mean {q['jitter_mean']:.2f} m/s^2")
        print(f"  peak joint speed   max {q['peak_speed_max']:.2f} m/s")
        if args.sheet:
            contact_sheet(out, args.sheet)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
