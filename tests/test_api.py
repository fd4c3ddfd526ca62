"""The Python API: `geossr.upsample` by model name on a real Sentinel-2 patch, and a rioxarray round trip."""

import numpy as np
import pytest
import rasterio

import geossr
from geossr.errors import GeossrError
from geossr.scene.io import read_sensor
from geossr.spectral.sensors import load_sensor

S2 = "geotiff/s2_l2a_bigearthnet_T29UPU_20180421/S2B_MSIL2A_20180421T114349_41_4_10m.tif"
S2_SENSOR = "sentinel2_msi:B02,B03,B04,B08"


@pytest.fixture(scope="module")
def s2_patch(shared_data):
    return geossr.open_raster(shared_data / S2).isel(x=slice(0, 24), y=slice(0, 24))


def test_upsample_by_model_name_round_trips_through_rioxarray(s2_patch, tmp_path):
    out = geossr.upsample(s2_patch, 2, "grid:450:850:9", "linear-sr", input_sensor=S2_SENSOR, input_scale=1e-4)
    assert out.name == "reflectance" and out.shape == (9, 48, 48)
    assert np.allclose(out.wavelength_nm, load_sensor("grid:450:850:9").centers_nm)
    values = out.compute()
    assert np.isfinite(values).all() and 0 < float(values.mean()) < 1
    path = tmp_path / "out.tif"
    values.rio.to_raster(path)
    with rasterio.open(path) as ds:
        assert ds.descriptions[0] == "grid b001 (472.2 nm)"
        assert np.isnan(ds.nodata) and ds.crs == s2_patch.rio.crs
    back = geossr.open_raster(path)
    assert np.allclose(back.wavelength_nm, out.wavelength_nm) and np.allclose(back.values, values.values)
    assert read_sensor(path).name == "grid:450:850:9"


def test_names_resolve_as_the_command_line_does(s2_patch):
    by_name = geossr.upsample(s2_patch, 2, "grid:450:850:9", "linear", input_sensor=S2_SENSOR, input_scale=1e-4)
    model = geossr.load_model("linear", S2_SENSOR)
    by_object = geossr.upsample(s2_patch, 2, "grid:450:850:9", model, input_scale=1e-4)
    assert np.array_equal(by_name.values, by_object.values)
    # the array's own band metadata is the input sensor when none is given
    declared = geossr.api.with_bands(s2_patch, model.input_sensor)
    assert np.array_equal(geossr.upsample(declared, 2, "grid:450:850:9", "linear", input_scale=1e-4).values,
                          by_name.values)


def test_bad_calls_fail_at_call_time(s2_patch):
    with pytest.raises(GeossrError, match="declares no band wavelengths"):
        geossr.upsample(s2_patch, 2, "rosis", "linear-sr")
    with pytest.raises(GeossrError, match="has 3 bands but the model reads 4"):
        geossr.upsample(s2_patch.isel(band=slice(0, 3)), 2, "rosis", geossr.load_model("linear", S2_SENSOR))
    with pytest.raises(GeossrError, match="unknown model 'nope'"):
        geossr.upsample(s2_patch, 2, "rosis", "nope", input_sensor=S2_SENSOR)
    digital_numbers = s2_patch.astype("uint16")
    digital_numbers.attrs = {}  # no REFLECTANCE_SCALE: nothing says what the integers mean
    with pytest.raises(GeossrError, match="input_scale"):
        geossr.upsample(digital_numbers, 2, "rosis", "linear", input_sensor=S2_SENSOR)


def test_the_example_script_runs_on_the_real_patch(shared_data, tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).parents[1] / "examples/python_api.py"
    out = tmp_path / "s2.tif"
    done = subprocess.run([sys.executable, script, str(shared_data / S2), str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "30 bands, 240 x 240 px, 410-990 nm" in done.stdout
    with rasterio.open(out) as ds:
        assert ds.count == 30 and ds.res == (5.0, 5.0)
