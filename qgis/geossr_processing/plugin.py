"""Registers the geossr Processing provider, in the QGIS desktop and in qgis_process."""

from qgis.core import QgsApplication

from .provider import GeossrProvider


class GeossrPlugin:
    def __init__(self, iface):
        self.iface = iface
        self.provider = None

    def initProcessing(self):  # noqa: N802 (QGIS calls it; qgis_process calls only this)
        self.provider = GeossrProvider()
        QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self):  # noqa: N802
        self.initProcessing()

    def unload(self):
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
