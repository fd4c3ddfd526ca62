"""LIIF's local implicit image function, the pixel decoder F_x shared by LIIF and SSIF.

Chen, Liu & Wang, "Learning Continuous Image Representation with Local Implicit Image Function"
(CVPR 2021). A query point x in [-1, 1]² gets the latent codes of its 4 nearest input pixels
(local ensemble), each with the 3x3 neighbourhood of features concatenated (feature unfolding),
the relative coordinate x − x_code (in input-pixel units) and the query cell size (cell
decoding); an MLP maps each to a vector and the 4 vectors are blended with the areas of the
opposite rectangles, as in LIIF's reference code.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from geossr.models.base import SuperResolver, make_cell, make_coord
from geossr.models.blocks import MLP, build_encoder

DEFAULT_QUERY_CHUNK = 16384


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

    def encode(self, lr: torch.Tensor) -> torch.Tensor:
        self.check_input(lr)
        feat = self.encoder(lr)
        if self.feat_unfold:
            b, c, h, w = feat.shape
            feat = F.unfold(feat, 3, padding=1).view(b, c * 9, h, w)
        return feat

    def pixel_features(self, feat: torch.Tensor, coord: torch.Tensor, cell: torch.Tensor) -> torch.Tensor:
        """(B, Q, pixel_dim) for query coordinates (B, Q, 2) and cells (B, Q, 2)."""
        h, w = feat.shape[-2:]
        shifts = [-1, 1] if self.local_ensemble else [0]
        eps = 1e-6 if self.local_ensemble else 0.0
        rx, ry = 1 / h, 1 / w  # half an input pixel in [-1, 1] units
        feat_coord = make_coord((h, w), feat.device, flatten=False).permute(2, 0, 1)
        feat_coord = feat_coord.unsqueeze(0).expand(feat.shape[0], 2, h, w)
        preds, areas = [], []
        for vx in shifts:
            for vy in shifts:
                shifted = coord.clone()
                shifted[..., 0] += vx * rx + eps
                shifted[..., 1] += vy * ry + eps
                shifted.clamp_(-1 + 1e-6, 1 - 1e-6)
                grid = shifted.flip(-1).unsqueeze(1)  # grid_sample wants (x, y)
                q_feat = F.grid_sample(feat, grid, mode="nearest", align_corners=False)[:, :, 0].permute(0, 2, 1)
                q_coord = F.grid_sample(feat_coord, grid, mode="nearest", align_corners=False)[:, :, 0].permute(0, 2, 1)
                rel_coord = (coord - q_coord) * torch.tensor([h, w], device=coord.device, dtype=coord.dtype)
                inputs = [q_feat, rel_coord]
                if self.cell_decode:
                    inputs.append(cell * torch.tensor([h, w], device=cell.device, dtype=cell.dtype))
                preds.append(self.pixel_mlp(torch.cat(inputs, dim=-1)))
                areas.append(torch.abs(rel_coord[..., 0] * rel_coord[..., 1]) + 1e-9)
        if not self.local_ensemble:
            return preds[0]
        total = torch.stack(areas).sum(dim=0)
        areas = areas[::-1]  # each code is weighted by the area of the diagonally opposite rectangle
        return sum(pred * (area / total).unsqueeze(-1) for pred, area in zip(preds, areas))

    def decode_bands(self, pixel: torch.Tensor, intervals: torch.Tensor) -> torch.Tensor:
        """(B, Q, pixel_dim) -> (B, Q, C) band values for the (C, 2) intervals."""
        raise NotImplementedError

    def prepare_bands(self, intervals: torch.Tensor):
        """Per-forward spectral state (e.g. sampled wavelengths), shared by every query chunk."""
        return intervals

    def query(self, feat: torch.Tensor, coord: torch.Tensor, cell: torch.Tensor, bands) -> torch.Tensor:
        """Band values at query points, in chunks of ``query_chunk`` points to bound memory."""
        outputs = []
        for start in range(0, coord.shape[1], self.query_chunk):
            stop = start + self.query_chunk
            pixel = self.pixel_features(feat, coord[:, start:stop], cell[:, start:stop])
            outputs.append(self.decode_bands(pixel, bands))
        return torch.cat(outputs, dim=1)

    def forward(self, lr: torch.Tensor, out_size: tuple[int, int], intervals: torch.Tensor) -> torch.Tensor:
        feat = self.encode(lr)
        height, width = out_size
        coord = make_coord((height, width), lr.device).unsqueeze(0).expand(lr.shape[0], -1, -1)
        cell = make_cell((height, width), coord.shape[1], lr.device).unsqueeze(0).expand(lr.shape[0], -1, -1)
        values = self.query(feat, coord, cell, self.prepare_bands(intervals.to(lr.device)))
        return values.permute(0, 2, 1).reshape(lr.shape[0], -1, height, width)
