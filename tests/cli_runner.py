"""Running the installed ``geossr`` console script from the tests: one helper for every test file."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def command() -> list[str]:
    """The console script on PATH, else the CLI module under this Python."""
    exe = shutil.which("geossr")
    return [exe] if exe else [sys.executable, "-c", "from geossr_cli.main import main; main()"]


def environment(**extra: str) -> dict[str, str]:
    """This process's environment for a geossr run, with ``extra`` variables set."""
    env = dict(os.environ)
    env.pop("GEOSSR_DEBUG", None)  # errors must be one line, not a re-raised traceback
    if env.pop("PYTHONDONTWRITEBYTECODE", None):
        # Without any bytecode every run recompiles numpy, pandas, dask, ...: cache it outside
        # the source tree and the environment instead (safe to share: pyc files are validated).
        env["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.gettempdir()) / f"geossr-tests-pycache-{os.getuid()}")
    return {**env, **extra}


def geossr(*args, cwd, timeout: float = 300, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run ``geossr ARGS`` in ``cwd``; text stdout and stderr."""
    return subprocess.run([*command(), *map(str, args)], cwd=cwd, env=env or environment(),
                          capture_output=True, text=True, timeout=timeout)
