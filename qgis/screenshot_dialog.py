"""Save the Upsample algorithm dialog as PNG, headless (the picture in docs/qgis.md).

Run with QGIS's Python and a virtual display, the plugin installed in the profile QGIS uses:

    xvfb-run -a -s "-screen 0 1280x1024x24" env PATH=/usr/bin:/bin GEOSSR_EXECUTABLE=$(which geossr) \\
        /usr/bin/python3 qgis/screenshot_dialog.py examples/pavia_rosis_100x100.tif qgis/upsample_dialog.png
"""

import sys

from qgis.core import QgsApplication, QgsProject, QgsRasterLayer

QgsApplication.setPrefixPath("/usr", True)
app = QgsApplication([], True)
app.initQgis()
sys.path.append("/usr/share/qgis/python/plugins")
from processing.core.Processing import Processing  # noqa: E402 (needs the running QgsApplication)
from processing.gui.AlgorithmDialog import AlgorithmDialog  # noqa: E402
from qgis.utils import loadPlugin, startPlugin  # noqa: E402

scene, picture = sys.argv[1:3]
Processing.initialize()
if not (loadPlugin("geossr_processing") and startPlugin("geossr_processing")):
    sys.exit("the geossr_processing plugin is not installed in this QGIS profile (geossr qgis-plugin --install)")
QgsProject.instance().addMapLayer(QgsRasterLayer(scene, "pavia_rosis_100x100"))
algorithm = QgsApplication.processingRegistry().createAlgorithmById("geossr:upsample")
dialog = AlgorithmDialog(algorithm, False, None)
dialog.resize(980, 640)
dialog.show()
for _ in range(20):  # let the widgets and the help panel lay out
    app.processEvents()
if not dialog.grab().save(picture):
    sys.exit(f"could not write {picture}")
dialog.close()
app.exitQgis()
