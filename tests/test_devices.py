"""`--device auto|cpu|cuda|mps`: resolved once (irgmotion.devices), refused with one line and exit 2 by every command
that runs a model when this machine lacks the device, and `--device cpu` changes nothing on the CPU."""
import json

import numpy as np
import pytest
import torch

from irgmotion import devices
from irgmotion.cli import main
from irgmotion.devices import DeviceError, inference_dtype, resolve_device

NO_CUDA = not torch.cuda.is_available()

# Each command that runs a model, with just enough arguments to parse (nothing here exists: the flag is refused first).
COMMANDS = {
    "generate": ["generate", "a person jumps", "--out", "{tmp}/out"],
    "assess": ["assess", "a person jumps", "{tmp}/m.npy"],
    "caption": ["caption", "{tmp}/m.npy"],
    "chat": ["chat"],
    "serve": ["serve", "--no-warmup"],
    "bench": ["bench", "--bundle", "{tmp}/b", "--data", "{tmp}/d", "--out", "{tmp}/out/r"],
    "eval": ["eval", "--data", "{tmp}/d", "--out", "{tmp}/out/r"],
    "train-vq": ["train-vq", "--data", "{tmp}/d", "--out", "{tmp}/out"],
    "train-evaluator": ["train-evaluator", "--kind", "guo", "--data", "{tmp}/d", "--out", "{tmp}/out"],
}


def test_names_resolve_and_unknown_names_are_refused():
    assert resolve_device("cpu") == "cpu" and resolve_device(" CPU ") == "cpu"
    for bad in ("tpu", "cpu:0", "cuda:x", ""):
        if bad == "":  # empty means auto
            assert resolve_device(bad) in ("cpu", "cuda", "mps")
            continue
        with pytest.raises(DeviceError, match="expected one of auto, cpu, cuda, mps"):
            resolve_device(bad)


def test_auto_prefers_cuda_then_mps_then_cpu(monkeypatch):
    monkeypatch.setattr(devices, "_cuda_reason", lambda torch: None)
    assert resolve_device("auto") == resolve_device(None) == "cuda"
    monkeypatch.setattr(devices, "_cuda_reason", lambda torch: "no GPU")
    monkeypatch.setattr(devices, "_mps_reason", lambda torch: None)
    assert resolve_device("auto") == "mps"
    monkeypatch.setattr(devices, "_mps_reason", lambda torch: "no MPS")
    assert resolve_device("auto") == "cpu"
    with pytest.raises(DeviceError, match="cuda is not available: no GPU; use --device cpu or auto"):
        resolve_device("cuda")
    with pytest.raises(DeviceError, match="mps is not available: no MPS"):
        resolve_device("mps")


def test_the_cpu_always_computes_in_float32():
    assert inference_dtype("cpu") == torch.float32 and inference_dtype("mps") == torch.float32
    assert not devices.bf16_native("cpu")


@pytest.mark.skipif(not NO_CUDA, reason="this machine has CUDA")
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_cuda_on_a_machine_without_it_is_one_line_and_exit_2(command, tmp_path, capsys):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in COMMANDS[command]] + ["--device", "cuda"]
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and captured.out == "", captured
    assert "argument --device: cuda is not available" in lines[0] and "Traceback" not in captured.err
    assert not (tmp_path / "out").exists()  # refused before any work
    assert main(argv[:-2] + ["--device", "gpu"]) == 2
    assert "argument --device: expected one of auto, cpu, cuda, mps" in capsys.readouterr().err


@pytest.mark.skipif(not NO_CUDA, reason="this machine has CUDA")
def test_api_refuses_cuda_with_a_value_error():
    from irgmotion import MotionReasoner
    with pytest.raises(ValueError, match="cuda is not available"):
        MotionReasoner.from_pretrained(device="cuda")


def test_generate_on_cpu_equals_the_default(tmp_path):
    goal = ["generate", "a person jumps twice", "--no-render", "--max-rounds", "2", "--max-new-tokens", "300"]
    assert main(goal + ["--out", str(tmp_path / "default")]) == 0
    assert main(goal + ["--out", str(tmp_path / "cpu"), "--device", "cpu"]) == 0
    a, b = (json.loads((tmp_path / d / "trace.json").read_text()) for d in ("default", "cpu"))
    a.pop("generation_seconds"), b.pop("generation_seconds")
    assert a == b and a["text"]
    np.testing.assert_array_equal(np.load(tmp_path / "default" / "final_joints.npy"),
                                  np.load(tmp_path / "cpu" / "final_joints.npy"))
