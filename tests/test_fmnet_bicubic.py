"""FMNet (paper configuration) and the bicubic + linear-spectral baseline."""

import json

import numpy as np
import pytest
import torch

from geossr.models import build
from geossr.models.base import grid_centres

from geossr.models.bicubic import BicubicBaseline
from geossr.models.fmnet import FMNet
from geossr.models.spectral_interp import spectral_interpolation_matrix
from geossr.spectral.bands import Band, Sensor
from geossr.spectral.sensors import load_sensor

# FMNet with the paper's defaults (p = 3, n = 3, k = 3/7/11, m = 2, 64 filters), nikon_d700 -> cave31:
# G0 17,920 + F1, F2 1,542,339 each + Fc 1,579,203 + F3 1,164,192 (31 output channels).
PAPER_PARAMETERS = 5_845_993


@pytest.fixture(scope="module")
def rgb():
    return load_sensor("nikon_d700")


@pytest.fixture(scope="module")
def cave():
    return load_sensor("cave31")


@pytest.fixture(scope="module")
def fmnet(rgb, cave):
    torch.manual_seed(0)
    return build("fmnet", input_sensor=rgb, output_sensor=cave)


def intervals_of(sensor):
    return torch.tensor(sensor.intervals_nm, dtype=torch.float32)


def assert_same_config(rebuilt, model):
    """Equal options; sensors equal up to float rounding (a tabulated curve is renormalised on load)."""
    sensors = ("input_sensor", "output_sensor")
    assert {k: v for k, v in rebuilt.config.items() if k not in sensors} == {
        k: v for k, v in model.config.items() if k not in sensors
    }
    for key in sensors:
        a, b = getattr(rebuilt, key), getattr(model, key)
        assert a.name == b.name and a.band_names == b.band_names
        np.testing.assert_allclose(a.centers_nm, b.centers_nm, rtol=1e-12)
        np.testing.assert_allclose(a.intervals_nm, b.intervals_nm, rtol=1e-12)


def test_fmnet_parameter_count(fmnet):
    assert sum(p.numel() for p in fmnet.parameters()) == PAPER_PARAMETERS
    # 4 FM blocks (F1, F2, Fc, F3), each with 3 basis functions and one mixing function.
    assert len(fmnet.blocks) == 2 and len(fmnet.fusion.basis) == 3
    assert [b[0].kernel_size[0] for b in fmnet.blocks[0].basis] == [3, 7, 11]


@pytest.mark.parametrize("size, out_size", [((6, 7), (6, 7)), ((4, 4), (10, 10)), ((6, 4), (15, 10))])
def test_fmnet_output_shape(fmnet, cave, size, out_size):
    lr = torch.rand(2, 3, *size)
    with torch.no_grad():
        out = fmnet(lr, out_size, intervals_of(cave))
    assert out.shape == (2, 31, *out_size) and torch.isfinite(out).all()


def test_fmnet_gradients_reach_every_parameter(fmnet, cave):
    fmnet.zero_grad()
    out = fmnet(torch.rand(2, 3, 4, 4), (6, 6), intervals_of(cave))
    out.square().mean().backward()
    missing = [n for n, p in fmnet.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not missing
    fmnet.zero_grad()


def test_fmnet_mixing_weights_are_a_pixelwise_softmax(fmnet, cave):
    with torch.no_grad():
        centres = grid_centres(5, 5)
        out, weights = fmnet.render_with_weights(torch.rand(1, 3, 5, 5), centres, centres, intervals_of(cave), (1, 1))
    assert len(weights) == 4  # F1, F2, Fc, F3
    for w in weights:
        assert w.shape == (1, 3, 5, 5) and (w >= 0).all()
        torch.testing.assert_close(w.sum(dim=1), torch.ones(1, 5, 5))


def test_fmnet_is_a_residual_over_the_spectral_interpolation(rgb, cave):
    model = FMNet(rgb, cave, filters=4, kernel_sizes=(3, 5, 7))
    for block in (*model.blocks, model.fusion, model.output_block):
        for basis in block.basis:
            torch.nn.init.zeros_(basis[-1].weight)
            torch.nn.init.zeros_(basis[-1].bias)
    lr = torch.rand(1, 3, 4, 4)
    expected = torch.einsum("oi,bihw->bohw", spectral_interpolation_matrix(rgb.centers_nm, cave.centers_nm), lr)
    torch.testing.assert_close(model(lr, (4, 4), intervals_of(cave)), expected)


def test_fmnet_rejects_other_bands_and_inputs(fmnet, rgb, cave):
    lr = torch.rand(1, 3, 4, 4)
    shifted = intervals_of(cave) + 2.0
    with pytest.raises(ValueError, match="cave31"):
        fmnet(lr, (4, 4), shifted)
    with pytest.raises(ValueError, match="31 bands"):
        fmnet(lr, (4, 4), intervals_of(cave)[:30])
    with pytest.raises(ValueError, match="expects input"):
        fmnet(torch.rand(1, 4, 4, 4), (4, 4), intervals_of(cave))
    # Sub-tolerance differences (rounding in a stored config) are the same bands.
    with torch.no_grad():
        fmnet(lr, (4, 4), intervals_of(cave) + 0.3)


def test_fmnet_config_round_trip(fmnet, cave):
    rebuilt = build(**json.loads(json.dumps(fmnet.config)))
    assert_same_config(rebuilt, fmnet)
    rebuilt.load_state_dict(fmnet.state_dict())
    for (name, a), (name_b, b) in zip(fmnet.state_dict().items(), rebuilt.state_dict().items()):
        assert name == name_b and torch.equal(a, b)
    lr = torch.rand(1, 3, 5, 5)
    with torch.no_grad():
        assert torch.equal(fmnet(lr, (8, 8), intervals_of(cave)), rebuilt(lr, (8, 8), intervals_of(cave)))


def test_fmnet_config_keeps_a_custom_sensor(rgb):
    custom = Sensor("custom4", tuple(Band.gaussian(f"b{i}", 450 + 60 * i, 20) for i in range(4)))
    model = build("fmnet", input_sensor=rgb, output_sensor=custom, n_subnets=2, kernel_sizes=(3, 5), filters=8,
                  blocks=2)
    rebuilt = build(**json.loads(json.dumps(model.config)))
    assert_same_config(rebuilt, model)
    assert rebuilt.output_sensor.name == "custom4"


def test_fmnet_rejects_inconsistent_config(rgb, cave):
    with pytest.raises(ValueError, match="kernel sizes"):
        FMNet(rgb, cave, n_subnets=2)
    with pytest.raises(ValueError, match="odd"):
        FMNet(rgb, cave, kernel_sizes=(3, 4, 5))
    with pytest.raises(ValueError, match="at least 2"):
        FMNet(rgb, cave, blocks=1)


def test_spectral_interpolation_matrix_orders_and_clamps():
    matrix = spectral_interpolation_matrix([600.0, 500.0], [450.0, 525.0, 600.0, 650.0])
    expected = torch.tensor([[0.0, 1.0], [0.25, 0.75], [1.0, 0.0], [1.0, 0.0]])
    torch.testing.assert_close(matrix, expected)


def test_bicubic_constant_linear_spectrum_is_exact(rgb, cave):
    model = BicubicBaseline(rgb)
    assert sum(p.numel() for p in model.parameters()) == 0

    def spectrum(nm):  # linear in wavelength, within [0, 1] over 380-720 nm
        return 0.2 + 0.002 * (nm - 460.0)

    lr = torch.tensor(spectrum(rgb.centers_nm), dtype=torch.float32)[None, :, None, None].expand(1, 3, 5, 5)
    with torch.no_grad():
        out = model(lr.contiguous(), (12, 12), intervals_of(cave))
    centres = cave.intervals_nm.mean(axis=1)
    lo, hi = rgb.centers_nm.min(), rgb.centers_nm.max()
    inside = (centres >= lo) & (centres <= hi)
    assert inside.sum() == 13  # 470 ... 590 nm
    expected = torch.tensor(spectrum(centres[inside]), dtype=torch.float32)[:, None, None].expand(13, 12, 12)
    torch.testing.assert_close(out[0, inside], expected, atol=1e-6, rtol=0)
    # Outside the input range the edge band's value is held.
    torch.testing.assert_close(out[0, centres < lo], torch.full_like(out[0, centres < lo], spectrum(lo)))
    torch.testing.assert_close(out[0, centres > hi], torch.full_like(out[0, centres > hi], spectrum(hi)))


@pytest.mark.parametrize("bands, size, scale", [(1, (7, 5), 1.0), (17, (6, 9), 2.5), (120, (4, 4), 3.3)])
def test_bicubic_any_bands_and_scale_in_unit_range(rgb, bands, size, scale):
    torch.manual_seed(1)
    lr = (torch.rand(2, 3, *size) > 0.5).float()  # a hard 0/1 pattern, where cubic overshoot is largest
    out_size = (round(size[0] * scale), round(size[1] * scale))
    starts = torch.linspace(380, 900, bands)
    intervals = torch.stack([starts, starts + 10], dim=1)
    with torch.no_grad():
        out = BicubicBaseline(rgb)(lr, out_size, intervals)
    assert out.shape == (2, bands, *out_size)
    assert out.min() >= 0 and out.max() <= 1


def test_bicubic_config_round_trip(rgb):
    model = build("bicubic", input_sensor=rgb)
    rebuilt = build(**json.loads(json.dumps(model.config)))
    lr = torch.rand(1, 3, 4, 4)
    intervals = torch.tensor([[400.0, 420.0], [500.0, 600.0]])
    assert torch.equal(model(lr, (9, 9), intervals), rebuilt(lr, (9, 9), intervals))
    with pytest.raises(ValueError, match="shape"):
        model(lr, (9, 9), torch.tensor([400.0, 500.0]))
