"""The interface every super-resolution model implements.

A model maps a low-resolution input image in its input sensor's bands to a high-resolution image
in any requested band set. Positions are in input-pixel units: input pixel (i, j) spans
[i, i+1) × [j, j+1), so its centre is at (i + 0.5, j + 0.5).

    model.render(lr, rows, cols, intervals, cell) -> (B, C, len(rows), len(cols))

- ``lr``: (B, c, h, w) float tensor, values in [0, 1], c = bands of ``model.input_sensor``;
- ``rows``, ``cols``: 1-D tensors, the output pixel centres in the input's pixel units;
- ``intervals``: (C, 2) target band intervals [λs, λe] in nm (``Sensor.intervals_nm``);
- ``cell``: (height, width) of one output pixel in input pixels (1/p at scale p).

``model(lr, out_size, intervals)`` renders the (H, W) grid that covers the input's extent.
Because a model only sees positions, a window of a scene (with a halo of ``model.halo(cell)``)
renders exactly the pixels the whole scene would: that is what the tiled scene engine relies on.
"""

from __future__ import annotations

import torch
from torch import nn


def grid_centres(out_size: int, in_size: int, device=None) -> torch.Tensor:
    """Centres of ``out_size`` pixels spread over ``in_size`` input pixels, in input-pixel units."""
    return (torch.arange(out_size, dtype=torch.float64, device=device) + 0.5) * (in_size / out_size)


def conv_radius(module: nn.Module) -> int:
    """An upper bound of the receptive-field radius: every convolution's reach, added up.

    Exact for a chain of convolutions (EDSR, RDN); an over-estimate, so still safe, for parallel
    branches (FMNet's basis subnets).
    """
    return sum(
        (m.kernel_size[0] // 2) * m.dilation[0] for m in module.modules() if isinstance(m, nn.Conv2d)
    )


class SuperResolver(nn.Module):
    """Base class: subclasses set ``input_bands`` and implement :meth:`render` and :meth:`halo`."""

    #: registry name, e.g. "ssif"
    name: str = ""
    #: True when the model answers point queries (``query``), i.e. any scale on a per-pixel basis
    implicit: bool = False
    #: (C, 2) band intervals (nm) of a model that produces one band set only (LIIF, FMNet), else None
    fixed_intervals_nm = None
    #: True when the model reads any input sensor given by its responses (``use_input_sensor``)
    any_input_sensor: bool = False

    def __init__(self, input_bands: int):
        super().__init__()
        self.input_bands = input_bands

    @classmethod
    def from_config(cls, input_sensor, **options) -> SuperResolver:
        """The one constructor ``registry.build`` calls: the input sensor (a ``Sensor``) and the config's
        other fields (``output_sensor``, if any, as a ``Sensor`` too). Override where ``__init__`` takes
        other arguments (a band count, intervals)."""
        return cls(input_sensor, **options)

    def check_input(self, lr: torch.Tensor) -> None:
        if lr.ndim != 4 or lr.shape[1] != self.input_bands:
            raise ValueError(
                f"{self.name} expects input of shape (B, {self.input_bands}, h, w), got {tuple(lr.shape)}"
            )

    def render(self, lr, rows, cols, intervals, cell) -> torch.Tensor:
        raise NotImplementedError

    def check_output_bands(self, intervals_nm) -> None:
        """Refuse, before any compute, (C, 2) target band intervals the model cannot make (default: none)."""

    def halo(self, cell: tuple[float, float]) -> tuple[int, int] | None:
        """(input pixels, output pixels) of context a window needs so its centre renders exactly;
        None for a model that cannot be tiled (an output pixel depends on the whole image, as with
        attention over all pixels): the engine then renders the scene as one tile, with a warning."""
        raise NotImplementedError

    def forward(self, lr: torch.Tensor, out_size: tuple[int, int], intervals: torch.Tensor) -> torch.Tensor:
        height, width = lr.shape[-2:]
        rows = grid_centres(out_size[0], height, lr.device)
        cols = grid_centres(out_size[1], width, lr.device)
        return self.render(lr, rows, cols, intervals, (height / out_size[0], width / out_size[1]))

