"""Stage-1 SFT throughput of a preset on a device: seconds per step and tokens per second of the training step.

    python benchmarks/sft_throughput.py --engine ENGINE --vq VQ [--preset smollm2|tiny|gemma2-2b]
        [--base DIR | --gemma2-dims real|tiny] [--device auto] [--steps 10] [--warmup 2] [--batch 8]
        [--max-length 512] [--bf16 auto|on|off] [--out FILE.json]

Examples come from the engine's stage-1 files as `irgmotion train --stage 1` draws them (SFTDataset, bucketed
batches, collate); the step is its step (AdamW over the trainable parameters, gradients clipped at 1.0, bf16 autocast
when on), timed after --warmup steps, with no checkpoint and no saving. The model comes from the preset machinery
(MotionLLM.create). `--gemma2-dims real` builds gemma-2-2b's architecture and dimensions (Gemma2ForCausalLM, 26
layers, hidden 2304, vocabulary 256000) at random init through the gemma2-2b preset (`random_init=True`): LoRA r=64 on
all projections, embeddings and lm_head trained, as with the real weights; `tiny` builds 2 layers of hidden 64 (a
check on the CPU). Its text tokenizer is the project's small BPE, trained on the engine's texts (the real one is not
available offline): throughput depends on the sequence length, not on which tokenizer cut it.
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from irgmotion.devices import DeviceError, bf16_native, describe_device, device_type, resolve_device  # noqa: E402
from irgmotion.llm.model import MotionLLM, get_preset  # noqa: E402
from irgmotion.tokenizer.catalog import MotionCatalog  # noqa: E402
from irgmotion.tokenizer.pretrained import MotionTokenizer  # noqa: E402
from irgmotion.train.cli import corpus_texts, load_engine_entries  # noqa: E402
from irgmotion.train.sft import SFTDataset, bucketed_order, collate  # noqa: E402

GEMMA2_DIMS = {  # google/gemma-2-2b's config.json
    "real": dict(hidden_size=2304, intermediate_size=9216, num_hidden_layers=26, num_attention_heads=8,
                 num_key_value_heads=4, head_dim=256, vocab_size=256000, max_position_embeddings=8192),
    "tiny": dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=2,
                 num_key_value_heads=1, head_dim=32, vocab_size=0, max_position_embeddings=2048),
}


def gemma2_config_dir(dims: str, texts: list[str], out: Path) -> Path:
    """A base directory holding only config.json (Gemma-2 of `dims`) and a small BPE tokenizer: no weights."""
    from transformers import Gemma2Config

    from irgmotion.llm.text_tokenizer import train_text_tokenizer
    tok = train_text_tokenizer(texts, 2048)
    d = dict(GEMMA2_DIMS[dims])
    d["vocab_size"] = max(d["vocab_size"], len(tok))
    Gemma2Config(**d, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                 pad_token_id=tok.pad_token_id).save_pretrained(out)
    tok.save_pretrained(out)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--engine", required=True, help="`irgmotion build` output (its stage1/ files)")
    ap.add_argument("--vq", required=True, help="motion tokenizer directory")
    ap.add_argument("--motion-root", action="append", default=[], help="extra dataset roots (as for train)")
    ap.add_argument("--preset", default="smollm2", choices=("tiny", "smollm2", "gemma2-2b"))
    ap.add_argument("--base", default=None, help="gemma2-2b: the weights' directory")
    ap.add_argument("--gemma2-dims", choices=tuple(GEMMA2_DIMS), default=None,
                    help="gemma2-2b without weights: random init of these dimensions")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--steps", type=int, default=10, help="timed steps")
    ap.add_argument("--warmup", type=int, default=2, help="untimed steps first")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--max-length", type=int, default=512)
    ap.add_argument("--bf16", choices=("auto", "on", "off"), default="auto",
                    help="bf16 autocast: auto = on a CUDA GPU with native bf16 only")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--out", default=None, help="also write the figures to this JSON file")
    a = ap.parse_args()
    try:
        device = resolve_device(a.device)
    except DeviceError as exc:
        print(f"error: --device: {exc}", file=sys.stderr)
        return 2
    if a.preset == "gemma2-2b" and bool(a.base) == bool(a.gemma2_dims):
        print("error: the gemma2-2b preset needs --base DIR or --gemma2-dims real|tiny (one of them)", file=sys.stderr)
        return 2
    if a.threads:
        torch.set_num_threads(a.threads)
    bf16 = bf16_native(device) if a.bf16 == "auto" else a.bf16 == "on"
    engine = Path(a.engine)
    entries, roots = load_engine_entries(engine, 1)
    vq = MotionTokenizer.from_pretrained(a.vq)
    torch.manual_seed(0)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        base, random_init = a.base, False
        texts = corpus_texts(entries) if a.preset == "tiny" or a.gemma2_dims else None
        if a.gemma2_dims:
            base, random_init = str(gemma2_config_dir(a.gemma2_dims, texts, Path(tmp))), True
        with torch.device(device) if random_init else torch.device("cpu"):  # billions of weights: made where they run
            llm = MotionLLM.create(get_preset(a.preset), vq.codebook_size, texts, base_path=base,
                                   random_init=random_init)
    model = llm.model.to(device).train()
    build_seconds = time.perf_counter() - started
    print(f"built {a.preset} on {device} in {build_seconds:.1f} s", file=sys.stderr, flush=True)
    params = [p for p in model.parameters() if p.requires_grad]
    catalog = MotionCatalog([Path(r) for r in a.motion_root + roots], vq)
    catalog.prefetch(entries)
    dataset = SFTDataset(entries, llm, catalog, a.max_length, 0)
    lengths = [dataset.approx_length(i) for i in range(len(dataset))]
    order = bucketed_order(lengths, a.batch, random.Random(0))
    batches = [order[b:b + a.batch] for b in range(0, len(order), a.batch)]
    opt = torch.optim.AdamW(params, lr=1e-4, betas=(0.9, 0.95))
    cuda = device_type(device) == "cuda"
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    times, tokens, losses = [], [], []
    for step in range(a.warmup + a.steps):
        batch = collate([dataset[i] for i in batches[step % len(batches)]], llm.tokenizer.pad_token_id)
        batch = {k: v.to(device) for k, v in batch.items()}
        if cuda:
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        with torch.autocast(device_type(device), dtype=torch.bfloat16, enabled=bf16):
            loss = model(**batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        losses.append(loss.item())  # waits for the step
        print(f"step {step + 1}/{a.warmup + a.steps}: {time.perf_counter() - t0:.3f} s, loss {losses[-1]:.3f}",
              file=sys.stderr, flush=True)
        if step >= a.warmup:
            times.append(time.perf_counter() - t0)
            tokens.append(int(batch["attention_mask"].sum()))
    report = {"preset": a.preset, "base": "random init, " + a.gemma2_dims + " dims" if a.gemma2_dims else a.base,
              "architecture": type(llm.model.get_base_model() if llm.is_lora else llm.model).__name__,
              "device": describe_device(device), "bf16_autocast": bf16, "lora": llm.is_lora,
              "parameters_m": round(sum(p.numel() for p in model.parameters()) / 1e6, 1),
              "trainable_m": round(sum(p.numel() for p in params) / 1e6, 1), "batch": a.batch,
              "max_length": a.max_length, "timed_steps": a.steps, "build_seconds": round(build_seconds, 1),
              "seconds_per_step": round(statistics.median(times), 4),
              "tokens_per_second": round(sum(tokens) / sum(times), 1),
              "mean_tokens_per_batch": round(sum(tokens) / len(tokens), 1), "first_loss": round(losses[0], 4),
              "last_loss": round(losses[-1], 4)}
    if cuda:
        report["peak_memory_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
    print(f"{a.preset} ({report['architecture']}, {report['parameters_m']}M parameters, {report['trainable_m']}M "
          f"trainable) on {report['device']}, bf16 autocast {'on' if bf16 else 'off'}: "
          f"{report['seconds_per_step']:.3f} s/step, {report['tokens_per_second']:.0f} tokens/s "
          f"(batch {a.batch}, {report['mean_tokens_per_batch']:.0f} tokens per batch, median of {a.steps} steps after "
          f"{a.warmup} warm-up)" + (f", peak {report['peak_memory_gib']} GiB" if cuda else ""))
    if a.out:
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        Path(a.out).write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
