"""Hardening of the motion-file commands (issue #18, items 5, 6, 8, 10, 11).

Every refusal: exit code 2 from `irgmotion.cli.main`, exactly one stderr line
"error: ..." naming the file or flag, no traceback, no output file.
"""
from __future__ import annotations

import errno
import importlib
import json
import re
import time
from pathlib import Path

import numpy as np
import pytest

from irgmotion import fileio
from irgmotion.cli import main

REPO = Path(__file__).resolve().parents[1]
FIXTURE_JOINTS = REPO / "tests" / "fixtures" / "humanml3d" / "new_joints" / "000000.npy"
VQ = REPO / "irgmotion" / "assets" / "bundle" / "vq"


def _refused(capsys, argv, *names, match=None) -> str:
    """Run the CLI, expect a one-line refusal naming each of `names`; return that line."""
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    assert code == 2, captured
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("error: "), lines[0]
    assert "Traceback" not in captured.err + captured.out
    for name in names:
        assert str(name) in lines[0], lines[0]
    if match:
        assert re.search(match, lines[0]), lines[0]
    return lines[0]


def _left_behind(tmp_path: Path, keep: set[str]) -> set[str]:
    """Names in tmp_path other than `keep`: what a refused command wrote."""
    return {p.name for p in tmp_path.iterdir()} - keep


@pytest.fixture(scope="module", autouse=True)
def _imported():
    """Import the CLI's modules once, so the time bounds below measure the work, not the imports."""
    from irgmotion.cli import build_parser
    importlib.import_module("irgmotion.motion.render")
    build_parser()


@pytest.fixture(scope="module")
def joints_m() -> np.ndarray:
    """A real HumanML3D clip (T, 22, 3) in metres."""
    return np.load(FIXTURE_JOINTS).astype(np.float32)[:20]


@pytest.fixture()
def clip(tmp_path, joints_m) -> Path:
    path = tmp_path / "clip.npy"
    np.save(path, joints_m)
    return path


# ---------------------------------------------------------------- item 5: scale

def test_render_of_1e30_coordinates_is_refused_quickly(tmp_path, capsys, joints_m):
    src = tmp_path / "huge.npy"
    np.save(src, joints_m * np.float32(1e30))
    out = tmp_path / "huge.gif"
    started = time.perf_counter()
    _refused(capsys, ["render", src, out], src, match="implausible scale")
    assert time.perf_counter() - started < 10
    assert not _left_behind(tmp_path, {"huge.npy"})


@pytest.mark.parametrize("command, suffix", [("render", ".gif"), ("export", ".bvh"), ("convert", ".npy")])
def test_millimetres_are_refused_by_render_export_convert(tmp_path, capsys, joints_m, command, suffix):
    src = tmp_path / "mm.npy"
    np.save(src, joints_m * 1000)
    argv = [command, src, tmp_path / f"out{suffix}"] + (["--to", "features"] if command == "convert" else [])
    line = _refused(capsys, argv, src, match=r"joints look like millimetres \(body height ~1\d{3}\); expected metres")
    assert "mm.npy" in line
    assert not _left_behind(tmp_path, {"mm.npy"})


def test_motion_spanning_kilometres_is_refused(tmp_path, capsys, joints_m):
    far = joints_m.copy()
    far[:, :, 0] += np.linspace(0, 5000, len(far), dtype=np.float32)[:, None]  # a 5 km slide
    src = tmp_path / "far.npy"
    np.save(src, far)
    _refused(capsys, ["export", src, tmp_path / "far.bvh"], src, match="spans")
    assert not _left_behind(tmp_path, {"far.npy"})


def test_scale_check_accepts_real_motion(joints_m):
    from irgmotion.motion.quality import joint_scale_problem
    from irgmotion.motion.skeleton import HUMANML3D
    assert joint_scale_problem(joints_m, HUMANML3D) is None
    assert joint_scale_problem(joints_m * 1000, HUMANML3D, allow_millimetres=True) is None
    assert "centimetres" in joint_scale_problem(joints_m * 100, HUMANML3D)


def test_grid_line_count_is_bounded(joints_m):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from irgmotion.motion import render
    from irgmotion.motion.skeleton import HUMANML3D
    assert render._grid_step(1.0) == render._GRID_STEP  # normal scenes keep the 0.5 m grid
    for half in (50.0, 1e6, 1e30):
        step = render._grid_step(half)
        assert 2 * half / step <= render._MAX_GRID_LINES
    fig = Figure(figsize=(2, 2), dpi=40)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1, projection="3d")
    huge = joints_m.astype(np.float64) * 1e30
    started = time.perf_counter()
    scene = render._Scene(ax, huge, HUMANML3D, render._scene_extent([huge]))
    scene.show(0)
    scene.show(len(huge) - 1)
    assert len(scene.grid.get_segments()) <= 2 * render._MAX_GRID_LINES  # both directions
    assert time.perf_counter() - started < 10


# ---------------------------------------------------------------- item 6: never NaN

def test_convert_all_zero_joints_is_refused(tmp_path, capsys):
    src = tmp_path / "zero.npy"
    np.save(src, np.zeros((10, 22, 3), np.float32))
    _refused(capsys, ["convert", src, tmp_path / "f.npy", "--to", "features"], src, match="degenerate")
    assert not _left_behind(tmp_path, {"zero.npy"})


def test_convert_zero_length_bone_is_refused(tmp_path, capsys, joints_m):
    bad = joints_m.copy()
    bad[:, 4] = bad[:, 1]  # the left knee sits on the left hip
    src = tmp_path / "bone.npy"
    np.save(src, bad)
    _refused(capsys, ["convert", src, tmp_path / "f.npy", "--to", "features"], src, match="zero length")
    assert not _left_behind(tmp_path, {"bone.npy"})


def test_convert_float64_1e300_is_refused_before_the_float32_cast(tmp_path, capsys, joints_m):
    src = tmp_path / "f64.npy"
    np.save(src, joints_m.astype(np.float64) * 1e300)
    _refused(capsys, ["convert", src, tmp_path / "f.npy", "--to", "features"], src, match="float32 range")
    assert not _left_behind(tmp_path, {"f64.npy"})


def test_convert_huge_features_never_writes_nan(tmp_path, capsys):
    feats = np.full((12, 263), 1e30, np.float32)
    src = tmp_path / "feats.npy"
    np.save(src, feats)
    _refused(capsys, ["convert", src, tmp_path / "j.npy", "--to", "joints"], src)
    assert not _left_behind(tmp_path, {"feats.npy"})


def test_convert_still_works_and_output_is_finite(tmp_path, capsys, clip):
    out = tmp_path / "f.npy"
    assert main(["convert", str(clip), str(out), "--to", "features"]) == 0
    assert np.isfinite(np.load(out)).all()


# ---------------------------------------------------------------- item 8: output paths

def _read_only(monkeypatch, directory: Path) -> None:
    """Make `directory` unwritable; as root chmod is not enough, so its file creation fails as on a read-only mount."""
    directory.chmod(0o555)
    real = fileio.tempfile.mkstemp

    def mkstemp(*args, dir=None, **kw):
        if dir is not None and Path(dir).resolve() == directory.resolve():
            raise OSError(errno.EROFS, "Read-only file system")
        return real(*args, dir=dir, **kw)
    monkeypatch.setattr(fileio.tempfile, "mkstemp", mkstemp)


def _command(name: str, clip: Path, out: Path) -> tuple[list, Path]:
    """(argv, output path) of `name` writing to `out` (its suffix replaced by the command's)."""
    suffix = {"export": ".bvh", "render": ".gif"}.get(name, ".npy")
    out = out.with_suffix(suffix)
    argv = {
        "convert": ["convert", clip, out, "--to", "features"],
        "export": ["export", clip, out],
        "render": ["render", clip, out],
        "detokenize": ["detokenize", "1 2 3", out, "--vq", VQ],
        "program": ["data", "program", REPO / "examples" / "program.json", out],
    }[name]
    return argv, out


COMMANDS = ["convert", "export", "render", "detokenize", "program"]


@pytest.mark.parametrize("command", COMMANDS)
def test_output_onto_an_existing_directory_is_refused(tmp_path, capsys, clip, command):
    argv, out = _command(command, clip, tmp_path / "target")
    out.mkdir()
    _refused(capsys, argv, out, match="is a directory")
    assert not any(out.iterdir())


@pytest.mark.parametrize("command", COMMANDS)
def test_output_under_a_file_is_refused(tmp_path, capsys, clip, command):
    (tmp_path / "afile").write_text("x")
    argv, _ = _command(command, clip, tmp_path / "afile" / "sub" / "out")
    _refused(capsys, argv, tmp_path / "afile", match="is a file, not a directory")
    assert not _left_behind(tmp_path, {"clip.npy", "afile"})


@pytest.mark.parametrize("command", COMMANDS)
def test_output_on_a_read_only_directory_is_refused(tmp_path, capsys, clip, monkeypatch, command):
    ro = tmp_path / "ro"
    ro.mkdir()
    _read_only(monkeypatch, ro)
    try:
        argv, _ = _command(command, clip, ro / "out")
        _refused(capsys, argv, ro, match="cannot write")
        assert not any(ro.iterdir())
    finally:
        ro.chmod(0o755)


def test_output_parent_is_created_when_missing(tmp_path, capsys, clip):
    out = tmp_path / "new" / "dir" / "f.npy"
    assert main(["convert", str(clip), str(out), "--to", "features"]) == 0
    assert out.is_file()


def test_convert_refuses_to_overwrite_its_input(tmp_path, capsys, clip):
    before = clip.read_bytes()
    _refused(capsys, ["convert", clip, clip, "--to", "features"], clip, match="input")
    _refused(capsys, ["convert", clip, tmp_path / "." / "clip.npy", "--to", "features"], match="input")
    (tmp_path / "link.npy").symlink_to(clip)
    _refused(capsys, ["convert", clip, tmp_path / "link.npy", "--to", "features"], match="input")
    assert clip.read_bytes() == before


def test_synth_out_checks_come_first(tmp_path, capsys, monkeypatch):
    (tmp_path / "afile").write_text("x")
    _refused(capsys, ["data", "synth", "--out", tmp_path / "afile", "--n", "2"], tmp_path / "afile",
             match="not a directory")
    _refused(capsys, ["data", "synth", "--out", tmp_path / "afile" / "c", "--n", "2"], tmp_path / "afile",
             match="is a file")
    full = tmp_path / "full"
    full.mkdir()
    (full / "x.txt").write_text("x")
    _refused(capsys, ["data", "synth", "--out", full, "--n", "2"], full, match="not empty")
    prev = tmp_path / "prev"
    prev.mkdir()
    (prev / "splits.json").write_text("{}")
    _refused(capsys, ["data", "synth", "--out", prev, "--n", "2"], prev, match="previous corpus")
    ro = tmp_path / "ro"
    ro.mkdir()
    _read_only(monkeypatch, ro)
    try:
        _refused(capsys, ["data", "synth", "--out", ro / "corpus", "--n", "2"], ro, match="cannot write")
        assert not any(ro.iterdir())
    finally:
        ro.chmod(0o755)


# ---------------------------------------------------------------- item 10: parsers

def test_motion_token_with_a_huge_digit_run_is_skipped():
    from irgmotion.llm.trace import parse_trace
    from irgmotion.llm.vocab import string_to_motion
    text = "<Motion><Motion_3><Motion_" + "0" * 20000 + "1><Motion_4></Motion>"
    started = time.perf_counter()
    ids, warnings = string_to_motion(text, 512)
    assert ids == [3, 4]
    assert any("malformed" in w for w in warnings)
    trace = parse_trace("<think>[generate]" + text + "[/generate]</think>", 512)
    assert trace.final_motion == [3, 4]
    assert time.perf_counter() - started < 2


def test_motion_tokens_take_ascii_digits_only():
    from irgmotion.llm.vocab import string_to_motion
    ids, warnings = string_to_motion("<Motion><Motion_\u0663><Motion_\uff17><Motion_5></Motion>")
    assert ids == [5]
    assert warnings


def test_read_assessment_is_linear_in_whitespace():
    from irgmotion.llm.trace import _read_assessment
    for content in ("Assessment:" + " " * 20000 + "x" + " " * 20000 + "y",
                    "Assessment: a" + " \n" * 10000 + "Refinement:" + " " * 20000,
                    " " * 20000 + "no tags" + "\t" * 20000):
        started = time.perf_counter()
        _read_assessment(content)
        assert time.perf_counter() - started < 0.5


@pytest.mark.parametrize("content", [
    "Assessment: good.\nRefinement: No refinements needed.",
    "  Assessment:   a b  \n\n Refinement:  fix it \n",
    "Assessment: only an assessment   ",
    "no tags at all ",
    "prefix Assessment: x Refinement: y Refinement: z",
    "Refinement: before Assessment: after",
    "Assessment:Refinement:",
    "",
])
def test_read_assessment_matches_the_old_regex(content):
    from irgmotion.llm.trace import _read_assessment
    m = re.search(r"Assessment:\s*(.*?)\s*(?:Refinement:\s*(.*))?$", content.strip(), re.DOTALL)
    old = (content.strip(), "") if not m else (m.group(1).strip(), (m.group(2) or "").strip())
    assert _read_assessment(content) == old


def test_parse_ids_bounds_digits_and_takes_ascii_only():
    from irgmotion.tokenizer.cli import UsageError, parse_ids
    assert parse_ids("<Motion><Motion_3><Motion_17></Motion>") == [3, 17]
    with pytest.raises(UsageError, match="digits"):
        parse_ids("1 " + "9" * 5000)
    with pytest.raises(UsageError, match="not an integer"):
        parse_ids("1 \u0663")


def test_detokenize_huge_digit_run_is_one_line(tmp_path, capsys):
    out = tmp_path / "m.npy"
    _refused(capsys, ["detokenize", "1 " + "7" * 5000, out, "--vq", VQ], match="digits")
    assert not out.exists()


@pytest.mark.parametrize("nested", ["[" * 100000 + "]" * 100000,
                                    '{"actions": [{"name": "walk", "params": {"steps": ' + "[" * 100000
                                    + "]" * 100000 + "}}]}"])
def test_program_nested_too_deeply_is_refused(tmp_path, capsys, nested):
    prog = tmp_path / "deep.json"
    prog.write_text(nested)
    _refused(capsys, ["data", "program", prog, tmp_path / "m.npy"], prog, match="nested too deeply")
    assert not _left_behind(tmp_path, {"deep.json"})


def test_program_error_shows_a_short_value(tmp_path, capsys):
    prog = tmp_path / "long.json"
    prog.write_text(json.dumps({"actions": [{"name": "walk", "params": {"steps": "x" * 100000}}]}))
    line = _refused(capsys, ["data", "program", prog, tmp_path / "m.npy"], prog, match=r"actions\[0\]\.params\.steps")
    assert len(line) < 400


# ---------------------------------------------------------------- item 11: smaller

def test_directory_as_input_says_so(tmp_path, capsys):
    d = tmp_path / "adir.npy"
    d.mkdir()
    for argv in (["convert", d, tmp_path / "o.npy", "--to", "features"], ["data", "program", d, tmp_path / "o.npy"]):
        assert "not found" not in _refused(capsys, argv, d, match="is a directory")
    assert not _left_behind(tmp_path, {"adir.npy"})


def test_random_bytes_are_not_a_valid_npy(tmp_path, capsys):
    src = tmp_path / "rand.npy"
    src.write_bytes(np.random.default_rng(0).bytes(1000))
    line = _refused(capsys, ["render", src, tmp_path / "o.gif"], src, match="not a valid .npy file")
    assert "pickle" not in line


def test_object_arrays_are_not_reported_as_pickles(tmp_path, capsys):
    src = tmp_path / "obj.npy"
    np.save(src, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    line = _refused(capsys, ["export", src, tmp_path / "o.bvh"], src, match="Python objects")
    assert "allow_pickle" not in line


def test_complex_arrays_are_refused(tmp_path, capsys, joints_m):
    src = tmp_path / "c.npy"
    np.save(src, joints_m.astype(np.complex64))
    _refused(capsys, ["convert", src, tmp_path / "o.npy", "--to", "features"], src, match="complex")
    assert not _left_behind(tmp_path, {"c.npy"})


def test_tokenize_errors_name_the_file(tmp_path, capsys):
    short = tmp_path / "short.npy"
    np.save(short, np.zeros((2, 263), np.float32))  # fewer frames than one token covers
    assert _refused(capsys, ["tokenize", short, "--vq", VQ], short, match="frame").startswith(f"error: {short}")
    d = tmp_path / "dir.npy"
    d.mkdir()
    # the input is named (and checked) before the missing tokenizer
    assert "no_vq" not in _refused(capsys, ["tokenize", d, "--vq", tmp_path / "no_vq"], d, match="is a directory")


def test_example_program_renders(tmp_path, capsys):
    out = tmp_path / "walk.npy"
    assert main(["data", "program", str(REPO / "examples" / "program.json"), str(out)]) == 0
    joints = np.load(out)
    assert joints.ndim == 3 and np.isfinite(joints).all()


def test_readme_lists_generate_and_program_format():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "irgmotion generate \"TEXT\"" in readme and "--max-rounds" in readme and "--select" in readme
    assert "examples/program.json" in readme and (REPO / "examples" / "program.json").is_file()


def test_pytest_addopts_does_not_force_quiet():
    tomllib = pytest.importorskip("tomllib")
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    addopts = config["tool"]["pytest"]["ini_options"].get("addopts", "")
    assert "-q" not in addopts.split()


def test_render_motions_of_1e30_finishes_quickly(tmp_path, joints_m):
    from irgmotion.motion.render import render_motions
    started = time.perf_counter()
    out = render_motions([joints_m[:3].astype(np.float64) * 1e30], tmp_path / "big.gif")
    assert out.is_file() and time.perf_counter() - started < 10
