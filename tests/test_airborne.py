"""Airborne loaders: band positions checked on the data's own absorptions, the site split, the values."""

import numpy as np
import pytest

from geossr.data import load_dataset
from geossr.data.airborne import (
    AIRBORNE_SPLIT,
    SCENES,
    band_position_report,
    dip_nm,
    fit_channel_offset,
    load_airborne_scene,
    site_of,
)
from geossr.errors import GeossrError


@pytest.fixture(scope="module")
def report(shared_data):
    return {row["scene"]: row for row in band_position_report(shared_data)}


def test_every_fitted_scene_puts_o2a_and_water_vapour_within_one_band(report):
    assert len(report) == 11  # the ABU crops
    for scene, row in report.items():
        # AVIRIS channels are about 9.6 nm apart here: one band is at least that far.
        assert abs(row["o2a_residual_nm"]) < 2.0, row
        assert abs(row["h2o_residual_nm"]) < 5.0, row


def test_the_fitted_offsets_group_by_flight(report):
    # Scenes of one flight share their calibration; the Los Angeles crops keep every channel from channel 1,
    # the Gulf coast flights sit one channel below the nominal table, San Diego beach starts at channel 3.
    assert {report[s]["offset"] for s in ("abu-airport-1", "abu-airport-2", "abu-airport-3", "abu-urban-4",
                                          "abu-urban-5")} == {0}
    assert {report[s]["offset"] for s in ("abu-airport-4", "abu-beach-3", "abu-urban-1", "abu-urban-2")} == {-1}
    assert report["abu-beach-2"]["offset"] == 2


def test_a_shifted_band_map_would_miss_o2a(shared_data):
    # The check can fail: the same spectrum read one channel off puts its O2-A dip a band away from 760 nm.
    raw = load_airborne_scene(shared_data, "abu-airport-1", radiance=True)
    mean = raw.data.reshape(len(raw.sensor), -1).mean(axis=1)
    centres = raw.sensor.centers_nm
    assert abs(dip_nm(mean, centres, 760.0) - 760.0) < 2.0
    shifted = np.concatenate([[centres[0] - 9.84], centres[:-1]])
    assert abs(dip_nm(mean, shifted, 760.0) - 760.0) > 7.0
    assert fit_channel_offset(np.concatenate([mean[:1], mean])) == -1  # one band added at the start


def test_split_keeps_each_site_on_one_side():
    sides = {name: side for side, names in AIRBORNE_SPLIT.items() for name in names}
    by_site = {}
    for name, side in sides.items():
        by_site.setdefault(site_of(name), set()).add(side)
    assert all(len(s) == 1 for s in by_site.values()), by_site
    assert sides["abu-airport-2"] == sides["abu-urban-5"]  # 1,807 identical pixel spectra
    low = [name for name, info in SCENES.items() if info.confidence == "low"]
    assert low and not set(low) & set(sides)


def test_cubes_are_reflectance_like_and_cover_the_visible_to_nir(shared_data):
    cubes = load_dataset("airborne", shared_data, "all")
    assert len(cubes) == sum(len(v) for v in AIRBORNE_SPLIT.values())
    for cube in cubes:
        assert cube.data.dtype == np.float32 and np.isfinite(cube.data).all()
        assert cube.data.min() >= 0 and cube.data.max() <= 1
        lo, hi = cube.sensor.range_nm
        assert lo < 440 and hi > 880, (cube.name, lo, hi)


def test_radiance_is_turned_into_relative_reflectance(shared_data):
    # At-sensor radiance has the O2-A dip; the flat field divides it out with the atmosphere.
    reflectance = load_airborne_scene(shared_data, "abu-airport-1")
    radiance = load_airborne_scene(shared_data, "abu-airport-1", radiance=True)
    assert "relative reflectance" in reflectance.source and "(radiance)" in radiance.source
    band = int(np.argmin(np.abs(radiance.sensor.centers_nm - 760)))

    def dip(cube):
        mean = cube.data.reshape(len(cube.sensor), -1).mean(axis=1)
        return np.log(mean[band - 2:band + 3:4]).mean() - np.log(mean[band])

    assert dip(radiance) > 0.3 and abs(dip(reflectance)) < 0.1


def test_unknown_scene_and_split_are_one_line_errors(shared_data):
    with pytest.raises(GeossrError, match="unknown airborne scene"):
        load_airborne_scene(shared_data, "atlantis")
    with pytest.raises(GeossrError, match="no validation split"):
        load_dataset("cave", shared_data, "validation")
