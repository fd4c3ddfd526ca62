"""GeoTIFF writing and reading: georeferencing, band metadata, atomic writes."""

import json
import sys

import dask.array
import numpy as np
import pytest
import rasterio
import xarray as xr
from affine import Affine

from geossr.errors import RasterError
from geossr.scene.io import open_raster, raster_info, read_sensor, write_raster
from geossr.scene.schedule import default_blocks_in_flight
from geossr.spectral.sensors import load_sensor

TRANSFORM = Affine(10.0, 0, 649200.0, 0, -10.0, 5895240.0)


def cube(bands, height=40, width=30, chunk=None):
    values = np.arange(bands * height * width, dtype=np.float32).reshape(bands, height, width)
    data = xr.DataArray(dask.array.from_array(values, chunks=(bands, chunk or height, chunk or width)),
                        dims=("band", "y", "x"))
    return data.rio.write_transform(TRANSFORM).rio.write_crs("EPSG:32629"), values


def test_write_keeps_georeferencing_values_and_band_metadata(tmp_path):
    ikonos = load_sensor("ikonos:blue,green,red,nir")
    data, values = cube(4, chunk=16)  # several windows, ragged at the edges
    out = write_raster(data, tmp_path / "ms.tif", ikonos)
    with rasterio.open(out) as ds:
        assert ds.crs.to_epsg() == 32629 and ds.transform == TRANSFORM
        assert np.array_equal(ds.read(), values)
        assert ds.profile["compress"] == "deflate" and ds.profile["tiled"]
        assert ds.descriptions[0] == "ikonos blue (496.4 nm)"
        assert float(ds.tags(4, ns="IMAGERY")["CENTRAL_WAVELENGTH_UM"]) == pytest.approx(0.7916, abs=1e-4)
        assert float(ds.tags(4, ns="IMAGERY")["FWHM_UM"]) == pytest.approx(0.0954, abs=1e-4)
        assert ds.tags(2)["wavelength_units"] == "Micrometers"
        assert ds.tags(ns="ENVI")["wavelength"].startswith("{0.496")
        assert json.loads(ds.tags(ns="GEOSSR")["SENSOR_JSON"])["name"] == ikonos.name
    assert [p.name for p in tmp_path.iterdir()] == ["ms.tif"]


def test_file_knows_its_own_bands(tmp_path):
    ikonos = load_sensor("ikonos:blue,green,red,nir")
    out = write_raster(cube(4)[0], tmp_path / "ms.tif", ikonos)
    back = read_sensor(out)
    assert back.band_names == ikonos.band_names
    assert all(b.shape == "tabulated" for b in back.bands)  # the measured curves, not a Gaussian
    grid = np.linspace(400, 900, 501)
    for a, b in zip(ikonos.bands, back.bands):
        assert np.allclose(a.response(grid), b.response(grid))


def test_imagery_metadata_alone_gives_gaussian_bands(tmp_path):
    out = write_raster(cube(3)[0], tmp_path / "rgb.tif", load_sensor("nikon_d700"))
    with rasterio.open(out, "r+") as ds:
        ds.update_tags(ns="GEOSSR", SENSOR_JSON="")
    back = read_sensor(out)
    assert back.band_names == ["red", "green", "blue"]
    assert back.centers_nm == pytest.approx(load_sensor("nikon_d700").centers_nm, abs=1e-3)
    assert all(b.shape == "gaussian" for b in back.bands)


def test_raster_without_wavelengths_has_no_sensor(shared_data):
    s2 = shared_data / "geotiff/s2_l2a_bigearthnet_T29UPU_20180421/S2B_MSIL2A_20180421T114349_41_4_10m.tif"
    assert read_sensor(s2) is None
    info = raster_info(s2)
    assert (info["width"], info["height"], info["count"], info["crs"]) == (120, 120, 4, "EPSG:32629")
    assert [b["description"] for b in info["bands"]] == ["B02", "B03", "B04", "B08"]


def test_open_raster_masks_nodata(shared_data):
    landsat = shared_data / "geotiff/landsat8_sr_LC08_232066_20190727/LC08_232066_20190727_SR_B2-B7.tif"
    data = open_raster(landsat)
    assert data.dtype == np.float32 and data.sizes == {"band": 6, "y": 235, "x": 318}
    assert data.chunks is not None  # lazy
    with rasterio.open(landsat) as ds:
        assert ds.nodata == -9999
        raw = ds.read(1)
    assert np.array_equal(np.isnan(data[0].values), raw == -9999)


def test_existing_output_is_refused_and_untouched(tmp_path):
    target = tmp_path / "ms.tif"
    target.write_bytes(b"precious")
    with pytest.raises(RasterError, match="output exists"):
        write_raster(cube(3)[0], target, load_sensor("nikon_d700"))
    assert target.read_bytes() == b"precious"
    write_raster(cube(3)[0], target, load_sensor("nikon_d700"), overwrite=True)
    assert rasterio.open(target).count == 3


def test_failure_while_writing_leaves_nothing(tmp_path):
    def explode(block):
        raise RuntimeError("disk on fire")

    data, _ = cube(3, chunk=16)
    data = data.copy(data=data.data.map_blocks(explode, dtype=np.float32))
    target = tmp_path / "rgb.tif"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="disk on fire"):
        write_raster(data, target, load_sensor("nikon_d700"), overwrite=True)
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rgb.tif"]


def test_cluster_keeps_a_bounded_window_of_blocks_and_writes_each_as_it_arrives(tmp_path):
    # On a cluster the blocks stream through a sliding window (no batch waits for its slowest
    # block), each block is written (and reported) as it arrives, and the results held stay bounded.
    from distributed import Client, LocalCluster

    data, values = cube(3, height=64, width=48, chunk=16)  # 12 blocks
    held = []
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        def progress(done, total):
            held.append((done, total, len(client.futures)))

        out = write_raster(data, tmp_path / "rgb.tif", load_sensor("nikon_d700"), blocks_in_flight=3,
                           progress=progress)
    with rasterio.open(out) as ds:
        assert np.array_equal(ds.read(), values)
    assert [(done, total) for done, total, _ in held] == [(k, 12) for k in range(13)] + [(12, 12)]
    # The block just written may still count once while distributed's event loop lets go of it.
    assert max(futures for _, _, futures in held) <= 3 + 1
    assert max(futures for _, _, futures in held) >= 2  # blocks did compute side by side


class CountedPickles:
    """A dependency of every block (as the model is) that counts how often it is pickled."""

    pickled = 0

    def __reduce__(self):
        type(self).pickled += 1
        return CountedPickles, ()


def test_cluster_gets_what_every_block_needs_once_not_with_every_block(tmp_path):
    # Sent with each block's graph, the model was serialised again for every block.
    import dask
    from distributed import Client, LocalCluster

    shared = dask.delayed(CountedPickles(), name="every-block-needs-this", pure=False)
    tile = dask.delayed(lambda dependency, value: np.full((3, 16, 16), value, np.float32), pure=True)
    rows = [[dask.array.from_delayed(tile(shared, 4 * i + j), (3, 16, 16), np.float32) for j in range(4)]
            for i in range(3)]  # 12 blocks
    data = xr.DataArray(dask.array.block(rows), dims=("band", "y", "x"))
    data = data.rio.write_transform(TRANSFORM).rio.write_crs("EPSG:32629")
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            Client(cluster):
        CountedPickles.pickled = 0
        out = write_raster(data, tmp_path / "rgb.tif", load_sensor("nikon_d700"), blocks_in_flight=3)
    with rasterio.open(out) as ds:
        assert np.array_equal(ds.read(1)[::16, ::16], np.arange(12).reshape(3, 4))
    # Submitted once: a few serialisations on its way to the workers (3 here), not that for each of
    # the 12 blocks (36 when every block carried it).
    assert CountedPickles.pickled <= 3


def test_blocks_in_flight_follow_the_threads_that_compute_them():
    # Two per computing thread: a fixed count would leave a larger machine's cores idle.
    import dask
    from distributed import Client, LocalCluster

    with dask.config.set(num_workers=3, scheduler="threads"):
        assert default_blocks_in_flight() == 6
    with LocalCluster(n_workers=2, threads_per_worker=2, processes=False, dashboard_address=None) as cluster, \
            Client(cluster):
        assert default_blocks_in_flight() == 8
    assert default_blocks_in_flight() == 2 * dask.system.CPU_COUNT


def gdal_cache_used() -> int:
    """Bytes in GDAL's block cache, from the libgdal this process (rasterio) loaded."""
    import ctypes

    with open("/proc/self/maps") as maps:
        library = next(line.split()[-1] for line in maps if "libgdal" in line.rsplit("/", 1)[-1])
    gdal = ctypes.CDLL(library)
    gdal.GDALGetCacheUsed64.restype = ctypes.c_int64
    return gdal.GDALGetCacheUsed64()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds libgdal through /proc/self/maps")
def test_streaming_keeps_gdal_block_cache_bounded_not_growing_with_the_scene(tmp_path, monkeypatch, cave_example):
    # GDAL caches every block read or written (5 % of RAM by default); streaming a real scene,
    # the cache stays under the cap while it is in force, and grows past it where the user's own
    # GDAL_CACHEMAX keeps the default.
    import geossr.scene.io as io

    cap = 2**20
    monkeypatch.setattr(io, "STREAM_BLOCK_CACHE_BYTES", cap)
    sensor = read_sensor(cave_example)  # 31 bands, 4 MiB of uint16 blocks

    def stream(name):
        used = []
        write_raster(open_raster(cave_example, chunk=64), tmp_path / name, sensor, blocks_in_flight=2,
                     progress=lambda done, total: used.append(gdal_cache_used()))
        return max(used)

    assert stream("capped.tif") <= cap
    monkeypatch.setenv("GDAL_CACHEMAX", "512")
    assert stream("default.tif") > 2 * cap
