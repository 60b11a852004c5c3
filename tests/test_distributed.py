"""Runs on two processes (`accelerate launch`, CPU, gloo) against one process with the same global batch:
train-vq, stage-1 SFT, evaluator training (dropout off) and a bench shard end equal, and only the main
process writes the output files.

The launch is `accelerate launch --multi_gpu --num_processes 2` with CUDA hidden: with accelerate 1.x,
`accelerate launch --cpu --num_processes 2` starts ONE process (its simple launcher), while `--multi_gpu`
starts two through torchrun, and on a machine without a GPU irgmotion joins them on the CPU over gloo.

Marked `distributed` (deselect with `-m "not distributed"`); CI runs them.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from irgmotion.cli import main

pytestmark = pytest.mark.distributed

REPO = Path(__file__).resolve().parents[1]
RECORD = REPO / "tests" / "helpers" / "record_writes.py"
BUNDLE = REPO / "irgmotion" / "assets" / "bundle"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(argv: list[str], root: Path, logs: Path, n: int = 2) -> str:
    """`accelerate launch` of the irgmotion command line on `n` CPU processes, recording each process's writes
    under `root` in logs.RANK (tests/helpers/record_writes.py); returns stdout."""
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1", "MASTER_ADDR": "127.0.0.1",
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    cmd = [sys.executable, "-m", "accelerate.commands.accelerate_cli", "launch", "--multi_gpu",
           "--num_processes", str(n), "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
           "--main_process_port", str(_free_port()), str(RECORD), str(root), str(logs), *argv]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done.stdout


def writes(logs: Path, rank: int) -> set[tuple[str, str]]:
    return {tuple(line.split("\t")) for line in Path(f"{logs}.{rank}").read_text().splitlines()}


def max_weight_difference(a: Path, b: Path) -> float:
    x, y = load_file(str(a / "model.safetensors")), load_file(str(b / "model.safetensors"))
    assert x.keys() == y.keys()
    return max(float((x[k].float() - y[k].float()).abs().max()) for k in x)


@pytest.mark.parametrize("n_items, world", [(7, 3), (2, 3), (32, 2), (0, 2)])
def test_shares_cover_the_items_once_in_order(n_items, world):
    """What `Processes.map` relies on: the processes' contiguous shares, concatenated in rank order, are the
    items in their original order (uneven shares included); a global batch splits into equal row slices."""
    from irgmotion.distributed import Processes
    items = [f"goal {i}" for i in range(n_items)]
    shares = []
    for rank in range(world):
        procs = Processes()
        procs.world_size, procs.rank = world, rank
        shares.append(procs.shard(items))
    assert [x for share in shares for x in share] == items
    assert max(map(len, shares)) - min(map(len, shares)) <= 1
    procs = Processes()
    procs.world_size, procs.rank = 4, 2
    assert procs.rows(8) == slice(4, 6)
    with pytest.raises(ValueError, match="does not split equally"):
        procs.rows(6)


def test_train_vq_on_two_processes_equals_one(toy_dataset, tmp_path):
    args = ["train-vq", "--data", str(toy_dataset), "--steps", "4", "--batch-size", "8", "--window", "32",
            "--val-every", "2", "--width", "16", "--seed", "3", "--threads", "1"]
    assert main(args + ["--out", str(tmp_path / "one")]) == 0
    out = launch(args + ["--out", str(tmp_path / "two")], tmp_path / "two", tmp_path / "writes")
    one, two = tmp_path / "one", tmp_path / "two"
    # Each process takes 4 of the same 8 windows; the EMA codebook is updated from all 8 on every process.
    # Measured: 1.3e-7 (float32 rounding: the gradient is averaged from two half-batch sums). The bound is far
    # below what a process training on its own 4 windows, or a codebook fed 4 windows, moves (~1e-2 here).
    assert max_weight_difference(one, two) < 1e-5
    h1 = json.loads((one / "train_log.json").read_text())["history"]
    h2 = json.loads((two / "train_log.json").read_text())["history"]
    assert [h["step"] for h in h1] == [h["step"] for h in h2] == [2, 4]
    for a, b in zip(h1, h2):
        assert b["loss"] == pytest.approx(a["loss"], rel=1e-5)
        assert b["mpjpe_mm"] == pytest.approx(a["mpjpe_mm"], rel=1e-4)
    assert json.loads((one / "train_config.json").read_text())["distributed"] == {
        "world_size": 1, "per_process_batch": 8, "grad_accum": 1, "global_batch": 8}
    assert json.loads((two / "train_config.json").read_text())["distributed"] == {
        "world_size": 2, "per_process_batch": 4, "grad_accum": 1, "global_batch": 8}
    # Only the main process wrote (the second one touched nothing under --out) and printed the summary.
    assert writes(tmp_path / "writes", 1) == set()
    assert {p for e, p in writes(tmp_path / "writes", 0) if e == "os.rename"} >= {
        "train_config.json", "checkpoint.pt", "model.safetensors", "train_log.json"}
    assert out.count("saved tokenizer to") == 1
    assert sorted(p.name for p in two.iterdir()) == sorted(p.name for p in one.iterdir())


def test_a_batch_that_does_not_split_is_refused_before_any_work(toy_dataset, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("WORLD_SIZE", "2")  # as a launch of two processes sets it; checked before joining them
    code = main(["train-vq", "--data", str(toy_dataset), "--out", str(tmp_path / "vq"), "--batch-size", "7"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "--batch-size 7" in err[0] and "2 launched processes" in err[0]
    assert not (tmp_path / "vq").exists()


@pytest.mark.parametrize("argv", [["generate", "a person jumps", "--out", "OUT"],
                                  ["data", "synth", "--n", "2", "--out", "OUT"],
                                  ["diagnose", "--bundle", "B", "--engine-test", "E", "--evaluator", "V", "--out", "OUT"]])
def test_a_one_process_command_under_a_launch_is_refused_before_any_work(argv, tmp_path, monkeypatch, capsys):
    # N copies of `generate` under accelerate launch would each write the same files
    monkeypatch.setenv("WORLD_SIZE", "2")
    out = tmp_path / "out"
    code = main([str(out) if a == "OUT" else a for a in argv])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and f"irgmotion {argv[0]} runs in one process" in err[0]
    assert "WORLD_SIZE=2" in err[0] and not out.exists()


def test_the_commands_that_share_work_are_not_refused_under_a_launch(monkeypatch):
    from irgmotion.cliargs import LAUNCHED_COMMANDS, launch_error
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert all(launch_error(c) is None for c in LAUNCHED_COMMANDS)
    monkeypatch.setenv("WORLD_SIZE", "1")
    assert launch_error("generate") is None


@pytest.fixture(scope="module")
def stage1_setup(tmp_path_factory):
    from irgmotion.data.synth import write_corpus
    from irgmotion.engine.build import EngineConfig, build
    from irgmotion.motion import Normalizer
    from irgmotion.tokenizer import MotionTokenizer, MotionVQVAE, get_preset as vq_preset
    root = tmp_path_factory.mktemp("dist_stage1")
    write_corpus(root / "corpus", 24, seed=3, workers=1)
    build(EngineConfig(data=str(root / "corpus"), out=str(root / "engine"), limit=4, n_perturb=2, n_retrieval=1,
                       workers=1), log=lambda *a: None)
    torch.manual_seed(0)
    model = MotionVQVAE(vq_preset("tiny", nb_code=16, code_dim=8, width=8, depth=1))
    model.train()
    model(torch.randn(4, 32, 263))  # initialise the codebook
    model.eval()
    vq = MotionTokenizer(model, Normalizer.from_dir(root / "corpus")).save_pretrained(root / "vq")
    return root / "engine", vq


def test_stage1_sft_on_two_processes_equals_one(stage1_setup, tmp_path):
    engine, vq = stage1_setup
    args = ["train", "--stage", "1", "--engine", str(engine), "--vq", str(vq), "--steps", "3", "--batch-size", "4",
            "--max-length", "256", "--warmup", "1", "--checkpoint-every", "2", "--threads", "1"]
    one, two = tmp_path / "one", tmp_path / "two"
    assert main(args + ["--out", str(one)]) == 0
    out = launch(args + ["--out", str(two)], two, tmp_path / "writes")
    # Each process takes 2 of the same 4 examples; the loss is the sum over its target tokens divided by the
    # whole batch's count, so the averaged gradient is the one-process gradient up to float32 rounding. Adam
    # divides by the gradient's running size, so a weight whose gradient is ~0 can turn rounding into a step of
    # up to lr (1e-3). Measured with --steps 4 over the 3.5M weights: median 2e-9, one weight above 1e-5, max
    # 2.5e-5; a schedule stepped twice per step (accelerate's default without split_batches) moved 99% of the
    # weights by more than 1e-5 (max 1.3e-3).
    x, y = load_file(str(one / "model.safetensors")), load_file(str(two / "model.safetensors"))
    diff = torch.cat([(x[k].float() - y[k].float()).abs().flatten() for k in x])
    assert float(diff.max()) < 1e-4
    assert float((diff > 1e-5).float().mean()) < 1e-4
    c1 = json.loads((one / "train_config.json").read_text())
    c2 = json.loads((two / "train_config.json").read_text())
    assert (c1["world_size"], c1["per_process_batch"], c1["global_batch"]) == (1, 4, 4)
    assert (c2["world_size"], c2["per_process_batch"], c2["global_batch"]) == (2, 2, 4)
    s1 = json.loads((one / "checkpoint" / "trainer_state.json").read_text())
    s2 = json.loads((two / "checkpoint" / "trainer_state.json").read_text())
    assert (s1["step"], s1["position"]) == (s2["step"], s2["position"]) == (3, 3)
    # The second process only makes the checkpoint folder (accelerate's save_state does, exist_ok) and writes
    # its own random_states_1.pkl there (torch's C++ writer, not seen by the audit hook); nothing else.
    assert writes(tmp_path / "writes", 1) <= {("os.mkdir", "checkpoint.tmp")}
    assert ("os.rename", "train_config.json") in writes(tmp_path / "writes", 0)
    assert sorted(p.name for p in (two / "checkpoint").iterdir()) == [
        "model.safetensors", "optimizer.bin", "random_states_0.pkl", "random_states_1.pkl", "scheduler.bin",
        "trainer_state.json"]
    assert out.count("saved stage-1 model") == 1


def test_evaluator_training_on_two_processes_equals_one(tmp_path):
    """The evaluator's contrastive loss on embeddings gathered from both processes, with its dropout off (each
    process draws its own dropout masks, so with dropout the runs agree in distribution only)."""
    import pickle

    from irgmotion.evaluator.toy import write_toy_dataset
    data = write_toy_dataset(tmp_path / "data", n_clips=60, seed=1)
    glove = tmp_path / "glove"
    glove.mkdir()
    words = ["unk", "sos", "eos", "a", "person", "someone", "the", "man", "walk", "run", "jump", "kick", "wave",
             "turn", "forward", "backward", "slowly", "quickly"]
    np.save(glove / "our_vab_data.npy", np.random.default_rng(0).normal(size=(len(words), 50)).astype(np.float32))
    (glove / "our_vab_words.pkl").write_bytes(pickle.dumps(words))
    (glove / "our_vab_idx.pkl").write_bytes(pickle.dumps({w: i for i, w in enumerate(words)}))
    helper = REPO / "tests" / "helpers" / "dist_evaluator.py"
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    subprocess.run([sys.executable, str(helper), str(data), str(glove), str(tmp_path / "one")], env=env, check=True,
                   capture_output=True, timeout=300)
    done = subprocess.run([sys.executable, "-m", "accelerate.commands.accelerate_cli", "launch", "--multi_gpu",
                           "--num_processes", "2", "--num_machines", "1", "--mixed_precision", "no",
                           "--dynamo_backend", "no", "--main_process_port", str(_free_port()), str(helper),
                           str(data), str(glove), str(tmp_path / "two")], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    # Measured: equal losses, weights within 1.4e-6 (lr 3e-3, float32 rounding of the gathered loss's gradient).
    assert max_weight_difference(tmp_path / "one", tmp_path / "two") < 1e-4
    h1 = [json.loads(line) for line in (tmp_path / "one" / "train_log.jsonl").read_text().splitlines()]
    h2 = [json.loads(line) for line in (tmp_path / "two" / "train_log.jsonl").read_text().splitlines()]
    assert [h["step"] for h in h1] == [h["step"] for h in h2] == [2, 4]
    for a, b in zip(h1, h2):
        assert b["loss"] == pytest.approx(a["loss"], rel=1e-5)
    record = json.loads((tmp_path / "two" / "train_config.json").read_text())
    assert (record["world_size"], record["per_process_batch"], record["global_batch"]) == (2, 4, 8)


def test_bench_shard_on_two_processes_equals_one(tmp_path):
    """Free-form prompts of the embedded bundle: each process reasons on its share of the prompts, the traces
    gathered back in order; the report (pass rates, generations per trace) equals the one-process report."""
    args = ["bench", "--bundle", str(BUNDLE), "--data", str(tmp_path), "--no-standard", "--freeform", "2",
            "--verdict", "rule", "--max-rounds", "1", "--max-new-tokens", "160"]
    assert main(args + ["--out", str(tmp_path / "one" / "r")]) == 0
    out = launch(args + ["--out", str(tmp_path / "two" / "r")], tmp_path / "two", tmp_path / "writes")
    one = json.loads((tmp_path / "one" / "r.json").read_text())
    two = json.loads((tmp_path / "two" / "r.json").read_text())
    assert two == one
    assert one["freeform"]["rule verdict"]["prompts"] == 2
    assert writes(tmp_path / "writes", 1) == set()
    assert out.count("# Benchmark results") == 1
