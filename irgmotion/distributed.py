"""Several processes of one run (`accelerate launch --multi_gpu --num_processes N -m irgmotion ...`, on GPUs or,
where there is none, on the CPU over gloo): who writes files, which share of a batch or of a goal list each
process takes, and how results come back in their original order.

Every training loop and benchmark takes one `Processes` object and asks it:

* `world_size`, `rank`, `is_main` (only the main process writes files and shows progress bars);
* `prepare_model(model)`: wrapped for data parallelism (gradients averaged over the processes at `backward`);
* `rows(n)`: this process's contiguous share of a global batch of `n` rows (every process draws the same
  global batch from the same seeded generator and keeps its share, so one process with the same global batch
  sees exactly the same examples);
* `shard(items)` / `gather(results)`: a list of goals split into contiguous shares and the per-process results
  gathered back in the original order on every process;
* `map(fn, goals)`: `fn` on this process's share, the results gathered back in order on every process;
* `mean(value)`, `any(flag)`, `barrier()`, `average_gradients(...)`, and `batch_record(...)` (what
  train_config.json records: the number of processes and the global batch).

`gather_rows` / `gather_rows_with_grad` give a model's code the rows of the whole batch (the VQ-VAE's EMA
codebook, the evaluators' contrastive loss).

A run that was not launched on several processes (no WORLD_SIZE > 1 in the environment) never imports
accelerate here and takes none of the collective paths: it computes exactly what it computed before.
"""
from __future__ import annotations

import os

import torch


def launched_world_size() -> int:
    """Processes of this launch, from the environment `accelerate launch` / torchrun set (1 outside one)."""
    try:
        return max(1, int(os.environ.get("WORLD_SIZE", "1")))
    except ValueError:
        return 1


def launched_main() -> bool:
    """Whether this is the main process of the launch (always, outside one): it alone prints summaries."""
    return os.environ.get("RANK", "0") == "0"


def batch_split_error(global_batch: int, flag: str = "--batch-size") -> str | None:
    """A one-line error when the launch's processes cannot share `global_batch` rows equally (else None);
    checked by the commands before any work."""
    n = launched_world_size()
    if global_batch % n:
        return (f"{flag} {global_batch} is the global batch and must split equally over the {n} launched "
                f"processes; use a multiple of {n}")
    return None


def make_accelerator(**kwargs):
    """An `Accelerator` that joins every launched process. On a machine without a GPU, a multi-process launch
    (`accelerate launch --multi_gpu --num_processes N`, or torchrun) runs on the CPU over gloo; without `cpu=True`
    accelerate would leave each process alone, N independent jobs racing on the same files, so that is set here,
    and a launch the accelerator does not join is refused. Batches are split (`split_batches`), as `rows`
    splits them."""
    from accelerate import Accelerator
    from accelerate.utils import DataLoaderConfiguration
    n = launched_world_size()
    if n > 1 and not torch.cuda.is_available():
        kwargs.setdefault("cpu", True)
    # Our batches are global batches split over the processes: a prepared scheduler then steps once per
    # optimiser step (accelerate's default assumes a batch per process and steps it N times per step).
    kwargs.setdefault("dataloader_config", DataLoaderConfiguration(split_batches=True))
    accelerator = Accelerator(**kwargs)
    if accelerator.num_processes != n:  # a launch problem, not a bug: one line, exit 2, before any work
        import sys
        print(f"error: WORLD_SIZE says {n} processes but accelerate joined {accelerator.num_processes}; launch "
              "with `accelerate launch --multi_gpu --num_processes N` (GPUs, or the CPU where there is none)",
              file=sys.stderr)
        raise SystemExit(2)
    return accelerator


def _group_size() -> int:
    import torch.distributed as dist
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def gather_rows(x: torch.Tensor) -> torch.Tensor:
    """Rows of every process, concatenated in rank order (no gradient); `x` itself on one process.

    For state that must follow the global batch rather than one process's share (the VQ-VAE's EMA codebook)."""
    n = _group_size()
    if n == 1:
        return x
    import torch.distributed as dist
    parts = [torch.empty_like(x) for _ in range(n)]
    dist.all_gather(parts, x.contiguous())
    return torch.cat(parts)


def gather_rows_with_grad(x: torch.Tensor) -> torch.Tensor:
    """Like `gather_rows`, but the gradient flows back to this process's rows. A loss computed identically on
    every process from the gathered rows then gives, after the data-parallel average, the gradient of the same
    loss on one process (the backward of the gather sums the processes' gradients)."""
    if _group_size() == 1:
        return x
    return _GatherRows.apply(x)


class _GatherRows(torch.autograd.Function):
    """Equal shares of rows gathered in rank order; backward: the gradients every process computed for the
    gathered rows, summed, and this process's rows of that sum."""

    @staticmethod
    def forward(ctx, x):
        import torch.distributed as dist
        ctx.rows, ctx.rank = x.shape[0], dist.get_rank()
        return gather_rows(x)

    @staticmethod
    def backward(ctx, grad):
        import torch.distributed as dist
        grad = grad.contiguous()
        dist.all_reduce(grad)
        return grad[ctx.rank * ctx.rows:(ctx.rank + 1) * ctx.rows]


class Processes:
    """The processes of one run; a plain single process when not launched on several."""

    def __init__(self, accelerator=None, device: str = "cpu"):
        self.accelerator = accelerator
        if accelerator is None:
            self.world_size, self.rank, self.device = 1, 0, torch.device(device)
        else:
            self.world_size, self.rank = accelerator.num_processes, accelerator.process_index
            self.device = accelerator.device

    @classmethod
    def start(cls, device: str = "cpu", **accelerator_kwargs) -> "Processes":
        """Join the launch's processes (an `Accelerator`) when there are several; else a single process on
        `device` (a resolved device string, as --device gives)."""
        if launched_world_size() == 1:
            return cls(device=device)
        if str(device) == "cpu":
            accelerator_kwargs.setdefault("cpu", True)
        return cls(make_accelerator(**accelerator_kwargs))

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    def prepare_model(self, model: torch.nn.Module) -> torch.nn.Module:
        if not self.distributed:
            return model
        return self.accelerator.prepare_model(model)

    def unwrap(self, model: torch.nn.Module) -> torch.nn.Module:
        return model if self.accelerator is None else self.accelerator.unwrap_model(model)

    def barrier(self) -> None:
        if self.distributed:
            self.accelerator.wait_for_everyone()

    def rows(self, n: int) -> slice:
        """This process's contiguous share of a global batch of `n` rows (n divisible by the world size)."""
        if n % self.world_size:
            raise ValueError(f"a global batch of {n} rows does not split equally over {self.world_size} processes")
        k = n // self.world_size
        return slice(self.rank * k, (self.rank + 1) * k)

    def bounds(self, n: int) -> tuple[int, int]:
        """Contiguous share of `n` items (the first `n % world_size` processes take one more)."""
        k, extra = divmod(n, self.world_size)
        start = self.rank * k + min(self.rank, extra)
        return start, start + k + (self.rank < extra)

    def shard(self, items: list) -> list:
        start, end = self.bounds(len(items))
        return list(items[start:end])

    def gather(self, part: list) -> list:
        """Every process's `part` (picklable), concatenated in rank order: with `shard`, the original order."""
        if not self.distributed:
            return list(part)
        import torch.distributed as dist
        parts = [None] * self.world_size
        dist.all_gather_object(parts, list(part))
        return [x for p in parts for x in p]

    def map(self, fn, *lists):
        """`fn(*lists)` (returning one result per item) run on this process's share of the items, the results
        gathered back in the original order on every process."""
        if not self.distributed:
            return fn(*lists)
        return self.gather(fn(*[self.shard(items) for items in lists]))

    def average_gradients(self, parameters) -> None:
        """Average the gradients over the processes, as data parallelism does at `backward`: for a model whose
        loss calls its methods rather than `forward` (which the data-parallel wrapper hooks)."""
        if not self.distributed:
            return
        import torch.distributed as dist
        grads = [p.grad for p in parameters if p.grad is not None]
        if not grads:
            return
        flat = torch.cat([g.reshape(-1) for g in grads])
        dist.all_reduce(flat)
        flat /= self.world_size
        offset = 0
        for g in grads:
            g.copy_(flat[offset:offset + g.numel()].view_as(g))
            offset += g.numel()

    def mean(self, value: float) -> float:
        """The mean of a number over the processes."""
        if not self.distributed:
            return float(value)
        t = torch.tensor([float(value)], dtype=torch.float64, device=self.device)
        import torch.distributed as dist
        dist.all_reduce(t)
        return float(t.item()) / self.world_size

    def any(self, flag: bool) -> bool:
        """True on every process when `flag` is true on any (e.g. a time budget reached), so all stop together."""
        return self.mean(1.0 if flag else 0.0) > 0 if self.distributed else bool(flag)

    def same_everywhere(self, value, what: str) -> None:
        """Refuse to go on when the processes built different `what` (e.g. a text tokenizer trained on each)."""
        if not self.distributed:
            return
        values = self.gather([value])
        if any(v != values[0] for v in values):
            raise RuntimeError(f"the {self.world_size} processes built different {what}; they must agree")

    def batch_record(self, per_process_batch: int, grad_accum: int = 1) -> dict:
        """Recorded in train_config.json: the number of processes and the global batch per optimiser step."""
        return {"world_size": self.world_size, "per_process_batch": per_process_batch, "grad_accum": grad_accum,
                "global_batch": per_process_batch * self.world_size * grad_accum}
