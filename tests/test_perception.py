"""The motion describer (irgmotion/perception): its words, training with resume, its directory, the bundle part, and the
interleaved loop where it, not the LLM, writes what each motion shows."""
import json
import shutil

import pytest
import torch

from irgmotion.engine.assessment import level_of
from irgmotion.perception.model import DescriberConfig, MotionDescriber, join_words, split_words
from irgmotion.reason.bundle import EMBEDDED, BundleError, check_bundle, load_bundle, write_manifest
from irgmotion.reason.pipeline import Reasoner

HAS_BUNDLE = (EMBEDDED / "manifest.json").is_file()


@pytest.mark.parametrize("text", [
    "walk forward 4 steps, then jump in place twice (small)",
    "walk forward 2 steps while doing this: circle the arms forward with the left hand twice, then clap twice",
    "raise the arm(s) sideways with both hands, then turn on the spot to the left by 90 degrees"])
def test_words_round_trip(text):
    words = split_words(text)
    assert "," in words and "(small)" in words if "(small)" in text else True
    assert join_words(words) == text


def _tiny(codebook: int = 16) -> MotionDescriber:
    words = ["<pad>", "<s>", "</s>", "<unk>", "jump", "in", "place", "twice", "(small)", ",", "then", "clap"]
    return MotionDescriber(DescriberConfig(codebook_size=codebook, words=words, d_model=32, heads=2, encoder_layers=1,
                                           decoder_layers=1, ff=64, max_motion_tokens=8, max_words=12))


def test_describer_directory_round_trip_and_bad_files(tmp_path):
    torch.manual_seed(0)
    model = _tiny()
    motions = [[1, 2, 3], [4, 5, 6, 7, 8, 9, 10, 11, 12, 13], []]  # one longer than it reads, one empty
    goals = ["jump in place twice", "clap twice, then jump sideways", ""]  # a word it does not know; no goal
    said = model.describe(motions, goals)
    assert len(said) == 3 and all(s is None or isinstance(s, str) for s in said)
    assert model.word_ids("jump in place twice") == [1, 4, 5, 6, 7, 2]
    assert model.word_ids("jump sideways") is None  # a word outside the vocabulary
    assert model.goal_batch(["jump sideways"]).tolist() == [[4, 3]]  # read as <unk>
    with pytest.raises(ValueError, match="3 motions but 2 goals"):
        model.describe(motions, goals[:2])
    model.save_pretrained(tmp_path / "d")
    loaded = MotionDescriber.from_pretrained(tmp_path / "d")
    # float16 on disk: the loaded model describes as the saved one did (the same greedy words)
    assert loaded.describe(motions, goals) == model.eval().describe(motions, goals)
    cfg = json.loads((tmp_path / "d" / "config.json").read_text())
    (tmp_path / "d" / "config.json").write_text(json.dumps({**cfg, "format": "other"}))
    with pytest.raises(ValueError, match="not a motion describer"):
        MotionDescriber.from_pretrained(tmp_path / "d")
    with pytest.raises(FileNotFoundError, match="model.safetensors"):
        MotionDescriber.from_pretrained(tmp_path)


@pytest.mark.skipif(not HAS_BUNDLE, reason="no embedded bundle")
def test_bundle_checks_and_loads_its_describer(tmp_path):
    root = tmp_path / "bundle"
    shutil.copytree(EMBEDDED, root, ignore=shutil.ignore_patterns("describer"))
    manifest = json.loads((root / "manifest.json").read_text())
    manifest.pop("describer", None)
    manifest.pop("format", None)
    _tiny(codebook=3).save_pretrained(root / "describer")
    write_manifest(root, **manifest, describer="describer")
    with pytest.raises(BundleError, match="reads 3 motion codes"):
        check_bundle(root)
    codes = json.loads((root / "vq" / "config.json").read_text())["nb_code"]
    shutil.rmtree(root / "describer")
    _tiny(codebook=codes).save_pretrained(root / "describer")
    bundle = load_bundle(root)
    assert bundle.describer is not None
    assert bundle.reasoner().perception == "describer"
    assert bundle.reasoner(perception="model").perception == "model"
    assert bundle.reasoner("model").perception == "model"  # the model's own verdict reads its own descriptions
    with pytest.raises(ValueError, match="needs a bundle with a describer"):
        bundle.reasoner("model", perception="describer")
    (root / "describer" / "model.safetensors").write_bytes(b"torn")
    with pytest.raises(BundleError, match="describer"):
        check_bundle(root)


class _ScriptedDescriber:
    """What a describer says of each motion (by its first code); None: it wrote no description."""

    def __init__(self, codes: int, said: dict):
        self.config = DescriberConfig(codebook_size=codes, words=[])
        self.said, self.asked = said, []

    def describe(self, motions, goals):
        self.asked += [(list(m), g) for m, g in zip(motions, goals)]
        return [self.said[m[0]] for m in motions]


def _scripted(parts: list[str]):
    def decode_segments(llm, prompts, starts, opts, rules, controller):
        assert "The motion shows:" in rules.stop_strings
        for part in parts:
            assert controller.limit(0) is not None
            if controller.after(0, part) is None:
                return
        raise AssertionError("the rule did not end the trace")
    return decode_segments


@pytest.mark.skipif(not HAS_BUNDLE, reason="no embedded bundle")
def test_the_describer_writes_what_each_motion_shows_and_the_rule_judges_it(monkeypatch):
    """Scripted model: it restates the goal and stops at "The motion shows:". The describer sees round 1's jump as too
    small (the rule asks for a bigger one), writes nothing for round 2 (the model then describes that motion itself),
    and sees round 3's jump as the goal: the trace ends there."""
    import irgmotion.reason.pipeline as pipeline
    from irgmotion.llm.vocab import motion_to_string
    bundle = load_bundle()
    asks = " The goal asks for: jump in place twice. The motion shows:"

    def motion(codes):
        return motion_to_string(codes)[len("<Motion>"):]

    parts = ["jump in place twice[/analyze]", motion([1, 2, 3]), asks, motion([4, 5, 6]), asks,
             " clap twice. Check:", motion([7, 8, 9]), asks]
    monkeypatch.setattr(pipeline, "decode_segments", _scripted(parts))
    describer = _ScriptedDescriber(bundle.vq.codebook_size, {1: "jump in place twice (small)", 4: None,
                                                             7: "jump in place twice"})
    reasoner = Reasoner(bundle.llm, bundle.vq, "aligned", verdict="rule", select="best", describer=describer)
    result = reasoner.interleaved(["a person jumps twice"], max_rounds=4)[0]
    first, second, third = result.trace.rounds
    assert "The motion shows: jump in place twice (small). Check:" in first.assessment
    assert level_of(first.assessment) == 2 and "bigger" in first.refinement
    assert "The motion shows: clap twice." in second.assessment and level_of(second.assessment) == 0
    assert level_of(third.assessment) == 3 and result.trace.finished
    # each motion is read against the goal the model restated
    assert describer.asked == [([1, 2, 3], "jump in place twice"), ([4, 5, 6], "jump in place twice"),
                               ([7, 8, 9], "jump in place twice")]
    assert any("the describer wrote no description" in w for w in result.warnings)
    with pytest.raises(ValueError, match="rule verdict"):
        Reasoner(bundle.llm, bundle.vq, "aligned", verdict="model", describer=describer)


def test_train_describer_resumes_and_refuses_bad_input(tmp_path, capsys):
    from irgmotion.cli import main
    from irgmotion.data.synth import write_corpus
    from irgmotion.engine.build import EngineConfig, build
    if not HAS_BUNDLE:
        pytest.skip("no embedded bundle (its motion tokenizer)")
    corpus = tmp_path / "synth"
    write_corpus(corpus, 12, seed=1, workers=1)
    build(EngineConfig(data=str(corpus), out=str(tmp_path / "engine"), limit=4, n_perturb=2, n_retrieval=1, workers=1,
                       assessment_style="aligned"), log=lambda *a: None)
    vq = str(EMBEDDED / "vq")
    common = ["train-describer", "--engine", str(tmp_path / "engine"), "--vq", vq, "--out", str(tmp_path / "d"),
              "--batch-size", "4", "--checkpoint-every", "3", "--threads", "1"]
    assert main(common + ["--steps", "3"]) == 0
    summary = json.loads((tmp_path / "d" / "train_summary.json").read_text())
    assert summary["steps"] == 3
    assert MotionDescriber.from_pretrained(tmp_path / "d" / "describer").config.codebook_size > 0
    assert main(common + ["--steps", "6", "--resume"]) == 0
    assert "resumed at step 3" in capsys.readouterr().out
    assert json.loads((tmp_path / "d" / "train_summary.json").read_text())["steps"] == 6
    capsys.readouterr()
    assert main(["train-describer", "--engine", str(tmp_path / "nothing"), "--vq", vq, "--out",
                 str(tmp_path / "e")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --engine") and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "e").exists()
    # a new run never writes over another's: --out must be new or empty, or the run continued with --resume
    assert main(common + ["--steps", "3"]) == 2
    assert "--resume" in capsys.readouterr().err
    (tmp_path / "file").write_text("x")
    assert main(["train-describer", "--engine", str(tmp_path / "engine"), "--vq", vq, "--out",
                 str(tmp_path / "file")]) == 2
    assert "not a directory" in capsys.readouterr().err
    assert main(["train-describer", "--engine", str(tmp_path / "engine"), "--vq", vq, "--out", str(tmp_path / "f"),
                 "--resume"]) == 2
    assert "checkpoint.pt does not exist" in capsys.readouterr().err


@pytest.mark.skipif(not HAS_BUNDLE, reason="no embedded bundle")
def test_assess_judges_what_the_describer_sees(monkeypatch):
    """Scripted model reply: it restates the goal and calls the motion the goal. The describer sees a clap; under the
    rule verdict the level and the fix follow the describer, and the model's verdict is gone."""
    import irgmotion.reason.pipeline as pipeline
    from irgmotion.api import MotionReasoner
    bundle = load_bundle()
    reply = ("The goal asks for: jump in place twice. The motion shows: jump in place twice. Check: jump in place twice"
             " | shown: jump in place twice | done. Alignment is perfect. Everything the goal describes is there.")
    monkeypatch.setattr(pipeline, "generate_texts", lambda llm, prompts, opts, **kw: [reply] * len(prompts))
    bundle.describer = _ScriptedDescriber(bundle.vq.codebook_size, {})
    bundle.describer.describe = lambda motions, goals: ["clap twice" for _ in motions]
    features = bundle.vq.decode([[1, 2, 3, 4]])[0]
    row = MotionReasoner(bundle).assess("a person jumps twice", features)
    assert row["verdict"] == "rule" and row["level"] == 0
    assert "The motion shows: clap twice." in row["assessment"] and "perfect" not in row["assessment"]
    assert "jump" in row["refinement"].lower()
    row = MotionReasoner(bundle, perception="model").assess("a person jumps twice", features)
    assert row["level"] == 3  # the model's own description, judged by the rule
