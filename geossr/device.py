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
