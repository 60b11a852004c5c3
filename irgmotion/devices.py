"""Where the models run: `--device auto|cpu|cuda|mps` resolved once, and the precision that goes with it.

    resolve_device("auto")  # "cuda" when a CUDA GPU is visible, else "mps" (Apple GPU), else "cpu"
    resolve_device("cuda")  # "cuda", or DeviceError with one line saying why it is unavailable
    inference_dtype("cuda") # bfloat16 where the GPU computes it natively, float32 everywhere else

An unavailable device is refused before any work. The CPU always computes in float32 (bf16 is emulated, and so
slow, on CPUs without AVX512-BF16 or AMX, and results on the CPU stay those of earlier releases).
"""
from __future__ import annotations

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


class DeviceError(ValueError):
    """A device that this machine does not have; the message is one line."""


def _cuda_reason(torch) -> str | None:
    """Why CUDA cannot be used here, or None when it can."""
    if torch.version.cuda is None:
        return f"this PyTorch build ({torch.__version__}) has no CUDA support"
    if not torch.cuda.is_available():
        return "no CUDA GPU is visible (torch.cuda.is_available() is False)"
    return None


def _mps_reason(torch) -> str | None:
    backend = getattr(torch.backends, "mps", None)
    if backend is None or not backend.is_built():
        return f"this PyTorch build ({torch.__version__}) has no MPS (Apple GPU) support"
    if not backend.is_available():
        return "no MPS device is available (torch.backends.mps.is_available() is False)"
    return None


def resolve_device(name: str | None = "auto") -> str:
    """The device string a model is moved to: "cpu", "cuda", "cuda:N" or "mps". `auto` (or None) picks cuda, then
    mps, then cpu. DeviceError (one line) for an unknown name or a device this machine lacks."""
    import torch
    text = (name or "auto").strip().lower()
    kind, _, index = text.partition(":")
    if kind not in DEVICE_CHOICES or (index and (kind != "cuda" or not index.isdigit())):
        raise DeviceError(f"expected one of {', '.join(DEVICE_CHOICES)} (or cuda:N), got {name!r}")
    if kind == "auto":
        if _cuda_reason(torch) is None:
            return "cuda"
        return "mps" if _mps_reason(torch) is None else "cpu"
    if kind == "cuda":
        reason = _cuda_reason(torch)
        if reason is not None:
            raise DeviceError(f"cuda is not available: {reason}; use --device cpu or auto")
        if index and int(index) >= torch.cuda.device_count():
            raise DeviceError(f"{text}: this machine has {torch.cuda.device_count()} CUDA device(s), numbered from 0")
        return text
    if kind == "mps":
        reason = _mps_reason(torch)
        if reason is not None:
            raise DeviceError(f"mps is not available: {reason}; use --device cpu or auto")
    return kind


def device_type(device) -> str:
    """"cuda" for "cuda:1" or torch.device("cuda", 1); "cpu" for None."""
    return str(device or "cpu").split(":")[0]


def bf16_native(device) -> bool:
    """Whether `device` computes bfloat16 natively and fast: CUDA GPUs that support it (Ampere and later)."""
    if device_type(device) != "cuda":
        return False
    import torch
    return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())


def inference_dtype(device):
    """The dtype an LLM is loaded in for inference on `device`: bfloat16 on a CUDA GPU with native bf16, else
    float32 (the CPU and MPS: exactly the results of a float32 run)."""
    import torch
    return torch.bfloat16 if bf16_native(device) else torch.float32



def describe_device(device) -> str:
    """A short label for reports: "cuda (NVIDIA H200)", "CPU (2 threads)", "mps"."""
    import torch
    kind = device_type(device)
    if kind == "cuda":
        return f"{device} ({torch.cuda.get_device_name(torch.device(device))})"
    if kind == "cpu":
        return f"CPU ({torch.get_num_threads()} threads)"
    return kind
