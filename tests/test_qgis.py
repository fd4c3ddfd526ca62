"""The QGIS plugin with the real client: `qgis_process.bin` (QGIS 3.22, Debian) in a temporary profile.

Skipped where QGIS is not installed, unless GEOSSR_REQUIRE_QGIS=1 (CI sets it after installing
QGIS, so a broken QGIS install fails there instead of skipping).

Facts these tests work around: Debian's `qgis_process` wrapper fails (`Command --noversioncheck
not known!`), so they call `qgis_process.bin` with QT_QPA_PLATFORM=offscreen; QGIS's embedded
Python finds its library from the `python3` on PATH and segfaults if that is a virtualenv's, so
QGIS runs with /usr/bin first and the venv's bin removed; the plugin gets the venv's geossr from
GEOSSR_EXECUTABLE or its provider setting instead.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import rasterio

QGIS_PROCESS = shutil.which("qgis_process.bin")
QGIS_PYTHON = "/usr/bin/python3"
HELPER = Path(__file__).with_name("qgis_helper.py")


@pytest.fixture(scope="module")
def qgis(tmp_path_factory, geossr_exe):
    if QGIS_PROCESS is None:
        if os.environ.get("GEOSSR_REQUIRE_QGIS") == "1":
            pytest.fail("GEOSSR_REQUIRE_QGIS=1 but qgis_process.bin is not on PATH")
        pytest.skip("QGIS is not installed (apt-get install qgis); GEOSSR_REQUIRE_QGIS=1 makes this a failure")
    return Qgis(tmp_path_factory.mktemp("qgis"), geossr_exe)


class Qgis:
    """A temporary QGIS profile with the plugin installed by `geossr qgis-plugin --install`."""

    def __init__(self, root: Path, geossr_exe: str):
        self.root = root
        self.geossr = geossr_exe
        self.profile = root / "profiles" / "default"
        installed = subprocess.run([geossr_exe, "qgis-plugin", "--install", "--profile-dir", str(self.profile)],
                                   capture_output=True, text=True, timeout=120)
        assert installed.returncode == 0, installed.stderr
        self.plugins = self.profile / "python" / "plugins"
        runtime = root / "runtime"
        runtime.mkdir(mode=0o700)
        venv_bins = {str(Path(sys.executable).parent), str(Path(os.environ.get("VIRTUAL_ENV", "/nonexistent")) / "bin")}
        path = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p and p not in venv_bins]
        self.env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONHOME", "PYTHONPATH"}}
        self.env.update(PATH=os.pathsep.join(["/usr/bin", "/bin", *path]), QT_QPA_PLATFORM="offscreen",
                        QGIS_CUSTOM_CONFIG_PATH=str(root), XDG_RUNTIME_DIR=str(runtime),
                        GEOSSR_EXECUTABLE=geossr_exe)

    def process(self, *args, env=None):
        return subprocess.run([QGIS_PROCESS, *map(str, args)], capture_output=True, text=True, timeout=600,
                              env=env or self.env, cwd=self.root)

    def helper(self, *args):
        result = subprocess.run([QGIS_PYTHON, str(HELPER), *map(str, args)], capture_output=True, text=True,
                                timeout=600, env=self.env, cwd=self.root)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture
def scene(rosis_example, tmp_path):
    """A copy of the ROSIS example: QGIS writes statistics (.aux.xml) beside the rasters it opens."""
    return Path(shutil.copy(rosis_example, tmp_path / rosis_example.name))


def leftovers(folder: Path, name: str) -> list[str]:
    """The output or any temporary geossr would have written beside it."""
    return sorted(p.name for p in folder.iterdir() if p.name == name or p.name.startswith(f".{name}."))


def test_qgis_process_lists_the_geossr_algorithms(qgis):
    result = qgis.process("list")
    assert result.returncode == 0, result.stderr
    lines = [line.split("\t") for line in result.stdout.splitlines()]
    algorithms = {fields[1]: fields[2] for fields in lines if len(fields) == 3 and fields[1].startswith("geossr:")}
    assert algorithms == {"geossr:upsample": "Upsample (super-resolve)", "geossr:simulate": "Simulate sensor"}


def test_upsample_in_qgis_process_writes_the_raster_qgis_loads_with_band_names(qgis, scene, tmp_path):
    output = tmp_path / "pavia_x2.tif"
    result = qgis.process("run", "geossr:upsample", "--", f"INPUT={scene}", "SCALE=2", "SENSOR=rosis",
                          "MODEL=bicubic", f"OUTPUT={output}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "100 - done" in result.stdout  # geossr's --progress-json lines drove QGIS's progress
    with rasterio.open(scene) as source, rasterio.open(output) as out:
        assert (out.width, out.height) == (2 * source.width, 2 * source.height)
        assert out.count == source.count == 102
        assert out.crs == source.crs
        assert out.transform.a == pytest.approx(source.transform.a / 2)
        assert out.descriptions == source.descriptions
        assert out.descriptions[0] == "rosis b001 (432.1 nm)"
    layer = qgis.helper("bands", output)
    assert layer["valid"] and (layer["width"], layer["height"]) == (200, 200)
    assert layer["crs"] == "EPSG:32632"
    assert layer["bands"][0] == "Band 001: rosis b001 (432.1 nm)"
    assert layer["bands"][-1].startswith("Band 102: rosis b102 (")


@pytest.mark.slow
def test_simulate_then_shipped_ssif_weights_in_qgis_process(qgis, scene, tmp_path):
    """The GIS user's chain: IKONOS from the ROSIS scene (2x coarser), then back to ROSIS bands with SSIF."""
    ikonos = tmp_path / "pavia_ikonos.tif"
    simulated = qgis.process("run", "geossr:simulate", "--", f"INPUT={scene}",
                             "SENSOR_SPEC=ikonos:blue,green,red,nir", "SCALE=2", f"OUTPUT={ikonos}")
    assert simulated.returncode == 0, simulated.stdout + simulated.stderr
    upsampled = tmp_path / "pavia_ssif.tif"
    result = qgis.process("run", "geossr:upsample", "--", f"INPUT={ikonos}", "SCALE=2", "SENSOR=rosis",
                          "MODEL=ssif", "TILE=64", f"OUTPUT={upsampled}")
    assert result.returncode == 0, result.stdout + result.stderr
    with rasterio.open(ikonos) as low, rasterio.open(upsampled) as out:
        assert (low.width, low.height, low.count) == (50, 50, 4)
        assert (out.width, out.height, out.count) == (100, 100, 102)
        assert out.tags()["GEOSSR_WEIGHTS"] == "ssif_ikonos_default"
        assert out.crs == low.crs


def test_bad_input_fails_with_geossrs_one_line_error(qgis, scene, tmp_path):
    """No shipped FMNet weights take ROSIS input. geossr is found through the provider setting here."""
    settings = qgis.profile / "QGIS" / "QGIS3.ini"
    before = settings.read_text()
    settings.write_text(before + f"\n[Processing]\nConfiguration\\GEOSSR_EXECUTABLE={qgis.geossr}\n")
    env = {k: v for k, v in qgis.env.items() if k != "GEOSSR_EXECUTABLE"}
    output = tmp_path / "never.tif"
    try:
        result = qgis.process("run", "geossr:upsample", "--", f"INPUT={scene}", "SCALE=2", "SENSOR=rosis",
                              "MODEL=fmnet", f"OUTPUT={output}", env=env)
    finally:
        settings.write_text(before)
    assert result.returncode != 0
    expected = "geossr: error: no shipped fmnet weights for input sensor rosis (102 bands)"
    assert f"ERROR:\t{expected}" in result.stderr, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert leftovers(tmp_path, output.name) == []


def test_missing_geossr_is_reported_with_where_to_set_it(qgis, scene, tmp_path):
    env = qgis.env | {"GEOSSR_EXECUTABLE": str(tmp_path / "no-geossr-here")}
    result = qgis.process("run", "geossr:upsample", "--", f"INPUT={scene}", "SCALE=2", "SENSOR=rosis",
                          f"OUTPUT={tmp_path / 'never.tif'}", env=env)
    assert result.returncode != 0
    assert f"geossr executable not found at {tmp_path / 'no-geossr-here'}: correct it in Settings > Options > " \
           "Processing > Providers > geossr" in result.stderr, result.stdout + result.stderr


def test_cancel_stops_geossr_and_leaves_no_output(qgis, scene, tmp_path):
    """Cancel at the first progress step of a 625-tile run (x8, 32 px tiles): geossr stops, nothing is left."""
    output = tmp_path / "cancelled.tif"
    parameters = {"INPUT": str(scene), "SCALE": 8, "SENSOR": "rosis", "MODEL": "bicubic", "TILE": 32,
                  "OUTPUT": str(output)}
    answer = qgis.helper("cancel", qgis.plugins, json.dumps(parameters))
    assert answer["ok"] is False
    assert answer["errors"] == ["cancelled: geossr was stopped and wrote no output"]
    assert answer["stop_s"] is not None and answer["stop_s"] < 30
    assert leftovers(tmp_path, output.name) == []
