"""The command-line parser is built without torch, transformers or matplotlib: `irgmotion --help` and a refused
flag answer at once, and each command imports its heavy modules only when it runs."""
import subprocess
import sys

import pytest

HEAVY = ("torch", "transformers", "matplotlib", "peft", "trl", "datasets", "scipy")


def test_building_the_parser_imports_nothing_heavy():
    code = ("import sys; from irgmotion.cli import build_parser; build_parser(); "
            f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"imported while building the parser: {out}"


def test_lazy_package_names_still_resolve():
    from irgmotion.evaluator import EVALUATOR_KINDS, GuoEvaluator, load_evaluator
    from irgmotion.tokenizer import MotionTokenizer, VQConfig
    assert EVALUATOR_KINDS["guo"] is GuoEvaluator and callable(load_evaluator)
    assert MotionTokenizer.__name__ == "MotionTokenizer" and VQConfig.__name__ == "VQConfig"
    import irgmotion.tokenizer as tok
    try:
        tok.no_such_name
    except AttributeError as exc:
        assert "no_such_name" in str(exc)
    else:
        raise AssertionError("unknown names must raise AttributeError")


def _generate(tmp_path, *extra, unbuffered=False, **popen):
    env = {"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin", "MPLBACKEND": "Agg"}
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    cmd = [sys.executable, "-m", "irgmotion", "generate", "a person jumps twice", "--max-rounds", "1", *extra]
    return subprocess.Popen(cmd, cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True, **popen)


def test_a_quick_command_ends_at_once_with_its_files_whole(tmp_path):
    """generate skips Python's teardown (os._exit after flushing): its output and files must be complete anyway."""
    proc = _generate(tmp_path, "--out", "out", "--no-render", stdout=subprocess.PIPE)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert out.rstrip().endswith("trace.json") and "wrote" in out  # the last line reached the pipe
    import json
    trace = json.loads((tmp_path / "out" / "trace.json").read_text())
    assert trace["goal"] == "a person jumps twice" and trace["rounds"]


@pytest.mark.parametrize("unbuffered", [False, True])
def test_a_reader_that_goes_away_ends_the_command_quietly(tmp_path, unbuffered):
    """`irgmotion generate ... | head -1`: exit 141 as Unix tools do, no traceback, whether the output was buffered
    (written at the end) or not (the first print fails)."""
    import os
    read, write = os.pipe()
    os.close(read)  # nobody reads: the first write gets EPIPE
    proc = _generate(tmp_path, "--out", "out", "--no-render", unbuffered=unbuffered, stdout=write)
    os.close(write)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 141, err
    assert "Traceback" not in err
