"""Spatial downsampling by a factor p with anti-aliasing, chunk by chunk.

Anti-aliasing is a Gaussian blur with σ = (p − 1) / 2 input pixels (scikit-image's ``rescale``
convention), then the blurred image is sampled bilinearly at the centres of the output pixels:
output pixel j covers input pixels [j·p, (j+1)·p) and its centre is at input position
(j + 0.5)·p − 0.5. The output keeps the upper-left corner and has pixels p times larger, so
its transform is the input transform scaled by p, and fractional p is exact.

NaN (nodata) pixels are excluded by normalised convolution (blur of the valid values divided by
blur of the valid mask); an output pixel whose blurred neighbourhood is less than half valid is NaN.
"""

from __future__ import annotations

import math

import numpy as np
import xarray as xr
from affine import Affine
from scipy import ndimage


def antialias_sigma(scale: float) -> float:
    return max(0.0, (scale - 1.0) / 2.0)


def _blur_ignoring_nan(block: np.ndarray, sigma: float) -> np.ndarray:
    valid = np.isfinite(block)
    sigmas = (0, sigma, sigma)
    values = ndimage.gaussian_filter(np.where(valid, block, 0).astype(np.float32), sigmas, mode="nearest")
    weight = ndimage.gaussian_filter(valid.astype(np.float32), sigmas, mode="nearest")
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(weight >= 0.5, values / weight, np.nan).astype(np.float32)


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
    if sigma > 0:
        depth = int(math.ceil(4 * sigma)) + 1
        array = data.data
        if hasattr(array, "map_overlap"):
            smallest = min(min(array.chunks[1]), min(array.chunks[2]))
            if smallest < depth:
                array = array.rechunk({1: max(depth, 256), 2: max(depth, 256)})
            array = array.map_overlap(
                _blur_ignoring_nan, depth={0: 0, 1: depth, 2: depth}, boundary="nearest",
                sigma=sigma, dtype=np.float32,
            )
        else:
            array = _blur_ignoring_nan(np.asarray(array), sigma)
        data = data.copy(data=array)
    # Sample at output pixel centres, expressed in the input's coordinates.
    out_transform = transform * Affine.scale(scale)
    rows = np.arange(height) + 0.5
    cols = np.arange(width) + 0.5
    ys = (out_transform * (np.zeros(height), rows))[1]
    xs = (out_transform * (cols, np.zeros(width)))[0]
    # Coordinates of input pixel centres, recomputed from the transform (files may lack them).
    data = data.assign_coords(
        y=(transform * (np.zeros(data.sizes["y"]), np.arange(data.sizes["y"]) + 0.5))[1],
        x=(transform * (np.arange(data.sizes["x"]) + 0.5, np.zeros(data.sizes["x"])))[0],
    )
    out = data.interp(y=ys, x=xs, method="linear", kwargs={"fill_value": None})
    return out.rio.write_transform(out_transform)
