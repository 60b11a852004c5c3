"""Speed of the motion representation on one CPU core.

Targets: joints -> features for one 196-frame clip < 20 ms; features -> joints
for 1,000 clips of 196 frames (batched) < 1 s. Prints the figures and writes
them to benchmarks/results/representation.json.
"""
import json
import os
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from irgmotion.motion import features_to_joints, joints_to_features  # noqa: E402

torch.set_num_threads(1)
FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "humanml3d"


def best_of(fn, repeats):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times), float(np.median(times))


def main():
    feats = np.load(FIXTURES / "new_joint_vecs" / "012314.npy").astype(np.float64)
    joints = features_to_joints(feats, append_last=True)
    clip = np.concatenate([joints, joints[-1:].repeat(196 - len(joints), 0)])[:196]  # 196 frames
    j2f = best_of(lambda: joints_to_features(clip), 20)

    batch = np.tile(np.concatenate([feats, feats[:26]])[None], (1000, 1, 1)).astype(np.float32)
    f2j_np = best_of(lambda: features_to_joints(batch), 5)
    tbatch = torch.from_numpy(batch)
    f2j_torch = best_of(lambda: features_to_joints(tbatch), 5)

    results = {
        "joints_to_features_196_frames_ms": {"best": j2f[0] * 1e3, "median": j2f[1] * 1e3, "target": 20},
        "features_to_joints_1000x196_numpy_s": {"best": f2j_np[0], "median": f2j_np[1], "target": 1.0},
        "features_to_joints_1000x196_torch_s": {"best": f2j_torch[0], "median": f2j_torch[1], "target": 1.0},
        "threads": 1,
    }
    print(f"joints -> features, one 196-frame clip: {j2f[0]*1e3:.1f} ms best, {j2f[1]*1e3:.1f} ms median (target < 20 ms)")
    print(f"features -> joints, 1000 x 196 frames, numpy: {f2j_np[0]:.3f} s best, {f2j_np[1]:.3f} s median (target < 1 s)")
    print(f"features -> joints, 1000 x 196 frames, torch: {f2j_torch[0]:.3f} s best, {f2j_torch[1]:.3f} s median")
    out = Path(__file__).resolve().parent / "results" / "representation.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
