"""The geossr Processing provider: one setting (the executable) and one algorithm per command."""

import os
import shutil

from processing.core.ProcessingConfig import ProcessingConfig, Setting
from qgis.core import Qgis, QgsMessageLog, QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon

from .algorithms import ICONS, SimulateAlgorithm, UpsampleAlgorithm
from .config import EXECUTABLE_SETTING, configured_executable
from .runner import GeossrRunError, sensor_names


class GeossrProvider(QgsProcessingProvider):
    def load(self):
        ProcessingConfig.settingIcons[self.name()] = self.icon()
        ProcessingConfig.addSetting(Setting(
            self.name(), EXECUTABLE_SETTING, "geossr executable",
            os.environ.get("GEOSSR_EXECUTABLE") or shutil.which("geossr") or "", valuetype=Setting.FILE,
        ))
        ProcessingConfig.readSettings()
        self.refreshAlgorithms()
        return True

    def unload(self):
        ProcessingConfig.removeSetting(EXECUTABLE_SETTING)

    def id(self):
        return "geossr"

    def name(self):
        return "geossr"

    def longName(self):  # noqa: N802
        return "geossr: spatial-spectral super-resolution"

    def icon(self):
        return QIcon(str(ICONS / "geossr.svg"))

    def supportedOutputRasterLayerExtensions(self):  # noqa: N802 (geossr writes GeoTIFF only)
        return ["tif"]

    def loadAlgorithms(self):  # noqa: N802
        try:
            sensors = sensor_names(configured_executable())
        except GeossrRunError as exc:
            # The algorithms still load (a sensor file works); running them repeats the reason.
            QgsMessageLog.logMessage(f"geossr sensors unavailable: {exc}", "geossr", Qgis.Warning)
            sensors = []
        self.addAlgorithm(UpsampleAlgorithm(sensors))
        self.addAlgorithm(SimulateAlgorithm(sensors))
