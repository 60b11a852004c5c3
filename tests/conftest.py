import os
from pathlib import Path

import numpy as np
import pytest

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
