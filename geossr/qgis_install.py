"""Install the QGIS Processing plugin (shipped as ``geossr.qgis_plugin``) into a QGIS profile, or zip it.

QGIS looks for plugins in ``PROFILE/python/plugins/NAME`` and enables them through
``[PythonPlugins] NAME=true`` in ``PROFILE/QGIS/QGIS3.ini``. The zip is what QGIS's
"Install from ZIP" takes: one top-level folder named like the plugin.
"""

from __future__ import annotations

import os
import shutil
import sys
import zipfile
from importlib.resources import files
from pathlib import Path

from geossr.errors import GeossrError
from geossr.fileio import atomic_output

PLUGIN_NAME = "geossr_processing"
_SKIP = shutil.ignore_patterns("__pycache__", "*.pyc")


def plugin_source() -> Path:
    return Path(str(files("geossr.qgis_plugin")))


def default_profile_dir() -> Path:
    """QGIS 3's default user profile on this platform."""
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA", Path.home() / "AppData" / "Roaming"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
    return base / "QGIS" / "QGIS3" / "profiles" / "default"


def install_plugin(profile_dir: str | Path | None = None) -> Path:
    """Copy the plugin into the profile (replacing an older copy) and enable it; returns its folder."""
    profile = Path(profile_dir) if profile_dir is not None else default_profile_dir()
    if profile.exists() and not profile.is_dir():
        raise GeossrError(f"QGIS profile is not a directory: {profile}")
    plugins = profile / "python" / "plugins"
    try:
        plugins.mkdir(parents=True, exist_ok=True)
        target = plugins / PLUGIN_NAME
        staging = plugins / f".{PLUGIN_NAME}.new"
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(plugin_source(), staging, ignore=_SKIP)
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
        enable_plugin(profile / "QGIS" / "QGIS3.ini")
    except OSError as exc:
        raise GeossrError(f"cannot install the QGIS plugin into {profile}: {exc.strerror or exc}") from None
    return target


def enable_plugin(settings_file: Path) -> None:
    """Set ``[PythonPlugins] geossr_processing=true``, leaving every other line as QGIS wrote it."""
    lines = settings_file.read_text().splitlines() if settings_file.exists() else []
    entry = f"{PLUGIN_NAME}=true"
    try:
        start = lines.index("[PythonPlugins]") + 1
    except ValueError:
        lines += ([""] if lines else []) + ["[PythonPlugins]", entry]
    else:
        end = next((i for i in range(start, len(lines)) if lines[i].startswith("[")), len(lines))
        existing = [i for i in range(start, end) if lines[i].split("=", 1)[0].strip() == PLUGIN_NAME]
        if existing:
            lines[existing[0]] = entry
        else:
            lines.insert(start, entry)
    settings_file.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(settings_file, suffix=".ini") as tmp:
        Path(tmp).write_text("\n".join(lines) + "\n")


def zip_plugin(output: str | Path) -> Path:
    """Write the plugin as a zip QGIS can install ("Plugins > Install from ZIP")."""
    output = Path(output)
    if not output.parent.resolve().is_dir():
        raise GeossrError(f"output directory does not exist: {output.parent}")
    source = plugin_source()
    with atomic_output(output, suffix=".zip") as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(source.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                archive.write(path, f"{PLUGIN_NAME}/{path.relative_to(source).as_posix()}")
    return output
