"""Linear interpolation along wavelength, shared by the FMNet input stage and the bicubic baseline."""

from __future__ import annotations

import numpy as np
import torch


def spectral_interpolation_matrix(source_centers_nm, target_centers_nm) -> torch.Tensor:
    """The (C, c) float32 matrix M with ``M @ x`` = x linearly interpolated from c to C band centres.

    Each target value is interpolated between the two nearest source centres; targets outside the
    source range take the value of the nearest edge band (``np.interp`` clamping). Source centres
    may come in any order (camera bands are often listed red, green, blue).
    """
    source = np.asarray(source_centers_nm, dtype=float).ravel()
    target = np.asarray(target_centers_nm, dtype=float).ravel()
    if source.size == 0 or target.size == 0:
        raise ValueError("spectral interpolation needs at least one source and one target band")
    if not (np.all(np.isfinite(source)) and np.all(np.isfinite(target))):
        raise ValueError("spectral interpolation: band centres must be finite")
    order = np.argsort(source, kind="stable")
    # Interpolating the one-hot indicator of each source band gives that band's weight column.
    onehot = np.eye(source.size)[order]
    matrix = np.stack([np.interp(target, source[order], onehot[:, j]) for j in range(source.size)], axis=1)
    return torch.from_numpy(matrix).float()


def apply_spectral_matrix(matrix: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    """(C, c) matrix applied to every pixel of a (B, c, H, W) image -> (B, C, H, W)."""
    return torch.einsum("oi,bihw->bohw", matrix.to(image.dtype), image)
