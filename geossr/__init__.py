"""geossr: spatial-spectral super-resolution for remote sensing imagery."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("geossr")
except PackageNotFoundError:  # a source checkout that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__", "upsample"]


def __getattr__(name):
    # Lazy: `import geossr` (and `geossr --version`) stays fast; torch loads on first use.
    if name == "upsample":
        from geossr.scene.engine import upsample

        return upsample
    raise AttributeError(f"module 'geossr' has no attribute {name!r}")
