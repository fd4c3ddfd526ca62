"""Building blocks shared by the models: image encoders and MLPs.

The encoders follow LIIF's versions (EDSR-baseline and RDN without their upsampling tails), with
two changes: any number of input bands, and no RGB mean shift (its constants are for sRGB photos).
"""

from __future__ import annotations

import torch
from torch import nn


def conv3x3(in_channels: int, out_channels: int) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, 3, padding=1)


class ResBlock(nn.Module):
    def __init__(self, width: int, res_scale: float = 1.0):
        super().__init__()
        self.body = nn.Sequential(conv3x3(width, width), nn.ReLU(inplace=True), conv3x3(width, width))
        self.res_scale = res_scale

    def forward(self, x):
        return x + self.body(x) * self.res_scale


class EDSRBaseline(nn.Module):
    """EDSR-baseline (Lim et al. 2017) without upsampler: 16 residual blocks of 64 features."""

    def __init__(self, in_channels: int, width: int = 64, blocks: int = 16, res_scale: float = 1.0):
        super().__init__()
        self.out_dim = width
        self.head = conv3x3(in_channels, width)
        self.body = nn.Sequential(*[ResBlock(width, res_scale) for _ in range(blocks)], conv3x3(width, width))

    def forward(self, x):
        x = self.head(x)
        return x + self.body(x)


class _DenseLayer(nn.Module):
    def __init__(self, in_channels: int, growth: int):
        super().__init__()
        self.conv = nn.Sequential(conv3x3(in_channels, growth), nn.ReLU(inplace=True))

    def forward(self, x):
        return torch.cat([x, self.conv(x)], dim=1)


class _RDB(nn.Module):
    """Residual dense block: C densely connected layers, 1x1 local fusion, local residual."""

    def __init__(self, width: int, growth: int, layers: int):
        super().__init__()
        self.dense = nn.Sequential(*[_DenseLayer(width + i * growth, growth) for i in range(layers)])
        self.fuse = nn.Conv2d(width + layers * growth, width, 1)

    def forward(self, x):
        return x + self.fuse(self.dense(x))


class RDN(nn.Module):
    """Residual dense network (Zhang et al. 2018) without upsampler; LIIF's config B is D=16, C=8, G=64."""

    def __init__(self, in_channels: int, width: int = 64, blocks: int = 16, layers: int = 8, growth: int = 64):
        super().__init__()
        self.out_dim = width
        self.shallow1 = conv3x3(in_channels, width)
        self.shallow2 = conv3x3(width, width)
        self.blocks = nn.ModuleList([_RDB(width, growth, layers) for _ in range(blocks)])
        self.global_fusion = nn.Sequential(nn.Conv2d(blocks * width, width, 1), conv3x3(width, width))

    def forward(self, x):
        f1 = self.shallow1(x)
        x = self.shallow2(f1)
        outputs = []
        for block in self.blocks:
            x = block(x)
            outputs.append(x)
        return self.global_fusion(torch.cat(outputs, dim=1)) + f1


ENCODERS = {"edsr-baseline": EDSRBaseline, "rdn": RDN}


def build_encoder(in_channels: int, name: str = "edsr-baseline", **options) -> nn.Module:
    if name not in ENCODERS:
        raise ValueError(f"unknown encoder {name!r}; choose from {', '.join(ENCODERS)}")
    return ENCODERS[name](in_channels, **options)


class MLP(nn.Module):
    """Linear layers with ReLU between them (LIIF's imnet)."""

    def __init__(self, in_dim: int, out_dim: int, hidden: list[int] | tuple[int, ...]):
        super().__init__()
        layers, last = [], in_dim
        for width in hidden:
            layers += [nn.Linear(last, width), nn.ReLU(inplace=True)]
            last = width
        layers.append(nn.Linear(last, out_dim))
        self.layers = nn.Sequential(*layers)

    def forward(self, x):
        return self.layers(x)
