import os
import shutil
import sys
from pathlib import Path

import pytest

from cli_runner import geossr

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("GEOSSR_SHARED_DATA", REPO.parent / "shared" / "data"))
EXAMPLES = REPO / "examples"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.fail(f"real test data not found at {SHARED_DATA} (set GEOSSR_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def rosis_example() -> Path:
    return EXAMPLES / "pavia_rosis_100x100.tif"


@pytest.fixture(scope="session")
def cave_example() -> Path:
    return EXAMPLES / "cave_peppers_256x256.tif"


@pytest.fixture(scope="session")
def geossr_exe() -> str:
    """The installed ``geossr`` console script: on PATH, else beside this Python (a venv not activated)."""
    exe = shutil.which("geossr") or str(Path(sys.executable).with_name("geossr"))
    if not Path(exe).is_file():
        pytest.fail(f"the geossr console script is not installed (looked on PATH and at {exe})")
    return exe


@pytest.fixture(scope="session")
def run_geossr():
    """Run the installed ``geossr`` command (or the CLI module) and capture its output."""
    return geossr
