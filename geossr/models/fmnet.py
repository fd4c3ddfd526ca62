"""FMNet: the pixel-aware deep function-mixture network for spectral super-resolution.

Zhang, Lang, Wang, Wei, Liao, Zhang & Zhang, "Pixel-aware Deep Function-mixture Network for
Spectral Super-Resolution", AAAI 2020. Equation numbers below refer to that paper.
"""

from __future__ import annotations

import torch
from torch import nn

from geossr.models.base import SuperResolver, conv_radius
from geossr.models.bicubic import bicubic_sample
from geossr.models.registry import register
from geossr.models.spectral_interp import apply_spectral_matrix, spectral_interpolation_matrix
from geossr.spectral.bands import SAME_BAND_NM, Sensor, same_bands

#: How far (nm) requested interval ends may lie from the trained ones and still count as the same band.


def _conv(in_channels: int, out_channels: int, kernel_size: int) -> nn.Conv2d:
    # Zero "same" padding keeps the pixel grid; the paper does not say, the authors' code does this.
    return nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2)


def _conv_block(in_channels: int, out_channels: int, kernel_size: int = 3) -> nn.Sequential:
    """The paper's "convolutional block": a convolution followed by a ReLU."""
    return nn.Sequential(_conv(in_channels, out_channels, kernel_size), nn.ReLU(inplace=True))


def _subnet(filters: int, out_channels: int, kernel_size: int, layers: int) -> nn.Sequential:
    """A basis or mixing function: ``layers`` (m) stacked convolutions with ReLUs between.

    The paper stacks m convolutional blocks; the last one has no ReLU here (as in the authors'
    released code) because the output block's basis functions produce a signed residual and the
    mixing function's last layer feeds a softmax, where a ReLU would clip the logits.
    """
    modules = []
    for _ in range(layers - 1):
        modules += [_conv(filters, filters, kernel_size), nn.ReLU(inplace=True)]
    modules.append(_conv(filters, out_channels, kernel_size))
    return nn.Sequential(*modules)


class FMBlock(nn.Module):
    """Function-mixture block (Eq. 1, Fig. 3).

    x̄ = G(x) (a 3×3 convolutional block); basis functions f_i(x̄) with kernel sizes k_i; a
    mixing function w(x̄) giving n pixel-wise weights through a softmax over the n basis
    functions (non-negative, summing to 1); output Σ_i f_i(x̄) ⊙ w(x̄)[i].
    """

    def __init__(self, in_channels: int, out_channels: int, filters: int, kernel_sizes, conv_layers: int):
        super().__init__()
        self.head = _conv_block(in_channels, filters)
        self.basis = nn.ModuleList(_subnet(filters, out_channels, k, conv_layers) for k in kernel_sizes)
        # The mixing function uses 3×3 filters: "the filter size in all other convolutional blocks is 3×3".
        self.mixing = _subnet(filters, len(kernel_sizes), 3, conv_layers)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mixed output (B, out, H, W), mixing weights (B, n, H, W))."""
        features = self.head(x)
        weights = torch.softmax(self.mixing(features), dim=1)
        out = sum(basis(features) * weights[:, i : i + 1] for i, basis in enumerate(self.basis))
        return out, weights


@register("FMNet: spectral SR for fixed sensors; p > 1 on a bicubically upsampled input")
class FMNet(SuperResolver):
    """FMNet (Zhang et al., AAAI 2020) for one fixed pair of input and output sensors.

    FMNet is a spectral super-resolution model: it maps a c-band image (RGB, multispectral) to the
    C bands of ``output_sensor`` pixel by pixel on the same grid. Architecture (Eqs. 2-3, Fig. 2):

    - x: the input linearly interpolated along wavelength from the c input band centres to the
      C output band centres (a fixed C×c matrix; the paper's "spectral interpolation");
    - x₀ = G₀(x), a 3×3 convolutional block (conv + ReLU) with ``filters`` channels;
    - FM blocks F₁ … F_{p−1} in sequence; their outputs are concatenated ([F_{p−1}, …, F₁]) and
      fused by an extra FM block F_c; the output FM block F_p maps the fused features to C bands;
    - y = x + F_p(F_c([…])), a global residual over the spectral interpolation.

    So ``blocks`` = p counts the output block: the paper's default p = 3 means F₁, F₂, F_c and F₃,
    its "4 FM blocks (including F_c and p = 3)". Each FM block has ``n_subnets`` basis functions
    with ``kernel_sizes`` (3, 7, 11) and a 3×3 mixing function, each of ``conv_layers`` (m = 2)
    convolutions with ``filters`` (64) channels.

    Spatial scale: when ``out_size`` differs from the input size (scale p > 1, also fractional),
    the input is first bicubically resampled to ``out_size`` (``align_corners=False``, clamped to
    [0, 1]) and the spectral network runs on that; FMNet itself adds no spatial detail.

    The output bands are fixed by training: ``intervals`` must be the output sensor's band
    intervals (within ``SAME_BAND_NM``), and the input must have the input sensor's band count; otherwise
    ``forward`` raises ``ValueError``. The output is not clamped: the paper trains the raw output
    with an L1 loss.
    """

    name = "fmnet"

    def __init__(
        self,
        input_sensor: Sensor,
        output_sensor: Sensor,
        n_subnets: int = 3,
        kernel_sizes=(3, 7, 11),
        conv_layers: int = 2,
        filters: int = 64,
        blocks: int = 3,
    ):
        super().__init__(len(input_sensor))
        kernel_sizes = tuple(int(k) for k in kernel_sizes)
        if len(kernel_sizes) != n_subnets:
            raise ValueError(f"n_subnets={n_subnets} needs {n_subnets} kernel sizes, got {list(kernel_sizes)}")
        if any(k < 1 or k % 2 == 0 for k in kernel_sizes):
            raise ValueError(f"kernel sizes must be odd and positive (same padding), got {list(kernel_sizes)}")
        if n_subnets < 1 or conv_layers < 1 or filters < 1:
            raise ValueError("n_subnets, conv_layers and filters must be positive")
        if blocks < 2:
            raise ValueError(f"blocks (p) must be at least 2: F_c fuses the outputs of F_1..F_(p-1), got {blocks}")
        self.input_sensor = input_sensor
        self.output_sensor = output_sensor
        self.fixed_intervals_nm = output_sensor.intervals_nm
        bands = len(output_sensor)
        self.register_buffer(
            "spectral_matrix", spectral_interpolation_matrix(input_sensor.centers_nm, output_sensor.centers_nm)
        )
        self.head = _conv_block(bands, filters)
        self.blocks = nn.ModuleList(
            FMBlock(filters, filters, filters, kernel_sizes, conv_layers) for _ in range(blocks - 1)
        )
        self.fusion = FMBlock((blocks - 1) * filters, filters, filters, kernel_sizes, conv_layers)
        self.output_block = FMBlock(filters, bands, filters, kernel_sizes, conv_layers)

    def check_intervals(self, intervals) -> None:
        requested = torch.as_tensor(intervals).detach().cpu().double().numpy()
        trained = self.fixed_intervals_nm
        if same_bands(requested, trained):
            return
        lo, hi = trained[:, 0].min(), trained[:, 1].max()
        raise ValueError(
            f"fmnet was trained for the {len(trained)} bands of sensor {self.output_sensor.name!r} "
            f"({lo:.0f}-{hi:.0f} nm) and can only produce those; the requested intervals "
            f"(shape {requested.shape}) differ by more than {SAME_BAND_NM:g} nm "
            "(use the output sensor's intervals_nm, or a model that takes any bands such as ssif)"
        )

    def halo(self, cell):
        # Bicubic taps in the input; the convolution stack's reach in output pixels.
        return 2, conv_radius(self)

    def render_with_weights(self, lr, rows, cols, intervals, cell) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """The output and the mixing weights (B, n, H, W) of F₁ … F_{p−1}, F_c, F_p, in that order."""
        self.check_input(lr)
        self.check_intervals(intervals)
        x = apply_spectral_matrix(self.spectral_matrix, bicubic_sample(lr, rows, cols))
        features = self.head(x)
        intermediate, weights = [], []
        for block in self.blocks:
            features, w = block(features)
            intermediate.append(features)
            weights.append(w)
        fused, w = self.fusion(torch.cat(intermediate[::-1], dim=1))
        weights.append(w)
        residual, w = self.output_block(fused)
        weights.append(w)
        return x + residual, weights

    def render(self, lr, rows, cols, intervals, cell) -> torch.Tensor:
        return self.render_with_weights(lr, rows, cols, intervals, cell)[0]
