"""`geossr upsample` with the shipped any-sensor SSIF (`--model ssif-any`), and bad input."""

import json

import numpy as np
import pytest
import rasterio

from geossr.scene.simulate import simulate

S2_PATCH = "geotiff/s2_l2a_bigearthnet_T29UPU_20180421/S2B_MSIL2A_20180421T114349_41_4_10m.tif"
L8_CROP = "geotiff/landsat8_sr_LC08_232066_20190727/LC08_232066_20190727_SR_B2-B7.tif"
S2_BANDS = "sentinel2_msi:B02,B03,B04,B08"


@pytest.mark.slow
def test_sentinel2_falls_back_to_the_any_sensor_model_and_says_so(shared_data, run_geossr, tmp_path):
    # No Sentinel-2 SSIF weights: --model ssif takes the any-sensor SSIF and names it.
    result = run_geossr("upsample", shared_data / S2_PATCH, "-p", "2", "-s", "grid:450:850:8", "--input-sensor",
                        S2_BANDS, "-m", "ssif", "-o", "sr.tif", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (summary,) = json.loads(result.stdout)
    assert summary["model"] == "ssif-any" and summary["weights"] == "ssif_anysensor_default"
    note = "no ssif weights for input sensor sentinel2_msi:B02,B03,B04,B08: using the any-sensor model"
    assert summary["model_note"].startswith(note) and note in result.stderr
    with rasterio.open(tmp_path / "sr.tif") as out:
        tags = out.tags()
        assert tags["GEOSSR_MODEL"] == "ssif-any" and tags["GEOSSR_WEIGHTS"] == "ssif_anysensor_default"
        assert tags["GEOSSR_INPUT_BANDS"] == "B02,B03,B04,B08"
        values = out.read()
    assert values.shape == (8, 240, 240) and np.isfinite(values).all() and values.max() < 1.5
    # Vegetation dominates the patch (NDVI from B04/B08: mean 0.68): the output must have a red edge.
    assert np.median(values[-1]) > 2 * np.median(values[4])  # 800-850 nm vs 650-700 nm


def test_sensor_specific_weights_still_win(rosis_example, cave_example, run_geossr, tmp_path):
    # IKONOS input keeps its own model; `--model ssif-any` asks for the any-sensor one.
    simulate(rosis_example, "ikonos:blue,green,red,nir", tmp_path / "ms.tif", scale=2)
    for model, weights in (("ssif", "ssif_ikonos_default"), ("ssif-any", "ssif_anysensor_default")):
        result = run_geossr("upsample", "ms.tif", "-p", "2", "-s", "grid:450:850:6", "-m", model, "-o",
                            f"{model}.tif", "--json", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        (summary,) = json.loads(result.stdout)
        assert summary["weights"] == weights and summary["model"] == model
        assert "past the input bands" not in result.stderr
    # RGB in, NIR out: the any-sensor model warns that it fills in what the input does not measure.
    simulate(cave_example, "nikon_d700", tmp_path / "rgb.tif", scale=4)
    result = run_geossr("upsample", "rgb.tif", "-p", "2", "-s", "grid:450:850:6", "-m", "ssif-any", "-o", "rgb_sr.tif",
                        cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "reach more than 50 nm past the input bands of nikon_d700" in result.stderr


@pytest.mark.slow
def test_bands_partly_outside_the_trained_range_are_named_and_left_out(shared_data, run_geossr, tmp_path):
    # The Landsat 8 crop holds B2-B7; B6 and B7 (SWIR) are far beyond the trained 395-891 nm.
    result = run_geossr("upsample", shared_data / L8_CROP, "-p", "1", "-s", "grid:450:850:5", "--input-sensor",
                        "landsat8_oli:B2,B3,B4,B5,B6,B7", "-m", "ssif-any", "-o", "sr.tif", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    warning = [line for line in result.stderr.splitlines() if "warning" in line]
    assert len(warning) == 1 and "input bands B6, B7" in warning[0] and "outside the trained range" in warning[0]
    (summary,) = json.loads(result.stdout)
    assert summary["input_bands"] == ["B2", "B3", "B4", "B5"]
    with rasterio.open(tmp_path / "sr.tif") as out:
        assert out.tags()["GEOSSR_INPUT_BANDS"] == "B2,B3,B4,B5" and out.shape == (235, 318)


@pytest.fixture
def single_band(shared_data, tmp_path):
    with rasterio.open(shared_data / S2_PATCH) as src:
        profile = src.profile | {"count": 1}
        with rasterio.open(tmp_path / "one.tif", "w", **profile) as dst:
            dst.write(src.read(1), 1)
            dst.update_tags(**src.tags())  # REFLECTANCE_SCALE: integer data without a scale is refused first
    return tmp_path / "one.tif"


@pytest.mark.parametrize(
    "input_sensor, message",
    [
        ("sentinel2_msi:B09,B10,B11,B12", "bands B09, B10, B11, B12 lie outside the trained range"),
        ("sentinel2_msi:B02,B03,B04", "has 4 bands but --input-sensor sentinel2_msi:B02,B03,B04 defines 3"),
        ("single", "needs at least 2 input bands; sentinel2_msi:B02 has 1"),
    ],
)
def test_bad_input_sensor_is_refused(shared_data, single_band, run_geossr, tmp_path, input_sensor, message):
    source = shared_data / S2_PATCH
    if input_sensor == "single":
        source, input_sensor = single_band, "sentinel2_msi:B02"
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    result = run_geossr("upsample", source, "-p", "2", "-s", "rosis", "--input-sensor", input_sensor, "-m", "ssif-any",
                        "-o", "o.tif", cwd=out_dir)
    lines = result.stderr.strip().splitlines()
    assert result.returncode != 0 and len(lines) == 1 and message in lines[0], result.stderr
    assert list(out_dir.iterdir()) == []
