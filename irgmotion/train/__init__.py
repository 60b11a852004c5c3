"""Training of the MotionLLM: stage-1/2 supervised fine-tuning (`sft`), stage-3 GRPO (`grpo`) and its
rewards (`rewards`); `cli` holds the `irgmotion train` command.

Nothing is imported here: each module pulls in transformers, peft or trl only when it is used.
"""
