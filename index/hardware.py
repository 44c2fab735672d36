"""What this machine's processor does fast: the precision the models run in by default.

Why: bf16 halves the reader's latency at the same F1 on CPUs with AVX-512 BF16 or AMX, and is slower
than fp32 on CPUs without them; "auto" picks per machine, and every path can still be forced.
"""
from __future__ import annotations

from functools import lru_cache

DTYPES = ("auto", "float32", "bfloat16")


@lru_cache(maxsize=None)
def bf16_is_fast(device: str = "cpu") -> bool:
    """True where bfloat16 matrix products run natively: AVX-512 BF16 / AMX CPUs, bf16-capable GPUs."""
    import torch

    if device.startswith("cuda"):
        return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    checks = [getattr(torch.cpu, name, None) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
    try:
        return any(bool(check()) for check in checks if check is not None)
    except RuntimeError:  # pragma: no cover - very old torch builds
        return False


def resolve_dtype(name: str, device: str = "cpu") -> str:
    """``auto`` → ``bfloat16`` where it is fast, else ``float32``; other names pass through."""
    if name == "auto":
        return "bfloat16" if bf16_is_fast(device) else "float32"
    return name
