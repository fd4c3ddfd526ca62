"""LIIF baseline with its output widened to C bands, as the SSIF paper did (Appendix A.4).

Any spatial scale, but a fixed band set: the one it was built (and trained) for.
"""

from __future__ import annotations

import numpy as np
import torch

from geossr.models.implicit import ImplicitSuperResolver
from geossr.models.registry import register
from geossr.spectral.bands import same_bands



@register("LIIF with C outputs: any scale, the band set it was trained for")
class LIIF(ImplicitSuperResolver):
    name = "liif"

    @classmethod
    def from_config(cls, input_sensor, output_sensor, **options) -> LIIF:
        return cls(len(input_sensor), output_sensor.intervals_nm.tolist(), **options)

    def __init__(self, input_bands: int, output_intervals: list[list[float]], **implicit_options):
        super().__init__(input_bands, len(output_intervals), **implicit_options)
        self.fixed_intervals_nm = np.asarray(output_intervals, dtype=float)
        self.register_buffer("output_intervals", torch.tensor(output_intervals, dtype=torch.float32))

    def prepare_bands(self, intervals: torch.Tensor):
        if not same_bands(intervals.detach().cpu().numpy(), self.fixed_intervals_nm):
            trained = self.output_intervals
            raise ValueError(
                f"LIIF was trained for {trained.shape[0]} fixed bands "
                f"({trained[0, 0]:.0f}-{trained[-1, 1]:.0f} nm) and cannot produce another band set; "
                "use SSIF for arbitrary bands"
            )
        return intervals

    def decode_bands(self, pixel: torch.Tensor, bands) -> torch.Tensor:
        return pixel
