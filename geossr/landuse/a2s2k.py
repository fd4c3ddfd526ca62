"""A2S2K-ResNet (Roy et al., IEEE TGRS 2020): attention-based adaptive spectral-spatial kernel ResNet.

Input: (B, 1, H, W, bands) patches. Layout, with 24 kernels throughout the 3-D part:

1. two spectral-spatial branches, kernels (1,1,7) and (3,3,7), spectral stride 2, each BN + ReLU;
2. selective-kernel (SK) attention fuses them: U = sum of branches, s = global average of U,
   z = ReLU(FC(s)), then **one projection per branch** a_k = FC_k(z), softmax over branches per
   channel, V = sum_k a_k * branch_k. (The widely copied public code projects z once and feeds
   the same logits to both branches, so its softmax is always 0.5/0.5; the paper has one per branch.)
3. two spectral residual blocks, kernels (1,1,7), each with ECA channel attention;
4. a (1,1,b') conv collapsing the remaining b' spectral samples into 128 channels;
5. the 128 channels become the spectral axis of a single-channel volume, and a (3,3,128) conv
   brings them back to 24 kernels;
6. two spatial residual blocks, kernels (3,3,1), with ECA;
7. global average pooling and a linear classifier.

The public code's final pooling is a fixed 5x5 window (its 7x7 patches shrink to 5x5); global
average pooling is the same there and works for any patch size (11x11 here).
"""

from __future__ import annotations

import math

import torch
from torch import nn

KERNELS = 24
COLLAPSED = 128
SPECTRAL_KERNEL, SPECTRAL_STRIDE = 7, 2


def eca_kernel_size(channels: int, gamma: int = 2, b: int = 1) -> int:
    """ECA-Net's adaptive 1-D kernel size: the odd number nearest |log2(C)/gamma + b/gamma|."""
    t = int(abs(math.log2(channels) / gamma + b / gamma))
    return t if t % 2 else t + 1


class ECA(nn.Module):
    """Efficient channel attention: a 1-D conv across the channels' global averages, then a sigmoid."""

    def __init__(self, channels: int):
        super().__init__()
        k = eca_kernel_size(channels)
        self.conv = nn.Conv1d(1, 1, k, padding=k // 2, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weights = torch.sigmoid(self.conv(x.mean(dim=(2, 3, 4))[:, None, :]))  # (B, 1, C)
        return x * weights[:, 0, :, None, None, None]


class Residual(nn.Module):
    """Pre-activation residual block of the A2S2K code: BN-ReLU-conv-BN-ReLU-conv, ECA, skip.

    ``first`` skips the opening BN-ReLU (the input is already normalised) and normalises the
    output of the second conv instead; ``last`` closes with BN-ReLU after the skip.
    """

    def __init__(self, kernel: tuple[int, int, int], padding: tuple[int, int, int], first=False, last=False):
        super().__init__()
        self.first, self.last = first, last
        self.pre = nn.Identity() if first else nn.Sequential(nn.BatchNorm3d(KERNELS), nn.ReLU())
        self.conv1 = nn.Conv3d(KERNELS, KERNELS, kernel, padding=padding)
        self.mid = nn.Sequential(nn.BatchNorm3d(KERNELS), nn.ReLU())
        self.conv2 = nn.Conv3d(KERNELS, KERNELS, kernel, padding=padding)
        self.post_conv = nn.BatchNorm3d(KERNELS) if first else nn.Identity()
        self.eca = ECA(KERNELS)
        self.post_skip = nn.Sequential(nn.BatchNorm3d(KERNELS), nn.ReLU()) if last else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv2(self.mid(self.conv1(self.pre(x))))
        out = self.eca(self.post_conv(out))
        return self.post_skip(out + x)


class SelectiveKernel(nn.Module):
    """SK fusion of the two branches, with a separate projection (and so separate logits) per branch."""

    def __init__(self, branches: int = 2, reduction: int = 2):
        super().__init__()
        hidden = max(KERNELS // reduction, 8)
        self.squeeze = nn.Sequential(nn.Linear(KERNELS, hidden), nn.ReLU())
        self.project = nn.ModuleList(nn.Linear(hidden, KERNELS) for _ in range(branches))
        self.last_attention: torch.Tensor | None = None

    def forward(self, branches: list[torch.Tensor]) -> torch.Tensor:
        stacked = torch.stack(branches, dim=1)  # (B, K, C, H, W, b)
        z = self.squeeze(stacked.sum(dim=1).mean(dim=(2, 3, 4)))  # (B, hidden)
        attention = torch.softmax(torch.stack([p(z) for p in self.project], dim=1), dim=1)  # (B, K, C)
        self.last_attention = attention.detach()
        return (stacked * attention[..., None, None, None]).sum(dim=1)


class A2S2KResNet(nn.Module):
    def __init__(self, bands: int, classes: int):
        super().__init__()
        if bands < SPECTRAL_KERNEL:
            raise ValueError(f"A2S2K-ResNet needs at least {SPECTRAL_KERNEL} bands, got {bands}")
        self.bands, self.classes = bands, classes
        stride = (1, 1, SPECTRAL_STRIDE)
        self.branch_1x1 = nn.Sequential(
            nn.Conv3d(1, KERNELS, (1, 1, SPECTRAL_KERNEL), stride=stride), nn.BatchNorm3d(KERNELS), nn.ReLU())
        self.branch_3x3 = nn.Sequential(
            nn.Conv3d(1, KERNELS, (3, 3, SPECTRAL_KERNEL), stride=stride, padding=(1, 1, 0)),
            nn.BatchNorm3d(KERNELS), nn.ReLU())
        self.sk = SelectiveKernel()
        self.spectral = nn.Sequential(Residual((1, 1, 7), (0, 0, 3), first=True), Residual((1, 1, 7), (0, 0, 3)))
        remaining = (bands - SPECTRAL_KERNEL) // SPECTRAL_STRIDE + 1
        self.collapse = nn.Sequential(nn.Conv3d(KERNELS, COLLAPSED, (1, 1, remaining)),
                                      nn.BatchNorm3d(COLLAPSED), nn.ReLU())
        self.spatial_in = nn.Sequential(nn.Conv3d(1, KERNELS, (3, 3, COLLAPSED)), nn.BatchNorm3d(KERNELS), nn.ReLU())
        self.spatial = nn.Sequential(Residual((3, 3, 1), (1, 1, 0)), Residual((3, 3, 1), (1, 1, 0), last=True))
        self.classifier = nn.Linear(KERNELS, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 5 or x.shape[1] != 1 or x.shape[-1] != self.bands or min(x.shape[2:4]) < 3:
            raise ValueError(f"expected (B, 1, H>=3, W>=3, {self.bands}) patches, got {tuple(x.shape)}")
        fused = self.sk([self.branch_1x1(x), self.branch_3x3(x)])
        collapsed = self.collapse(self.spectral(fused))  # (B, 128, H, W, 1)
        spatial = self.spatial(self.spatial_in(collapsed.permute(0, 4, 2, 3, 1)))  # (B, 24, H-2, W-2, 1)
        return self.classifier(spatial.mean(dim=(2, 3, 4)))
