"""The likely sensor of a GeoTIFF without wavelength metadata, from its band names and platform."""

import json

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from cli_runner import geossr
from geossr.scene.identify import likely_sensor

LANDSAT = "geotiff/landsat8_sr_LC08_232066_20190727/LC08_232066_20190727_SR_B2-B7.tif"
S2 = "geotiff/s2_l2a_bigearthnet_T29UPU_20180421/S2B_MSIL2A_20180421T114349_41_4_{}.tif"


@pytest.mark.parametrize("relative, spec", [
    (LANDSAT, "landsat8_oli:B2,B3,B4,B5,B6,B7"),
    (S2.format("10m"), "sentinel2b_msi:B02,B03,B04,B08"),
    (S2.format("20m"), "sentinel2b_msi:B05,B06,B07,B8A,B11,B12"),
    (S2.format("60m"), "sentinel2b_msi:B01,B09"),
])
def test_real_exports_are_named_with_the_input_sensor_to_pass(shared_data, tmp_path, relative, spec):
    path = shared_data / relative
    info = geossr("info", path, "--json", cwd=tmp_path)
    assert info.returncode == 0, info.stderr
    details = json.loads(info.stdout)
    assert details["sensor"] is None and details["likely_input_sensor"]["spec"] == spec
    refused = geossr("upsample", path, "--scale", "2", "--sensor", "grid:450:850:8", "--model", "bicubic",
                     "-o", "out.tif", cwd=tmp_path)
    assert refused.returncode == 1 and refused.stderr.rstrip().endswith(f"suggest --input-sensor {spec})")
    assert not (tmp_path / "out.tif").exists()
    if "B01,B09" not in spec:  # those two are 945 nm and 443 nm apart: the grid reaches past both
        done = geossr("upsample", path, "--scale", "2", "--sensor", "grid:450:850:8", "--model", "bicubic",
                      "--input-sensor", spec, "-o", "out.tif", cwd=tmp_path)
        assert done.returncode == 0, done.stderr


def write(path, descriptions, tags):
    profile = dict(driver="GTiff", width=4, height=4, count=len(descriptions), dtype="uint16",
                   crs="EPSG:32633", transform=from_origin(0, 40, 10, 10))
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(np.ones((len(descriptions), 4, 4), dtype="uint16"))
        ds.descriptions = descriptions
        ds.update_tags(**tags)
    return rasterio.open(path)


@pytest.mark.parametrize("name, descriptions, tags, spec", [
    ("LC09_L2SP_042034_20220101.tif", ["SR_B1", "SR_B2", "SR_B3"], {}, "landsat9_oli:B1,B2,B3"),
    ("scene.tif", ["B2", "B3", "B4", "B8A"], {"SPACECRAFT_NAME": "Sentinel-2A"}, "sentinel2a_msi:B02,B03,B04,B8A"),
    ("scene.tif", ["blue", "green", "red", "nir"], {}, None),  # IKONOS or PlanetScope? no guess
    ("scene.tif", ["blue", "green", "red", "nir"], {"SENSOR": "IKONOS-2"}, None),  # no IKONOS pattern: still none
    ("20230101_psscene.tif", ["coastal_blue", "blue", "green_i", "green", "yellow", "red", "rededge", "nir"], {},
     "planetscope_superdove:coastal_blue,blue,green_i,green,yellow,red,rededge,nir"),
    ("WV03_x.tif", ["coastal", "blue", "green", "yellow", "red", "rededge", "nir1", "nir2"], {},
     "worldview3:coastal,blue,green,yellow,red,rededge,nir1,nir2"),
    ("scene.tif", ["B02", "B03", "B04"], {}, "sentinel2_msi:B02,B03,B04"),
    ("scene.tif", ["red", "green", "blue"], {}, None),  # IKONOS or the Nikon D700? nothing says which
    ("LC08_x.tif", ["B02", "B99"], {}, None),  # Landsat 8, but not its bands
    ("scene.tif", ["band 1", "band 2"], {}, None),
])
def test_platform_and_band_spellings(tmp_path, name, descriptions, tags, spec):
    with write(tmp_path / name, descriptions, tags) as ds:
        likely = likely_sensor(ds)
    assert (likely.spec if likely else None) == spec


def stac_item(href: str, bands: list[dict]) -> dict:
    return {"type": "Feature", "stac_version": "1.0.0", "id": "patch", "properties": {},
            "assets": {"data": {"href": href, "eo:bands": bands}, "thumbnail": {"href": "thumb.png"}}}


S2_EO_BANDS = [{"name": "B02", "common_name": "blue", "center_wavelength": 0.4924, "full_width_half_max": 0.066},
               {"name": "B03", "common_name": "green", "center_wavelength": 0.5598, "full_width_half_max": 0.036},
               {"name": "B04", "common_name": "red", "center_wavelength": 0.6646, "full_width_half_max": 0.031},
               {"name": "B08", "common_name": "nir", "center_wavelength": 0.8328, "full_width_half_max": 0.106}]


def test_a_stac_sidecar_gives_the_bands(shared_data, tmp_path):
    """The real Sentinel-2 patch, with the STAC Item a catalogue would give it beside it (eo:bands)."""
    import shutil

    scene = tmp_path / "patch.tif"
    shutil.copy(shared_data / S2.format("10m"), scene)
    (tmp_path / "patch.json").write_text(json.dumps(stac_item("./patch.tif", S2_EO_BANDS)))
    info = json.loads(geossr("info", scene, "--json", cwd=tmp_path).stdout)
    assert info["sensor"] == "patch" and [b["name"] for b in info["bands"]] == ["B02", "B03", "B04", "B08"]
    assert [b["center_nm"] for b in info["bands"]] == [492.4, 559.8, 664.6, 832.8]
    done = geossr("upsample", scene, "--scale", "2", "--sensor", "grid:450:850:8", "--model", "bicubic",
                  "-o", "out.tif", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    (tmp_path / "patch.json").write_text(json.dumps(stac_item("./patch.tif", S2_EO_BANDS[:3])))  # 3 for 4 bands
    assert json.loads(geossr("info", scene, "--json", cwd=tmp_path).stdout)["sensor"] is None
    (tmp_path / "patch.json").write_text("{not json")
    broken = geossr("info", scene, cwd=tmp_path)
    assert broken.returncode == 1 and broken.stderr.strip().endswith("patch.json: not a readable STAC JSON "
                                                                     "sidecar (JSONDecodeError)")
