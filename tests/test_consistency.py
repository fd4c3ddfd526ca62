"""Physical consistency: re-integration through the input sensor, and the --consistency projection."""

import numpy as np
import pytest
import rasterio
import torch

from geossr.forward.consistency import covered_input_bands, input_response, project_to_input, reintegrate
from geossr.data import evaluation_pairs, load_dataset, target_sensor_from_intervals
from geossr.models import build
from geossr.scene.engine import upsample
from geossr.scene.io import open_raster
from geossr.scene.simulate import integrate_bands, simulate
from geossr.spectral.integration import response_matrix
from geossr.spectral.sensors import load_sensor

IKONOS = "ikonos:blue,green,red,nir"
# Covers the IKONOS responses (tabulated 350-1035 nm), so outputs can be re-integrated to IKONOS.
WIDE = "grid:350:1050:35"
PARTIAL = "grid:450:850:12"


@pytest.fixture(scope="module")
def ikonos_scene(rosis_example):
    """Real ROSIS spectra seen by IKONOS, cut to 61 x 77 so that no size is round."""
    data = open_raster(rosis_example)
    ms = integrate_bands(data, response_matrix(load_sensor("rosis"), load_sensor(IKONOS)))
    return ms.isel(y=slice(0, 61), x=slice(0, 77))


def test_projection_reproduces_the_input_and_is_the_smallest_change(shared_data):
    (pair,) = evaluation_pairs(load_dataset("cave", shared_data, "test")[:1], "nikon_d700", 4, 31, crop=96)
    response = input_response(target_sensor_from_intervals(pair["intervals"].numpy()), load_sensor("nikon_d700"))
    lr = pair["lr"].double()
    guess = torch.nn.functional.interpolate(lr, scale_factor=4, mode="bicubic").mean(1, keepdim=True).repeat(1, 31, 1, 1)
    projected = project_to_input(guess, lr, response)
    assert torch.allclose(reintegrate(projected, response, lr.shape[-2:]), lr, atol=1e-9)
    # The true cube nearly reproduces the input (its 31 target bands are not exactly the cube's own).
    truth = pair["hr"].double()
    assert (reintegrate(truth, response, lr.shape[-2:]) - lr).abs().max() < 1e-3
    # Least change: no other image that reproduces the input is closer to the guess.
    other = project_to_input(truth, lr, response)
    assert torch.allclose(reintegrate(other, response, lr.shape[-2:]), lr, atol=1e-9)
    assert torch.linalg.norm(projected - guess) < torch.linalg.norm(other - guess)
    # An image that already reproduces the input is left alone.
    assert torch.allclose(project_to_input(other, lr, response), other, atol=1e-9)


@pytest.mark.parametrize("scale", [2.0, 3.0])
def test_consistent_tiles_equal_the_whole_scene_projection(ikonos_scene, scale):
    torch.manual_seed(0)
    model = build("ssif", input_sensor=IKONOS, variant="RF-GS", pixel_dim=16,
                  encoder={"name": "edsr-baseline", "width": 8, "blocks": 2}, pixel_hidden=[16])
    target = load_sensor(WIDE)
    whole = upsample(ikonos_scene, scale, target, model, tile=10_000, consistency=True).values
    tiled = upsample(ikonos_scene, scale, target, model, tile=37, consistency=True).values
    plain = upsample(ikonos_scene, scale, target, model, tile=10_000).values
    assert np.abs(whole - tiled).max() < 1e-5
    assert np.abs(whole - plain).max() > 1e-2  # the projection did change the output
    # ...and the whole-scene result re-integrates to the input (up to the clip at 0).
    lr = torch.from_numpy(ikonos_scene.values).double()[None]
    again = reintegrate(torch.from_numpy(whole).double()[None], input_response(target, model.input_sensor), lr.shape[-2:])
    before = reintegrate(torch.from_numpy(plain).double()[None], input_response(target, model.input_sensor), lr.shape[-2:])
    assert (again - lr).abs().max() < 0.1 * (before - lr).abs().max()


def test_cli_consistency_on_a_held_out_scene(cave_example, tmp_path, run_geossr):
    from geossr.metrics import psnr

    simulate(cave_example, "nikon_d700", tmp_path / "rgb.tif", scale=4)
    with rasterio.open(cave_example) as src:
        cube = src.read().astype(np.float64) * src.scales[0]
    target = load_sensor("grid:400:700:30")
    reference = np.tensordot(response_matrix(load_sensor("cave31"), target), cube, axes=1)
    scores = {}
    for name, extra in {"plain": [], "consistent": ["--consistency"]}.items():
        result = run_geossr("upsample", "rgb.tif", "-p", "4", "-s", "grid:400:700:30", "-o", f"{name}.tif", "-q", *extra,
                        cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        with rasterio.open(tmp_path / f"{name}.tif") as out:
            scores[name] = psnr(np.clip(out.read(), 0, 1), reference)
            assert out.tags()["GEOSSR_CONSISTENCY"] == ("none" if name == "plain" else "projected onto the input bands red,green,blue")
    assert scores["consistent"] > scores["plain"], scores


def test_projection_onto_the_input_bands_the_output_holds(ikonos_scene):
    # 450-850 nm holds IKONOS green and red but not all of blue (15 % outside) or NIR (14 %).
    torch.manual_seed(0)
    model = build("ssif", input_sensor=IKONOS, variant="RF-GS", pixel_dim=16,
                  encoder={"name": "edsr-baseline", "width": 8, "blocks": 2}, pixel_hidden=[16])
    target = load_sensor(PARTIAL)
    assert covered_input_bands(target, load_sensor(IKONOS)) == [1, 2]
    lr = torch.from_numpy(ikonos_scene.values).double()[None]
    response = input_response(target, load_sensor(IKONOS).select(["green", "red"]))
    errors = {}
    for name, consistency in {"plain": False, "consistent": True}.items():
        out = torch.from_numpy(upsample(ikonos_scene, 2.0, target, model, consistency=consistency).values).double()
        errors[name] = (reintegrate(out[None], response, lr.shape[-2:]) - lr[:, 1:3]).abs().max()
    assert errors["consistent"] < 0.1 * errors["plain"], errors


def test_cli_consistency_names_the_input_bands_it_leaves_out(rosis_example, tmp_path, run_geossr):
    simulate(rosis_example, IKONOS, tmp_path / "ms.tif", scale=4)
    result = run_geossr("upsample", "ms.tif", "-p", "2", "-s", PARTIAL, "-o", "o.tif", "--consistency", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "input bands blue, nir reach beyond the output bands" in result.stderr
    with rasterio.open(tmp_path / "o.tif") as out:
        assert out.tags()["GEOSSR_CONSISTENCY"] == "projected onto the input bands green,red"


def test_cli_consistency_needs_bands_holding_an_input_band(rosis_example, tmp_path, run_geossr):
    simulate(rosis_example, IKONOS, tmp_path / "ms.tif", scale=4)
    result = run_geossr("upsample", "ms.tif", "-p", "2", "-s", "grid:600:640:4", "-o", "o.tif", "--consistency",
                        cwd=tmp_path)
    lines = result.stderr.strip().splitlines()
    assert result.returncode != 0 and len(lines) == 1 and "--consistency needs output bands" in lines[0], result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ms.tif"]
