"""Batched decoding: the model's continuations of many prompts at once.

One loop serves single-step tasks (one segment per prompt) and the interleaved trace under the rule verdict (a
segment per part the model writes, with the rule's words in between). A row's segment ends at EOS, a stop
string, the n-th occurrence of a token, a motion span past its cap, or its token limit; a controller then says
what the row's text is now (the rule replaces the model's check list with its verdict and the plan sentence);
the decoder re-tokenizes that text, drops from the cache what no longer belongs (masked, not recomputed), and
feeds the new tokens as forced tokens: a row's forced chunk in a forward of that row alone, written into columns it
leaves empty, while the other rows decode one token each. Rows that end leave the batch; prompts are batched by
length. The key/value cache grows in place (kv_cache.GrowingLayer).

Greedy outputs equal transformers' `generate` on the same prompts token for token (tests/test_decoding.py);
beam search goes through `generate` (generate_reference.py). Greedy decoding imports no transformers (about a second of
a command's start-up): the stop-string rule is stop_strings.py's; sampling takes transformers' warpers.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from ..llm.model import MotionLLM
from .kv_cache import CacheRows, GrowingCache, growing_cache
from .stop_strings import StopStrings


@dataclass
class DecodeOptions:
    max_new_tokens: int = 1024
    do_sample: bool = False
    temperature: float = 1.0
    top_k: int = 50
    top_p: float = 1.0
    seed: int | None = None
    batch_size: int = 16
    num_beams: int = 1  # beam search (with do_sample=False): keeps the likeliest whole continuation
    progress: bool = False  # a progress bar over the prompts on stderr (long benchmarks)


@dataclass
class StopRules:
    """When a row's segment ends, besides EOS and its token limit."""
    stop_after_token: tuple[int, int] | None = None  # (token id, n): after its n-th occurrence in the segment
    max_motion_tokens: int | None = None  # a motion span still open after this many tokens
    stop_strings: tuple[str, ...] = ()  # the text ends with one of these (any tokenisation; transformers' rule)


class _OneSegment:
    """Controller of plain generation: one segment of `limit` tokens per prompt; keeps each continuation."""

    def __init__(self, n: int, limit: int):
        self.tokens, self.texts, self.started = limit, [""] * n, [False] * n

    def limit(self, i: int) -> int | None:
        if self.started[i]:
            return None
        self.started[i] = True
        return self.tokens

    def after(self, i: int, continuation: str) -> str | None:
        self.texts[i] = continuation
        return None


class _Row:
    """One prompt's state in a batch: its context tokens (as the model sees them) and their cache columns."""
    __slots__ = ("columns", "forced", "ids", "index", "limit", "made", "marks", "open_at")

    def __init__(self, index: int, ids: list[int]):
        self.index, self.ids = index, ids
        self.columns: list[int] = []  # set where the row's entries are placed in a cache
        self.forced: deque[int] = deque()
        self.limit = 0
        self.made: list[int] = []  # tokens the model generated in the current segment
        self.marks = 0  # occurrences of the stop-after token in the segment
        self.open_at: int | None = None  # index in `made` of the open motion span's start (negative: forced before)


def decode_segments(llm: MotionLLM, prompts: list[str], starts: list[str], opts: DecodeOptions, rules: StopRules,
                    controller) -> None:
    """Decode every row segment by segment. `controller.limit(i)` gives the token limit of row i's next segment
    (None: the row is done); `controller.after(i, continuation)` gets the segment's text (special tokens removed)
    and returns the row's whole continuation as it now stands (None: the row is done). `starts[i]` is the text
    the row's continuation begins with."""
    tok = llm.tokenizer
    llm.model.eval()
    if opts.seed is not None:
        torch.manual_seed(opts.seed)
    stop_strings = StopStrings(tok, rules.stop_strings) if rules.stop_strings else None
    contexts = [tok(p + s, add_special_tokens=False)["input_ids"] for p, s in zip(prompts, starts)]
    order = sorted(range(len(prompts)), key=lambda i: len(contexts[i]))  # rows admitted together pad less
    _BatchDecoder(llm, prompts, opts, rules, stop_strings, controller).run([(i, contexts[i]) for i in order])


def _warpers(opts: DecodeOptions):
    """transformers' sampling warpers, in `generate`'s order."""
    from transformers import LogitsProcessorList, TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper
    warpers = LogitsProcessorList()
    if opts.temperature != 1.0:
        warpers.append(TemperatureLogitsWarper(opts.temperature))
    if opts.top_k:
        warpers.append(TopKLogitsWarper(opts.top_k))
    if opts.top_p < 1.0:
        warpers.append(TopPLogitsWarper(opts.top_p))
    return warpers


class _BatchDecoder:
    """Continuous batching: up to `batch_size` rows decode together; a row that ends hands its place to the next
    prompt, whose keys and values are computed apart and written into the shared cache."""
    # steps between looks at the holes in the cache; how many more columns than the longest row's are tolerated
    REPACK_EVERY, REPACK_SLACK = 64, 128
    # forced tokens a row feeds in one forward (a plan sentence is 15-30)
    FORCED_CHUNK = 64

    def __init__(self, llm: MotionLLM, prompts: list[str], opts: DecodeOptions, rules: StopRules, stop_strings,
                 controller):
        self.model, self.tok, self.prompts, self.opts = llm.model, llm.tokenizer, prompts, opts
        self.rules, self.stop_strings, self.controller = rules, stop_strings, controller
        self.device = next(llm.model.parameters()).device
        self.warpers = _warpers(opts) if opts.do_sample else None
        self.motion_start, self.motion_end = llm.motion_start_id, llm.motion_end_id

    def _forward(self, feed, mask, positions, cache, last: torch.Tensor | None = None) -> torch.Tensor:
        """Logits after each row's last fed token: the feed's last column, or column `last[b]` of row b."""
        width = 1 if last is None else feed.shape[1]
        logits = self.model(input_ids=feed.to(self.device), attention_mask=mask.to(self.device),
                            position_ids=positions.to(self.device), cache=cache, use_cache=True,
                            logits_to_keep=width).logits
        return logits[:, -1] if last is None else logits[torch.arange(len(last)), last.to(logits.device)]

    def _take(self, pending: deque, n: int) -> list[_Row]:
        """Up to n rows from the queue whose first segment starts (a controller may have nothing to ask)."""
        rows = []
        while pending and len(rows) < n:
            index, ids = pending.popleft()
            row = _Row(index, list(ids))
            if self._start_segment(row):
                rows.append(row)
            else:
                self.bar.update(1)
        return rows

    def _prefill(self, rows: list[_Row]):
        """The rows' contexts through the model, left-padded in a cache of their own: (cache, mask, logits)."""
        width = max(len(r.ids) for r in rows)
        feed = torch.full((len(rows), width), self.tok.pad_token_id, dtype=torch.long)
        mask = torch.zeros(len(rows), width, dtype=torch.long)
        for k, row in enumerate(rows):
            row.columns = list(range(width - len(row.ids), width))
            feed[k, row.columns[0]:] = torch.tensor(row.ids)
            mask[k, row.columns[0]:] = 1
        cache = growing_cache(self.model)
        with torch.no_grad():
            logits = self._forward(feed, mask, (mask.cumsum(-1) - 1).clamp(min=0), cache)
        return cache, mask, logits

    def _admit(self, rows, free, new, cache, mask, chosen):
        """Place the new rows in the free rows of the shared cache, their entries in the last columns."""
        own, _, logits = self._prefill(new)
        picks = self._choose(logits)
        need = max(len(r.ids) for r in new)
        if need > mask.shape[1]:
            for layer in cache.layers:
                layer.extend(need - mask.shape[1])
            mask = torch.cat([mask, mask.new_zeros(mask.shape[0], need - mask.shape[1])], dim=1)
        end = mask.shape[1]
        for j, (k, row) in enumerate(zip(free, new)):
            n, start = len(row.ids), end - len(row.ids)
            for layer, mine in zip(cache.layers, own.layers):
                layer.place(k, start, mine.keys[j, :, -n:], mine.values[j, :, -n:])
            mask[k] = 0
            mask[k, start:] = 1
            row.columns = list(range(start, end))
            rows[k] = row
            chosen[k] = picks[j]
        return mask

    def run(self, items: list[tuple[int, list[int]]]) -> None:
        pending = deque(items)
        self.bar = tqdm(total=len(items), desc=f"decoding {len(items)} prompts", unit="prompt", leave=False,
                        mininterval=2, disable=not self.opts.progress or len(items) < 2)
        rows = self._take(pending, self.opts.batch_size)
        if not rows:
            self.bar.close()
            return
        cache, mask, logits = self._prefill(rows)
        chosen = self._choose(logits)
        steps = 0
        with torch.no_grad():
            while True:
                free = [k for k, row in enumerate(rows) if row.limit <= 0]
                new = self._take(pending, len(free)) if free else []
                if new:
                    mask = self._admit(rows, free, new, cache, mask, chosen)
                tokens = self._step(rows, chosen, mask)
                live = torch.tensor([t is not None for t in tokens])
                if not live.any() and not pending:
                    self.bar.close()
                    return
                fed = [[] if t is None else self._with_forced(row, t) for row, t in zip(rows, tokens)]
                ended = len(rows) - int(live.sum())
                if ended and not pending and (4 * ended >= len(rows) or ended >= 8):  # the tail: ended rows leave
                    keep = live.nonzero().flatten()
                    cache.batch_select_indices(keep.to(self.device))
                    rows, fed, mask = [rows[k] for k in keep.tolist()], [fed[k] for k in keep.tolist()], mask[keep]
                mask, logits = self._feed(rows, fed, mask, cache)
                steps += 1
                if steps % self.REPACK_EVERY == 0:  # here the cache holds every column of the mask
                    mask = self._repack(rows, cache, mask)
                chosen = self._choose(logits)

    def _with_forced(self, row: _Row, token: int) -> list[int]:
        """What a row feeds in this step: its token, and after it the row's next forced tokens (up to FORCED_CHUNK in
        all), so that text the grammar or a controller wrote goes through the model in one forward."""
        seq = [token]
        while row.forced and len(seq) < self.FORCED_CHUNK:
            seq.append(row.forced.popleft())
        return seq

    def _feed(self, rows: list[_Row], fed: list[list[int]], mask: torch.Tensor, cache):
        """One step: rows feeding several tokens (forced text) go through a forward of their own first, the others
        (one token each) through one forward of the whole batch, so that a chunk does not widen every row's step.
        Returns the mask and the logits after each row's last token (a row that fed nothing: any)."""
        logits = None
        several = [k for k, seq in enumerate(fed) if len(seq) > 1]
        if several:
            mask, got = self._forced_forward(rows, fed, several, mask, cache)
            logits = got.new_zeros(len(rows), got.shape[-1])
            logits[several] = got
        single = [k for k, seq in enumerate(fed) if len(seq) == 1]
        if single:
            column = mask.shape[1]
            feed = torch.full((len(rows), 1), self.tok.pad_token_id, dtype=torch.long)
            added = torch.zeros(len(rows), 1, dtype=mask.dtype)
            for k in single:
                feed[k, 0] = fed[k][0]
                added[k, 0] = 1
                rows[k].ids.append(fed[k][0])
                rows[k].columns.append(column)
            before = mask.sum(-1, keepdim=True)
            mask = torch.cat([mask, added], dim=1)
            got = self._forward(feed, mask, before, cache)
            if logits is None:
                logits = got
            else:
                logits[single] = got[single]
        if logits is None:  # no row fed anything (rows that ended, waiting for the queue): nothing to read
            logits = torch.zeros(len(rows), 1)
        return mask, logits

    def _forced_forward(self, rows, fed, several: list[int], mask: torch.Tensor, cache):
        """The rows `several` feed their chunks (right-padded to the longest) in a forward of their own, reading their
        cache rows; the new keys and values then go into columns of the shared cache that those rows leave empty
        (left padding, text the rule replaced: columns' order does not matter, the mask says whose they are), or,
        when a row has too few, into new columns masked for every other row. Returns the mask and those rows'
        logits after their last token."""
        width = max(len(fed[k]) for k in several)
        index = torch.tensor(several)
        feed = torch.full((len(several), width), self.tok.pad_token_id, dtype=torch.long)
        for j, k in enumerate(several):
            feed[j, :len(fed[k])] = torch.tensor(fed[k])
        sub = torch.cat([mask[index], torch.zeros(len(several), width, dtype=mask.dtype)], dim=1)
        for j, k in enumerate(several):
            sub[j, mask.shape[1]:mask.shape[1] + len(fed[k])] = 1
        on_device = index.to(self.device)
        if isinstance(cache, GrowingCache):  # the inference-only Llama: read the rows in place
            view = CacheRows(cache, on_device)
        else:  # a transformers model asks its cache more: a cache of its own with a copy of the rows
            view = growing_cache(self.model)
            for mine, shared in zip(view.layers, cache.layers):
                mine.update(shared.keys[on_device], shared.values[on_device])
        last = torch.tensor([len(fed[k]) - 1 for k in several])
        logits = self._forward(feed, sub, mask[index].sum(-1, keepdim=True) + torch.arange(width), view, last)
        new = view.new if isinstance(view, CacheRows) else [(mine.keys[:, :, -width:], mine.values[:, :, -width:])
                                                           for mine in view.layers]
        holes = [(mask[k] == 0).nonzero().flatten()[:len(fed[k])].tolist() for k in several]
        if any(len(h) < len(fed[k]) for h, k in zip(holes, several)):  # too few empty columns: new ones for all
            column = mask.shape[1]
            for layer in cache.layers:
                layer.extend(width)
            mask = torch.cat([mask, mask.new_zeros(len(rows), width)], dim=1)
            holes = [list(range(column, column + len(fed[k]))) for k in several]
        for j, (k, columns) in enumerate(zip(several, holes)):
            at = torch.tensor(columns)
            for layer, (keys, values) in zip(cache.layers, new):
                layer.place_columns(k, at.to(self.device), keys[j, :, :len(columns)], values[j, :, :len(columns)])
            mask[k, at] = 1
            rows[k].ids.extend(fed[k])
            rows[k].columns.extend(columns)
        return mask, logits

    def _repack(self, rows, cache, mask) -> torch.Tensor:
        """Pack every row's entries to the right (left padding again): rows that ended, text the rule replaced and
        rows admitted at the end leave holes that every step would otherwise read."""
        width = max((len(row.columns) for row in rows if row.limit > 0), default=0)
        if width == 0 or mask.shape[1] <= width + self.REPACK_SLACK:
            return mask
        columns = torch.zeros(len(rows), width, dtype=torch.long)
        packed = torch.zeros(len(rows), width, dtype=mask.dtype)
        for k, row in enumerate(rows):
            n = len(row.columns) if row.limit > 0 else 0
            if n:
                columns[k, width - n:] = torch.tensor(row.columns)
                packed[k, width - n:] = 1
            row.columns = list(range(width - n, width))
        for layer in cache.layers:
            layer.gather(columns)
        return packed

    def _choose(self, logits: torch.Tensor) -> list[int]:
        if self.warpers is None:
            return logits.argmax(-1).tolist()
        scores = self.warpers(None, logits.float())
        return torch.multinomial(torch.softmax(scores, -1), 1).squeeze(1).tolist()

    def _start_segment(self, row: _Row) -> bool:
        limit = self.controller.limit(row.index)
        if limit is None or limit <= 0:
            return False
        row.limit, row.made, row.marks, row.open_at = limit, [], 0, None
        return True

    def _step(self, rows: list[_Row], chosen: list[int], mask: torch.Tensor) -> list[int | None]:
        """The token each row feeds next (None: the row is done or was already)."""
        tokens: list[int | None] = [None] * len(rows)
        ending = []
        for k, row in enumerate(rows):
            if row.limit <= 0:  # done earlier, not yet out of the batch
                continue
            if row.forced:
                tokens[k] = row.forced.popleft()
                continue
            t = chosen[k]
            row.made.append(t)
            tokens[k] = t
            if self._ends(row, t) or (self.stop_strings is not None and self.stop_strings.ends(row.ids, t)):
                ending.append(k)
        for k in ending:
            tokens[k] = self._after_segment(rows[k], tokens[k], mask[k])
        return tokens

    def _ends(self, row: _Row, t: int) -> bool:
        rules = self.rules
        if rules.max_motion_tokens is not None:
            if t == self.motion_start:
                row.open_at = len(row.made) - 1
            elif t == self.motion_end:
                row.open_at = None
        if rules.stop_after_token and t == rules.stop_after_token[0]:
            row.marks += 1
        return (t == self.tok.eos_token_id or len(row.made) >= row.limit
                or (rules.stop_after_token is not None and row.marks >= rules.stop_after_token[1])
                or (rules.max_motion_tokens is not None and row.open_at is not None
                    and len(row.made) - 1 - row.open_at > rules.max_motion_tokens))

    def _after_segment(self, row: _Row, token: int, mask_row: torch.Tensor) -> int | None:
        """The controller's word on a row whose segment ended with `token` (not yet fed): the row's context
        becomes the tokens of its new text; what differs is dropped from the cache (masked) and fed anew."""
        text = self.controller.after(row.index, self.tok.decode(row.made, skip_special_tokens=True))
        if text is None or not self._start_segment(row):
            row.limit = 0
            self.bar.update(1)
            return None
        target = self.tok(self.prompts[row.index] + text, add_special_tokens=False)["input_ids"]
        starts = [j for j, t in enumerate(target) if t == self.motion_start]
        if starts and self.motion_end not in target[starts[-1]:]:  # the new text opened a motion span
            row.open_at = starts[-1] - len(target)
        have = row.ids + [token]
        keep = 0
        for a, b in zip(have, target):
            if a != b:
                break
            keep += 1
        if keep == len(have) < len(target):  # the token stays; the new text follows it
            row.forced.extend(target[keep:])
            return token
        if keep == len(target):  # nothing new to feed: the last kept token is fed again for its logits
            keep -= 1
        for column in row.columns[keep:]:
            mask_row[column] = 0
        del row.ids[keep:], row.columns[keep:]
        row.forced.extend(target[keep:])
        return row.forced.popleft()


def generate_texts(llm: MotionLLM, prompts: list[str], opts: DecodeOptions,
                   stop_after_token: tuple[int, int] | None = None, max_motion_tokens: int | None = None,
                   stop_strings: list[str] | None = None, engine: str = "batched") -> list[str]:
    """Continuations of `prompts` (decoded text, special tokens removed).

    `stop_after_token=(token_id, n)` stops each sequence after the n-th occurrence of that token in its
    continuation; `stop_strings` stops a sequence once its continuation ends with one of them. Beam search, and
    `engine="generate"`, go through transformers' `generate` (the reference the batched decoder is tested against)."""
    rules = StopRules(stop_after_token, max_motion_tokens, tuple(stop_strings or ()))
    if opts.num_beams > 1 or engine == "generate":
        from .generate_reference import generate
        return generate(llm, prompts, opts, rules)
    if engine != "batched":
        raise ValueError(f"unknown decoding engine {engine!r}")
    one = _OneSegment(len(prompts), opts.max_new_tokens)
    decode_segments(llm, prompts, [""] * len(prompts), opts, rules, one)
    return one.texts
