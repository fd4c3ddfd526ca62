"""The installed distribution: console script, shipped sensor files, version."""

import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from cli_runner import command, environment
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
    for name in ("sensors", "simulate", "info"):
        assert name in help_text
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


def test_python_m_geossr_is_the_command(tmp_path):
    import geossr as package

    result = subprocess.run([sys.executable, "-m", "geossr", "--version"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"geossr {package.__version__}"


@pytest.fixture
def without_extras(tmp_path):
    """An environment in which scikit-learn, matplotlib and distributed fail to import, as when geossr
    is installed without its extras."""
    blockers = tmp_path / "blockers"
    for module in ("sklearn", "matplotlib", "distributed"):
        (blockers / module).mkdir(parents=True)
        # what Python raises for a module that is not installed (dask, for one, catches exactly this)
        (blockers / module / "__init__.py").write_text(
            f"raise ModuleNotFoundError(\"No module named '{module}'\", name='{module}')\n")
    return environment(PYTHONPATH=str(blockers))


def test_the_core_runs_without_the_extras_and_each_feature_names_its_extra(tmp_path, rosis_example, without_extras):
    work = tmp_path / "work"
    work.mkdir()

    def run(*args):
        return subprocess.run([*command(), *map(str, args)], cwd=work, capture_output=True, text=True,
                              timeout=300, env=without_extras)

    upsample = ("upsample", rosis_example, "--scale", "2", "--sensor", "ikonos", "--model", "bicubic")
    assert run(*upsample, "-o", "plain.tif").returncode == 0
    assert run("simulate", rosis_example, "--sensor", "ikonos:blue,green,red,nir", "-o", "ikonos.tif").returncode == 0
    for args, extra in (((*upsample, "-o", "a.tif", "--quicklook", "a.png"), "plots"),
                        ((*upsample, "-o", "b.tif", "--scheduler", "local:1"), "cluster"),
                        (("sensors", "show", "ikonos", "--plot", "c.png"), "plots"),
                        (("benchmark", "landuse", "--dataset", "samson", "-o", "d"), "landuse")):
        result = run(*args)
        assert result.returncode == 1, (args, result.stderr)
        assert result.stderr.endswith(f"which is not installed: pip install 'geossr[{extra}]'\n"), result.stderr
        assert len(result.stderr.splitlines()) == 1, result.stderr
    assert sorted(p.name for p in work.iterdir()) == ["ikonos.tif", "plain.tif"]
