"""Shared helpers for the commands: JSON for scripts, rich tables for people, list options."""

from __future__ import annotations

import ctypes
import json
import os
import sys
from pathlib import Path

from rich.console import Console

console = Console()
err_console = Console(stderr=True)


def print_json(payload) -> None:
    sys.stdout.write(json.dumps(payload, indent=2) + "\n")


def parse_list(text: str, kind, option: str) -> list:
    """A comma- or space-separated option value (``--scales 2,4,8``) as a list of ``kind``; one-line errors."""
    from geossr.errors import GeossrError

    try:
        values = [kind(v) for v in text.replace(",", " ").split()]
    except ValueError:
        raise GeossrError(f"{option} must be a comma-separated list of {kind.__name__} values, got {text!r}") from None
    if not values:
        raise GeossrError(f"{option} is empty")
    return values


def _loaded_libtiffs() -> list[str]:
    """Paths of the libtiff copies in this process (rasterio's wheel bundles its own)."""
    import rasterio  # loads GDAL, and with it libtiff

    maps = Path("/proc/self/maps")
    if maps.exists():
        return sorted({line.split()[-1] for line in maps.read_text().splitlines() if "/libtiff" in line})
    package = Path(rasterio.__file__).parent
    return sorted(str(p) for folder in (package.parent / "rasterio.libs", package / ".dylibs")
                  for p in folder.glob("libtiff*"))


def quiet_libtiff() -> None:
    """Stop libtiff printing its own error lines (commands that write GeoTIFFs call it; it loads GDAL).

    GDAL reports every failure again through its error handler, which geossr turns into one line,
    but a few libtiff calls in GDAL (a write cut short by a full disk: "_tiffWriteProc: No space left
    on device.") bypass it and reach stderr raw. ``GEOSSR_DEBUG=1`` keeps them.
    """
    if os.environ.get("GEOSSR_DEBUG"):
        return
    for path in _loaded_libtiffs():
        try:
            set_handler = ctypes.CDLL(path).TIFFSetErrorHandler
        except (OSError, AttributeError):
            continue
        set_handler.restype, set_handler.argtypes = ctypes.c_void_p, [ctypes.c_void_p]
        set_handler(None)
