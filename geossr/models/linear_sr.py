"""The ``linear-sr`` model: learnt spatial super-resolution of the input bands, then the linear prior.

The airborne ssif-any (a spectral and spatial correction on top of the prior, trained on four sites)
gained 0.7 dB over the prior at p = 4 on sites it never saw but lost to it at p = 1 and in SAM
everywhere (benchmarks/results/remote_fidelity.md): what it learnt about space transferred, what it
learnt about spectra did not. This model keeps the two apart. It sharpens each input band in space
with one LIIF shared by all bands (so any input sensor, any number of bands), and leaves every
spectral decision to the prior (``geossr.models.linear``): x̂ = μ + W (ŷ − A μ) on the sharpened
bands ŷ. Untrained (the LIIF's last layer starts at zero) it is the prior exactly.

Each band is encoded with the mean of all input bands as a second channel, a panchromatic-like guide
that lets one band borrow edges the others show. The LIIF predicts a residual over the band's bicubic
value.

``native_identity`` makes the model the prior at the input's own resolution, where there is no detail
to restore and the bicubic value is the input pixel. ``"fade"`` scales the residual by min(p − 1, 1):
from p = 2 on it is the network as trained. The airborne network, trained without it, lost 0.75 dB to
the prior at p = 1 and gained 0.77–1.06 dB at p = 2 and 4, so its shipped card fades. ``"scaled"``
(by 1 − 1/p, at every p) was a second training run's choice (with a spectral-angle loss term): it did
worse at every p > 1 (benchmarks/results/remote_fidelity.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from geossr.models.bicubic import bicubic_at
from geossr.models.implicit import ImplicitSuperResolver
from geossr.models.registry import register
from geossr.models.linear import SHIPPED_PRIOR, SpectralPrior, interval_sensor, prior_spectral_map
from geossr.spectral.bands import Sensor


NATIVE_IDENTITY = (None, "fade", "scaled")


@dataclass
class EncodedBands:
    codes: torch.Tensor  # (B * c, h, w, hidden): band-major within each image
    image: torch.Tensor  # (B, c, h, w)


@register("the default: learnt spatial SR of each input band (any sensor), then the linear prior")
class PriorSR(ImplicitSuperResolver):
    name = "linear-sr"
    any_input_sensor = True

    def __init__(self, input_sensor: Sensor, prior: str = SHIPPED_PRIOR, native_identity: str | None = None,
                 **implicit_options):
        if native_identity not in NATIVE_IDENTITY:
            raise ValueError(f"native_identity must be one of {', '.join(map(str, NATIVE_IDENTITY))}")
        super().__init__(2, 1, **implicit_options)  # encoder input: (band, mean of bands); output: a residual
        self.prior = SpectralPrior.load(prior)
        self.native_identity = native_identity
        last = self.pixel_mlp.layers[-1]
        torch.nn.init.zeros_(last.weight)
        torch.nn.init.zeros_(last.bias)
        self.use_input_sensor(input_sensor)

    def use_input_sensor(self, sensor: Sensor) -> PriorSR:
        self.prior.responses(sensor, "input")  # refuse a sensor the prior's grid does not cover
        self.input_sensor = sensor
        self.input_bands = len(sensor)
        return self

    def check_output_bands(self, intervals_nm) -> None:
        self.prior.responses(interval_sensor(intervals_nm), "output")

    def halo(self, cell):
        return max(super().halo(cell)[0], 2), 0  # the LIIF's reach, and the cubic kernel's taps

    def encode(self, lr: torch.Tensor) -> EncodedBands:
        self.check_input(lr)
        b, c, h, w = lr.shape
        guide = lr.mean(dim=1, keepdim=True).expand(-1, c, -1, -1)
        pairs = torch.stack([lr, guide], dim=2).reshape(b * c, 2, h, w)
        return EncodedBands(self.codes(pairs), lr)

    def prepare_bands(self, intervals: torch.Tensor):
        matrix, offset, _ = prior_spectral_map(self.prior, self.input_sensor, interval_sensor(intervals))
        return matrix.to(intervals.device), offset.to(intervals.device)

    def decode_bands(self, pixel: torch.Tensor, bands) -> torch.Tensor:
        return pixel

    def query(self, encoded: EncodedBands, pos: torch.Tensor, cell: torch.Tensor, bands) -> torch.Tensor:
        matrix, offset = bands
        b, c = encoded.image.shape[:2]
        residual = super().query(encoded.codes, pos.repeat_interleave(c, dim=0), cell.repeat_interleave(c, dim=0), None)
        residual = residual.reshape(b, c, -1).transpose(1, 2)  # (B, Q, c)
        if self.native_identity:  # cell = 1 / p in input pixels
            inverse_scale = cell.amax(dim=-1, keepdim=True)
            factor = (1 / inverse_scale - 1).clamp(0, 1) if self.native_identity == "fade" else (1 - inverse_scale).clamp(min=0)
            residual = residual * factor.to(residual.dtype)
        sharp = bicubic_at(encoded.image, pos).to(residual.dtype) + residual
        return (sharp @ matrix.T.to(sharp.dtype) + offset.to(sharp.dtype)).clamp(min=0)
