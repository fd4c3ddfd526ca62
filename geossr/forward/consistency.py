"""Physical consistency: does an output, seen through the input sensor, reproduce the input?

The input was (in the simulation that defines every training pair) the scene integrated through
the input sensor's responses and spatially degraded: lr = A(hr) with A = spatial ∘ spectral, both
linear (``geossr.forward.degrade``). ``reintegrate`` applies A to a model output; the difference to
the input is the output's physical inconsistency.

``project_to_input`` is the least-squares correction that removes it: the smallest change δ
(in the Euclidean norm) with A(pred + δ) = lr, δ = A⁺(lr − A(pred)). A is a Kronecker product
of the spectral matrix and the two per-axis spatial operators, so its pseudo-inverse is the
product of theirs (each a small matrix). The correction is global along each axis; it is meant
for whole images (evaluation, scenes that fit in memory).
"""

from __future__ import annotations

import torch

from geossr.forward.degrade import downsampling_matrix, spatial_downsample, spectral_matrix
from geossr.spectral.bands import Sensor
from geossr.spectral.integration import DEFAULT_COVERAGE_TOLERANCE, uncovered_fraction


def input_response(output_sensor: Sensor, input_sensor: Sensor,
                   tolerance: float = DEFAULT_COVERAGE_TOLERANCE) -> torch.Tensor:
    """(input bands, C) matrix integrating an output in ``output_sensor``'s C bands to the input sensor.

    ``tolerance``: the share of an input band's response allowed outside the output bands.
    """
    return spectral_matrix(output_sensor, input_sensor, tolerance).double()


def covered_input_bands(output_sensor: Sensor, input_sensor: Sensor,
                        tolerance: float = DEFAULT_COVERAGE_TOLERANCE) -> list[int]:
    """Indices of the input bands whose response the output bands hold (all but ``tolerance`` of it):
    the bands an output can be re-integrated to, and projected onto."""
    return [i for i, share in enumerate(uncovered_fraction(output_sensor, input_sensor)) if share <= tolerance]


def reintegrate(pred: torch.Tensor, response: torch.Tensor, low_size: tuple[int, int]) -> torch.Tensor:
    """A(pred): (B, C, H, W) output → (B, c, h, w) as the input sensor would record it."""
    spectral = torch.einsum("mc,bchw->bmhw", response.to(pred.dtype), pred)
    return spatial_downsample(spectral, low_size)


def project_to_input(pred: torch.Tensor, lr: torch.Tensor, response: torch.Tensor) -> torch.Tensor:
    """pred + A⁺(lr − A(pred)): the closest image to ``pred`` that reintegrates exactly to ``lr``."""
    pred64, lr64 = pred.double(), lr.double()
    height, width = pred.shape[-2:]
    residual = lr64 - reintegrate(pred64, response, lr.shape[-2:])
    along_y = torch.linalg.pinv(torch.from_numpy(downsampling_matrix(height, lr.shape[-2])))
    along_x = torch.linalg.pinv(torch.from_numpy(downsampling_matrix(width, lr.shape[-1])))
    spatial = along_y @ residual @ along_x.T
    correction = torch.einsum("cm,bmhw->bchw", torch.linalg.pinv(response.double()), spatial)
    return (pred64 + correction).to(pred.dtype)
