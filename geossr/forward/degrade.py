"""Degradations that make training pairs: spatial downsampling and spectral integration, in torch.

``spatial_downsample`` is the operation of :func:`geossr.forward.resample.downsample` (Gaussian
anti-aliasing with σ = (p − 1)/2 input pixels, edges extended with the nearest value, then
bilinear sampling at the output pixel centres (j + 0.5)·p − 0.5), so a model trained on these
pairs sees the degradation ``geossr simulate --scale`` applies to a scene. Along one axis the
whole operation is linear, so it is built once per (input size, output size) as a matrix (the
blur with its edge handling folded in, then the interpolation weights) and applied as
``A_y · x · A_xᵀ``: exact, and two small matrix products per batch.

Training targets are the source cube integrated over C contiguous equal wavelength intervals
with a uniform (box) response: the SSIF paper spectrally downsamples the cube into C contiguous
intervals, and a box is what "the band covering [λs, λe]" means without a real sensor.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch

from geossr.forward.resample import antialias_sigma
from geossr.spectral.bands import Band, Sensor
from geossr.spectral.integration import DEFAULT_COVERAGE_TOLERANCE, response_matrix

# scipy.ndimage.gaussian_filter's defaults, which the scene resampler uses.
TRUNCATE_SIGMAS = 4.0
SKIP_SIGMA = 1e-15


def gaussian_kernel(sigma: float) -> np.ndarray:
    """scipy's kernel: radius int(4σ + 0.5), weights exp(−x²/2σ²) normalised to sum 1."""
    radius = int(TRUNCATE_SIGMAS * sigma + 0.5)
    offsets = np.arange(-radius, radius + 1)
    weights = np.exp(-0.5 * offsets**2 / sigma**2)
    return weights / weights.sum()


@functools.lru_cache(maxsize=512)
def downsampling_matrix(in_size: int, out_size: int) -> np.ndarray:
    """(out_size, in_size) weights of blur-then-sample along one axis, scale = in_size / out_size."""
    scale = in_size / out_size
    sigma = antialias_sigma(scale)
    blur = np.eye(in_size)
    if sigma > SKIP_SIGMA:  # gaussian_filter leaves an axis alone below this σ
        kernel = gaussian_kernel(sigma)
        radius = kernel.size // 2
        blur = np.zeros((in_size, in_size))
        rows = np.arange(in_size)
        for offset, weight in zip(range(-radius, radius + 1), kernel):
            # mode='nearest': a tap beyond the edge reads the edge pixel.
            np.add.at(blur, (rows, np.clip(rows + offset, 0, in_size - 1)), weight)
    positions = (np.arange(out_size) + 0.5) * scale - 0.5
    below = np.clip(np.floor(positions).astype(int), 0, in_size - 1)
    above = np.minimum(below + 1, in_size - 1)
    frac = positions - below
    sample = np.zeros((out_size, in_size))
    np.add.at(sample, (np.arange(out_size), below), 1.0 - frac)
    np.add.at(sample, (np.arange(out_size), above), frac)
    return sample @ blur


@functools.lru_cache(maxsize=512)
def _downsampling_operator(in_size: int, out_size: int, dtype: torch.dtype) -> torch.Tensor:
    return torch.from_numpy(downsampling_matrix(in_size, out_size)).to(dtype)


def spatial_downsample(x: torch.Tensor, out_size: tuple[int, int]) -> torch.Tensor:
    """(B, c, H, W) → (B, c, h, w), the scene resampler's degradation at scale H/h by W/w."""
    if x.ndim != 4:
        raise ValueError(f"expected a (B, c, H, W) tensor, got shape {tuple(x.shape)}")
    height, width = x.shape[-2:]
    out_h, out_w = (int(s) for s in out_size)
    if not (1 <= out_h <= height and 1 <= out_w <= width):
        raise ValueError(f"cannot downsample {height}x{width} to {out_h}x{out_w}")
    along_y = _downsampling_operator(height, out_h, x.dtype).to(x.device)
    along_x = _downsampling_operator(width, out_w, x.dtype).to(x.device)
    return along_y @ x @ along_x.T


_SPECTRAL: dict[tuple[str, str, float], torch.Tensor] = {}


def spectral_matrix(source: Sensor, target: Sensor, tolerance: float = DEFAULT_COVERAGE_TOLERANCE) -> torch.Tensor:
    """(len(target), len(source)) float32 response matrix, cached by band content."""
    key = (source.fingerprint, target.fingerprint, tolerance)
    if key not in _SPECTRAL:
        _SPECTRAL[key] = torch.from_numpy(response_matrix(source, target, tolerance)).float()
    return _SPECTRAL[key]


def contiguous_intervals(lo_nm: float, hi_nm: float, count: int) -> torch.Tensor:
    """(count, 2) float32 [λs, λe] of ``count`` equal contiguous intervals over [lo, hi] nm."""
    if not (count >= 1 and math.isfinite(lo_nm) and math.isfinite(hi_nm) and 0 <= lo_nm < hi_nm):
        raise ValueError(f"need 0 <= lo < hi and count >= 1, got [{lo_nm}, {hi_nm}] and {count}")
    edges = torch.linspace(lo_nm, hi_nm, count + 1, dtype=torch.float64)
    return torch.stack([edges[:-1], edges[1:]], dim=1).float()


def target_sensor_from_intervals(intervals) -> Sensor:
    """Uniform (box) bands over the given (C, 2) intervals in nm: the training targets' bands."""
    rows = np.asarray(intervals, dtype=np.float64).reshape(-1, 2)
    width = max(3, len(str(len(rows))))
    bands = tuple(Band.uniform(f"b{i:0{width}d}", lo, hi) for i, (lo, hi) in enumerate(rows, start=1))
    return Sensor(
        f"intervals:{rows[0, 0]:g}-{rows[-1, 1]:g}:{len(rows)}",
        bands,
        description=f"{len(rows)} uniform bands over the given wavelength intervals",
        source="geossr training targets",
        response_kind="approximation",
    )
