"""Resume after any kill, and checkpoints that cannot run code (issue #18)."""
import json
import os
import pickle
import random
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from irgmotion.checkpointing import load_checkpoint, rng_state, save_checkpoint, set_rng_state
from irgmotion.cli import main
from irgmotion.train.sft import latest_checkpoint

ROOT = Path(__file__).resolve().parents[1]
DRIVER = Path(__file__).parent / "helpers" / "kill_driver.py"


class _RunsCode:
    """A pickle that would create MARKER when unpickled with weights_only=False."""
    marker = ""

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def _crafted_checkpoint(path: Path, marker: Path) -> None:
    payload = _RunsCode()
    payload.marker = str(marker)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        pickle.dump({"model": payload, "step": 1}, f)


def test_a_crafted_checkpoint_never_runs_code(tmp_path, capsys, toy_dataset):
    marker = tmp_path / "pwned"
    _crafted_checkpoint(tmp_path / "probe.pt", marker)
    with pytest.raises(ValueError, match="refused"):
        load_checkpoint(tmp_path / "probe.pt")
    assert not marker.exists()
    # the same through the command line, for the two trainers that read checkpoint.pt
    data = toy_dataset
    for argv in (["train-vq", "--data", str(data), "--out", str(tmp_path / "vq"), "--resume"],
                 ["train-evaluator", "--kind", "guo", "--data", str(data), "--out", str(tmp_path / "ev"), "--resume",
                  "--no-progress"]):
        _crafted_checkpoint(Path(argv[argv.index("--out") + 1]) / "checkpoint.pt", marker)
        capsys.readouterr()
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "checkpoint.pt" in err[0] and "refused" in err[0], err
        assert not marker.exists()


def test_rng_state_round_trips_through_a_weights_only_checkpoint(tmp_path):
    random.seed(3)
    torch.manual_seed(3)
    import numpy as np
    np.random.seed(3)
    save_checkpoint(tmp_path / "c.pt", step=7)
    expected = (random.random(), float(np.random.rand()), float(torch.rand(1)))
    random.seed(99), np.random.seed(99), torch.manual_seed(99)
    state = load_checkpoint(tmp_path / "c.pt")
    set_rng_state(state["rng"])
    assert (random.random(), float(np.random.rand()), float(torch.rand(1))) == expected
    assert state["step"] == 7 and set(rng_state()) == {"python", "numpy", "torch"}


def test_torn_temporaries_are_removed_on_resume(tmp_path):
    save_checkpoint(tmp_path / "checkpoint.pt", step=1)
    torn = tmp_path / ".checkpoint.pt.abc123.pt"
    torn.write_bytes(b"half a checkpoint")
    assert load_checkpoint(tmp_path / "checkpoint.pt")["step"] == 1
    assert not torn.exists()


def _sft_checkpoint(path: Path, step: int, complete: bool = True) -> None:
    path.mkdir(parents=True)
    (path / "model.safetensors").write_bytes(b"x")
    if complete:
        (path / "trainer_state.json").write_text(json.dumps({"step": step}))


@pytest.mark.parametrize("layout, expected", [
    ({"checkpoint": True}, "checkpoint"),
    # killed after the old checkpoint moved aside, before the new one moved in: both complete, the new one wins
    ({"checkpoint.tmp": True, "checkpoint.old": True}, "checkpoint.tmp"),
    # killed while the new one was written: the torn one is passed over
    ({"checkpoint.tmp": False, "checkpoint": True}, "checkpoint"),
    ({"checkpoint.old": True}, "checkpoint.old"),
    ({"checkpoint.tmp": False}, None),
])
def test_sft_resumes_from_the_newest_complete_checkpoint(tmp_path, layout, expected):
    for step, (name, complete) in enumerate(layout.items(), 1):
        _sft_checkpoint(tmp_path / name, step, complete)
    found = latest_checkpoint(tmp_path)
    assert (found.name if found else None) == expected


def _driver(out: Path, log: Path, *kill) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, str(DRIVER), str(out), str(log), *map(str, kill)], env=env,
                          capture_output=True, text=True, timeout=900)


def _weights(bundle: Path) -> dict:
    return {f"{part}/{k}": v for part in ("vq", "llm", "evaluator/guo")
            for k, v in load_file(bundle / part / "model.safetensors").items()}


def test_pipeline_killed_at_five_points_finishes_with_the_weights_of_an_uninterrupted_run(tmp_path):
    ref = _driver(tmp_path / "ref", tmp_path / "ref.log")
    assert ref.returncode == 0, ref.stderr[-2000:]
    ops = (tmp_path / "ref.log").read_text().splitlines()
    stage2_ops = [line for line in ops if "/stage2/" in line]
    assert stage2_ops, "the uninterrupted run published nothing in stage2"
    kills = [
        ("/vq/checkpoint.pt", 1),             # during the tokenizer's first checkpoint write (temporary complete, unrenamed)
        ("/evaluators/guo/", 1),               # inside the evaluator step, before its first checkpoint
        ("/engine/", 3),                       # inside the data engine (no checkpoints: it restarts)
        ("/stage1/checkpoint.tmp -> ", 1),     # a stage-1 checkpoint written but not yet moved into place
        ("/stage2/", random.Random(0).randint(1, len(stage2_ops))),  # somewhere in stage 2
    ]
    out, log = tmp_path / "killed", tmp_path / "killed.log"
    for match, nth in kills:
        run = _driver(out, log, match, nth)
        assert run.returncode == 137, (match, nth, run.returncode, run.stderr[-2000:])
    final = _driver(out, log)
    assert final.returncode == 0, final.stderr[-2000:]
    assert not list(out.rglob(".*.tmp")) and not list(out.rglob("checkpoint.old"))
    a, b = _weights(tmp_path / "ref" / "bundle"), _weights(out / "bundle")
    assert a.keys() == b.keys()
    for k in a:
        assert torch.allclose(a[k].float(), b[k].float(), atol=1e-6, rtol=0), k


def test_a_bundle_with_pickled_weights_never_runs_code(tmp_path, capsys):
    """A bundle whose LLM weights are a pickle (pytorch_model.bin) instead of safetensors is refused unread."""
    import shutil
    bundle = tmp_path / "bundle"
    shutil.copytree(ROOT / "irgmotion" / "assets" / "bundle", bundle)
    (bundle / "llm" / "model.safetensors").unlink()
    marker = tmp_path / "pwned"
    _crafted_checkpoint(bundle / "llm" / "pytorch_model.bin", marker)
    assert main(["generate", "a person walks", "--bundle", str(bundle), "--out", str(tmp_path / "out"),
                 "--no-render"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "model.safetensors" in err[0], err
    assert not marker.exists() and not (tmp_path / "out").exists()
