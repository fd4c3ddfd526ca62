"""SSIF with a band-agnostic input: one model for any multispectral input sensor.

SSIF's output side is already continuous in wavelength; :mod:`geossr.models.band_stem` makes the
input side continuous too. Everything after the stem — image encoder, LIIF pixel decoder,
spectral encoder and decoder — is SSIF's, inherited unchanged.

The model holds a current input sensor (``model.input_sensor``), set with
:meth:`AnySensorSSIF.use_input_sensor`; the tiled engine, the consistency projection and
``geossr upsample`` read it like any model's. Training sets it per batch.
"""

from __future__ import annotations

from geossr.models.band_stem import BandStem, StemmedEncoder
from geossr.models.ssif import SSIF
from geossr.spectral.bands import Sensor


class AnySensorSSIF(SSIF):
    name = "ssif-any"
    #: takes any input sensor whose bands lie in its trained spectral range
    any_input_sensor = True

    def __init__(self, input_sensor: Sensor, stem_channels: int = 32, stem_embed_dim: int = 64,
                 stem_hidden: int = 64, stem_spectral: dict | None = None, **ssif_options):
        super().__init__(stem_channels, **ssif_options)
        stem = BandStem(stem_channels, stem_embed_dim, stem_hidden, stem_spectral)
        self.encoder = StemmedEncoder(stem, self.encoder)
        self.use_input_sensor(input_sensor)

    def use_input_sensor(self, sensor: Sensor) -> AnySensorSSIF:
        """Take input in ``sensor``'s bands from now on (same weights)."""
        self.encoder.stem.use_sensor(sensor)
        self.input_sensor = sensor
        self.input_bands = len(sensor)
        return self
