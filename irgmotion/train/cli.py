"""`irgmotion train --stage 1|2|3`: supervised stages and GRPO."""
from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path
from ..cliargs import fraction, nonnegative_float, nonnegative_int, positive_float, positive_int, seed


class TrainUsageError(ValueError):
    pass


def corpus_texts(entries) -> list[str]:
    """Every string a model will read or write: the tiny preset's text tokenizer is trained on them."""
    from ..llm import trace as T
    from ..llm.templates import SYSTEM_PROMPT, TEMPLATES
    texts = [SYSTEM_PROMPT] * 50 + [t for v in TEMPLATES.values() for t in v] * 20
    texts += [T.PLAN_ANALYZE, T.PLAN_GENERATE, T.PLAN_ASSESS, T.PLAN_REFINE, T.PLAN_FINISH] * 200
    texts += ["[analyze][/analyze][generate][/generate][assess]Assessment: Refinement: [/assess]<think></think>"] * 200
    for e in entries:
        for c in e.candidates:
            for v in c.text.values():
                if isinstance(v, list):
                    texts += v
                elif isinstance(v, dict):
                    texts += [v["assessment"], v["refinement"]]
                else:
                    texts.append(str(v))
    return texts


def load_engine_entries(engine_dir: Path, stage: int):
    from ..data.annotations import read_annotations
    from ..engine.build import STAGE2_FILE
    if stage == 1:
        files = sorted((engine_dir / "stage1").glob("*.json"))
    else:
        files = [engine_dir / STAGE2_FILE]
    files = [f for f in files if f.is_file()]
    if not files:
        raise TrainUsageError(f"{engine_dir}: no stage-{stage} annotation files; run `irgmotion build` first")
    entries = [e for f in files for e in read_annotations(f)]
    summary = engine_dir / "engine.json"
    roots = json.loads(summary.read_text())["motion_roots"] if summary.is_file() else []
    return entries, roots


def parse_task_weights(spec: str | None) -> dict[str, int]:
    """"tm2t_assessment_analysis=4,m2t_motion_caption=0" -> {task: repeats}; unlisted tasks count once."""
    weights = {}
    for part in filter(None, (spec or "").split(",")):
        task, _, value = part.partition("=")
        try:
            weights[task.strip()] = int(value)
        except ValueError:
            raise TrainUsageError(f"--task-weights: '{part}' is not TASK=INTEGER") from None
        if weights[task.strip()] < 0:
            raise TrainUsageError(f"--task-weights: '{part}' is negative")
    return weights


def weight_entries(entries, weights: dict[str, int]):
    """Repeat each task's entries by its weight. Every repeat draws its own candidate and paraphrase,
    so a task with many candidates per goal (assessment: ~20) is seen in more of them."""
    unknown = set(weights) - {e.task for e in entries}
    if unknown:
        raise TrainUsageError(f"--task-weights names tasks not in the data: {', '.join(sorted(unknown))}")
    out = [e for e in entries for _ in range(weights.get(e.task, 1))]
    if not out:
        raise TrainUsageError("--task-weights leaves no training entries")
    return out


def mix_single_step(traces, single_step, fraction: float, seed: int):
    """Traces plus single-step entries drawn (seeded, without replacement while they last) so that they make up
    `fraction` of the result."""
    n = round(len(traces) * fraction / (1 - fraction))
    rng = random.Random(seed)
    pool = list(single_step)
    drawn = []
    while len(drawn) < n and pool:
        rng.shuffle(pool)
        drawn += pool[: n - len(drawn)]
    return list(traces) + drawn


def train_main(args) -> int:
    try:
        return _train(args)
    except (TrainUsageError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _native_cpu_bf16() -> bool:
    """Whether this CPU computes bf16 natively (Linux /proc/cpuinfo flags; elsewhere assume it does)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return True
    return "avx512_bf16" in flags or "amx_bf16" in flags


def _train(args) -> int:
    from ..llm.model import PRESETS, MotionLLM, get_preset
    from ..tokenizer.catalog import MotionCatalog
    from ..tokenizer.pretrained import MotionTokenizer
    from .sft import SFTConfig, train_sft
    if args.stage == 3:
        from .grpo import grpo_main
        args.lr = 2e-5 if args.lr is None else args.lr
        return grpo_main(args)
    args.lr = 1e-3 if args.lr is None else args.lr
    from ..distributed import batch_split_error, launched_main
    if batch_split_error(args.batch_size):
        raise TrainUsageError(batch_split_error(args.batch_size))
    engine = Path(args.engine)
    from .sft import latest_checkpoint
    found = latest_checkpoint(args.out)
    if args.resume and found is None:
        raise TrainUsageError(f"{Path(args.out) / 'checkpoint'}: no checkpoint to resume from")
    if not args.resume and found is not None:
        raise TrainUsageError(f"{Path(args.out) / 'checkpoint'}: a training run is already there; pass --resume to "
                              "continue it or choose another --out")
    if not 0 <= args.stage1_fraction < 1 or (args.stage1_fraction and args.stage != 2):
        raise TrainUsageError(f"--stage1-fraction must be in [0, 1) and applies to stage 2 (got {args.stage1_fraction})")
    unique_entries, roots = load_engine_entries(engine, args.stage)
    task_weights = parse_task_weights(args.task_weights)
    if args.stage == 2 and args.stage1_fraction:
        # mixed training: stage-2 traces plus the eight single-step tasks, so the trace model keeps them
        single, _ = load_engine_entries(engine, 1)
        entries = mix_single_step(unique_entries, weight_entries(single, task_weights), args.stage1_fraction,
                                  args.seed)
    else:
        entries = weight_entries(unique_entries, task_weights)
    roots = [Path(r) for r in (args.motion_root or [])] + [Path(r) for r in roots]
    vq = MotionTokenizer.from_pretrained(args.vq)
    if args.init:
        llm = MotionLLM.from_pretrained(args.init)
        preset = get_preset(llm.preset if llm.preset in PRESETS else "tiny")
        if preset.lora if args.lora is None else args.lora:  # the preset's choice unless --lora/--no-lora says
            preset.lora = True
            llm.enable_lora(preset)
    else:
        if args.stage == 2:
            print("warning: stage 2 normally starts from the stage-1 model (--init DIR)", file=sys.stderr)
        preset = get_preset(args.preset, lora=args.lora)
        llm = MotionLLM.create(preset, vq.codebook_size, corpus_texts(unique_entries) if preset.source == "scratch" else None,
                               base_path=args.base)
    if launched_main():
        print(f"{llm.preset}: {llm.num_parameters() / 1e6:.1f}M parameters, {len(entries)} entries, stage {args.stage}")
    import torch
    if args.bf16 and not torch.cuda.is_available() and not _native_cpu_bf16():
        print("warning: --bf16 on a CPU without native bf16 (AVX512-BF16 or AMX) is emulated and can be many times "
              "slower than float32", file=sys.stderr)
    catalog = MotionCatalog(roots, vq, Path(args.out) / "motion_tokens.json")
    cfg = SFTConfig(out=args.out, steps=args.steps, batch_size=args.batch_size, grad_accum=args.grad_accum, lr=args.lr,
                    max_length=args.max_length, checkpoint_every=args.checkpoint_every, seed=args.seed, bf16=args.bf16,
                    max_minutes=args.max_minutes, threads=args.threads, warmup=args.warmup,
                    pause_at=args.pause_at, task_weights=task_weights,
                    sources={"stage": args.stage, "engine": str(engine), "vq": str(args.vq), "init": args.init,
                             "stage1_fraction": args.stage1_fraction})
    result = train_sft(llm, entries, catalog, cfg, resume=args.resume)
    if launched_main():
        print(f"saved stage-{args.stage} model to {args.out}: {result['steps']} steps, final loss {result['final_loss']}")
    return 0


def add_parsers(sub) -> None:
    p = sub.add_parser("train", help="train MotionLLM: stage 1 (eight tasks), 2 (traces), 3 (GRPO)")
    p.add_argument("--stage", type=int, choices=(1, 2, 3), required=True)
    p.add_argument("--engine", help="data-engine output directory (`irgmotion build`)")
    p.add_argument("--data", help="dataset directory (stage 3 prompts and ground truth)")
    p.add_argument("--vq", required=True, help="motion tokenizer directory")
    p.add_argument("--out", required=True)
    p.add_argument("--preset", default="tiny", choices=("tiny", "small", "smollm2", "gemma2-2b"))
    p.add_argument("--base", default=None, help="base LM path (gemma2-2b preset)")
    p.add_argument("--init", default=None, help="start from this MotionLLM directory (stage 2: the stage-1 model)")
    p.add_argument("--lora", action=argparse.BooleanOptionalAction, default=None,
                   help="train LoRA adapters, merged on save (default: the preset's; --no-lora for full fine-tuning)")
    p.add_argument("--motion-root", action="append", help="extra dataset roots to find motions in")
    p.add_argument("--task-weights", default=None,
                   help="repeat tasks' entries, e.g. tm2t_assessment_analysis=6,m2t_motion_caption=1 (0 drops a task)")
    p.add_argument("--steps", type=positive_int, default=2000)
    p.add_argument("--batch-size", type=positive_int, default=16,
                   help="global batch per micro-step (split over the processes of an accelerate launch)")
    p.add_argument("--grad-accum", type=positive_int, default=1)
    p.add_argument("--lr", type=positive_float, default=None, help="default 1e-3 for stages 1-2, 2e-5 for stage 3")
    p.add_argument("--warmup", type=nonnegative_int, default=100)
    p.add_argument("--max-length", type=positive_int, default=1024)
    p.add_argument("--stage1-fraction", type=fraction, default=0.0,
                   help="stage 2: share of training entries drawn from the eight single-step tasks (mixed training, "
                        "so the trace model keeps them; --task-weights weighs them)")
    p.add_argument("--checkpoint-every", type=positive_int, default=200)
    p.add_argument("--bf16", action="store_true", help="bf16 autocast (CPU with AVX-512 bf16, or GPU)")
    p.add_argument("--max-minutes", type=positive_float, default=None)
    p.add_argument("--threads", type=positive_int, default=None)
    p.add_argument("--seed", type=seed, default=0)
    p.add_argument("--resume", action="store_true")
    p.add_argument("--pause-at", type=positive_int, default=None,
                   help="stop (checkpointed) at this step; --resume continues the same schedule")
    # stage 3 (GRPO)
    p.add_argument("--evaluator", default=None, help="stage 3: evaluator directory for the rewards")
    p.add_argument("--group-size", type=positive_int, default=4)
    p.add_argument("--beta", type=nonnegative_float, default=0.01)
    p.add_argument("--reward-weights", default="1,1,1", help="format,alignment,fidelity")
    p.add_argument("--group-norm", action="store_true", help="min-max normalise rewards within each group")
    p.add_argument("--max-new-tokens", type=positive_int, default=512)
    p.set_defaults(func=train_main)
