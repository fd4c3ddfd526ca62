"""SSIF: spatial-spectral implicit function (Mai et al., "Spatial-Spectral Implicit Function"; ../shared/papers).

    s(x, Λ_i) = Σ_k ρ_i(λ_ik) · D(E_λ(λ_ik); F_x(E_I(I), x))

- E_I: image encoder (EDSR-baseline or RDN), F_x: LIIF pixel decoder → pixel feature h ∈ R^d;
- E_λ: Space2Vec-style Fourier features of the wavelength (Eq. 9), then an MLP → b ∈ R^d;
- D: the spectral decoder, "D" (h modulates it: with no hidden layer it is the dot product
  b·h) or "C" (an MLP on the concatenation [b, h]) — Appendix A.7;
- (λ_ik, ρ_i(λ_ik)): K wavelengths and weights per band from the variant's sampler
  (M, RF-GS, RF-GF, RF-US, RF-UF; :mod:`geossr.spectral.sampling`).

Where the paper is silent we follow LIIF and say so: the local ensemble blends the pixel
features h of the 4 nearest latent codes (so the spectral decoder runs once per query); the
Fourier scales default to λ_min = 1 nm, λ_max = 1000 nm with T = 32 (the paper gives the form
of Ψ, not these values). In eval mode the stochastic variants draw their wavelengths from a
generator seeded with ``eval_seed``, so inference is deterministic and identical across tiles.
"""

from __future__ import annotations

import torch
from torch import nn

from geossr.models.blocks import MLP
from geossr.models.implicit import ImplicitSuperResolver
from geossr.models.registry import register
from geossr.spectral.sampling import VARIANT_METHODS, sample_wavelengths

DECODERS = ("D", "C")
# At most this many elements in the decoder's (query, band, sample, feature) input at once (64 MB).
_JOINT_ELEMENTS = 1 << 24


class SpectralEncoder(nn.Module):
    """E_λ(λ) = MLP(Ψ(λ)), Ψ(λ) = ⋃_t [sin(λ / (λ_min g^{t/(T−1)})), cos(·)], g = λ_max / λ_min."""

    def __init__(self, out_dim: int, scales: int = 32, min_scale_nm: float = 1.0, max_scale_nm: float = 1000.0,
                 hidden: tuple[int, ...] = (512,)):
        super().__init__()
        growth = max_scale_nm / min_scale_nm
        exponents = torch.arange(scales, dtype=torch.float32) / max(scales - 1, 1)
        self.register_buffer("inverse_scales", 1.0 / (min_scale_nm * growth**exponents), persistent=False)
        self.mlp = MLP(2 * scales, out_dim, list(hidden))

    def forward(self, wavelengths_nm: torch.Tensor) -> torch.Tensor:
        phase = wavelengths_nm.unsqueeze(-1) * self.inverse_scales
        return self.mlp(torch.cat([torch.sin(phase), torch.cos(phase)], dim=-1))


@register("SSIF: any scale, any band set; variants " + ", ".join(VARIANT_METHODS) + "; decoders D, C")
class SSIF(ImplicitSuperResolver):
    name = "ssif"

    @classmethod
    def from_config(cls, input_sensor, **options) -> SSIF:
        return cls(len(input_sensor), **options)

    def __init__(
        self,
        input_bands: int,
        variant: str = "RF-UF",
        decoder: str = "D",
        samples: int = 16,
        pixel_dim: int = 256,
        decoder_hidden: tuple[int, ...] = (),
        spectral: dict | None = None,
        eval_seed: int = 0,
        **implicit_options,
    ):
        if variant not in VARIANT_METHODS:
            raise ValueError(f"unknown SSIF variant {variant!r}; choose from {', '.join(VARIANT_METHODS)}")
        if decoder not in DECODERS:
            raise ValueError(f"unknown SSIF decoder {decoder!r}; choose from {', '.join(DECODERS)}")
        super().__init__(input_bands, pixel_dim, **implicit_options)
        self.variant, self.decoder, self.eval_seed = variant, decoder, eval_seed
        self.samples = 1 if variant == "M" else samples
        self.spectral_encoder = SpectralEncoder(pixel_dim, **(spectral or {}))
        if decoder == "D":
            # With no hidden layer, D(b; h) = b · h exactly (the paper's one-layer case).
            self.spectral_head = MLP(pixel_dim, 1, list(decoder_hidden)) if decoder_hidden else None
        else:
            self.spectral_head = MLP(2 * pixel_dim, 1, list(decoder_hidden or (256, 256)))

    def prepare_bands(self, intervals: torch.Tensor):
        """Sample K wavelengths per band once per forward; embed them."""
        generator = None
        if not self.training:
            generator = torch.Generator().manual_seed(self.eval_seed)
        wavelengths, weights = sample_wavelengths(intervals.float().cpu(), self.samples, self.variant, generator)
        device = next(self.parameters()).device
        embedding = self.spectral_encoder(wavelengths.to(device))  # (C, K, d)
        return embedding, weights.to(device)

    def decode_bands(self, pixel: torch.Tensor, bands) -> torch.Tensor:
        embedding, weights = bands
        if self.decoder == "D" and self.spectral_head is None:
            # Σ_k ρ_k (b_k · h) = (Σ_k ρ_k b_k) · h: one weighted embedding per band.
            return pixel @ (weights.unsqueeze(-1) * embedding).sum(dim=1).T
        # The decoder sees every (query, band, sample) triple: bound that tensor's size.
        b, q, d = pixel.shape
        c, k, _ = embedding.shape
        step = max(1, _JOINT_ELEMENTS // (b * c * k * d * (1 if self.decoder == "D" else 2)))
        return torch.cat([self._decode_joint(pixel[:, i : i + step], embedding, weights)
                          for i in range(0, q, step)], dim=1)

    def _decode_joint(self, pixel, embedding, weights):
        b, q, d = pixel.shape
        c, k, _ = embedding.shape
        if self.decoder == "D":
            joint = pixel[:, :, None, None, :] * embedding  # (B, Q, C, K, d)
        else:
            joint = torch.cat([pixel[:, :, None, None, :].expand(b, q, c, k, d),
                               embedding.expand(b, q, c, k, d)], dim=-1)
        values = self.spectral_head(joint).squeeze(-1)  # (B, Q, C, K)
        return (values * weights).sum(dim=-1)
