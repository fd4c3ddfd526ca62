import os
from pathlib import Path

import pytest

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
