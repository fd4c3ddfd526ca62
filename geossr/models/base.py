"""The interface every super-resolution model implements.

A model maps a low-resolution input image in its input sensor's bands to a high-resolution image
in any requested band set:

    model(lr, out_size, intervals) -> (B, C, H, W)

- ``lr``: (B, c, h, w) float tensor, values in [0, 1], c = bands of ``model.input_sensor``;
- ``out_size``: (H, W) of the output; the output covers the same extent as the input, so the
  spatial scale is H/h (any float; output pixel centres at (i + 0.5)·h/H − 0.5 input pixels);
- ``intervals``: (C, 2) target band intervals [λs, λe] in nm (``Sensor.intervals_nm``).

Implicit models (SSIF, LIIF) also answer point queries, which training uses to sample a subset
of high-resolution pixels and which keep memory bounded (``query_chunk``).
"""

from __future__ import annotations

import torch
from torch import nn


def make_coord(shape: tuple[int, int], device=None, flatten: bool = True) -> torch.Tensor:
    """Pixel-centre coordinates of an (H, W) grid in [-1, 1]², (row, col) order (as in LIIF)."""
    seqs = [(-1 + 1 / n) + (2 / n) * torch.arange(n, dtype=torch.float32, device=device) for n in shape]
    grid = torch.stack(torch.meshgrid(*seqs, indexing="ij"), dim=-1)
    return grid.reshape(-1, 2) if flatten else grid


def make_cell(shape: tuple[int, int], count: int, device=None) -> torch.Tensor:
    """The (count, 2) size of one output pixel in [-1, 1]² units (LIIF's cell decoding)."""
    cell = torch.tensor([2 / shape[0], 2 / shape[1]], dtype=torch.float32, device=device)
    return cell.expand(count, 2)


class SuperResolver(nn.Module):
    """Base class: subclasses set ``input_bands`` and implement :meth:`forward`."""

    #: registry name, e.g. "ssif"
    name: str = ""
    #: True when the model answers point queries (``query``), i.e. any scale on a per-pixel basis
    implicit: bool = False
    #: (C, 2) band intervals (nm) of a model that produces one band set only (LIIF, FMNet), else None
    fixed_intervals_nm = None

    def __init__(self, input_bands: int):
        super().__init__()
        self.input_bands = input_bands

    def check_input(self, lr: torch.Tensor) -> None:
        if lr.ndim != 4 or lr.shape[1] != self.input_bands:
            raise ValueError(
                f"{self.name} expects input of shape (B, {self.input_bands}, h, w), got {tuple(lr.shape)}"
            )

    def forward(self, lr: torch.Tensor, out_size: tuple[int, int], intervals: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError
