"""Spatial downsampling by a factor p with anti-aliasing, chunk by chunk.

Anti-aliasing is a Gaussian blur with σ = (p − 1) / 2 input pixels (scikit-image's ``rescale``
convention), then the blurred image is sampled bilinearly at the centres of the output pixels:
output pixel j covers input pixels [j·p, (j+1)·p) and its centre is at input position
(j + 0.5)·p − 0.5. The output keeps the upper-left corner and has pixels p times larger, so
its transform is the input transform scaled by p, and fractional p is exact.

NaN (nodata) pixels are excluded by normalised convolution: the valid values (NaN → 0) and the
valid mask are blurred and sampled alike, then divided; an output pixel whose neighbourhood is
less than half valid is NaN. So nodata stays nodata without spreading into its neighbours.
"""

from __future__ import annotations

import math

import numpy as np
import xarray as xr
from affine import Affine
from scipy import ndimage


def antialias_sigma(scale: float) -> float:
    return max(0.0, (scale - 1.0) / 2.0)


def _blur_values_and_weights(block: np.ndarray, sigma: float) -> np.ndarray:
    """(2B, y, x): the blurred valid values (NaN as 0), then the blurred valid masks."""
    valid = np.isfinite(block)
    stacked = np.concatenate([np.where(valid, block, 0), valid]).astype(np.float32)
    return ndimage.gaussian_filter(stacked, (0, sigma, sigma), mode="nearest")


def downsample(data: xr.DataArray, scale: float) -> xr.DataArray:
    """Downsample a georeferenced (band, y, x) DataArray by ``scale`` ≥ 1 (float allowed)."""
    if not scale >= 1:
        raise ValueError(f"downsampling scale must be >= 1, got {scale}")
    transform = data.rio.transform()
    height = int(math.floor(data.sizes["y"] / scale))
    width = int(math.floor(data.sizes["x"] / scale))
    if height < 1 or width < 1:
        raise ValueError(
            f"scale {scale:g} leaves no pixel of the {data.sizes['y']}x{data.sizes['x']} input"
        )
    sigma = antialias_sigma(scale)
    bands = data.sizes["band"]
    array = data.data
    if hasattr(array, "map_overlap"):
        depth = int(math.ceil(4 * sigma)) + 1
        array = array.rechunk({0: -1})
        if min(min(array.chunks[1]), min(array.chunks[2])) < depth:
            array = array.rechunk({1: max(depth, 256), 2: max(depth, 256)})
        # map_overlap's `chunks` describe the blocks before their halos are trimmed off.
        padded = [tuple(c + 2 * depth for c in axis) for axis in array.chunks[1:]]
        array = array.map_overlap(
            _blur_values_and_weights, depth={0: 0, 1: depth, 2: depth}, boundary="nearest",
            sigma=sigma, dtype=np.float32, chunks=((2 * bands,), *padded),
        )
    else:
        array = _blur_values_and_weights(np.asarray(array), sigma)
    stacked = xr.DataArray(array, dims=("band", "y", "x"))
    # Sample at the output pixel centres, in input pixel units: output pixel j has its centre
    # at input position (j + 0.5)·p − 0.5 (input pixel i spans [i, i+1), centre i + 0.5).
    stacked = stacked.assign_coords(y=np.arange(data.sizes["y"]), x=np.arange(data.sizes["x"]))
    sampled = stacked.interp(
        y=(np.arange(height) + 0.5) * scale - 0.5, x=(np.arange(width) + 0.5) * scale - 0.5,
        method="linear",
    )
    values, weight = sampled.isel(band=slice(0, bands)), sampled.isel(band=slice(bands, None))
    out = xr.where(weight.data >= 0.5, values / weight.data, np.nan).astype(np.float32)
    out_transform = transform @ Affine.scale(scale)
    out = out.assign_coords(
        band=data.band.values if "band" in data.coords else np.arange(1, bands + 1),
        y=(out_transform @ (np.zeros(height), np.arange(height) + 0.5))[1],
        x=(out_transform @ (np.arange(width) + 0.5, np.zeros(width)))[0],
    )
    out = out.rio.write_transform(out_transform)
    return out.rio.write_crs(data.rio.crs) if data.rio.crs else out
