"""SSIF with a band-agnostic input: one model for any multispectral input sensor.

SSIF's output side is already continuous in wavelength; :mod:`geossr.models.band_stem` makes the
input side continuous too. Everything after the stem — image encoder, LIIF pixel decoder,
spectral encoder and decoder — is SSIF's.

One change on the output side: the model predicts a residual on top of the no-training baseline
(bicubic in space, linear interpolation between the input band centres in wavelength), so a band
value is baseline(x, Λ_i) + Σ_k ρ_i(λ_ik) · D(λ_ik; h). Why: trained from scratch, the plain
model had to relearn from a pooled, order-free stem how bright each pixel is, and after the
4000-step budget it sat 8 dB below bicubic on the held-out scene (benchmarks/results/anysensor.md
at commit 62a482f); with the baseline carried through, the network only adds what interpolation
misses. The spectral encoder's last layer starts at zero, so an untrained model is the baseline.

``outside_input="factor"``: for requested bands whose centre lies outside the input's span (lowest
to highest band edge), the correction is a factor on the baseline, baseline · exp(Σ_k ρ_i · D), not an
offset. Why: there the baseline repeats the outermost input band, and an offset learnt for every
pixel drove dark pixels below zero (the additive model trained on Jasper Ridge alone, from Landsat 8
on SAMSON: 44-50 % of the 406-416 nm values, correlation with the truth 0.2-0.4 against flat
extrapolation's 0.98). A factor keeps them non-negative and keeps that band's spatial pattern.
Inside the span the offset stays: a factor everywhere (tried) lost 0.8 / 0.45 dB on the ROSIS crop.

``outside_input="anchored"``: the factor applies to the model's own prediction at the span's edge
(a narrow band just inside it, queried beside the requested ones) instead of the flat baseline, and
its log ramps in from 0 over the first RAMP_NM past the edge, so a spectrum is continuous there.
Why: with ``factor``, the inside offset and the outside factor meet with a step where the inside
prediction departs from the outermost band's value (real Sentinel-2 vegetation: 0.020 to 0.003 at
B02's 459 nm lower edge). Alone it scaled a clipped 0 where dense vegetation's edge prediction
went below zero, hence ``inside_input="positive"`` with it in the shipped config.

``inside_input="positive"``: inside the span a negative correction is taken relative to the
baseline, b · exp(r / b), a positive one stays b + r: the same slope at r = 0, never below zero.
Why: with the offset, dense vegetation's red trough and its blue near B02's edge came out at 0
(clipped) where the input bands say 0.016 and 0.020.

``baseline="prior"``: the baseline is the ``linear`` model (geossr/models/linear.py: bicubic in space, the
linear MMSE estimate from airborne spectra in wavelength) instead of linear interpolation between the
input band centres, so an untrained model is the prior and the network learns what the prior misses.
The prior extrapolates past the input's span from the spectra's covariance, so it goes with
``outside_input="offset"``.

The model holds a current input sensor (``model.input_sensor``), set with
:meth:`AnySensorSSIF.use_input_sensor`; the tiled engine, the consistency projection and
``geossr upsample`` read it like any model's. Training sets it per batch.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from geossr.models.band_stem import BandStem, StemmedEncoder
from geossr.models.bicubic import baseline_spectral_matrix, bicubic_at
from geossr.models.limits import input_span_nm, inside_input_span
from geossr.models.registry import register
from geossr.models.linear import SHIPPED_PRIOR, SpectralPrior, interval_sensor, prior_spectral_map
from geossr.models.ssif import SSIF
from geossr.spectral.bands import Sensor


OUTSIDE_INPUT = ("offset", "factor", "anchored")
BASELINES = ("interpolation", "prior")
INSIDE_INPUT = ("offset", "positive")
# "positive": the baseline below which a negative correction is taken relative to it (guards r / b).
POSITIVE_FLOOR = 1e-6
# The factor's log is bounded (e^4 ≈ 55 either way): a wavelength nothing anchors cannot explode.
MAX_LOG_FACTOR = 4.0
# "anchored": the edge bands' width, and the distance past the edge over which the factor ramps in.
ANCHOR_NM, RAMP_NM = 5.0, 20.0


class OutsideBands(NamedTuple):
    """Which of the C requested bands take a factor, and for ``anchored`` on what: ``anchor`` indexes the
    edge band each one scales (appended past the C requested ones), ``ramp`` scales its log-factor
    (distance past the edge / RAMP_NM, at most 1). ``factor`` scales each band's own baseline (None, None)."""

    mask: torch.Tensor
    anchor: torch.Tensor | None = None
    ramp: torch.Tensor | None = None


class EncodedInput(NamedTuple):
    """What a query needs: the pixel codes and the input image the baseline is sampled from."""

    codes: torch.Tensor
    image: torch.Tensor


@register("SSIF for any input sensor (bands given by their responses): any scale, any band set")
class AnySensorSSIF(SSIF):
    name = "ssif-any"

    @classmethod
    def from_config(cls, input_sensor, **options) -> AnySensorSSIF:
        return cls(input_sensor, **options)  # its own sensor, not SSIF's band count
    any_input_sensor = True  # any sensor whose bands lie in its trained spectral range

    def __init__(self, input_sensor: Sensor, stem_channels: int = 32, stem_embed_dim: int = 64,
                 stem_hidden: int = 64, stem_spectral: dict | None = None, outside_input: str = "offset",
                 inside_input: str = "offset", baseline: str = "interpolation", prior: str = SHIPPED_PRIOR,
                 **ssif_options):
        if outside_input not in OUTSIDE_INPUT:
            raise ValueError(f"outside_input must be one of {', '.join(OUTSIDE_INPUT)}, got {outside_input!r}")
        if inside_input not in INSIDE_INPUT:
            raise ValueError(f"inside_input must be one of {', '.join(INSIDE_INPUT)}, got {inside_input!r}")
        if baseline not in BASELINES:
            raise ValueError(f"baseline must be one of {', '.join(BASELINES)}, got {baseline!r}")
        if baseline == "prior" and outside_input != "offset":
            raise ValueError("baseline 'prior' extrapolates past the input's span itself: use outside_input 'offset'")
        super().__init__(stem_channels, **ssif_options)
        self.prior = SpectralPrior.load(prior) if baseline == "prior" else None
        self.outside_input = outside_input
        self.inside_input = inside_input
        stem = BandStem(stem_channels, stem_embed_dim, stem_hidden, stem_spectral)
        self.encoder = StemmedEncoder(stem, self.encoder)
        last = self.spectral_encoder.mlp.layers[-1]
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
        self.use_input_sensor(input_sensor)

    def use_input_sensor(self, sensor: Sensor) -> AnySensorSSIF:
        """Take input in ``sensor``'s bands from now on (same weights)."""
        if self.prior is not None:
            self.prior.responses(sensor, "input")  # refuse a sensor the prior's grid does not cover
        self.encoder.stem.use_sensor(sensor)
        self.input_sensor = sensor
        self.input_bands = len(sensor)
        return self

    def encode(self, lr: torch.Tensor) -> EncodedInput:
        return EncodedInput(super().encode(lr), lr)

    def prepare_bands(self, intervals: torch.Tensor):
        """SSIF's sampled wavelengths, the baseline's spectral interpolation matrix and, when some requested
        bands lie outside the input's span and take a factor, an :class:`OutsideBands` (else None). For
        ``anchored`` the two edge bands are appended to the C requested ones."""
        outside = None
        inside = None if self.outside_input == "offset" else inside_input_span(
            self.input_sensor, intervals.detach().cpu().numpy())
        if inside is not None and not inside.all():
            mask = torch.from_numpy(~inside).to(intervals.device)
            if self.outside_input == "factor":
                outside = OutsideBands(mask)
            else:
                low, high = input_span_nm(self.input_sensor)
                centres = intervals.detach().cpu().double().mean(dim=1)
                below = centres < low
                anchor = torch.where(below, len(inside), len(inside) + 1)
                ramp = (torch.where(below, low - centres, centres - high) / RAMP_NM).clamp(0, 1).float()
                outside = OutsideBands(mask, anchor.to(intervals.device), ramp.to(intervals.device))
                edges = torch.tensor([[low, low + ANCHOR_NM], [high - ANCHOR_NM, high]], dtype=intervals.dtype)
                intervals = torch.cat([intervals, edges.to(intervals.device)])
        if self.prior is None:
            matrix, offset = baseline_spectral_matrix(self.input_sensor, intervals), None
        else:
            matrix, offset, _ = prior_spectral_map(self.prior, self.input_sensor, interval_sensor(intervals))
            offset = offset.to(intervals.device)
        return super().prepare_bands(intervals), matrix.to(intervals.device), outside, offset

    def query(self, encoded: EncodedInput, pos: torch.Tensor, cell: torch.Tensor, bands) -> torch.Tensor:
        spectral, matrix, outside, offset = bands
        residual = super().query(encoded.codes, pos, cell, spectral)
        baseline = (bicubic_at(encoded.image, pos) @ matrix.T.to(encoded.image.dtype)).to(residual.dtype)
        if offset is not None:  # the prior: affine, and clipped at 0 as its own output is
            baseline = (baseline + offset.to(residual.dtype)).clamp(min=0)
        corrected = baseline + residual
        if self.inside_input == "positive":
            # b + r for r >= 0, b · exp(r / b) below: the same slope at r = 0, never below zero. The
            # exponent is clamped at 0 so the branch torch.where drops cannot overflow into NaN gradients.
            floor = baseline.clamp(min=POSITIVE_FLOOR)
            shrunk = floor * torch.exp(residual.clamp(max=0) / floor)
            corrected = torch.where(residual >= 0, corrected, shrunk)
        if outside is None:
            return corrected
        if outside.anchor is None:  # factor: on the baseline, in [0, 1] (clamped bicubic, convex in λ)
            scaled, log_factor = baseline, residual
        else:  # anchored: on the prediction at the edge, clipped at 0 as the output is
            count = len(outside.mask)
            scaled, log_factor = corrected.clamp(min=0)[..., outside.anchor], outside.ramp * residual[..., :count]
            corrected = corrected[..., :count]
        factor = scaled * torch.exp(log_factor.clamp(-MAX_LOG_FACTOR, MAX_LOG_FACTOR))
        return torch.where(outside.mask, factor, corrected)
