"""The no-training baseline: bicubic in space, linear in wavelength."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from geossr.models.base import SuperResolver
from geossr.models.spectral_interp import apply_spectral_matrix, spectral_interpolation_matrix
from geossr.spectral.bands import Sensor


def bicubic_resize(image: torch.Tensor, out_size: tuple[int, int]) -> torch.Tensor:
    """Bicubic resampling to ``out_size`` (half-pixel centres, as ``make_coord``), clamped to [0, 1].

    The clamp removes the cubic kernel's overshoot at edges, which would otherwise leave the
    reflectance range the models are trained on.
    """
    size = (int(out_size[0]), int(out_size[1]))
    if size[0] < 1 or size[1] < 1:
        raise ValueError(f"out_size must be two positive integers, got {tuple(out_size)}")
    if size != tuple(image.shape[-2:]):
        image = F.interpolate(image, size=size, mode="bicubic", align_corners=False)
    return image.clamp(0.0, 1.0)


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

    def forward(self, lr: torch.Tensor, out_size: tuple[int, int], intervals: torch.Tensor) -> torch.Tensor:
        self.check_input(lr)
        intervals = torch.as_tensor(intervals).detach().cpu().double()
        if intervals.ndim != 2 or intervals.shape[1] != 2 or intervals.shape[0] == 0:
            raise ValueError(f"intervals must have shape (C, 2) in nm, got {tuple(intervals.shape)}")
        matrix = spectral_interpolation_matrix(self.input_sensor.centers_nm, intervals.mean(dim=1).numpy())
        return apply_spectral_matrix(matrix.to(lr.device), bicubic_resize(lr, out_size))
