"""A band-agnostic input stem: any number of input bands, in any order, each known by its response.

Design. Band i of the input is described by its spectral response ρ_i and embedded with the SSIF
wavelength-encoder family, integrated over the band as SSIF integrates output bands:

    e_i = Σ_k ρ_i(λ_ik) · E(λ_ik)         (K wavelengths on the band's interval, ρ normalised to sum 1)

with E the Fourier-feature MLP of :class:`geossr.models.ssif.SpectralEncoder` (its own weights:
it describes what a band measures, not what to output). Averaging Fourier features over the
response makes a broad band's embedding lose the fast-oscillating terms a narrow one keeps, so
centre, width and shape all reach e_i; a tabulated curve counts with its real shape.

Each pixel value v_i(x) of band i is lifted by a per-band affine map generated from e_i,
followed by a ReLU: u_i(x) = ReLU(v_i(x) · a(e_i) + b(e_i)). The lifted bands are pooled by a
mean over bands, then mixed by a shared linear layer into the encoder's input channels:

    F(x) = W · (1/C) Σ_i u_i(x)

- Permutation invariance: a sum over bands has no order, and each band carries its own response,
  so shuffling bands together with their responses cannot change F (a DeepSets encoder; the
  convolutional image encoder after it is the "ρ" network that models interactions between
  bands, e.g. a NIR/red contrast, since everything downstream sees the pooled features).
- Any band count: a mean, not a sum, keeps F on one scale from 2 to 8+ bands, and nothing in the
  stem has a size tied to C.
- Why not attention: with the band's value entering each u_i, the mean of ReLU features is
  already a universal set function (DeepSets) and costs O(C) per pixel with no softmax over a
  handful of bands; the loop over bands keeps memory at one (B, hidden, h, w) map.
- A 1x1 stem (no spatial kernel) leaves the encoder's receptive field, hence the tiled
  engine's halo, unchanged.

The stem keeps the current input sensor's sampled responses as buffers (not in the state dict):
:meth:`BandStem.use_sensor` sets them, so the same weights serve every sensor.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from geossr.spectral.bands import Sensor

#: wavelengths sampled per input band for its embedding
RESPONSE_SAMPLES = 16


def response_samples(sensor: Sensor, samples: int = RESPONSE_SAMPLES) -> tuple[np.ndarray, np.ndarray]:
    """(C, K) wavelengths (middles of K equal parts of each band's interval) and ρ there, normalised per band."""
    wavelengths, weights = [], []
    offsets = (np.arange(samples) + 0.5) / samples
    for band in sensor.bands:
        lo, hi = band.interval_nm
        grid = lo + (hi - lo) * offsets
        rho = band.response(grid)
        if not rho.sum() > 0:  # a band narrower than the sampling step: its centre says it all
            grid, rho = np.full(samples, band.center_nm), np.ones(samples)
        wavelengths.append(grid)
        weights.append(rho / rho.sum())
    return np.array(wavelengths), np.array(weights)


class BandStem(nn.Module):
    """(B, C, h, w) values of the current sensor's C bands → (B, out_channels, h, w), invariant to band order."""

    def __init__(self, out_channels: int, embed_dim: int = 64, hidden: int = 64, spectral: dict | None = None):
        from geossr.models.ssif import SpectralEncoder

        super().__init__()
        self.out_channels = out_channels
        self.band_encoder = SpectralEncoder(embed_dim, **(spectral or {}))
        self.lift = nn.Linear(embed_dim, 2 * hidden)  # a(e), b(e)
        self.mix = nn.Conv2d(hidden, out_channels, 1)
        self.register_buffer("wavelengths", torch.zeros(0, RESPONSE_SAMPLES), persistent=False)
        self.register_buffer("weights", torch.zeros(0, RESPONSE_SAMPLES), persistent=False)

    def use_sensor(self, sensor: Sensor) -> None:
        wavelengths, weights = response_samples(sensor)
        device = self.lift.weight.device
        self.wavelengths = torch.as_tensor(wavelengths, dtype=torch.float32, device=device)
        self.weights = torch.as_tensor(weights, dtype=torch.float32, device=device)

    def band_embeddings(self) -> torch.Tensor:
        """(C, embed_dim): e_i = Σ_k ρ_i(λ_ik) E(λ_ik)."""
        return (self.weights.unsqueeze(-1) * self.band_encoder(self.wavelengths)).sum(dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] != self.wavelengths.shape[0]:
            raise ValueError(f"the stem is set for {self.wavelengths.shape[0]} bands, the input has {x.shape[1]}")
        scale, shift = self.lift(self.band_embeddings()).to(x.dtype).chunk(2, dim=-1)  # (C, hidden) each
        pooled = 0
        for i in range(x.shape[1]):
            pooled = pooled + torch.relu(x[:, i : i + 1] * scale[i, :, None, None] + shift[i, :, None, None])
        return self.mix(pooled / x.shape[1])


class StemmedEncoder(nn.Module):
    """The band stem followed by an image encoder (EDSR/RDN) built for the stem's channels."""

    def __init__(self, stem: BandStem, encoder: nn.Module):
        super().__init__()
        self.stem, self.encoder = stem, encoder
        self.out_dim = encoder.out_dim

    def forward(self, x):
        return self.encoder(self.stem(x))
