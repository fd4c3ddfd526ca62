"""Bands, sensors and spectral-response integration.

SSIF wavelength sampling lives in :mod:`geossr.spectral.sampling` (it needs torch, which the
rest of this package does not import).
"""

from geossr.spectral.bands import Band, Sensor
from geossr.spectral.integration import response_matrix, uncovered_fraction
from geossr.spectral.sensors import available_sensors, load_sensor

__all__ = [
    "Band",
    "Sensor",
    "available_sensors",
    "load_sensor",
    "response_matrix",
    "uncovered_fraction",
]
