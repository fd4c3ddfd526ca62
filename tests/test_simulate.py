"""`simulate` on the bundled real scenes: values, georeferencing, downsampling geometry."""

import numpy as np
import pytest
import rasterio
import scipy.io
import xarray as xr
from affine import Affine

from geossr.forward.resample import downsample
from geossr.scene.simulate import simulate
from geossr.spectral.integration import response_matrix
from geossr.spectral.sensors import load_sensor


def test_example_is_the_real_rosis_crop(rosis_example, shared_data):
    original = scipy.io.loadmat(shared_data / "pavia_centre/abu-beach-4.mat")["data"]
    with rasterio.open(rosis_example) as ds:
        assert ds.count == 102
        assert np.allclose(np.transpose(ds.read(), (1, 2, 0)), original, atol=1e-7)


def test_simulate_ikonos_equals_response_matrix(rosis_example, tmp_path):
    summary = simulate(rosis_example, "ikonos:blue,green,red,nir", tmp_path / "ms.tif")
    with rasterio.open(rosis_example) as src, rasterio.open(tmp_path / "ms.tif") as out:
        expected = np.tensordot(response_matrix(load_sensor("rosis"), load_sensor("ikonos:blue,green,red,nir")),
                                src.read().astype(np.float64), axes=1)
        assert np.allclose(out.read(), expected, rtol=1e-5, atol=1e-6)
        assert out.crs == src.crs and out.transform == src.transform
        assert out.tags()["GEOSSR_SOURCE_SENSOR"] == "rosis"
    assert summary["output_size"] == [100, 100]


def test_simulate_with_scale_scales_the_transform(cave_example, tmp_path):
    summary = simulate(cave_example, "nikon_d700", tmp_path / "rgb.tif", scale=2.5)
    with rasterio.open(cave_example) as src, rasterio.open(tmp_path / "rgb.tif") as out:
        assert (out.height, out.width) == (102, 102)  # floor(256 / 2.5)
        assert out.transform == src.transform @ Affine.scale(2.5)
        counts = src.read().astype(np.float64) * src.scales[0]  # the example's GDAL scale: 1/65535
        full = np.tensordot(response_matrix(load_sensor("cave31"), load_sensor("nikon_d700")), counts, axes=1)
        # The output covers the first 102 x 2.5 = 255 input rows and columns; an averaging
        # filter keeps their band means to within 1 % on a real scene.
        covered = full[:, :255, :255].mean(axis=(1, 2))
        assert out.read().mean(axis=(1, 2)) == pytest.approx(covered, rel=0.01)
    assert summary["scale"] == 2.5


def _ramp(height, width, transform):
    cols = np.arange(width) + 0.5
    xs = (transform @ (cols, np.zeros(width)))[0]
    values = np.broadcast_to(xs, (1, height, width)).astype(np.float64)
    data = xr.DataArray(values, dims=("band", "y", "x"))
    return data.rio.write_transform(transform).rio.write_crs("EPSG:32632")


@pytest.mark.parametrize("scale", [2, 3, 2.5, 3.7])
def test_output_pixel_centres_land_at_the_right_input_positions(scale):
    # A ramp whose value is the x map coordinate: after downsampling, every output pixel must hold
    # its own centre's x coordinate (the blur keeps a linear ramp; edges aside).
    transform = Affine(1.3, 0, 512000.0, 0, -1.3, 5004000.0)
    out = downsample(_ramp(64, 200, transform), scale)
    assert out.rio.transform() == transform @ Affine.scale(scale)
    out_transform = out.rio.transform()
    centres = (out_transform @ (np.arange(out.sizes["x"]) + 0.5, np.zeros(out.sizes["x"])))[0]
    margin = int(np.ceil(4 * (scale - 1) / 2 / scale)) + 1
    inner = slice(margin, -margin)
    assert np.allclose(out.values[0, 5, inner], centres[inner], atol=1e-6)


def test_nodata_stays_nodata_without_poisoning_neighbours():
    transform = Affine(10.0, 0, 0.0, 0, -10.0, 0.0)
    values = np.full((1, 40, 40), 5.0)
    values[0, 10, 10] = np.nan
    values[0, 20:, 20:] = np.nan
    data = xr.DataArray(values, dims=("band", "y", "x")).rio.write_transform(transform)
    out = downsample(data, 2).values[0]
    assert np.all(np.isnan(out[12:, 12:]))  # the nodata block stays nodata
    valid = out[~np.isnan(out)]
    assert valid.size > 0 and np.allclose(valid, 5.0)  # neighbours of NaN are not dragged to NaN
    assert not np.isnan(out[5, 5])  # a lone NaN pixel is filled by its valid neighbourhood


@pytest.mark.parametrize("scale", [2, 3.3])
def test_chunked_downsampling_has_no_seams(cave_example, scale):
    from geossr.scene.io import open_raster

    whole = downsample(open_raster(cave_example, chunk=512), scale).values
    tiled = downsample(open_raster(cave_example, chunk=37), scale).values  # chunks cut at odd places
    assert np.nanmax(np.abs(whole - tiled)) < 1e-5 * np.nanmax(np.abs(whole))
