"""Run by tests/test_qgis.py under QGIS's own Python (/usr/bin/python3), not the project's venv.

    python3 qgis_helper.py bands RASTER          -> JSON: the band names QGIS shows for the layer
    python3 qgis_helper.py cancel PLUGINS PARAMS -> JSON: run geossr:upsample, cancel at its first progress step

It prints one JSON line on stdout. QGIS_CUSTOM_CONFIG_PATH should point at a temporary profile.
"""

import json
import sys
import time

from qgis.core import QgsApplication, QgsProcessingContext, QgsProcessingFeedback, QgsRasterLayer

QgsApplication.setPrefixPath("/usr", True)
app = QgsApplication([], False)
app.initQgis()


def bands(path):
    layer = QgsRasterLayer(path, "output")
    return {"valid": layer.isValid(), "bands": [layer.bandName(i) for i in range(1, layer.bandCount() + 1)],
            "crs": layer.crs().authid(), "width": layer.width(), "height": layer.height()}


class CancelAtFirstStep(QgsProcessingFeedback):
    """Presses Cancel as soon as geossr reports progress past 0, as a user would mid-run."""

    def __init__(self):
        super().__init__()
        self.cancelled_at = None
        self.errors = []
        self.progressChanged.connect(self._cancel_once)

    def _cancel_once(self, percent):
        if percent > 0 and self.cancelled_at is None:
            self.cancelled_at = time.monotonic()
            self.cancel()

    def reportError(self, error, fatalError=False):  # noqa: N802,N803 (QGIS API)
        self.errors.append(error)


def cancel(plugins_dir, parameters):
    sys.path.append("/usr/share/qgis/python/plugins")
    from processing.core.Processing import Processing

    Processing.initialize()
    sys.path.insert(0, plugins_dir)
    import geossr_processing

    plugin = geossr_processing.classFactory(None)
    plugin.initProcessing()
    algorithm = QgsApplication.processingRegistry().createAlgorithmById("geossr:upsample")
    feedback = CancelAtFirstStep()
    started = time.monotonic()
    results, ok = algorithm.run(parameters, QgsProcessingContext(), feedback)
    ended = time.monotonic()
    return {"ok": ok, "errors": feedback.errors, "run_s": ended - started,
            "stop_s": None if feedback.cancelled_at is None else ended - feedback.cancelled_at}


if __name__ == "__main__":
    command, *arguments = sys.argv[1:]
    if command == "bands":
        answer = bands(arguments[0])
    else:
        answer = cancel(arguments[0], json.loads(arguments[1]))
    print(json.dumps(answer))
    app.exitQgis()
