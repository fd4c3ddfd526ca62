"""Which torch device to run on."""

from __future__ import annotations

from geossr.errors import GeossrError


def resolve_device(request: str = "auto") -> str:
    """``auto`` picks CUDA when present; asking for CUDA without a GPU is a clear error."""
    import torch

    if request == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if request.startswith("cuda") and not torch.cuda.is_available():
        raise GeossrError(f"--device {request}: no CUDA GPU is available on this machine")
    if request != "cpu" and not request.startswith("cuda"):
        raise GeossrError(f"unknown device {request!r}; use auto, cpu or cuda[:N]")
    return request


class EmulatedPrecisionWarning(UserWarning):
    """Reduced precision that the hardware only emulates (much slower than fp32)."""


def emulated_precision_warning(precision: str, device: str) -> str | None:
    """A warning when ``precision`` has no native kernels on ``device``, else None.

    Reduced precision pays only where the hardware computes it. On a CPU without AVX512-BF16/AMX
    (bf16) or AVX512-FP16/AMX-FP16 (fp16) torch emulates it: the engine benchmark measured bf16 and
    fp16 inference 7-9x slower than fp32 on an AVX2 CPU (benchmarks/results/engine.md).
    """
    import torch

    if precision == "fp32":
        return None
    if device.startswith("cuda"):
        # including_emulation=False: torch otherwise answers yes for GPUs before Ampere, which emulate bf16
        native = precision == "fp16" or torch.cuda.is_bf16_supported(including_emulation=False)
        hardware = "this GPU"
    else:
        native = native_cpu_precisions().get(precision, True)  # not known: no warning
        hardware = "this CPU (no AVX512-BF16/AMX)" if precision == "bf16" else "this CPU (no AVX512-FP16/AMX-FP16)"
    if native:
        return None
    return f"--precision {precision}: {hardware} has no native {precision} kernels; torch emulates them, " \
           f"which is much slower than fp32 (use --precision fp32)"


def native_cpu_precisions() -> dict[str, bool]:
    """Whether this CPU computes bf16 / fp16 natively (oneDNN's own check, as torch's tests use it);
    empty where this torch build cannot tell (no oneDNN)."""
    import torch

    try:
        return {"bf16": torch.ops.mkldnn._is_mkldnn_bf16_supported(),
                "fp16": torch.ops.mkldnn._is_mkldnn_fp16_supported()}
    except (AttributeError, RuntimeError):
        return {}
