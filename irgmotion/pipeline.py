"""`irgmotion pipeline --preset tiny --out DIR`: the whole system from nothing.

corpus -> motion tokenizer -> evaluators (Guo-style, TMR-style) -> data engine
-> stage 1 -> stage 2 -> bundle (VQ + stage-2 LLM + evaluator + model card).
Each step runs through the same command line a user would type, writes its
own directory, and is skipped when that directory is complete; a killed run
continues with its step's own `--resume`.
"""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from .fileio import write_text

PRESETS = {
    # 2 CPU cores, about two hours of compute. The embedded bundle was built with these settings except the
    # engine and stage 1, which then used aligned assessments (3,000 goals; assessment task 6x; docs/bundle_card.md).
    # This preset, run from nothing, keeps single-step abilities but generates worse motions than the embedded
    # bundle (docs/pipeline_tiny/README.md): its stage 1 gets fewer text-to-motion steps in its 60 minutes.
    "tiny": {
        "synth": ["--n", "8000", "--seed", "0", "--workers", "2"],
        "vq": ["--preset", "tiny", "--steps", "6000", "--lr", "6e-4", "--val-every", "500", "--threads", "2",
               "--max-minutes", "20"],
        "guo": ["--threads", "1", "--max-minutes", "18"],
        "tmr": ["--threads", "1", "--max-minutes", "15"],
        # Slots assessments: each goal action compared one parameter at a time, then the order (docs/stage1_card.md).
        "engine": ["--limit", "4000", "--n-retrieval", "3", "--n-perturb", "4", "--workers", "2",
                   "--assessment-style", "slots"],
        # One 60-minute stage-1 run in float32: bf16 autocast pays only on CPUs with native bf16 (AVX512-BF16 or
        # AMX); on an AVX2-only CPU one step took over a minute instead of 3.5 s (16 x 768 tokens;
        # benchmarks/sft_step_dtype.py).
        "stage1": ["--preset", "tiny", "--steps", "5200", "--batch-size", "16", "--lr", "1e-3", "--warmup", "100",
                   "--task-weights", "tm2t_assessment_analysis=8",
                   "--max-minutes", "60", "--max-length", "768", "--threads", "2"],
        # Traces run to ~1,600 tokens with five motions; a shorter limit would cut off their endings.
        # Mixed: a third of the entries are the single-step tasks, so the shipped LLM keeps them (issue #17).
        "stage2": ["--steps", "900", "--batch-size", "8", "--lr", "5e-4", "--warmup", "50", "--max-minutes", "30",
                   "--max-length", "1600", "--threads", "2", "--stage1-fraction", "0.33",
                   "--task-weights", "tm2t_assessment_analysis=8"],
    },
    # Every step at toy size (about two minutes on 2 cores): shows the whole chain runs from nothing to a
    # loadable bundle. Tested; its models are untrained.
    "smoke": {
        "synth": ["--n", "40", "--seed", "0", "--workers", "1"],
        "vq": ["--preset", "tiny", "--steps", "20", "--batch-size", "8", "--val-every", "10", "--threads", "1"],
        "guo": ["--preset", "tiny", "--steps", "10", "--val-every", "5", "--threads", "1", "--no-progress"],
        "tmr": ["--preset", "tiny", "--steps", "10", "--val-every", "5", "--threads", "1", "--no-progress"],
        "engine": ["--limit", "4", "--n-retrieval", "1", "--n-perturb", "2", "--workers", "1"],
        "stage1": ["--preset", "tiny", "--steps", "3", "--batch-size", "2", "--warmup", "1", "--max-length", "256",
                   "--threads", "1"],
        "stage2": ["--steps", "2", "--batch-size", "1", "--warmup", "1", "--max-length", "512", "--threads", "1",
                   "--stage1-fraction", "0.33"],
    },
}
# Real motion capture mixed with the procedural corpus (`--bvh DIR`, e.g. the Bandai-Namco clips; issue #21).
# On 2 CPU cores a from-nothing run takes hours, so the tokenizer and the LLM are fine-tuned from the embedded
# bundle's (`init`); the evaluators are trained on the mix from nothing (they are small). The corpus is the
# bundle's own (8,000 programs, seed 0), so its test split stays unseen. Weights 3 1: the mix's train split is
# a quarter real clips (all of them) and three quarters procedural. One thread per training process: on a
# machine shared with other jobs two threads per process were 5-50x slower per step than one (threads waiting
# for each other); the LLM stages run alone and take both. docs/mocap/README.md has its figures.
MIX_PRESETS = {
    "mocap-tiny": {
        "import": ["--workers", "2"],
        "synth": ["--n", "8000", "--seed", "0", "--workers", "2"],
        "mix": ["--weights", "3", "1"],
        "init": True,
        # budgets in steps, so a run buys the same training on any machine (minutes on a shared machine bought a
        # fifth of the steps and missed the targets); the minutes are only a guard
        "vq": ["--steps", "3000", "--lr", "3e-4", "--warmup", "20", "--val-every", "250", "--threads", "1",
               "--max-minutes", "120"],
        "guo": ["--steps", "4000", "--threads", "1", "--max-minutes", "120"],
        "tmr": ["--steps", "3000", "--threads", "1", "--max-minutes", "120"],
        # aligned: the embedded bundle's assessment wording, for goals with programs; real clips are assessed
        # by comparing captions and labels
        "engine": ["--limit", "1200", "--n-retrieval", "3", "--n-perturb", "2", "--workers", "2",
                   "--assessment-style", "aligned"],
        "stage1": ["--steps", "400", "--batch-size", "16", "--lr", "3e-4", "--warmup", "20",
                   "--task-weights", "tm2t_assessment_analysis=6",
                   "--max-minutes", "120", "--max-length", "768", "--threads", "2"],
        "stage2": ["--steps", "250", "--batch-size", "8", "--lr", "2e-4", "--warmup", "20", "--max-minutes", "120",
                   "--max-length", "1600", "--threads", "2", "--stage1-fraction", "0.33",
                   "--task-weights", "tm2t_assessment_analysis=6"],
    },
    # toy sizes, for the test (a few real clips, a tiny corpus): every step of the chain, untrained models
    "mocap-smoke": {
        "import": ["--workers", "1"],
        "synth": ["--n", "40", "--seed", "0", "--workers", "1"],
        "mix": [],
        "init": False,
        "vq": ["--preset", "tiny", "--steps", "10", "--batch-size", "8", "--window", "32", "--val-every", "5",
               "--threads", "1"],
        "guo": ["--preset", "tiny", "--steps", "6", "--val-every", "3", "--threads", "1", "--no-progress"],
        "tmr": ["--preset", "tiny", "--steps", "6", "--val-every", "3", "--threads", "1", "--no-progress"],
        "engine": ["--limit", "6", "--n-retrieval", "2", "--n-perturb", "1", "--workers", "1"],
        "stage1": ["--preset", "tiny", "--steps", "2", "--batch-size", "2", "--warmup", "1", "--max-length", "256",
                   "--threads", "1"],
        "stage2": ["--steps", "2", "--batch-size", "1", "--warmup", "1", "--max-length", "512", "--threads", "1",
                   "--stage1-fraction", "0.33"],
    },
}
DONE = ".done"
MARKER = "pipeline.json"  # written first: says the folder is a pipeline run and which preset it follows


class PipelineError(RuntimeError):
    """A step failed; the pipeline stops and a rerun continues from there."""


def _has_checkpoint(name: str, out: Path) -> bool:
    """Whether a killed step left a checkpoint its own --resume can continue from."""
    if name in ("stage1", "stage2"):
        from .train.sft import latest_checkpoint
        return latest_checkpoint(out) is not None
    return name in ("vq", "guo", "tmr") and (out / "checkpoint.pt").is_file()


# Each step's verb and the layer that registers its command (steps run the layers' own commands, as a user types
# them, without going through the top-level command line)
_VERBS = {"data": "data.cli", "train-vq": "tokenizer.cli", "train-evaluator": "evaluator.cli", "build": "engine.cli",
          "train": "train.cli"}


def run_command(argv: list[str]) -> int:
    """One step's command (`irgmotion VERB ...`) through its layer's parser: its exit code."""
    import importlib

    from .cliargs import OneLineParser, run_parser
    parser = OneLineParser(prog="irgmotion")
    sub = parser.add_subparsers(dest="command", required=True)
    importlib.import_module(f".{_VERBS[argv[0]]}", __package__).add_parsers(sub)
    return run_parser(parser, argv)


def _prepare(name: str, out: Path, argv: list[str], log) -> list[str] | None:
    """The step's command line (with --resume when a killed run left a checkpoint), or None when it is done."""
    if (out / DONE).is_file():
        log(f"[{name}] done already ({out})")
        return None
    resume = []
    if _has_checkpoint(name, out):
        resume = ["--resume"]
    elif out.exists():  # killed before its first checkpoint (or a step without one): start it again cleanly
        shutil.rmtree(out)
    return argv + resume


def _finish(name: str, out: Path, argv: list[str], code: int, started: float, where: str = "") -> None:
    if code != 0:
        raise PipelineError(f"step {name} failed with exit code {code}{where}; fix the cause and rerun the same "
                            "command to continue")
    out.mkdir(parents=True, exist_ok=True)
    write_text(out / DONE, json.dumps({"argv": argv, "minutes": (time.time() - started) / 60}))


def _step(name: str, out: Path, argv: list[str], log) -> None:
    command = _prepare(name, out, argv, log)
    if command is None:
        return
    log(f"[{name}] irgmotion {' '.join(command)}")
    started = time.time()
    _finish(name, out, argv, run_command(command), started)


def _step_in_background(name: str, out: Path, argv: list[str], log):
    """Start a step as its own process (same command line, same skip / resume rules as `_step`) and return a
    function that waits for it: independent steps share the machine instead of queueing."""
    import subprocess
    import sys
    command = _prepare(name, out, argv, log)
    if command is None:
        return lambda: None
    log(f"[{name}] irgmotion {' '.join(command)}  (in the background)")
    started = time.time()
    out.parent.mkdir(parents=True, exist_ok=True)
    logfile = open(out.parent / f"{out.name}.log", "a")
    proc = subprocess.Popen([sys.executable, "-m", "irgmotion", *command], stdout=logfile, stderr=subprocess.STDOUT)

    def wait() -> None:
        code = proc.wait()
        logfile.close()
        _finish(name, out, argv, code, started, f" (its output: {logfile.name})")
        log(f"[{name}] finished ({(time.time() - started) / 60:.1f} min)")
    return wait


def assemble_bundle(bundle: Path, vq: Path, llm: Path, evaluators: dict[str, Path], card: str,
                    assessment_style: str | None = None, corpus: Path | None = None) -> Path:
    """Copy the parts generation needs (no checkpoints) and write the manifest and card. The manifest records the
    assessment wording the LLM was trained on, which the rule verdict writes in; with `corpus`, the LLM directory
    gets the words of its training captions (goal spelling correction, reason/goal_text.py)."""
    from .reason.bundle import write_manifest
    tmp = bundle.with_name(bundle.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    skip = shutil.ignore_patterns("checkpoint*", "*.pt", "train_log*", "motion_tokens.json", DONE, "*.csv")
    shutil.copytree(vq, tmp / "vq", ignore=skip)
    shutil.copytree(llm, tmp / "llm", ignore=skip)
    for kind, path in evaluators.items():
        shutil.copytree(path, tmp / "evaluator" / kind, ignore=skip)
    if corpus is not None:
        write_caption_words(corpus, tmp / "llm")
    style = {"assessment_style": assessment_style} if assessment_style else {}
    write_manifest(tmp, vq="vq", llm="llm", evaluators={k: f"evaluator/{k}" for k in evaluators},
                   card="MODEL_CARD.md", **style)
    write_text(tmp / "MODEL_CARD.md", card)
    shutil.rmtree(bundle, ignore_errors=True)
    tmp.rename(bundle)
    return bundle


def write_caption_words(corpus: Path, llm_dir: Path) -> Path:
    from .data.texts import caption_words
    from .reason.goal_text import WORDS_FILE
    path = llm_dir / WORDS_FILE
    write_text(path, json.dumps({"source": f"{Path(corpus).name} train captions", "words": sorted(caption_words(corpus))}))
    return path


def run_pipeline(preset: str, out: str | Path, log=print) -> Path:
    if preset not in PRESETS:
        raise ValueError(f"unknown pipeline preset {preset!r}; choose from {', '.join(PRESETS)}")
    p = PRESETS[preset]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if not (out / MARKER).is_file():
        write_text(out / MARKER, json.dumps({"preset": preset}))
    corpus, vq, ev = out / "corpus", out / "vq", out / "evaluators"
    engine, s1, s2 = out / "engine", out / "stage1", out / "stage2"
    _step("corpus", corpus, ["data", "synth", "--out", str(corpus), *p["synth"]], log)
    _step("vq", vq, ["train-vq", "--data", str(corpus), "--out", str(vq), *p["vq"]], log)
    for kind in ("guo", "tmr"):
        _step(kind, ev / kind, ["train-evaluator", "--kind", kind, "--data", str(corpus), "--out", str(ev / kind),
                                *p[kind]], log)
    _step("engine", engine, ["build", "all", "--data", str(corpus), "--out", str(engine),
                             "--evaluator", str(ev / "guo"), *p["engine"]], log)
    _step("stage1", s1, ["train", "--stage", "1", "--engine", str(engine), "--vq", str(vq), "--out", str(s1),
                         *p["stage1"]], log)
    _step("stage2", s2, ["train", "--stage", "2", "--engine", str(engine), "--vq", str(vq), "--out", str(s2),
                         "--init", str(s1), *p["stage2"]], log)
    card = (f"# irgmotion bundle ({preset})\n\nBuilt by `irgmotion pipeline --preset {preset} --out {out}`.\n"
            "Figures: see docs/results.md (`irgmotion bench`).\n")
    style = json.loads((engine / "engine.json").read_text())["config"].get("assessment_style")
    bundle = assemble_bundle(out / "bundle", vq, s2, {"guo": ev / "guo"}, card, style, corpus)
    log(f"bundle written to {bundle}")
    return bundle


def run_mix_pipeline(preset: str, out: str | Path, bvh: str | Path, log=print) -> Path:
    """Real mocap (BVH) imported, mixed with the procedural corpus, then the same chain as `run_pipeline`."""
    from .reason.bundle import EMBEDDED
    p = MIX_PRESETS[preset]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if not (out / MARKER).is_file():
        write_text(out / MARKER, json.dumps({"preset": preset, "bvh": str(Path(bvh).resolve())}))
    real, corpus, mix = out / "real", out / "corpus", out / "mix"
    vq, ev, engine, s1, s2 = out / "vq", out / "evaluators", out / "engine", out / "stage1", out / "stage2"
    _step("import", real, ["data", "import-bvh", str(bvh), str(real), *p["import"]], log)
    _step("corpus", corpus, ["data", "synth", "--out", str(corpus), *p["synth"]], log)
    _step("mix", mix, ["data", "mix", str(corpus), str(real), "--out", str(mix), *p["mix"]], log)
    init_vq = ["--init", str(EMBEDDED / "vq")] if p["init"] else []
    init_llm = ["--init", str(EMBEDDED / "llm")] if p["init"] else []
    # the tokenizer trains beside the evaluators and the engine, which do not need it; stage 1 waits for it
    vq_done = _step_in_background("vq", vq, ["train-vq", "--data", str(mix), "--out", str(vq), *init_vq, *p["vq"]],
                                  log)
    try:
        for kind in ("guo", "tmr"):
            _step(kind, ev / kind, ["train-evaluator", "--kind", kind, "--data", str(mix), "--out", str(ev / kind),
                                    *p[kind]], log)
        _step("engine", engine, ["build", "all", "--data", str(mix), "--out", str(engine),
                                 "--evaluator", str(ev / "guo"), *p["engine"]], log)
    finally:
        vq_done()
    _step("stage1", s1, ["train", "--stage", "1", "--engine", str(engine), "--vq", str(vq), "--out", str(s1),
                         *init_llm, *p["stage1"]], log)
    _step("stage2", s2, ["train", "--stage", "2", "--engine", str(engine), "--vq", str(vq), "--out", str(s2),
                         "--init", str(s1), *p["stage2"]], log)
    licence = ("\nTrained in part on the BVH clips of " + str(bvh) + ": the weights carry those clips' licence "
               "terms (the Bandai-Namco dataset: CC BY-NC 4.0, non-commercial).\n")
    card = (f"# irgmotion bundle ({preset})\n\nBuilt by `irgmotion pipeline --preset {preset} --bvh {bvh} --out {out}`"
            f" from procedural and real motion capture.\n{licence}Figures: docs/mocap/README.md.\n")
    style = json.loads((engine / "engine.json").read_text())["config"].get("assessment_style")
    bundle = assemble_bundle(out / "bundle", vq, s2, {"guo": ev / "guo", "tmr": ev / "tmr"}, card, style, mix)
    log(f"bundle written to {bundle}")
    return bundle


def pipeline_main(args) -> int:
    from .cliargs import CLIError
    from .fileio import OutputPathError, check_output_dir
    out = Path(args.out)
    try:
        marker = out / MARKER
        if marker.is_file():  # a previous run's folder is continued, with the preset it was started with
            started = json.loads(marker.read_text()).get("preset")
            if started != args.preset:
                raise PipelineError(f"{out}: was started with --preset {started}; rerun with that preset or "
                                    "choose another --out")
        else:
            check_output_dir(out, "pipeline output directory")
        if args.preset in MIX_PRESETS:
            if args.bvh is None:
                raise PipelineError(f"--preset {args.preset} needs --bvh DIR (the motion capture to mix in)")
            if not Path(args.bvh).exists():
                raise PipelineError(f"--bvh {args.bvh}: no such file or directory")
            run_mix_pipeline(args.preset, out, args.bvh)
        else:
            if args.bvh is not None:
                raise PipelineError(f"--bvh applies to the presets {', '.join(MIX_PRESETS)}, not {args.preset}")
            run_pipeline(args.preset, out)
    except (OutputPathError, PipelineError) as exc:
        raise CLIError(str(exc)) from None
    return 0


def add_parsers(sub) -> None:
    p = sub.add_parser("pipeline", help="build everything from nothing: corpus, tokenizer, evaluators, stages 1-2, bundle")
    p.add_argument("--preset", default="tiny", choices=tuple(PRESETS) + tuple(MIX_PRESETS))
    p.add_argument("--out", required=True)
    p.add_argument("--bvh", default=None, metavar="DIR",
                   help="BVH motion capture to import and mix with the procedural corpus (mocap presets)")
    p.set_defaults(func=pipeline_main)
