"""Sensors from band tables users have: a CSV of centres and FWHM, an ENVI header."""

import subprocess

import numpy as np
import pytest

from cli_runner import command, environment
from geossr.errors import SensorError
from geossr.spectral.sensors import load_sensor

ENVI = """ENVI
description = {AVIRIS-like test header}
samples = 10
lines = 10
bands = 3
wavelength units = Nanometers
band names = { Band 1,
 Band 2, Band 3 }
wavelength = { 450.0,
 550.0, 650.0 }
fwhm = {10.0, 12.0, 14.0}
"""


def write(folder, name, text):
    path = folder / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("text, unit", [
    ("name,center_nm,fwhm_nm\nblue,490,65\ngreen,560,35\nred,665,30\n", "nm (as the file states)"),
    ("name,wavelength (um),bandwidth (um)\nblue,0.49,0.065\ngreen,0.56,0.035\nred,0.665,0.030\n",
     "um (as the file states)"),
    ("name,center,fwhm\nblue,0.49,0.065\ngreen,0.56,0.035\nred,0.665,0.030\n", "µm (detected: every centre below 100)"),
    ("name,center,fwhm\nblue,490,65\ngreen,560,35\nred,665,30\n", "nm (detected: centres of 100 or more)"),
])
def test_a_csv_of_centres_and_widths_in_nm_or_um(tmp_path, text, unit):
    sensor = load_sensor(write(tmp_path, "camera.csv", text))
    assert sensor.band_names == ["blue", "green", "red"]
    np.testing.assert_allclose(sensor.centers_nm, [490, 560, 665])
    np.testing.assert_allclose(sensor.fwhms_nm, [65, 35, 30], rtol=1e-3)
    assert sensor.description.endswith(f"wavelengths in {unit}") and sensor.response_kind == "approximation"
    assert load_sensor(f"{tmp_path / 'camera.csv'}:red,green").band_names == ["red", "green"]


def test_an_envi_header(tmp_path):
    sensor = load_sensor(write(tmp_path, "scene.hdr", ENVI))
    assert sensor.band_names == ["Band 1", "Band 2", "Band 3"]
    np.testing.assert_allclose(sensor.centers_nm, [450, 550, 650])
    np.testing.assert_allclose(sensor.fwhms_nm, [10, 12, 14], rtol=1e-3)
    micrometres = ENVI.replace("Nanometers", "Micrometers").replace("450.0", "0.45").replace("550.0", "0.55") \
        .replace("650.0", "0.65").replace("10.0, 12.0, 14.0", "0.010, 0.012, 0.014")
    np.testing.assert_allclose(load_sensor(write(tmp_path, "um.hdr", micrometres)).centers_nm, [450, 550, 650])


@pytest.mark.parametrize("name, text, message", [
    ("a.csv", "name,center\nblue,490\n", r"a\.csv: no FWHM column \(header: name, center"),
    ("b.csv", "name,fwhm\nblue,65\n", r"b\.csv: no band centre column"),
    ("c.csv", "center,fwhm\n490,65\n560\n", r"c\.csv: every row needs 2 values"),
    ("d.csv", "center_nm,fwhm_um\n490,0.065\n", r"d\.csv: centre and FWHM columns give different units"),
    ("e.csv", "center,fwhm\n490,wide\n", r"e\.csv: .* not a number"),
    ("f.hdr", ENVI.replace("fwhm = {10.0, 12.0, 14.0}\n", ""), r"f\.hdr: field 'fwhm' is missing"),
    ("g.hdr", ENVI.replace("{10.0, 12.0, 14.0}", "{10.0, 12.0}"), r"g\.hdr: field 'fwhm' has 2 values and 'wavelength' 3"),
    ("h.hdr", ENVI.replace("Nanometers", "Furlongs"), r"h\.hdr: unknown unit 'Furlongs' in field 'wavelength units'"),
    ("i.hdr", "wavelength = {1}\n", r"i\.hdr: not an ENVI header"),
])
def test_bad_tables_are_one_line_errors_naming_file_and_field(tmp_path, name, text, message):
    path = write(tmp_path, name, text)
    with pytest.raises(SensorError, match=message):
        load_sensor(path)
    result = subprocess.run([*command(), "sensors", "show", str(path)], capture_output=True, text=True,
                            timeout=120, env=environment())
    assert result.returncode == 1 and len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith("geossr: error: ") and name in result.stderr
