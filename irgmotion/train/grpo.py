"""Stage 3: GRPO on whole interleaved traces with evaluator rewards, on TRL's GRPOTrainer.

TRL expresses our rollout directly: the prompt is the stage-2 instruction with
the goal, a completion is one whole trace, and the rewards read its final
motion. The reference model is loaded by TRL from the stage-2 directory, so
its log-probabilities come from its own frozen weights (the authors computed
them from the policy's embeddings). Multi-GPU through `accelerate launch`.
"""
from __future__ import annotations

import csv
import json
import shutil
import sys
from pathlib import Path

from ..fileio import write_text

LOG_KEYS = ("step", "loss", "reward", "reward_std", "kl", "rewards/reward_format/mean",
            "rewards/reward_alignment/mean", "rewards/reward_fidelity/mean", "completions/mean_length",
            "learning_rate")


def last_complete_checkpoint(out: Path) -> str | None:
    """Newest checkpoint-N that was written completely; torn ones (a kill mid-save) are removed."""
    ckpts = sorted(out.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[-1]) if p.name.split("-")[-1].isdigit() else -1)
    for ckpt in reversed(ckpts):
        if (ckpt / "trainer_state.json").is_file() and any(ckpt.glob("*.safetensors")):
            return str(ckpt)
        shutil.rmtree(ckpt, ignore_errors=True)
    return None


def plot_curves(csv_path: Path, png_path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rows = list(csv.DictReader(open(csv_path)))
    if not rows:
        return
    step = [float(r["step"]) for r in rows]
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.2))
    for key, ax in zip(("reward", "kl", "completions/mean_length"), axes):
        vals = [float(r[key]) if r.get(key) not in (None, "") else float("nan") for r in rows]
        ax.plot(step, vals)
        ax.set_title(key)
        ax.set_xlabel("step")
    for key in ("rewards/reward_format/mean", "rewards/reward_alignment/mean", "rewards/reward_fidelity/mean"):
        vals = [float(r[key]) if r.get(key) not in (None, "") else float("nan") for r in rows]
        axes[0].plot(step, vals, "--", label=key.split("/")[1].replace("reward_", ""))
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(png_path, dpi=90)
    plt.close(fig)


def grpo_main(args) -> int:
    import torch
    from datasets import Dataset
    from transformers import TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    from ..data.humanml3d import MotionTextDataset
    from ..evaluator import load_evaluator
    from ..llm.model import MotionLLM
    from ..llm.templates import STAGE2_TEMPLATE, TEMPLATES
    from ..tokenizer.pretrained import MotionTokenizer
    from .rewards import MotionRewards

    if not args.init or not args.data or not args.evaluator:
        print("error: stage 3 needs --init STAGE2_DIR, --data DATASET and --evaluator DIR")
        return 2
    from ..distributed import batch_split_error, launched_main, launched_world_size
    if batch_split_error(args.batch_size):
        print(f"error: {batch_split_error(args.batch_size)}", file=sys.stderr)
        return 2
    world = launched_world_size()
    main_process = launched_main()
    if args.threads:
        torch.set_num_threads(args.threads)
    out = Path(args.out)
    if main_process:
        out.mkdir(parents=True, exist_ok=True)
    llm = MotionLLM.from_pretrained(args.init)
    vq = MotionTokenizer.from_pretrained(args.vq)
    evaluator = load_evaluator(args.evaluator)
    train = MotionTextDataset(args.data, "train", normalize=False)
    clips = [c for c in train.clips]
    rows = [{"prompt": llm.prompt(TEMPLATES[STAGE2_TEMPLATE][0].replace("<Goal_Caption>", t.caption)),
             "goal": t.caption, "motion_id": c.id} for c in clips for t in c.texts[:1]]
    dataset = Dataset.from_list(rows)
    weights = [float(w) for w in args.reward_weights.split(",")]
    rewards = MotionRewards(vq, evaluator, {c.id: c.motion for c in clips}, group_norm=args.group_norm)
    cpu = not torch.cuda.is_available()
    config = GRPOConfig(
        output_dir=str(out), max_steps=args.steps, learning_rate=args.lr, lr_scheduler_type="cosine",
        warmup_steps=min(args.warmup, max(0, args.steps // 10)),
        per_device_train_batch_size=args.batch_size // world, num_generations=args.group_size,
        max_completion_length=args.max_new_tokens, temperature=1.0, top_k=50, beta=args.beta, epsilon=0.2,
        loss_type="grpo", scale_rewards="group", reward_weights=weights, num_iterations=1,
        logging_steps=1, save_steps=args.checkpoint_every, save_total_limit=2, report_to=[], use_cpu=cpu,
        bf16=args.bf16, seed=args.seed, disable_dropout=True, shuffle_dataset=True,
    )
    csv_path, png_path = out / "grpo_log.csv", out / "grpo_curves.png"

    class CurveLogger(TrainerCallback):
        def on_log(self, _args, state, control, logs=None, **kw):
            if not logs or "reward" not in logs or not state.is_world_process_zero:
                return
            new = not csv_path.exists()
            with open(csv_path, "a", newline="") as f:
                w = csv.DictWriter(f, fieldnames=LOG_KEYS, extrasaction="ignore")
                if new:
                    w.writeheader()
                w.writerow({"step": state.global_step, **logs})
            if state.global_step % 10 == 0:
                plot_curves(csv_path, png_path)

    trainer = GRPOTrainer(model=llm.model, reward_funcs=rewards.functions(), args=config, train_dataset=dataset,
                          processing_class=llm.tokenizer, callbacks=[CurveLogger()])
    resume = last_complete_checkpoint(out) if args.resume else None
    if args.resume and resume is None:
        print(f"no complete checkpoint in {out}; starting from the stage-2 model")
    trainer.train(resume_from_checkpoint=resume)
    trainer.accelerator.wait_for_everyone()
    if not trainer.accelerator.is_main_process:  # one process writes the model and the record
        return 0
    llm.model = trainer.accelerator.unwrap_model(trainer.model)
    llm.model.eval()
    final = out / "model"
    llm.save_pretrained(final)
    if csv_path.exists():
        plot_curves(csv_path, png_path)
    record = {"world_size": world, "per_process_batch": args.batch_size // world, "grad_accum": 1,
              "global_batch": args.batch_size}
    write_text(out / "grpo_config.json", json.dumps({**{k: str(v) for k, v in vars(args).items() if k != "func"},
                                                     **record}, indent=2))
    print(f"saved stage-3 model to {final}; curves in {png_path}")
    return 0
