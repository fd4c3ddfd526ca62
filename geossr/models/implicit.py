"""LIIF's local implicit image function, the pixel decoder F_x shared by LIIF and SSIF.

Chen, Liu & Wang, "Learning Continuous Image Representation with Local Implicit Image Function"
(CVPR 2021). A query point gets the latent codes of its 4 nearest input pixels (local
ensemble), each with the 3x3 neighbourhood of features concatenated (feature unfolding), the
relative coordinate from that code's pixel centre and the query's cell size (cell decoding); an
MLP maps each to a vector and the 4 vectors are blended with the areas of the diagonally
opposite rectangles, as in LIIF's reference code.

LIIF works in [-1, 1] image coordinates; we work in input pixels and feed the MLP the same
numbers LIIF does (its relative coordinate and cell are twice the pixel-unit values). Picking
codes by pixel index instead of by normalised coordinate makes a window of a scene give exactly
the values of the whole scene, which the tiled engine needs.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from geossr.models.base import SuperResolver, conv_radius
from geossr.models.blocks import MLP, build_encoder

DEFAULT_QUERY_CHUNK = 16384
# LIIF's eps_shift, in pixels: breaks ties when a query sits exactly between two codes.
_EPS_PX = 1e-6


class ImplicitSuperResolver(SuperResolver):
    """Encoder + LIIF pixel decoder; subclasses turn the pixel vector into band values."""

    implicit = True

    def __init__(
        self,
        input_bands: int,
        pixel_dim: int,
        encoder: dict | None = None,
        pixel_hidden: tuple[int, ...] = (256, 256, 256, 256),
        feat_unfold: bool = True,
        local_ensemble: bool = True,
        cell_decode: bool = True,
        query_chunk: int = DEFAULT_QUERY_CHUNK,
    ):
        super().__init__(input_bands)
        encoder = dict(encoder or {"name": "edsr-baseline"})
        self.encoder = build_encoder(input_bands, **encoder)
        self.feat_unfold, self.local_ensemble, self.cell_decode = feat_unfold, local_ensemble, cell_decode
        in_dim = self.encoder.out_dim * (9 if feat_unfold else 1) + 2 + (2 if cell_decode else 0)
        self.pixel_mlp = MLP(in_dim, pixel_dim, list(pixel_hidden))
        self.query_chunk = query_chunk

    def halo(self, cell):
        # The encoder's reach, the 3x3 unfolding and the neighbouring code of the local ensemble.
        return conv_radius(self.encoder) + 2, 0

    def encode(self, lr: torch.Tensor) -> torch.Tensor:
        self.check_input(lr)
        feat = self.encoder(lr)
        if self.feat_unfold:
            b, c, h, w = feat.shape
            feat = F.unfold(feat, 3, padding=1).view(b, c * 9, h, w)
        return feat

    def pixel_features(self, feat: torch.Tensor, pos: torch.Tensor, cell: torch.Tensor) -> torch.Tensor:
        """(B, Q, pixel_dim) at positions (B, Q, 2) with cells (B, Q, 2), both in input pixels."""
        b, channels, h, w = feat.shape
        flat = feat.reshape(b, channels, h * w)
        limits = torch.tensor([h - 1, w - 1], device=pos.device)
        shifts = [-0.5, 0.5] if self.local_ensemble else [0.0]
        preds, areas = [], []
        for dy in shifts:
            for dx in shifts:
                shift = torch.tensor([dy, dx], dtype=pos.dtype, device=pos.device)
                index = torch.floor(pos + shift + _EPS_PX).long().clamp_(min=0).minimum(limits)
                picked = index[..., 0] * w + index[..., 1]  # (B, Q)
                q_feat = torch.gather(flat, 2, picked.unsqueeze(1).expand(b, channels, -1)).permute(0, 2, 1)
                rel = 2 * (pos - (index + 0.5))
                inputs = [q_feat, rel.to(feat.dtype)]
                if self.cell_decode:
                    inputs.append(2 * cell.to(feat.dtype))
                preds.append(self.pixel_mlp(torch.cat(inputs, dim=-1)))
                areas.append(torch.abs(rel[..., 0] * rel[..., 1]).to(feat.dtype) + 1e-9)
        if not self.local_ensemble:
            return preds[0]
        total = torch.stack(areas).sum(dim=0)
        areas = areas[::-1]  # each code is weighted by the area of the diagonally opposite rectangle
        return sum(pred * (area / total).unsqueeze(-1) for pred, area in zip(preds, areas))

    def decode_bands(self, pixel: torch.Tensor, bands) -> torch.Tensor:
        """(B, Q, pixel_dim) -> (B, Q, C) band values for the prepared bands."""
        raise NotImplementedError

    def prepare_bands(self, intervals: torch.Tensor):
        """Per-forward spectral state (e.g. sampled wavelengths), shared by every query chunk."""
        return intervals

    def query(self, feat: torch.Tensor, pos: torch.Tensor, cell: torch.Tensor, bands) -> torch.Tensor:
        """Band values at query positions, in chunks of ``query_chunk`` points to bound memory."""
        outputs = []
        for start in range(0, pos.shape[1], self.query_chunk):
            stop = start + self.query_chunk
            pixel = self.pixel_features(feat, pos[:, start:stop], cell[:, start:stop])
            outputs.append(self.decode_bands(pixel, bands))
        return torch.cat(outputs, dim=1)

    def render(self, lr, rows, cols, intervals, cell) -> torch.Tensor:
        feat = self.encode(lr)
        batch = lr.shape[0]
        pos = torch.stack(torch.meshgrid(rows, cols, indexing="ij"), dim=-1).reshape(1, -1, 2)
        pos = pos.to(lr.device).expand(batch, -1, -1)
        cells = torch.tensor(cell, dtype=torch.float64, device=lr.device).expand_as(pos)
        values = self.query(feat, pos, cells, self.prepare_bands(torch.as_tensor(intervals).to(lr.device)))
        return values.permute(0, 2, 1).reshape(batch, -1, len(rows), len(cols))
