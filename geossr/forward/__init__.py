"""The forward model: what a sensor records from a scene (spectral integration through its
responses, spatial degradation) and the projection of an output back onto its input. The bottom
layer that training data (``geossr.data``), the scene engine (``geossr.scene``) and evaluation share."""
