"""Exceptions with messages meant for users: the CLI prints them as one line."""


class GeossrError(Exception):
    """Base class for every error geossr reports to a user."""


class SensorError(GeossrError, ValueError):
    """A sensor definition is missing, malformed or physically impossible."""


class CoverageError(GeossrError, ValueError):
    """A target band lies outside the spectral coverage of the source."""


class RasterError(GeossrError):
    """An input raster cannot be read, or an output cannot be written."""


class DiskFullError(RasterError):
    """The output's disk is full: a batch stops here, since the next outputs would fail alike."""
