"""Train a tiny Guo evaluator with its dropout off, on one process or under `accelerate launch` (tests/test_distributed.py).

Dropout draws its masks per process, so only without it do N processes compute exactly the one-process run;
the test checks that arithmetic. Usage: python dist_evaluator.py DATA GLOVE OUT
"""
import sys

import torch

from irgmotion.evaluator.train import EvaluatorTrainer, TrainConfig

data, glove, out = sys.argv[1:4]
config = TrainConfig(kind="guo", preset="tiny", steps=4, batch_size=8, val_every=2, lr=3e-3, glove=glove, threads=1)
trainer = EvaluatorTrainer(data, out, config, progress=False, log=lambda *a: None)
for module in trainer.model.modules():
    if isinstance(module, torch.nn.Dropout):
        module.p = 0.0
trainer.run()
