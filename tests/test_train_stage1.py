"""`irgmotion train --stage 1` end to end on a small engine build: the run records how it was
made, and a run paused and resumed ends with the same weights as one that was not."""
import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from irgmotion.cli import main
from irgmotion.engine.build import EngineConfig, build
from irgmotion.motion import Normalizer
from irgmotion.tokenizer import MotionTokenizer, MotionVQVAE, get_preset as vq_preset


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from irgmotion.data.synth import write_corpus
    root = tmp_path_factory.mktemp("stage1")
    corpus = root / "corpus"
    write_corpus(corpus, 24, seed=3, workers=1)
    engine = root / "engine"
    build(EngineConfig(data=str(corpus), out=str(engine), limit=4, n_perturb=2, n_retrieval=1, workers=1),
          log=lambda *a: None)
    torch.manual_seed(0)
    model = MotionVQVAE(vq_preset("tiny", nb_code=16, code_dim=8, width=8, depth=1))
    model.train()
    model(torch.randn(4, 32, 263))  # initialise the codebook
    model.eval()
    vq = MotionTokenizer(model, Normalizer.from_dir(corpus)).save_pretrained(root / "vq")
    return engine, vq


def _train(setup, out, *extra):
    engine, vq = setup
    argv = ["train", "--stage", "1", "--engine", str(engine), "--vq", str(vq), "--out", str(out),
            "--steps", "4", "--batch-size", "2", "--max-length", "256", "--warmup", "1", "--checkpoint-every", "2",
            "--task-weights", "tm2t_assessment_analysis=2", "--threads", "1", *extra]
    assert main(argv) == 0


def test_stage1_records_its_settings_and_resumes_exactly(setup, tmp_path):
    _train(setup, tmp_path / "straight")
    config = json.loads((tmp_path / "straight" / "train_config.json").read_text())
    assert config["task_weights"] == {"tm2t_assessment_analysis": 2}
    assert config["sources"]["stage"] == 1 and config["sources"]["vq"] == str(setup[1])

    _train(setup, tmp_path / "paused", "--pause-at", "2")
    state = json.loads((tmp_path / "paused" / "checkpoint" / "trainer_state.json").read_text())
    assert state["step"] == 2
    _train(setup, tmp_path / "paused", "--resume")
    a = load_file(str(tmp_path / "straight" / "model.safetensors"))
    b = load_file(str(tmp_path / "paused" / "model.safetensors"))
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_allclose(a[k].float().numpy(), b[k].float().numpy(), atol=1e-5, err_msg=k)
