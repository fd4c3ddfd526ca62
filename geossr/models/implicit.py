"""LIIF's local implicit image function, the pixel decoder F_x shared by LIIF and SSIF.

Chen, Liu & Wang, "Learning Continuous Image Representation with Local Implicit Image Function"
(CVPR 2021). A query point gets the latent codes of its 4 nearest input pixels (local
ensemble), each with the 3x3 neighbourhood of features concatenated (feature unfolding), the
relative coordinate from that code's pixel centre and the query's cell size (cell decoding); an
MLP maps each to a vector and the 4 vectors are blended with the areas of the diagonally
opposite rectangles, as in LIIF's reference code (we blend the inputs of the MLP's last, linear
layer and apply it once: the weights sum to 1, so it is the same function for less work).

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

# Queries per chunk. On a CPU the chunk's temporaries (4 ensemble members x chunk x hidden floats)
# should stay near the cache, and per-chunk overheads stay small. With 128-wide hidden layers a 256 px
# tile at scale 2 rendered in 0.177 s with 4096, 0.192 s with 2048 and 0.211 s with 8192 (medians of
# 10 interleaved rounds on a 2-core AVX-512 machine); wider layers take proportionally fewer queries,
# keeping those temporaries at 8 MiB: the 256-wide RGB model ran a 2048² -> 4096² scene in 67.4 / 68.3 s
# with 2048 queries vs 73.0 / 75.9 s with 4096 (interleaved runs). Accelerators want large chunks.
CPU_QUERY_CHUNK = 4096
CPU_QUERY_CHUNK_WIDTH = 128  # the hidden width CPU_QUERY_CHUNK is for
DEVICE_QUERY_CHUNK = 16384
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
        query_chunk: int | None = None,
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
        """Per-input-pixel codes already through the pixel MLP's first linear layer: (B, h, w, hidden).

        That layer is linear in [unfolded features, rel, cell]. Its feature part applied to the
        3x3-unfolded map is a 3x3 convolution, so it runs once per input pixel here instead of
        once per (query, ensemble member) — at scale 2 each code serves 16 of those — and each
        query then gathers one contiguous row (channels-last) instead of the 9C-wide unfolded one.
        Same function and weights as LIIF's; only the order of the sums changes.
        """
        self.check_input(lr)
        return self.codes(lr)

    def codes(self, image: torch.Tensor) -> torch.Tensor:
        """:meth:`encode` without the input check, for models that reshape their input first."""
        # channels-last: oneDNN's fastest convolution layout on CPUs, and the layout the queries gather from
        feat = self.encoder(image.contiguous(memory_format=torch.channels_last))
        first = self.pixel_mlp.layers[0]
        size = 3 if self.feat_unfold else 1
        code_inputs = feat.shape[1] * size * size
        kernel = first.weight[:, :code_inputs].reshape(-1, feat.shape[1], size, size)
        codes = F.conv2d(feat, kernel, first.bias, padding=size // 2)
        return codes.permute(0, 2, 3, 1).contiguous()

    def pixel_features(self, codes: torch.Tensor, pos: torch.Tensor, cell: torch.Tensor) -> torch.Tensor:
        """(B, Q, pixel_dim) at positions (B, Q, 2) with cells (B, Q, 2), both in input pixels."""
        b, h, w, hidden = codes.shape
        first = self.pixel_mlp.layers[0]
        code_inputs = first.in_features - 2 - (2 if self.cell_decode else 0)
        w_geometry = first.weight[:, code_inputs:].T  # rel (and cell) part of the first layer
        image_offset = (torch.arange(b, device=pos.device) * (h * w)).unsqueeze(1)
        limits = torch.tensor([h - 1, w - 1], device=pos.device)
        # The ensemble members' code offsets (-0.5/+0.5 px in y, then x), all members at once: (M, B, Q, ...)
        offsets = [-0.5, 0.5] if self.local_ensemble else [0.0]
        shifts = torch.tensor([[dy, dx] for dy in offsets for dx in offsets], dtype=pos.dtype, device=pos.device)
        index = torch.floor(pos + shifts.view(-1, 1, 1, 2) + _EPS_PX).long().clamp_(min=0).minimum(limits)
        rel = 2 * (pos - (index + 0.5))
        geometry = torch.cat([rel, (2 * cell).expand_as(rel)], dim=-1) if self.cell_decode else rel
        areas = torch.abs(rel[..., 0] * rel[..., 1]) + 1e-9
        # All ensemble members in one gather and one tensor, so each hidden layer is one large GEMM;
        # the geometry term is added in place: no per-member copies of the hidden layer.
        flat_index = index[..., 0] * w + index[..., 1] + image_offset
        first_out = codes.reshape(b * h * w, hidden).index_select(0, flat_index.reshape(-1))
        geometry = geometry.reshape(first_out.shape[0], -1).to(first_out.dtype)
        first_out.addmm_(geometry, w_geometry.to(first_out.dtype))
        # The MLP's last layer is linear and the blend weights sum to 1, so blending its inputs
        # and applying it once equals LIIF's blend of its outputs, for a quarter of its work.
        layers = self.pixel_mlp.layers
        body, last = (layers[1:-1], layers[-1]) if len(layers) > 1 else (layers[1:], torch.nn.Identity())
        members = body(first_out).view(len(shifts), b * pos.shape[1], -1)
        if not self.local_ensemble:
            return last(members[0]).view(b, pos.shape[1], -1)
        # each code is weighted by the area of the diagonally opposite rectangle
        weights = (areas.flip(0) / areas.sum(dim=0)).to(members.dtype).view(len(shifts), -1, 1)
        blended = members[0] * weights[0]
        for member, weight in zip(members[1:], weights[1:]):
            blended.addcmul_(member, weight)
        return last(blended).view(b, pos.shape[1], -1)

    def decode_bands(self, pixel: torch.Tensor, bands) -> torch.Tensor:
        """(B, Q, pixel_dim) -> (B, Q, C) band values for the prepared bands."""
        raise NotImplementedError

    def prepare_bands(self, intervals: torch.Tensor):
        """Per-forward spectral state (e.g. sampled wavelengths), shared by every query chunk."""
        return intervals

    def chunk_size(self, device: torch.device) -> int:
        """Queries per chunk: ``query_chunk`` when set, else the device's default (on a CPU, for the
        pixel MLP's widest hidden layer)."""
        if self.query_chunk:
            return self.query_chunk
        if device.type != "cpu":
            return DEVICE_QUERY_CHUNK
        widest = max(layer.out_features for layer in self.pixel_mlp.layers if isinstance(layer, torch.nn.Linear))
        return max(256, CPU_QUERY_CHUNK * CPU_QUERY_CHUNK_WIDTH // widest)

    def query(self, codes: torch.Tensor, pos: torch.Tensor, cell: torch.Tensor, bands) -> torch.Tensor:
        """Band values at query positions, in chunks of ``chunk_size`` points to bound memory."""
        outputs = []
        chunk = self.chunk_size(pos.device)
        for start in range(0, pos.shape[1], chunk):
            stop = start + chunk
            pixel = self.pixel_features(codes, pos[:, start:stop], cell[:, start:stop])
            outputs.append(self.decode_bands(pixel, bands))
        return torch.cat(outputs, dim=1)

    def render(self, lr, rows, cols, intervals, cell) -> torch.Tensor:
        codes = self.encode(lr)
        batch = lr.shape[0]
        pos = torch.stack(torch.meshgrid(rows, cols, indexing="ij"), dim=-1).reshape(1, -1, 2)
        pos = pos.to(lr.device).expand(batch, -1, -1)
        cells = torch.tensor(cell, dtype=torch.float64, device=lr.device).expand_as(pos)
        values = self.query(codes, pos, cells, self.prepare_bands(torch.as_tensor(intervals).to(lr.device)))
        return values.permute(0, 2, 1).reshape(batch, -1, len(rows), len(cols))
