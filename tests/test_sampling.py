"""SSIF wavelength sampling (variants M, RF-GS, RF-GF, RF-US, RF-UF)."""

import pytest
import torch

from geossr.spectral.sampling import METHODS, VARIANT_METHODS, sample_wavelengths
from geossr.spectral.sensors import load_sensor

INTERVALS = torch.tensor([[400.0, 410.0], [430.0, 460.0], [700.0, 702.0]])


@pytest.mark.parametrize("method", METHODS)
def test_shapes_bounds_and_weights(method):
    wl, w = sample_wavelengths(INTERVALS, 16, method, torch.Generator().manual_seed(0))
    k = 1 if method == "midpoint" else 16
    assert wl.shape == w.shape == (3, k)
    assert torch.all(wl >= INTERVALS[:, :1]) and torch.all(wl <= INTERVALS[:, 1:])
    assert torch.allclose(w.sum(-1), torch.ones(3))


def test_variant_names_map_to_methods():
    assert VARIANT_METHODS == {"M": "midpoint", "RF-GS": "gaussian_stochastic", "RF-GF": "gaussian_fixed",
                               "RF-US": "uniform_stochastic", "RF-UF": "uniform_fixed"}
    wl, _ = sample_wavelengths(INTERVALS, 4, "M")
    assert wl[:, 0].tolist() == [405.0, 445.0, 701.0]


def test_fixed_methods_use_subinterval_middles():
    wl, w = sample_wavelengths(INTERVALS[:1], 5, "uniform_fixed")
    assert wl[0].tolist() == pytest.approx([401, 403, 405, 407, 409])
    assert w[0].tolist() == pytest.approx([0.2] * 5)
    wl_g, w_g = sample_wavelengths(INTERVALS[:1], 5, "gaussian_fixed")
    assert torch.equal(wl_g, wl)
    # σ = width/6: weights ∝ exp(-z²/2) with z = (λ-405)/(10/6).
    z = (wl_g[0] - 405) / (10 / 6)
    expected = torch.exp(-0.5 * z**2)
    assert torch.allclose(w_g[0], expected / expected.sum())


def test_stochastic_methods_are_seeded_and_follow_their_distribution():
    big = torch.tensor([[400.0, 460.0]])
    a = sample_wavelengths(big, 20000, "RF-GS", torch.Generator().manual_seed(3))[0]
    b = sample_wavelengths(big, 20000, "RF-GS", torch.Generator().manual_seed(3))[0]
    assert torch.equal(a, b)
    # Truncated N(430, 10²) at ±3σ: mean 430, std ≈ 9.87.
    assert a.mean().item() == pytest.approx(430, abs=0.3)
    assert a.std().item() == pytest.approx(9.87, abs=0.2)
    u = sample_wavelengths(big, 20000, "RF-US", torch.Generator().manual_seed(3))[0]
    assert u.mean().item() == pytest.approx(430, abs=0.5)
    assert u.std().item() == pytest.approx(60 / 12**0.5, abs=0.3)


def test_batched_leading_dimensions_and_sensor_intervals():
    intervals = torch.as_tensor(load_sensor("rosis").intervals_nm, dtype=torch.float32)
    batch = intervals.expand(8, -1, -1)
    wl, w = sample_wavelengths(batch, 7, "RF-GS", torch.Generator().manual_seed(0))
    assert wl.shape == (8, 102, 7)
    assert not torch.equal(wl[0], wl[1])  # each batch item draws its own wavelengths


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown sampling method"):
        sample_wavelengths(INTERVALS, 4, "RF-XX")
    with pytest.raises(ValueError, match="K must be"):
        sample_wavelengths(INTERVALS, 0, "RF-UF")
    with pytest.raises(ValueError, match="start <= end"):
        sample_wavelengths(torch.tensor([[410.0, 400.0]]), 4, "RF-UF")
