import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings

# Property tests check correctness, not speed: a per-example deadline only makes them flaky on a busy CPU.
settings.register_profile("no-deadline", deadline=None)
settings.load_profile("no-deadline")

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

REPO = Path(__file__).resolve().parents[1]
# The reference clips live in the workspace's shared folder; a copy inside the
# repo (tests/fixtures) is used when present so CI on a bare clone still runs.
REFERENCE_CANDIDATES = [REPO / "tests" / "fixtures" / "humanml3d", REPO.parent / "shared" / "reference" / "humanml3d"]


def reference_dir() -> Path | None:
    for cand in REFERENCE_CANDIDATES:
        if (cand / "new_joint_vecs" / "000000.npy").is_file():
            return cand
    return None


@pytest.fixture(scope="session")
def ref_dir() -> Path:
    d = reference_dir()
    if d is None:
        pytest.skip("HumanML3D reference clips not found")
    return d


@pytest.fixture(scope="session", params=["000000", "012314"])
def ref_clip(request, ref_dir):
    cid = request.param
    return cid, np.load(ref_dir / "new_joints" / f"{cid}.npy"), np.load(ref_dir / "new_joint_vecs" / f"{cid}.npy")


def make_toy_dataset(root: Path, ref: Path, n: int = 12, seed: int = 0) -> Path:
    """A small dataset in HumanML3D layout cut from the two reference clips."""
    rng = np.random.default_rng(seed)
    sources = [np.load(ref / "new_joint_vecs" / f"{c}.npy").astype(np.float32) for c in ("000000", "012314")]
    for sub in ("new_joint_vecs", "texts"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    captions = ["a person kicks with the left leg", "someone walks and turns around"]
    ids = []
    for i in range(n):
        k = i % 2
        src = sources[k]
        length = int(rng.integers(60, len(src) + 1))
        start = int(rng.integers(0, len(src) - length + 1))
        motion = src[start:start + length] + rng.normal(0, 0.01, size=(length, 263)).astype(np.float32)
        cid = f"{i:06d}"
        np.save(root / "new_joint_vecs" / f"{cid}.npy", motion)
        words = captions[k].split()
        (root / "texts" / f"{cid}.txt").write_text(f"{captions[k]}#{' '.join(w + '/NOUN' for w in words)}#0.0#0.0\n")
        ids.append(cid)
    all_motion = np.concatenate([np.load(root / "new_joint_vecs" / f"{c}.npy") for c in ids])
    np.save(root / "Mean.npy", all_motion.mean(0))
    np.save(root / "Std.npy", all_motion.std(0))
    (root / "train.txt").write_text("\n".join(ids[: n - 4]) + "\n")
    (root / "val.txt").write_text("\n".join(ids[n - 4: n - 2]) + "\n")
    (root / "test.txt").write_text("\n".join(ids[n - 2:]) + "\n")
    return root


@pytest.fixture(scope="session")
def toy_dataset(tmp_path_factory, ref_dir) -> Path:
    return make_toy_dataset(tmp_path_factory.mktemp("toy") / "data", ref_dir)
