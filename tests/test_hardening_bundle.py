"""Issue #18 (hardening): malformed bundles, bad generate flags and goals, the output folder, the annotator
endpoint and the --glove pickles. Every refusal is exit 2 with one `error:` line naming the file or flag, no
traceback and no output folder."""
import json
import os
import pickle
import shutil
import sys

import numpy as np
import pytest

from irgmotion.cli import main
from irgmotion.reason.bundle import EMBEDDED, BundleError, check_bundle, write_manifest

pytestmark = pytest.mark.skipif(not (EMBEDDED / "manifest.json").is_file(), reason="no embedded bundle built yet")


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """One real copy of the embedded bundle; variants hard-link to it (cheap) and replace the files they break."""
    root = tmp_path_factory.mktemp("template") / "bundle"
    shutil.copytree(EMBEDDED, root)
    return root


def _variant(template, tmp_path):
    root = tmp_path / "bundle"
    shutil.copytree(template, root, copy_function=os.link)
    return root


def _replace(path, data: bytes):
    """Write a new file in place of a (hard-linked) one, never through the link."""
    path.unlink(missing_ok=True)
    path.write_bytes(data)


def _edit_json(path, **changes):
    doc = json.loads(path.read_text())
    for k, v in changes.items():
        if v is ...:
            doc.pop(k, None)
        else:
            doc[k] = v
    _replace(path, json.dumps(doc).encode())


def _truncate(path):
    _replace(path, path.read_bytes()[: path.stat().st_size // 2])


def _npy(path, array):
    path.unlink()
    np.save(path, array)


# (variant name, how to break the bundle, a fragment the message must hold: the file or key it names)
VARIANTS = [
    ("manifest-bad-json", lambda b: _replace(b / "manifest.json", b"{not json"), "manifest.json: not valid JSON"),
    ("manifest-null", lambda b: _replace(b / "manifest.json", b"null"), "manifest.json: expected a JSON object"),
    ("manifest-binary", lambda b: _replace(b / "manifest.json", bytes(range(256))), "manifest.json: not UTF-8"),
    ("manifest-list", lambda b: _replace(b / "manifest.json", b"[1, 2]"), "manifest.json: expected a JSON object"),
    ("manifest-no-vq", lambda b: _edit_json(b / "manifest.json", vq=...), "missing key 'vq'"),
    ("manifest-no-llm", lambda b: _edit_json(b / "manifest.json", llm=...), "missing key 'llm'"),
    ("manifest-vq-number", lambda b: _edit_json(b / "manifest.json", vq=5), "'vq' must be a non-empty string"),
    ("manifest-llm-list", lambda b: _edit_json(b / "manifest.json", llm=["llm"]), "'llm' must be a non-empty string"),
    ("manifest-escape", lambda b: _edit_json(b / "manifest.json", vq="../../vq"), "outside the bundle"),
    ("manifest-absolute", lambda b: _edit_json(b / "manifest.json", llm=str(EMBEDDED / "llm")), "absolute path"),
    ("manifest-evaluator-escape", lambda b: _edit_json(b / "manifest.json", evaluators={"guo": "../guo"}),
     "evaluators.guo"),
    ("manifest-style-number", lambda b: _edit_json(b / "manifest.json", assessment_style=3), "'assessment_style'"),
    ("vq-weights-missing", lambda b: (b / "vq" / "model.safetensors").unlink(), "vq/model.safetensors: missing"),
    ("vq-weights-truncated", lambda b: _truncate(b / "vq" / "model.safetensors"), "vq/model.safetensors: not a complete .safetensors file"),
    ("llm-weights-missing", lambda b: (b / "llm" / "model.safetensors").unlink(), "llm/model.safetensors: missing"),
    ("llm-weights-truncated", lambda b: _truncate(b / "llm" / "model.safetensors"), "llm/model.safetensors: not a complete .safetensors file"),
    ("evaluator-weights-missing", lambda b: (b / "evaluator" / "guo" / "model.safetensors").unlink(),
     "guo/model.safetensors: missing"),
    ("evaluator-weights-truncated", lambda b: _truncate(b / "evaluator" / "guo" / "model.safetensors"),
     "guo/model.safetensors: not a complete .safetensors file"),
    ("vq-config-bad-json", lambda b: _replace(b / "vq" / "config.json", b"{"), "vq/config.json: not valid JSON"),
    ("vq-config-shapes", lambda b: _edit_json(b / "vq" / "config.json", nb_code=512), "vq/config.json does not match"),
    ("llm-config-shapes", lambda b: _edit_json(b / "llm" / "config.json", hidden_size=128, head_dim=32),
     "llm/config.json does not match"),
    ("llm-config-layers", lambda b: _edit_json(b / "llm" / "config.json", num_hidden_layers=6),
     "llm/model.safetensors: lacks"),
    ("llm-tokenizer-missing", lambda b: (b / "llm" / "tokenizer.json").unlink(), "llm/tokenizer.json: missing"),
    ("llm-tokenizer-corrupt", lambda b: _replace(b / "llm" / "tokenizer.json", b"\x00garbage"), "llm/tokenizer.json"),
    ("llm-vocab-missing", lambda b: (b / "llm" / "motion_vocab.json").unlink(), "llm/motion_vocab.json: missing"),
    ("codebook-mismatch", lambda b: _edit_json(b / "llm" / "motion_vocab.json", codebook_size=128),
     "128 motion tokens"),
    ("mean-shape", lambda b: _npy(b / "vq" / "Mean.npy", np.zeros(10, np.float32)), "vq/Mean.npy: shape (10,)"),
    ("std-nan", lambda b: _npy(b / "vq" / "Std.npy", np.full(263, np.nan, np.float32)), "vq/Std.npy: contains NaN"),
    ("mean-not-npy", lambda b: _replace(b / "vq" / "Mean.npy", b"not an array"), "vq/Mean.npy: not a .npy file"),
    ("evaluator-std-2d", lambda b: _npy(b / "evaluator" / "guo" / "Std.npy", np.ones((2, 263), np.float32)),
     "guo/Std.npy: expected a 1-D"),
]


def _one_error_line(capfd, fragment: str) -> str:
    captured = capfd.readouterr()
    assert "Traceback" not in captured.err and "Traceback" not in captured.out
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("error: ") and fragment in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize("name, corrupt, fragment", VARIANTS, ids=[v[0] for v in VARIANTS])
def test_generate_refuses_a_malformed_bundle(template, tmp_path, capfd, name, corrupt, fragment):
    bundle = _variant(template, tmp_path)
    corrupt(bundle)
    out = tmp_path / "out"
    code = main(["generate", "a person walks forward", "--bundle", str(bundle), "--out", str(out), "--no-render"])
    assert code == 2
    _one_error_line(capfd, fragment)
    assert not out.exists()
    assert not list(tmp_path.glob("out.partial-*"))
    # the original files behind the hard links are untouched
    assert (template / "manifest.json").read_bytes() == (EMBEDDED / "manifest.json").read_bytes()


def test_bench_refuses_a_malformed_bundle_before_any_work(template, tmp_path, capfd):
    bundle = _variant(template, tmp_path)
    _truncate(bundle / "llm" / "model.safetensors")
    out = tmp_path / "results"
    code = main(["bench", "--bundle", str(bundle), "--data", str(tmp_path / "no-data"), "--evaluator",
                 str(tmp_path / "no-ev"), "--out", str(out)])
    assert code == 2
    _one_error_line(capfd, "llm/model.safetensors: not a complete .safetensors file")
    assert not list(tmp_path.glob("results*"))


@pytest.mark.parametrize("flag, value", [("--seed", "-1"), ("--seed", str(2**32)), ("--repeats", "0"),
                                         ("--batch-size", "0"), ("--limit", "-1")])
def test_bench_refuses_bad_flags(tmp_path, capfd, flag, value):
    code = main(["bench", "--bundle", str(tmp_path / "missing"), "--data", str(tmp_path), "--evaluator",
                 str(tmp_path), flag, value])
    assert code == 2
    _one_error_line(capfd, flag)


def test_manifest_parts_must_stay_inside_the_bundle(tmp_path):
    with pytest.raises(BundleError, match="outside the bundle"):
        write_manifest(tmp_path, vq="vq", llm="../llm")
    with pytest.raises(BundleError, match="absolute path"):
        write_manifest(tmp_path, vq="/etc", llm="llm")
    assert not (tmp_path / "manifest.json").exists()
    # a part that is a symbolic link leading out of the bundle is refused too
    (tmp_path / "vq").symlink_to(EMBEDDED / "vq")
    (tmp_path / "llm").mkdir()
    with pytest.raises(BundleError, match="'vq' .* outside the bundle"):
        write_manifest(tmp_path, vq="vq", llm="llm")
    (tmp_path / "manifest.json").write_text(json.dumps({"vq": "vq", "llm": "llm"}))
    with pytest.raises(BundleError, match="'vq' .* outside the bundle"):
        check_bundle(tmp_path)


# ---- generate: flags, goals, destination ----------------------------------------------------------------
@pytest.mark.parametrize("flag, value", [("--max-new-tokens", "0"), ("--max-new-tokens", "-1"),
                                         ("--temperature", "0"), ("--temperature", "-1"), ("--temperature", "nan"),
                                         ("--seed", "-1"), ("--seed", str(2**32)), ("--max-rounds", "0")])
def test_generate_refuses_bad_flags_before_the_bundle_loads(tmp_path, capfd, flag, value):
    out = tmp_path / "out"
    # a bundle that does not exist: the flag must be refused first
    code = main(["generate", "a person walks", "--bundle", str(tmp_path / "none"), "--out", str(out), flag, value])
    assert code == 2
    _one_error_line(capfd, flag)
    assert not out.exists()


@pytest.mark.parametrize("goal, fragment", [
    ("a person walks \udcff\udcfe", "not valid UTF-8"),           # bytes of argv that were not UTF-8
    ("\x1b[31ma person walks\x1b[0m", "control character (U+001B"),  # an ANSI colour escape
    ("a person\x00 walks", "control character (U+0000"),
    ("a person walks \u202eright", "U+202E"),                        # bidirectional override
])
def test_generate_refuses_unsafe_goal_text_without_echoing_it(tmp_path, capfd, goal, fragment):
    out = tmp_path / "out"
    assert main(["generate", goal, "--bundle", str(tmp_path / "none"), "--out", str(out)]) == 2
    line = _one_error_line(capfd, fragment)
    assert "\x1b" not in line and "\x00" not in line and "\u202e" not in line
    assert not out.exists()


def test_generate_checks_the_destination_before_the_work(tmp_path, capfd, monkeypatch):
    none = str(tmp_path / "none")  # no bundle: every refusal below must come before it loads
    afile = tmp_path / "file.txt"
    afile.write_text("x")
    assert main(["generate", "a person walks", "--bundle", none, "--out", str(afile / "out")]) == 2
    _one_error_line(capfd, "is a file, not a directory")
    assert main(["generate", "a person walks", "--bundle", none, "--out", str(afile)]) == 2
    _one_error_line(capfd, "exists and is not a directory")
    assert afile.read_text() == "x"

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    assert main(["generate", "a person walks", "--bundle", none, "--out", str(mine)]) == 2
    _one_error_line(capfd, "--overwrite")
    assert (mine / "notes.txt").read_text() == "keep me"

    import irgmotion.fileio as fileio
    locked = tmp_path / "locked"
    locked.mkdir()
    real_access = os.access
    monkeypatch.setattr(fileio.os, "access", lambda p, mode, **kw: False if str(p) == str(locked)
                        else real_access(p, mode, **kw))
    assert main(["generate", "a person walks", "--bundle", none, "--out", str(locked / "out")]) == 2
    _one_error_line(capfd, "permission denied")
    monkeypatch.undo()

    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)  # the package is not installed
    assert main(["generate", "a person walks", "--bundle", none, "--out", str(tmp_path / "mp4"),
                 "--format", "mp4"]) == 2
    _one_error_line(capfd, "--format mp4 needs ffmpeg")
    assert not (tmp_path / "mp4").exists() and not (locked / "out").exists()


def test_generate_replaces_a_previous_output_folder_whole(tmp_path, capfd):
    """A previous run with three rounds and a render (its trace.json, round_2/3 files, rounds.gif) is replaced
    by a one-round run: the folder holds the second run's files only, and nothing is left beside it."""
    out = tmp_path / "demo"
    out.mkdir()
    (out / "trace.json").write_text(json.dumps({"n_generations": 3, "rounds": [{}, {}, {}]}))
    for name in ("round_1_joints.npy", "round_2_joints.npy", "round_3_joints.npy", "rounds.gif", "final.bvh"):
        (out / name).write_bytes(b"previous run")
    # a small budget: the embedded bundle closes its first motion after ~90 tokens (greedy, deterministic); a
    # rebuilt bundle with a longer analysis may need more
    code = main(["generate", "a person walks forward", "--out", str(out), "--no-render", "--max-rounds", "1",
                 "--max-new-tokens", "120"])
    assert code == 0, capfd.readouterr().err
    trace = json.loads((out / "trace.json").read_text())
    assert trace["n_generations"] == 1
    assert sorted(p.name for p in out.iterdir()) == ["final.bvh", "final_features.npy", "final_joints.npy",
                                                     "round_1_joints.npy", "trace.json"]
    assert (out / "final.bvh").read_text().startswith("HIERARCHY")
    assert [p.name for p in tmp_path.iterdir()] == ["demo"]  # no partial or old folder left beside it
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o777 & ~umask  # the usual permissions, not mkdtemp's 0700
    assert "Traceback" not in capfd.readouterr().err


def test_publishing_replaces_other_files_only_with_overwrite(tmp_path):
    from irgmotion.cli import CLIError, _publish_folder
    out, new = tmp_path / "out", tmp_path / "out.partial-x"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    new.mkdir()
    (new / "trace.json").write_text("{}")
    with pytest.raises(CLIError, match="--overwrite"):
        _publish_folder(new, out, overwrite=False)
    assert (out / "notes.txt").read_text() == "keep me" and (new / "trace.json").is_file()
    _publish_folder(new, out, overwrite=True)
    assert [p.name for p in out.iterdir()] == ["trace.json"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


# ---- annotator endpoint ------------------------------------------------------------------------------------
def test_endpoint_annotator_takes_http_only_and_counts_its_fallbacks(tmp_path, capfd):
    from irgmotion.engine.annotators import EndpointAnnotator
    for url in ("file:///etc/passwd", "ftp://example.com/v1", "data:,x", "localhost:8000", ""):
        with pytest.raises(ValueError, match="http:// or https://"):
            EndpointAnnotator(url)
    lines = []
    annotator = EndpointAnnotator("http://127.0.0.1:9/v1", timeout=2, warn=lines.append)  # nothing listens there
    for _ in range(3):
        a = annotator("a person waves the left hand", "a person waves the right hand")
        assert 0 <= a.level <= 3
    assert annotator.calls == 3 and annotator.fallbacks == 3 and annotator.last_error
    assert len(lines) == 1 and lines[0].startswith("warning: annotator")  # warned once, not per call
    assert "3 of 3 assessments fell back" in annotator.summary()

    (tmp_path / "data").mkdir()
    code = main(["build", "stage2", "--data", str(tmp_path / "data"), "--out", str(tmp_path / "eng"),
                 "--annotator", "file:///etc/passwd"])
    assert code == 2
    _one_error_line(capfd, "--annotator")
    assert not (tmp_path / "eng").exists()


# ---- --glove pickles ---------------------------------------------------------------------------------------
class _Payload:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_glove_pickles_are_read_without_running_code(tmp_path):
    from irgmotion.evaluator.text import load_official_vectors
    np.save(tmp_path / "our_vab_data.npy", np.eye(3, dtype=np.float32))
    (tmp_path / "our_vab_words.pkl").write_bytes(pickle.dumps(["unk", "walk", "wave"]))
    (tmp_path / "our_vab_idx.pkl").write_bytes(pickle.dumps({"walk": 0, "wave": 1, "unk": 2}))
    vectors = load_official_vectors(tmp_path)
    assert len(vectors) == 3
    (tmp_path / "our_vab_words.pkl").write_bytes(pickle.dumps([_Payload()]))
    with pytest.raises(ValueError, match=r"our_vab_words.pkl: not a plain word-list pickle .*system"):
        load_official_vectors(tmp_path)
