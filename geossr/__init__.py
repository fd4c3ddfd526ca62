"""geossr: spatial-spectral super-resolution for remote sensing imagery."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("geossr")
except PackageNotFoundError:  # a source checkout that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__", "load_model", "open_raster", "upsample"]


def __getattr__(name):
    # Lazy: `import geossr` (and `geossr --version`) stays fast; torch loads on first use.
    if name in ("load_model", "open_raster", "upsample"):
        from geossr import api

        return getattr(api, name)
    raise AttributeError(f"module 'geossr' has no attribute {name!r}")
