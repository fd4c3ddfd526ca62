"""geossr: spatial-spectral super-resolution for remote sensing imagery."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("geossr")
except PackageNotFoundError:  # a source checkout that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
