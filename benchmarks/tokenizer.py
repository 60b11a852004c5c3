"""Motion tokenizer benchmark: encode+decode throughput on 196-frame motions and,
with --data, reconstruction quality on the test split (MPJPE on recovered joints,
global and root-relative; codebook usage and perplexity).

    python benchmarks/tokenizer.py --vq runs/vq [--data corpus] [--threads 2]
"""
import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from irgmotion.data.humanml3d import MotionTextDataset
from irgmotion.tokenizer import MotionTokenizer, MotionVQVAE, get_preset
from irgmotion.tokenizer.train import evaluate_reconstruction
from irgmotion.motion import Normalizer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vq", default=None, help="tokenizer directory (default: an untrained tiny preset)")
    ap.add_argument("--data", default=None)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "tokenizer.json"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.vq:
        tok = MotionTokenizer.from_pretrained(args.vq)
    else:
        model = MotionVQVAE(get_preset("tiny"))
        model.train()
        model(torch.randn(2, 64, 263))
        tok = MotionTokenizer(model, Normalizer(np.zeros(263), np.ones(263)))
    motions = [np.random.default_rng(i).normal(size=(196, 263)).astype(np.float32) for i in range(args.batch)]
    tok.decode(tok.encode(motions[:2]))  # warm-up
    t = time.perf_counter()
    ids = tok.encode(motions, batch_size=args.batch)
    t_enc = time.perf_counter() - t
    t = time.perf_counter()
    tok.decode(ids, batch_size=args.batch)
    t_dec = time.perf_counter() - t
    result = {"threads": args.threads, "batch": args.batch, "encode_motions_per_s": args.batch / t_enc,
              "decode_motions_per_s": args.batch / t_dec, "encode_decode_motions_per_s": args.batch / (t_enc + t_dec)}
    print(f"encode+decode, batches of {args.batch} x 196 frames, {args.threads} threads: "
          f"{result['encode_decode_motions_per_s']:.0f} motions/s (encode {result['encode_motions_per_s']:.0f}/s, "
          f"decode {result['decode_motions_per_s']:.0f}/s)")
    if args.data:
        test = MotionTextDataset(args.data, "test", normalize=False)
        rec = evaluate_reconstruction(tok, [c.motion for c in test.clips])
        result["test_reconstruction"] = rec
        print(f"test split ({rec['n_motions']} motions): MPJPE {rec['mpjpe_mm']:.1f} mm on recovered global joints, "
              f"{rec['root_relative_mpjpe_mm']:.1f} mm root-relative; codebook usage {rec['codebook_usage']:.2f}, "
              f"perplexity {rec['perplexity']:.1f}")
    Path(args.out).parent.mkdir(exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
