"""transformers' `generate`, batch by batch with left padding: beam search, `engine="generate"`, and the reference the
batched decoder (decoding.py) is tested against. It runs transformers' model and tokenizer classes
(`MotionLLM.transformers_model` / `transformers_tokenizer`), so this module imports transformers; decoding.py imports it
only when asked."""
from __future__ import annotations

import torch
from tqdm.auto import tqdm
from transformers import StoppingCriteria, StoppingCriteriaList, StopStringCriteria

from ..llm.model import MotionLLM
from .decoding import DecodeOptions, StopRules


class CountTokenStop(StoppingCriteria):
    """Stop a sequence once a token (e.g. `</Motion>`) has appeared `limit` times in its continuation."""

    def __init__(self, token_id: int, limit: int, prompt_width: int):
        self.token_id, self.limit, self.prompt_width = token_id, limit, prompt_width

    def __call__(self, input_ids, scores, **kwargs):
        counts = (input_ids[:, self.prompt_width:] == self.token_id).sum(-1)
        return counts >= self.limit


class RunawayMotionStop(StoppingCriteria):
    """Stop a sequence whose open motion span is longer than `limit` tokens: the
    parser cuts such a motion anyway, so decoding further only wastes time."""

    def __init__(self, start_id: int, end_id: int, limit: int, prompt_width: int):
        self.start_id, self.end_id, self.limit, self.prompt_width = start_id, end_id, limit, prompt_width

    def __call__(self, input_ids, scores, **kwargs):
        # Vectorised: called once per decoded token, so a Python scan of every row would cost
        # O(length^2) per trace.
        cont = input_ids[:, self.prompt_width:]
        pos = torch.arange(cont.shape[1], device=cont.device)
        last_start = torch.where(cont == self.start_id, pos, -1).max(-1).values
        last_end = torch.where(cont == self.end_id, pos, -1).max(-1).values
        open_span = (last_start >= 0) & (last_end < last_start)
        return open_span & (cont.shape[1] - last_start - 1 > self.limit)


def generate(llm: MotionLLM, prompts: list[str], opts: DecodeOptions, rules: StopRules) -> list[str]:
    """The continuations of `prompts` (decoded text, special tokens removed)."""
    tok, model = llm.transformers_tokenizer(), llm.transformers_model()
    model.eval()
    device = next(model.parameters()).device
    if opts.seed is not None:
        torch.manual_seed(opts.seed)
    outputs: list[str] = []
    stop_criterion = StopStringCriteria(tok, list(rules.stop_strings)) if rules.stop_strings else None
    side = tok.padding_side
    tok.padding_side = "left"
    try:
        starts = range(0, len(prompts), opts.batch_size)
        for s in tqdm(starts, desc=f"decoding {len(prompts)} prompts", unit="batch", leave=False, mininterval=2,
                      disable=not opts.progress or len(starts) < 2):
            enc = tok(prompts[s:s + opts.batch_size], return_tensors="pt", padding=True,
                      add_special_tokens=False).to(device)
            width = enc["input_ids"].shape[1]
            criteria = StoppingCriteriaList()
            if rules.stop_after_token:
                criteria.append(CountTokenStop(rules.stop_after_token[0], rules.stop_after_token[1], width))
            if rules.max_motion_tokens:
                criteria.append(RunawayMotionStop(llm.motion_start_id, llm.motion_end_id, rules.max_motion_tokens,
                                                  width))
            if stop_criterion is not None:
                criteria.append(stop_criterion)
            kwargs = dict(max_new_tokens=opts.max_new_tokens, do_sample=opts.do_sample, use_cache=True,
                          pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id, stopping_criteria=criteria)
            if opts.do_sample:
                kwargs.update(temperature=opts.temperature, top_k=opts.top_k, top_p=opts.top_p)
            else:
                kwargs.update(temperature=None, top_k=None, top_p=None)
            if opts.num_beams > 1:
                kwargs.update(num_beams=opts.num_beams, num_return_sequences=1, early_stopping=True)
            with torch.no_grad():
                gen = model.generate(**enc, **kwargs)
            outputs += [tok.decode(row, skip_special_tokens=True) for row in gen[:, width:]]
    finally:
        tok.padding_side = side
    return outputs
