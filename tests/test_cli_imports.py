"""The command-line parser is built without torch, transformers or matplotlib: `irgmotion --help` and a refused
flag answer at once, and each command imports its heavy modules only when it runs."""
import subprocess
import sys

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
