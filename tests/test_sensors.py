"""Sensor model, shipped files, grid specs and validation."""

import math
from pathlib import Path

import numpy as np
import pytest

from geossr.errors import SensorError
from geossr.spectral.bands import Band, Sensor
from geossr.spectral.sensors import available_sensors, load_sensor, sensor_from_dict

MEASURED = ["sentinel2_msi", "sentinel2a_msi", "sentinel2b_msi", "landsat8_oli", "landsat9_oli", "rapideye"]
PUBLISHED_RANGES = ["worldview2", "worldview3", "planetscope_superdove"]
SHIPPED = ["cave31", "ikonos", "nikon_d700", "rosis", "sentinel2_msi_gaussian", "landsat8_oli_gaussian", *MEASURED,
           *PUBLISHED_RANGES]


def area(band: Band) -> float:
    lo, hi = band.support_nm
    grid = np.linspace(lo - 5, hi + 5, 200_001)
    return float(np.trapezoid(band.response(grid), grid))


def test_shipped_sensors_are_listed():
    assert set(SHIPPED) <= set(available_sensors())


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_band_integrates_to_one(name):
    sensor = load_sensor(name)
    assert sensor.source and sensor.response_kind in {"measured", "approximation", "nominal"}
    for band in sensor.bands:
        assert area(band) == pytest.approx(1.0, abs=2e-3), band.name


def test_shipped_band_counts_and_ranges():
    assert len(load_sensor("rosis")) == 102
    assert load_sensor("rosis").centers_nm[[0, -1]] == pytest.approx([432.1, 857.9], abs=0.05)
    assert load_sensor("cave31").centers_nm == pytest.approx(np.arange(400, 701, 10))
    assert load_sensor("ikonos").band_names == ["blue", "green", "red", "nir", "pan"]
    assert load_sensor("nikon_d700").band_names == ["red", "green", "blue"]
    assert len(load_sensor("sentinel2_msi")) == 13 and len(load_sensor("landsat8_oli")) == 9


@pytest.mark.parametrize("measured, published", [("sentinel2a_msi", "sentinel2_msi_gaussian"),
                                                  ("landsat8_oli", "landsat8_oli_gaussian")])
def test_measured_curves_agree_with_the_published_centres_and_widths(measured, published):
    """The agencies' tables (via pyrsr, sensors/make_measured_from_pyrsr.py) against the centre / FWHM
    the same agencies publish (the Gaussian files): centres within 2.5 nm, widths within 10 %."""
    curves, nominal = load_sensor(measured), load_sensor(published)
    assert curves.response_kind == "measured" and curves.band_names == nominal.band_names
    assert np.abs(curves.centers_nm - nominal.centers_nm).max() < 2.5
    assert np.abs(curves.fwhms_nm / nominal.fwhms_nm - 1).max() < 0.10


def test_sensors_from_published_ranges_are_gaussians_centred_on_them():
    superdove = load_sensor("planetscope_superdove")
    assert superdove.band_names == ["coastal_blue", "blue", "green_i", "green", "yellow", "red", "rededge", "nir"]
    np.testing.assert_allclose(superdove.centers_nm, [441.5, 490, 531, 565, 610, 665, 705, 865])
    np.testing.assert_allclose(load_sensor("worldview3").fwhms_nm, [50, 60, 70, 40, 60, 40, 125, 180], rtol=1e-6)
    for name in PUBLISHED_RANGES:
        assert load_sensor(name).response_kind == "approximation" and len(load_sensor(name)) == 8


@pytest.mark.parametrize("table, sensor, band", [("Sentinel-2A_MSI_band_2", "sentinel2a_msi", "B02"),
                                                 ("Landsat-8_OLI_TIRS_band_8", "landsat8_oli", "B8"),
                                                 ("Sentinel-2B_MSI_band_12", "sentinel2b_msi", "B12")])
def test_measured_files_reproduce_the_agency_tables_at_their_samples(table, sensor, band):
    """Against pyrsr's own tables (tests/data/pyrsr): the same curve, negatives at 0, scaled to a peak of 1."""
    rows = np.loadtxt(Path(__file__).parent / "data" / "pyrsr" / table, skiprows=1)
    wavelength = rows[:, 0] * (1000 if rows[:, 0].max() < 100 else 1)
    expected = np.clip(rows[:, 1], 0, None) / np.clip(rows[:, 1], 0, None).max()
    curve = load_sensor(sensor).select([band]).bands[0]  # stored normalised to unit area: compare shapes
    shape = np.interp(wavelength, curve.curve_nm, curve.curve_response) / curve.curve_response.max()
    np.testing.assert_allclose(shape, expected, atol=1e-4)


def test_sentinel2_msi_is_sentinel2a_and_2b_differs_where_published():
    s2, s2a, s2b = (load_sensor(name) for name in ("sentinel2_msi", "sentinel2a_msi", "sentinel2b_msi"))
    assert np.array_equal(s2.centers_nm, s2a.centers_nm)
    shift = dict(zip(s2a.band_names, s2b.centers_nm - s2a.centers_nm))
    assert abs(shift["B02"]) < 1 and 10 < abs(shift["B12"]) < 20  # ESA: up to 17 nm apart in B12


def test_ikonos_curves_peak_where_published():
    # Published IKONOS band edges (SOURCES.md): blue 445-516, green 506-595, red 632-698, NIR 757-853 nm.
    ikonos = load_sensor("ikonos")
    edges = {"blue": (445, 516), "green": (506, 595), "red": (632, 698), "nir": (757, 853)}
    for band in ikonos.bands[:4]:
        peak = band.curve_nm[np.argmax(band.curve_response)]
        lo, hi = edges[band.name]
        assert lo <= peak <= hi, (band.name, peak)


def test_gaussian_sigma_from_fwhm():
    band = Band.gaussian("g", 500.0, 10.0)
    assert band.sigma_nm == pytest.approx(10.0 / (2 * math.sqrt(2 * math.log(2))))
    assert band.response(505.0) == pytest.approx(band.response(500.0) / 2)


def test_grid_uniform_default_and_gaussian():
    uniform = load_sensor("grid:400:700:31")
    assert len(uniform) == 31 and all(b.shape == "uniform" for b in uniform.bands)
    assert uniform.intervals_nm[0] == pytest.approx([400, 400 + 300 / 31])
    assert uniform.intervals_nm[-1][1] == pytest.approx(700)
    gaussian = load_sensor("grid:430:860:102:gaussian")
    width = 430 / 102
    assert gaussian.bands[0].sigma_nm == pytest.approx(width / 6)
    assert gaussian.intervals_nm[0] == pytest.approx([430, 430 + width])


@pytest.mark.parametrize("spec", ["grid:700:400:3", "grid:400:700", "grid:400:700:0", "grid:a:b:3",
                                  "grid:400:700:3:triangle"])
def test_bad_grid_specs(spec):
    with pytest.raises(SensorError, match="grid"):
        load_sensor(spec)


def test_band_selection():
    ms = load_sensor("ikonos:blue,green,red,nir")
    assert ms.band_names == ["blue", "green", "red", "nir"]
    with pytest.raises(SensorError, match="no band 'swir'"):
        load_sensor("ikonos:blue,swir")
    # a selection of a selection is named by the base sensor; a grid's own colons are kept
    assert ms.select(["red", "nir"]).name == "ikonos:red,nir"
    assert load_sensor("nikon_d700").select(["red"]).name == "nikon_d700:red"
    grid = load_sensor("grid:400:700:3")
    assert grid.select(grid.band_names[:2]).name == f"grid:400:700:3:{grid.band_names[0]},{grid.band_names[1]}"


def test_unknown_sensor_suggests_close_names():
    with pytest.raises(SensorError, match="did you mean ikonos"):
        load_sensor("ikonoss")


def test_user_sensor_file_with_inline_and_csv_curves(tmp_path):
    (tmp_path / "curve.csv").write_text("wavelength_um,a\n0.50,0\n0.51,1\n0.52,0\n")
    (tmp_path / "mine.yaml").write_text(
        "name: mine\nresponse: measured\nbands:\n"
        "  - {name: a, response: {file: curve.csv}}\n"
        "  - {name: b, response: {wavelength_nm: [600, 610, 620], value: [0, 2, 0]}}\n"
        "  - {name: c, shape: uniform, center_wavelength: 0.7, full_width_half_max: 0.02}\n"
    )
    sensor = load_sensor(str(tmp_path / "mine.yaml"))
    assert sensor.band_names == ["a", "b", "c"]
    assert sensor.centers_nm == pytest.approx([510, 610, 700])
    assert sensor.bands[0].fwhm_nm == pytest.approx(10)
    assert sensor.bands[2].interval_nm == pytest.approx((690, 710))


@pytest.mark.parametrize(
    "band, message",
    [
        ({"name": "x", "center_wavelength": 0.5, "full_width_half_max": 0}, "full_width_half_max must be positive"),
        ({"name": "x", "center_wavelength": float("nan"), "full_width_half_max": 0.01}, "NaN"),
        ({"name": "x", "center_wavelength": -0.5, "full_width_half_max": 0.01}, "must be positive"),
        ({"name": "x", "full_width_half_max": 0.01}, "'center_wavelength'"),
        ({"name": "x", "response": {"wavelength_nm": [500, 490, 510], "value": [0, 1, 0]}}, "not strictly increasing"),
        ({"name": "x", "response": {"wavelength_nm": [-5, 490, 510], "value": [0, 1, 0]}}, "negative wavelength"),
        ({"name": "x", "response": {"wavelength_nm": [480, 490, 510], "value": [0, -1, 0]}}, "negative response"),
        ({"name": "x", "response": {"wavelength_nm": [480, 490, 510], "value": [0, 0, 0]}}, "zero area"),
        ({"name": "x", "response": {"wavelength_nm": [480, 490], "value": [0, 1, 0]}}, "2 wavelengths but 3"),
        ({"name": "x", "shape": "triangle", "center_wavelength": 0.5, "full_width_half_max": 0.01}, "'shape'"),
    ],
)
def test_band_validation(band, message):
    with pytest.raises(SensorError, match=message):
        sensor_from_dict({"name": "s", "bands": [band]}, where="s.yaml: ")


def test_duplicate_band_names_rejected():
    band = {"name": "x", "center_wavelength": 0.5, "full_width_half_max": 0.01}
    with pytest.raises(SensorError, match="duplicate band name 'x'"):
        sensor_from_dict({"name": "s", "bands": [band, band]})


def test_sensor_round_trips_through_its_dict():
    for name in ("ikonos", "rosis", "grid:400:700:31:gaussian", "grid:400:700:31"):
        sensor = load_sensor(name)
        again = sensor_from_dict(sensor.to_dict())
        assert again.band_names == sensor.band_names
        grid = np.linspace(*sensor.range_nm, 997)
        for a, b in zip(sensor.bands, again.bands):
            assert np.allclose(a.response(grid), b.response(grid))


def test_sensor_requires_bands():
    with pytest.raises(SensorError):
        Sensor("empty", ())


def test_plot_draws_a_png(tmp_path):
    from geossr.spectral.plot import plot_sensor

    out = plot_sensor(load_sensor("ikonos"), tmp_path / "ikonos.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ikonos.png"]
