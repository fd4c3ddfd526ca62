"""Input scaling to reflectance (geossr.scene.radiometry) on real scenes: the order of the scales,
the refusal of unscaled integers, ``auto``, the mis-scaling warning, uint16 outputs, the Python API.

Inputs are the real Sentinel-2 L2A patch (uint16, reflectance x 10000, REFLECTANCE_SCALE tag), the
Landsat 8 surface-reflectance crop made 8-bit (a stretched real image, as 8-bit GeoTIFFs are), and
the CAVE example (uint16 with a GDAL band scale of 1/65535), rewritten with or without their scales.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import rasterio
import rioxarray

import geossr
from geossr.errors import GeossrError
from geossr.models import build
from geossr.scene.simulate import simulate
from geossr.scene.upsample import upsample_file

S2 = "geotiff/s2_l2a_bigearthnet_T29UPU_20180421/S2B_MSIL2A_20180421T114349_41_4_10m.tif"
L8 = "geotiff/landsat8_sr_LC08_232066_20190727/LC08_232066_20190727_SR_B2-B7.tif"
S2_BANDS = "sentinel2_msi:B02,B03,B04,B08"
RUN = {"scale": 2, "sensor": "grid:450:850:8", "model": "bicubic", "input_sensor": S2_BANDS}


def rewrite(source, target, *, tags: dict | None = None, scales=None, dtype=None, values=None):
    """``source`` rewritten to ``target``: its own dataset tags dropped, band scales reset unless given."""
    with rasterio.open(source) as src:
        profile = src.profile | ({"dtype": dtype} if dtype else {})
        data = src.read() if values is None else values
        with rasterio.open(target, "w", **profile) as dst:
            dst.write(data.astype(profile["dtype"]))
            dst.update_tags(**(tags or {}))
            dst.update_tags(ns="GEOSSR", **src.tags(ns="GEOSSR"))  # wavelengths, where the source has them
            if scales is not None:
                dst.scales = (scales,) * src.count
    return target


@pytest.fixture(scope="module")
def scenes(shared_data, cave_example, tmp_path_factory):
    folder = tmp_path_factory.mktemp("radiometry")
    with rasterio.open(shared_data / L8) as src:
        rgb = src.read([3, 2, 1]).astype(np.float64)  # SR_B4, SR_B3, SR_B2
    stretched = np.clip(np.round(rgb / np.percentile(rgb, 99.5, axis=(1, 2), keepdims=True) * 255), 1, 255)
    with rasterio.open(shared_data / L8) as src:
        profile = src.profile | {"count": 3, "dtype": "uint8", "nodata": 0}
    with rasterio.open(folder / "l8_rgb_uint8.tif", "w", **profile) as dst:
        dst.write(stretched.astype(np.uint8))
    return {
        "s2": shared_data / S2,
        "s2_no_scale": rewrite(shared_data / S2, folder / "s2_no_scale.tif"),
        "s2_band_scale": rewrite(shared_data / S2, folder / "s2_band_scale.tif", scales=1e-4),
        "l8_uint8": folder / "l8_rgb_uint8.tif",
        "cave": cave_example,
        "cave_no_scale": rewrite(cave_example, folder / "cave_no_scale.tif"),
    }


def pixels(path):
    with rasterio.open(path) as ds:
        return ds.read(), ds.tags()


def test_unscaled_integer_input_is_refused_with_the_likely_scale(scenes, tmp_path):
    cases = [("s2_no_scale", S2_BANDS, r"uint16 .*--input-scale 0\.0001 .*reflectance x 10000"),
             ("l8_uint8", "landsat8_oli:B4,B3,B2", r"uint8 .*--input-scale 0\.00392 \(1/255")]
    for name, sensor, message in cases:
        with pytest.raises(GeossrError, match=message) as caught:
            upsample_file(scenes[name], tmp_path / "out.tif", **RUN | {"input_sensor": sensor})
        assert "--input-scale auto" in str(caught.value) and str(scenes[name]) in str(caught.value)
    with pytest.raises(GeossrError, match=r"uint16 .*--input-scale"):
        simulate(scenes["cave_no_scale"], "nikon_d700", tmp_path / "out.tif")
    assert list(tmp_path.iterdir()) == []


def test_the_order_band_scale_then_tag_and_input_scale_over_both(scenes, tmp_path):
    reference = upsample_file(scenes["s2"], tmp_path / "tag.tif", **RUN)  # REFLECTANCE_SCALE 0.0001
    assert (reference["input_scale"], reference["input_scale_origin"]) == (1e-4, "REFLECTANCE_SCALE tag")
    expected, tags = pixels(tmp_path / "tag.tif")
    assert (tags["GEOSSR_INPUT_SCALE"], tags["GEOSSR_INPUT_SCALE_ORIGIN"]) == ("0.0001", "REFLECTANCE_SCALE tag")
    banded = upsample_file(scenes["s2_band_scale"], tmp_path / "band.tif", **RUN)
    assert banded["input_scale_origin"] == "GDAL band scale"
    given = upsample_file(scenes["s2_no_scale"], tmp_path / "given.tif", **RUN, input_scale="1e-4")
    assert given["input_scale_origin"] == "--input-scale"
    for name in ("band.tif", "given.tif"):
        values, tags = pixels(tmp_path / name)
        assert np.allclose(values, expected, rtol=1e-6, atol=1e-7) and tags["GEOSSR_INPUT_SCALE"] == "0.0001"
    # --input-scale replaces a GDAL band scale (CAVE's 1/65535): stored value x F
    simulate(scenes["cave"], "nikon_d700", tmp_path / "cave_band.tif")
    simulate(scenes["cave"], "nikon_d700", tmp_path / "cave_given.tif", input_scale=1 / 65535)
    assert np.allclose(pixels(tmp_path / "cave_band.tif")[0], pixels(tmp_path / "cave_given.tif")[0], rtol=1e-5)
    assert pixels(tmp_path / "cave_band.tif")[1]["GEOSSR_INPUT_SCALE"] == "1.5259e-05"


def test_auto_follows_the_rule_and_tags_its_choice(scenes, tmp_path):
    rgb = {"input_sensor": "landsat8_oli:B4,B3,B2"}
    eight_bit = upsample_file(scenes["l8_uint8"], tmp_path / "auto8.tif", **RUN | rgb, input_scale="auto")
    assert eight_bit["input_scale"] == pytest.approx(1 / 255) and not eight_bit["warnings"]
    values, tags = pixels(tmp_path / "auto8.tif")
    assert tags["GEOSSR_INPUT_SCALE"] == "0.00392157"
    assert tags["GEOSSR_INPUT_SCALE_ORIGIN"] == "--input-scale auto: 1/255 for uint8, 8-bit imagery, 0-255"
    assert 0.5 < np.nanmax(values) < 1.2  # bicubic overshoots a little
    upsample_file(scenes["s2_no_scale"], tmp_path / "auto16.tif", **RUN, input_scale="auto")
    upsample_file(scenes["s2"], tmp_path / "tag.tif", **RUN)
    assert np.array_equal(pixels(tmp_path / "auto16.tif")[0], pixels(tmp_path / "tag.tif")[0])
    origin = pixels(tmp_path / "auto16.tif")[1]["GEOSSR_INPUT_SCALE_ORIGIN"]
    assert origin.startswith("--input-scale auto: 1e-4 for uint16")
    # auto takes what the file declares first
    assert upsample_file(scenes["s2"], tmp_path / "auto_tag.tif", **RUN, input_scale="auto")["input_scale_origin"] \
        == "REFLECTANCE_SCALE tag"


def test_a_wrong_scale_gets_a_warning(scenes, tmp_path):
    wrong = upsample_file(scenes["s2_no_scale"], tmp_path / "wrong.tif", **RUN, input_scale=1e-3)  # 10x too large
    (warning,) = wrong["warnings"]
    assert "beyond ±1.5 after scaling by 0.001 (--input-scale)" in warning and "check --input-scale" in warning
    assert not upsample_file(scenes["s2_no_scale"], tmp_path / "right.tif", **RUN, input_scale=1e-4)["warnings"]
    # 16-bit data using its full range is not reflectance x 10000: auto's rule is flagged
    summary = simulate(scenes["cave_no_scale"], "nikon_d700", tmp_path / "cave.tif", input_scale="auto")
    assert len(summary["warnings"]) == 1 and "--input-scale auto: 1e-4 for uint16" in summary["warnings"][0]


def test_uint16_output_carries_a_gdal_scale_and_reads_back_once(scenes, tmp_path):
    upsample_file(scenes["s2"], tmp_path / "float.tif", **RUN)
    for driver in ("GTiff", "COG"):
        out = tmp_path / f"u16_{driver}.tif"
        upsample_file(scenes["s2"], out, **RUN, dtype="uint16", driver=driver)
        with rasterio.open(out) as ds:
            assert set(ds.scales) == {1e-4} and ds.tags()["REFLECTANCE_SCALE"] == "0.0001"
        read = rioxarray.open_rasterio(out, mask_and_scale=True).values  # what QGIS and xarray users see
        assert np.allclose(read, pixels(tmp_path / "float.tif")[0], atol=0.5e-4 + 1e-7)
    again = upsample_file(tmp_path / "u16_GTiff.tif", tmp_path / "again.tif", **RUN | {"input_sensor": None})
    assert again["input_scale_origin"] == "GDAL band scale" and not again["warnings"]  # not also x the tag


def test_python_api_applies_the_same_rule(scenes):
    model = build("bicubic", input_sensor=S2_BANDS)
    tagged = rioxarray.open_rasterio(scenes["s2"], chunks={"y": 64, "x": 64})  # REFLECTANCE_SCALE attribute
    expected = geossr.upsample(tagged, 2, "grid:450:850:8", model).values
    assert 0.3 < np.nanmax(expected) < 1
    for forgot in (rioxarray.open_rasterio(scenes["s2_no_scale"]),  # uint16
                   rioxarray.open_rasterio(scenes["s2_no_scale"], mask_and_scale=True)):  # float32, uint16 stored
        with pytest.raises(GeossrError, match=r"uint16 .*input_scale=0\.0001 .*input_scale='auto'"):
            geossr.upsample(forgot, 2, "grid:450:850:8", model)
    raw = rioxarray.open_rasterio(scenes["s2_no_scale"])
    for scale in ("auto", 1e-4):
        assert np.allclose(geossr.upsample(raw, 2, "grid:450:850:8", model, input_scale=scale).values, expected,
                           atol=1e-6)
    unapplied = rioxarray.open_rasterio(scenes["s2_band_scale"], mask_and_scale=False)  # scale_factor attribute
    assert np.allclose(geossr.upsample(unapplied, 2, "grid:450:850:8", model).values, expected, atol=1e-6)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        geossr.upsample(raw, 2, "grid:450:850:8", model, input_scale=1e-3)
    assert any("the scale looks wrong; check input_scale" in str(w.message) for w in caught)
