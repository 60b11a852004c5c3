"""Every subcommand, driven with generated bad arguments and bad files (issue #18): exit 2, at most three lines,
no traceback, and nothing new or changed in the working folder. Each example holds exactly one bad thing;
the rest of its arguments are valid, so the refusal has to come from the bad one."""
import contextlib
import io
import json
import os
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from irgmotion.cli import main

ROOT = Path(__file__).resolve().parents[1]
REF = ROOT / "tests" / "fixtures" / "humanml3d"
BUNDLE = ROOT / "irgmotion" / "assets" / "bundle"

BAD_COUNT = ["0", "-1", "-7", "nan", "3.5", "x", ""]           # flags that count something (>= 1)
BAD_NONNEGATIVE = ["-1", "-20", "nan", "two", ""]
BAD_POSITIVE_REAL = ["0", "-1", "-0.5", "nan", "inf", "-inf", "abc", ""]
BAD_SEED = ["-1", str(2**32), str(2**64), "seven", ""]
BAD_TEXT = ["", "   ", "\x1b[31mred\x1b[0m person", "a\x00b", "walk\udcff forward", "x" * 200_000]


def _workspace(root: Path) -> dict:
    """Good and bad inputs, made once; the examples only read them."""
    w = {"root": root}
    joints = np.load(REF / "new_joints" / "000000.npy").astype(np.float32)
    feats = np.load(REF / "new_joint_vecs" / "000000.npy").astype(np.float32)
    good = root / "good"
    good.mkdir()
    np.save(good / "joints.npy", joints)
    np.save(good / "feats.npy", feats)
    (good / "program.json").write_text((ROOT / "examples" / "program.json").read_text())
    bad = root / "bad"
    bad.mkdir()
    files = {
        "random_bytes.npy": os.urandom(512),
        "empty.npy": b"",
        "not_utf8.json": b"\xff\xfe\x00garbage",
        "deep.json": b"[" * 100_000 + b"]" * 100_000,
        "truncated.npy": (good / "joints.npy").read_bytes()[:200],
    }
    for name, data in files.items():
        (bad / name).write_bytes(data)
    arrays = {
        "nan.npy": np.full((30, 22, 3), np.nan, np.float32),
        "wrong_shape.npy": np.zeros((5, 7), np.float32),
        "zeros.npy": np.zeros((30, 22, 3), np.float32),
        "huge.npy": np.full((30, 22, 3), 1e30, np.float32),
        "millimetres.npy": joints * 1000,
        "float64_overflow.npy": np.full((30, 22, 3), 1e300, np.float64),
        "complex.npy": joints.astype(np.complex64),
        "one_frame_3d.npy": np.zeros((22, 3), np.float32),
    }
    for name, arr in arrays.items():
        np.save(bad / name, arr)
    (bad / "a_directory.npy").mkdir()
    (bad / "a_file").write_text("not a directory")
    (bad / "empty_dir").mkdir()
    full = bad / "full_dir"
    full.mkdir()
    (full / "keep.txt").write_text("someone's file")
    w["bad_inputs"] = sorted(str(p) for p in bad.iterdir() if p.name not in ("empty_dir", "full_dir", "a_file")) + [
        str(bad / "missing.npy"), str(bad / "a_file")]
    w["bad_dirs"] = [str(bad / "missing_dir"), str(bad / "a_file"), str(bad / "empty_dir"), str(bad / "random_bytes.npy")]
    w["bad_outputs"] = {  # (path, why): each is refused whatever the suffix asked for
        "under_a_file": str(bad / "a_file" / "out"),
        "a_directory": str(bad / "a_directory.npy"),
        "full_dir": str(full),
    }
    w["good"] = good
    return w


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    return _workspace(tmp_path_factory.mktemp("cli_properties"))


def _snapshot(root: Path) -> dict:
    # directories by name only: probing whether a folder is writable touches its mtime, not its files
    return {str(p.relative_to(root)): (True, 0, 0) if p.is_dir() else (False, p.stat().st_size, p.stat().st_mtime_ns)
            for p in root.rglob("*")}


def _case(draw, w) -> list[str]:
    """One subcommand with exactly one bad argument or file."""
    good = w["good"]
    new = str(w["root"] / "new" / "out")
    bad_in = st.sampled_from(w["bad_inputs"])
    bad_out = st.sampled_from(sorted(w["bad_outputs"].values()))
    bad_dir = st.sampled_from(w["bad_dirs"])
    vq = str(BUNDLE / "vq")
    command = draw(st.sampled_from([
        "convert", "render", "export", "synth", "program", "generate", "train-vq", "tokenize", "detokenize",
        "tokenize-dataset", "build", "train", "bench", "bench-stage1", "diagnose", "pipeline", "train-evaluator",
        "eval"]))
    kind = draw(st.sampled_from(["input", "output", "flag"]))

    if command in ("convert", "render", "export"):
        suffix = {"convert": ".npy", "render": ".gif", "export": ".bvh"}[command]
        src, out, extra = str(good / "joints.npy"), new + suffix, []
        if command == "convert":
            extra = ["--to", "features"]
        if kind == "input":
            src = draw(bad_in)
        elif kind == "output":
            out = draw(st.one_of(bad_out, st.just(new + ".txt"), st.just(src)))
        elif command == "convert":
            extra = draw(st.sampled_from([["--to", "bones"], ["--to", "features", "--dataset", "smpl"]]))
        else:
            extra = ["--fps", draw(st.sampled_from(BAD_POSITIVE_REAL))]
        return [command, src, out, *extra]
    if command == "synth":
        args = {"--out": new, "--n": "2"}
        if kind in ("input", "output"):
            args["--out"] = draw(st.sampled_from([w["bad_outputs"]["under_a_file"], w["bad_outputs"]["full_dir"],
                                                  str(good / "joints.npy")]))
        else:
            flag = draw(st.sampled_from(["--n", "--seed", "--workers"]))
            args[flag] = draw(st.sampled_from(BAD_SEED if flag == "--seed" else BAD_COUNT))
        return ["data", "synth", *[x for kv in args.items() for x in kv]]
    if command == "program":
        src, out, extra = str(good / "program.json"), new + ".npy", []
        if kind == "input":
            src = draw(st.one_of(bad_in, st.just(str(Path(w["bad_inputs"][0]).parent / "deep.json"))))
        elif kind == "output":
            out = draw(st.one_of(bad_out, st.just(new + ".gif")))
        else:
            extra = ["--seed", draw(st.sampled_from(BAD_SEED))]
        return ["data", "program", src, out, *extra]
    if command == "generate":
        text, extra = "a person walks forward", ["--out", new, "--no-render"]
        if kind == "input":
            if draw(st.booleans()):
                text = draw(st.sampled_from(BAD_TEXT))
            else:
                extra += ["--bundle", draw(bad_dir)]
        elif kind == "output":
            extra[1] = draw(st.sampled_from([w["bad_outputs"]["under_a_file"], w["bad_outputs"]["full_dir"],
                                             str(good / "joints.npy")]))
        else:
            flag = draw(st.sampled_from(["--seed", "--temperature", "--max-rounds", "--max-new-tokens", "--verdict",
                                         "--select", "--format"]))
            value = {"--seed": BAD_SEED, "--temperature": BAD_POSITIVE_REAL, "--max-rounds": BAD_COUNT,
                     "--max-new-tokens": BAD_COUNT}.get(flag, ["judge", "first", "avi"])
            extra += [flag, draw(st.sampled_from(value))]
        return ["generate", text, *extra]
    if command == "tokenize":
        return ["tokenize", draw(bad_in), "--vq", vq] if kind != "flag" else \
            ["tokenize", str(good / "feats.npy"), "--vq", draw(bad_dir)]
    if command == "detokenize":
        ids, out, v = "3 17 250", new + ".npy", vq
        if kind == "input":
            ids = draw(st.sampled_from(["", "x y", "1e5", "-3", "99999999999", "3" * 5000, "٣"]))
        elif kind == "output":
            out = draw(st.one_of(bad_out, st.just(new + ".gif")))
        else:
            v = draw(bad_dir)
        return ["detokenize", ids, out, "--vq", v]
    if command == "pipeline":
        if kind == "flag":
            return ["pipeline", "--out", new, "--preset", "huge"]
        return ["pipeline", "--out", draw(st.sampled_from([w["bad_outputs"]["under_a_file"],
                                                           w["bad_outputs"]["full_dir"], str(good / "joints.npy")]))]

    # commands that take a dataset (and more): one bad directory or one bad flag; the dataset given is bad or
    # the flag is, so every one of them must stop before reading a model or data
    data = draw(bad_dir) if kind != "flag" else str(w["root"] / "no_such_dataset")
    flags = {
        "train-vq": (["train-vq", "--data", data, "--out", new],
                     {"--steps": BAD_COUNT, "--batch-size": BAD_COUNT, "--window": BAD_COUNT, "--lr": BAD_POSITIVE_REAL,
                      "--val-every": BAD_COUNT, "--threads": BAD_COUNT, "--seed": BAD_SEED,
                      "--max-minutes": BAD_POSITIVE_REAL}),
        "tokenize-dataset": (["tokenize-dataset", "--vq", vq, "--data", data, "--out", new + ".json"],
                             {"--min-len": BAD_COUNT, "--max-len": BAD_COUNT, "--split": ["dev"]}),
        "build": (["build", "all", "--data", data, "--out", new],
                  {"--n-retrieval": BAD_COUNT, "--n-perturb": BAD_NONNEGATIVE, "--limit": BAD_NONNEGATIVE,
                   "--workers": BAD_COUNT, "--seed": BAD_SEED, "--annotator": ["file:///etc/passwd", "ftp://x/y"],
                   "--assessment-style": ["loose"]}),
        "train": (["train", "--stage", "1", "--engine", data, "--vq", vq, "--out", new],
                  {"--steps": BAD_COUNT, "--batch-size": BAD_COUNT, "--grad-accum": BAD_COUNT, "--lr": BAD_POSITIVE_REAL,
                   "--warmup": BAD_NONNEGATIVE, "--max-length": BAD_COUNT, "--checkpoint-every": BAD_COUNT,
                   "--threads": BAD_COUNT, "--seed": BAD_SEED, "--stage1-fraction": ["-0.1", "1", "nan"],
                   "--max-minutes": BAD_POSITIVE_REAL}),
        "bench": (["bench", "--bundle", str(BUNDLE), "--data", data, "--out", new],
                  {"--limit": BAD_NONNEGATIVE, "--repeats": BAD_COUNT, "--batch-size": BAD_COUNT, "--seed": BAD_SEED,
                   "--compositional": BAD_NONNEGATIVE, "--freeform": BAD_NONNEGATIVE, "--verdict": ["judge"]}),
        "bench-stage1": (["bench-stage1", "--llm", str(BUNDLE / "llm"), "--vq", vq, "--data", data, "--engine-test",
                          data, "--evaluator", str(BUNDLE / "evaluator" / "guo"), "--out", new],
                         {"--limit": BAD_NONNEGATIVE, "--pairs": BAD_COUNT, "--beams": BAD_COUNT, "--seed": BAD_SEED}),
        "diagnose": (["diagnose", "--bundle", str(BUNDLE), "--engine-test", data, "--evaluator",
                      str(BUNDLE / "evaluator" / "guo"), "--out", new],
                     {"--pairs": BAD_COUNT, "--batch-size": BAD_COUNT, "--seed": BAD_SEED}),
        "train-evaluator": (["train-evaluator", "--kind", "guo", "--data", data, "--out", new, "--no-progress"],
                            {"--steps": BAD_COUNT, "--batch-size": BAD_COUNT, "--lr": BAD_POSITIVE_REAL,
                             "--margin": BAD_POSITIVE_REAL, "--val-every": BAD_COUNT, "--threads": BAD_COUNT,
                             "--seed": BAD_SEED, "--kind": ["clip"]}),
        "eval": (["eval", "--data", data, "--out", new], {"--repeats": BAD_COUNT, "--seed": BAD_SEED,
                                                          "--threads": BAD_COUNT, "--split": ["dev"]}),
    }
    argv, table = flags[command]
    if kind == "flag":
        # the dataset is then missing too: the flag is refused while parsing, before anything looks at the data
        flag = draw(st.sampled_from(sorted(table)))
        argv = argv + [flag, draw(st.sampled_from(table[flag]))]
    return argv


@st.composite
def _bad_argv(draw, w):
    return _case(draw, w)


@settings(max_examples=int(os.environ.get("IRGMOTION_CLI_EXAMPLES", "300")), deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_every_subcommand_refuses_bad_input_with_one_line_and_no_files(ws, data):
    argv = data.draw(_bad_argv(ws), label="argv")
    root = ws["root"]
    before = _snapshot(root)
    out, err = io.StringIO(), io.StringIO()
    cwd = os.getcwd()
    started = time.perf_counter()
    try:
        os.chdir(root)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
    finally:
        os.chdir(cwd)
    seconds = time.perf_counter() - started
    shown = [a if len(a) < 80 else a[:40] + "..." for a in argv]
    lines = [line for line in (out.getvalue() + err.getvalue()).splitlines() if line.strip()]
    assert code == 2, (shown, code, lines[-5:])
    assert "Traceback" not in err.getvalue() + out.getvalue(), shown
    assert 1 <= len(lines) <= 3, (shown, lines)
    assert lines[-1].startswith("error:"), (shown, lines)
    assert _snapshot(root) == before, (shown, "files changed")
    assert seconds < 30, (shown, f"refusal took {seconds:.1f} s")


def test_the_workspace_is_what_the_examples_expect(ws):
    """The good inputs are good: the bad argument, not the rest, is what each example's refusal is about."""
    good = ws["good"]
    out = ws["root"] / "check"
    assert main(["convert", str(good / "joints.npy"), str(out / "f.npy"), "--to", "features"]) == 0
    assert main(["data", "program", str(good / "program.json"), str(out / "p.npy")]) == 0
    assert json.loads((good / "program.json").read_text())
    import shutil
    shutil.rmtree(out)
