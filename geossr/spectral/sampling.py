"""Wavelength sampling for SSIF (Mai et al., "Spatial-spectral implicit function", Sec. 4.2).

A band with interval Λ = [λs, λe] is represented by K wavelengths λ_k and weights ρ(λ_k),
normalised to sum to 1, so that the band value is Σ_k ρ(λ_k) · D(λ_k). The five SSIF variants:

=========  ===================  ===============================================================
variant    method               wavelengths / weights
=========  ===================  ===============================================================
M          midpoint             K = 1: the middle (λs+λe)/2, weight 1
RF-GS      gaussian_stochastic  K draws from N(μ, σ²), μ = middle, σ = (λe−λs)/6, truncated
                                to Λ; weights = Gaussian density at the draws, normalised
RF-GF      gaussian_fixed       K fixed points, the middles of K equal sub-intervals of Λ;
                                weights = Gaussian density there, normalised
RF-US      uniform_stochastic   K draws from U(λs, λe); equal weights 1/K
RF-UF      uniform_fixed        the same K fixed points as RF-GF; equal weights 1/K
=========  ===================  ===============================================================

The paper says "K equally spaced wavelengths in Λ" for the fixed variants; we take sub-interval
middles so that K = 1 gives the band middle and no sample sits on a shared band edge.
"""

from __future__ import annotations

import math

import torch

METHODS = ("midpoint", "gaussian_stochastic", "gaussian_fixed", "uniform_stochastic", "uniform_fixed")
VARIANT_METHODS = {
    "M": "midpoint",
    "RF-GS": "gaussian_stochastic",
    "RF-GF": "gaussian_fixed",
    "RF-US": "uniform_stochastic",
    "RF-UF": "uniform_fixed",
}
# Φ(±3): the Gaussian draws are truncated to μ ± 3σ, i.e. to the band interval.
_PHI_MINUS_3 = 0.5 * math.erfc(3 / math.sqrt(2))


def sample_wavelengths(
    intervals: torch.Tensor,
    k: int,
    method: str,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sample K wavelengths per band.

    Args:
        intervals: (..., C, 2) band intervals [λs, λe] in nm, any leading batch shape.
        k: samples per band (ignored by ``midpoint``, which always returns one).
        method: one of :data:`METHODS`; an SSIF variant name (``"RF-GS"``…) is accepted too.
        generator: seeds the stochastic methods.

    Returns:
        ``(wavelengths, weights)``, each (..., C, K'), weights summing to 1 over the last axis.
    """
    method = VARIANT_METHODS.get(method, method)
    if method not in METHODS:
        raise ValueError(f"unknown sampling method {method!r}; choose from {', '.join(METHODS)}")
    if k < 1:
        raise ValueError(f"K must be at least 1, got {k}")
    intervals = torch.as_tensor(intervals, dtype=torch.float32)
    if intervals.shape[-1] != 2 or bool((intervals[..., 1] < intervals[..., 0]).any()):
        raise ValueError("intervals must have shape (..., C, 2) with start <= end")
    start, end = intervals[..., 0:1], intervals[..., 1:2]
    middle, width = (start + end) / 2, end - start

    if method == "midpoint":
        return middle, torch.ones_like(middle)

    shape = (*intervals.shape[:-1], k)
    if method.endswith("fixed"):
        offsets = (torch.arange(k, dtype=intervals.dtype, device=intervals.device) + 0.5) / k
        wavelengths = start + width * offsets
    elif method == "uniform_stochastic":
        u = torch.rand(shape, generator=generator, dtype=intervals.dtype).to(intervals.device)
        wavelengths = start + width * u
    else:  # gaussian_stochastic: inverse-CDF sampling of the normal truncated at ±3σ
        u = torch.rand(shape, generator=generator, dtype=intervals.dtype).to(intervals.device)
        u = _PHI_MINUS_3 + (1 - 2 * _PHI_MINUS_3) * u
        z = math.sqrt(2) * torch.erfinv(2 * u - 1)
        wavelengths = middle + z * width / 6

    if method.startswith("uniform"):
        weights = torch.full_like(wavelengths, 1.0 / k)
    else:
        sigma = (width / 6).clamp_min(torch.finfo(intervals.dtype).tiny)
        density = torch.exp(-0.5 * ((wavelengths - middle) / sigma) ** 2)
        weights = density / density.sum(dim=-1, keepdim=True)
    return wavelengths, weights
