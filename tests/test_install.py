"""The installed distribution: console script, shipped sensor files, version."""

import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from cli_runner import geossr as run_cli

REPO = Path(__file__).resolve().parents[1]
SHIPPED = {"cave31", "ikonos", "landsat8_oli", "nikon_d700", "rosis", "sentinel2_msi"}


def geossr(*args, cwd):
    return run_cli(*args, cwd=cwd, timeout=120)  # the bound these tests had before the shared helper


def test_sensors_list_works_from_another_directory(tmp_path):
    result = geossr("sensors", "list", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert SHIPPED <= {entry["name"] for entry in json.loads(result.stdout)}


def test_version_and_help_describe_every_command(tmp_path):
    import geossr as package

    version = geossr("--version", cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.strip() == f"geossr {package.__version__}"
    help_text = geossr("--help", cwd=tmp_path).stdout
    for command in ("sensors", "simulate", "info"):
        assert command in help_text
    assert "Simulate a sensor" in help_text


def test_library_does_not_import_typer():
    imports_typer = re.compile(r"^\s*(import typer|from typer)", re.MULTILINE)
    offenders = [p for p in (REPO / "geossr").rglob("*.py") if imports_typer.search(p.read_text())]
    assert offenders == []


@pytest.mark.slow
def test_wheel_ships_the_sensor_files(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path),
         str(REPO)],
        check=True, capture_output=True, timeout=300,
    )
    (wheel,) = tmp_path.glob("geossr-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for sensor_file in (REPO / "sensors").iterdir():
        if sensor_file.suffix in {".yaml", ".csv"}:
            assert f"geossr/sensors/{sensor_file.name}" in names
    assert "geossr_cli/main.py" in names
    assert "geossr/landuse/a2s2k.py" in names
    for plugin_file in ("metadata.txt", "__init__.py", "runner.py", "icons/geossr.svg"):
        assert f"geossr/qgis_plugin/{plugin_file}" in names
