"""The no-training baseline: bicubic in space, linear in wavelength."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from geossr.models.base import SuperResolver
from geossr.models.registry import register
from geossr.models.spectral_interp import apply_spectral_matrix, spectral_interpolation_matrix
from geossr.spectral.bands import Sensor


def _bicubic(image: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """grid_sample's bicubic at ``positions`` (B, H, W, 2) as (row, col) in input pixels -> (B, c, H, W) in [0, 1]."""
    height, width = image.shape[-2:]
    to_grid = torch.tensor([2.0 / height, 2.0 / width], dtype=torch.float64, device=positions.device)
    grid = (positions.double() * to_grid - 1).flip(-1).to(image.dtype).to(image.device)  # (x, y), [-1, 1]
    sampled = F.grid_sample(image, grid, mode="bicubic", padding_mode="border", align_corners=False)
    return sampled.clamp(0.0, 1.0)


def bicubic_sample(image: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
    """Bicubic values at ``rows`` x ``cols`` (input-pixel units), clamped to [0, 1].

    Equal to ``F.interpolate(mode="bicubic", align_corners=False)`` on a regular grid (edge pixels
    repeated beyond the border) but at any positions, so a window gives the whole image's values.
    The clamp removes the cubic kernel's overshoot, which would leave the reflectance range the
    models are trained on.
    """
    mesh = torch.meshgrid(torch.as_tensor(rows, dtype=torch.float64), torch.as_tensor(cols, dtype=torch.float64),
                          indexing="ij")
    return _bicubic(image, torch.stack(mesh, dim=-1).expand(image.shape[0], -1, -1, -1))


def bicubic_at(image: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
    """(B, Q, c) bicubic values at scattered positions ``pos`` (B, Q, 2) in input-pixel units.

    The scattered-point form of :func:`bicubic_sample`, for models that query points rather than grids.
    """
    return _bicubic(image, pos.unsqueeze(2))[..., 0].transpose(1, 2)


def baseline_spectral_matrix(input_sensor: Sensor, intervals) -> torch.Tensor:
    """(C, c): the baseline's linear interpolation from the input band centres to each interval's middle."""
    intervals = torch.as_tensor(intervals).detach().cpu().double()
    if intervals.ndim != 2 or intervals.shape[1] != 2 or intervals.shape[0] == 0:
        raise ValueError(f"intervals must have shape (C, 2) in nm, got {tuple(intervals.shape)}")
    return spectral_interpolation_matrix(input_sensor.centers_nm, intervals.mean(dim=1).numpy())


@register("bicubic spatial + linear spectral interpolation (no training)", closed_form="none")
class BicubicBaseline(SuperResolver):
    """Bicubic spatial upsampling, then linear spectral interpolation to any band set.

    Each requested band takes the value interpolated at the middle of its interval from the
    input sensor's band centres (centroids for tabulated bands); bands beyond the outermost input
    centres take the edge band's value. Both steps are convex combinations after the clamp, so
    the output stays in [0, 1]. No trainable parameters.
    """

    name = "bicubic"

    def __init__(self, input_sensor: Sensor):
        super().__init__(len(input_sensor))
        self.input_sensor = input_sensor

    def halo(self, cell):
        return 2, 0  # the cubic kernel's taps

    def render(self, lr, rows, cols, intervals, cell) -> torch.Tensor:
        self.check_input(lr)
        matrix = baseline_spectral_matrix(self.input_sensor, intervals)
        return apply_spectral_matrix(matrix.to(lr.device), bicubic_sample(lr, rows, cols))
