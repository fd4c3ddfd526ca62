"""One Processing algorithm per geossr command; each builds a command line and runs it (runner.py)."""

from pathlib import Path

from qgis.core import (
    QgsProcessingAlgorithm,
    QgsProcessingException,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFile,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterString,
    QgsProviderRegistry,
)
from qgis.PyQt.QtGui import QIcon

from . import runner
from .config import configured_executable

ICONS = Path(__file__).parent / "icons"
MODELS = ["linear-sr", "ssif", "ssif-any", "liif", "fmnet", "linear", "bicubic"]  # geossr.models.MODELS, default first
DEVICES = ["auto", "cpu", "cuda"]
DTYPES = ["float32", "uint16"]

_SENSOR_HELP = (
    "<p><b>Target sensor</b>: a sensor shipped with geossr (<code>geossr sensors list</code>). "
    "<b>Other target bands</b>, if given, replace it: some bands of a sensor "
    "(<code>ikonos:blue,green,red,nir</code>) or a band grid in nm (<code>grid:400:1000:60</code>). "
    "<b>Target sensor file</b>, if given, replaces both: a sensor .yaml file (geossr's docs/sensors.md).</p>"
    "<p><b>Input sensor</b>: the input's bands, if the file does not declare its wavelengths "
    "(the same forms as the target). Where the file declares other wavelengths, geossr refuses it unless "
    "<b>Input sensor overrides the file's wavelengths</b> is checked.</p>"
)


class GeossrAlgorithm(QgsProcessingAlgorithm):
    """Shared parts: the sensor parameters, the input path, running geossr with feedback."""

    icon_name = "geossr.svg"

    def __init__(self, sensors):
        super().__init__()
        self.sensors = list(sensors)

    def createInstance(self):  # noqa: N802 (QGIS API names throughout)
        return type(self)(self.sensors)

    def icon(self):
        return QIcon(str(ICONS / self.icon_name))

    def checkParameterValues(self, parameters, context):  # noqa: N802
        # Without geossr the sensor list is empty and every sensor "invalid": say why instead.
        try:
            configured_executable()
        except runner.GeossrRunError as exc:
            return False, str(exc)
        return super().checkParameterValues(parameters, context)

    def add_sensor_parameters(self, default):
        self.addParameter(QgsProcessingParameterEnum(
            "SENSOR", "Target sensor", options=self.sensors, allowMultiple=False,
            defaultValue=default if default in self.sensors else None, optional=True, usesStaticStrings=True,
        ))
        self.addParameter(QgsProcessingParameterString(
            "SENSOR_SPEC", "Other target bands (e.g. ikonos:blue,green,red,nir or grid:400:1000:60)", optional=True,
        ))
        self.addParameter(QgsProcessingParameterFile(
            "SENSOR_FILE", "Target sensor file (.yaml)",
            behavior=QgsProcessingParameterFile.File, extension="yaml", optional=True,
        ))
        self.addParameter(QgsProcessingParameterString(
            "INPUT_SENSOR", "Input sensor (if the input does not declare its band wavelengths)", optional=True,
        ))
        self.addParameter(QgsProcessingParameterBoolean(
            "OVERRIDE_METADATA", "Input sensor overrides the file's wavelengths", defaultValue=False, optional=True,
        ))

    def sensor_arguments(self, parameters, context):
        sensor = (self.parameterAsFile(parameters, "SENSOR_FILE", context)
                  or (self.parameterAsString(parameters, "SENSOR_SPEC", context) or "").strip()
                  or self.parameterAsEnumString(parameters, "SENSOR", context))
        if not sensor:
            raise QgsProcessingException("choose a target sensor, other target bands or a target sensor file")
        arguments = ["--sensor", sensor]
        input_sensor = (self.parameterAsString(parameters, "INPUT_SENSOR", context) or "").strip()
        if input_sensor:
            arguments += ["--input-sensor", input_sensor]
            if self.parameterAsBoolean(parameters, "OVERRIDE_METADATA", context):
                arguments.append("--override-metadata")
        return arguments

    def input_path(self, parameters, context):
        layer = self.parameterAsRasterLayer(parameters, "INPUT", context)
        if layer is None:
            raise QgsProcessingException(self.invalidRasterError(parameters, "INPUT"))
        if layer.providerType() != "gdal":
            raise QgsProcessingException(
                f"geossr reads raster files; {layer.name()} comes from the {layer.providerType()} provider "
                "(export it to GeoTIFF first)"
            )
        return QgsProviderRegistry.instance().decodeUri("gdal", layer.source())["path"]

    def run_geossr(self, arguments, feedback):
        try:
            executable = configured_executable()
            feedback.pushCommandInfo(" ".join([executable, *arguments]))
            runner.run(
                arguments, executable,
                on_progress=lambda done, total: feedback.setProgress(100.0 * done / max(total, 1)),
                is_canceled=feedback.isCanceled,
                on_warning=feedback.pushWarning,
                on_output=feedback.pushConsoleInfo,
            )
        except runner.GeossrRunError as exc:
            raise QgsProcessingException(str(exc)) from None


class UpsampleAlgorithm(GeossrAlgorithm):
    icon_name = "upsample.svg"

    def name(self):
        return "upsample"

    def displayName(self):  # noqa: N802
        return "Upsample (super-resolve)"

    def shortHelpString(self):  # noqa: N802
        return (
            "<p>Super-resolves a scene: more, narrower bands and finer pixels, written as a georeferenced "
            "GeoTIFF whose bands are named by sensor, band and centre wavelength (runs "
            "<code>geossr upsample</code>).</p>"
            "<p><b>Scale</b>: pixels become this many times smaller (1-16, fractional allowed).</p>"
            + _SENSOR_HELP +
            "<p><b>Model</b>: " + ", ".join(MODELS) + " (<code>geossr models list</code> describes each). The "
            "default, linear-sr, learns the spatial detail of each input band, then applies the linear spectral "
            "prior: any input sensor, the best on airborne scenes it never saw; linear and bicubic need no weights. "
            "<b>Weights</b>: a checkpoint trained with <code>geossr train</code>.</p>"
            "<p>Advanced: <b>tile size</b> (a multiple of 16) bounds memory; <b>device</b> auto uses a GPU if "
            "there is one; <b>COG</b> writes a Cloud-Optimized GeoTIFF; <b>input scale</b> turns stored values "
            "into reflectance (0.0001 for Sentinel-2 / Landsat L2 DN, 0.00392 for 8-bit, auto: geossr's rule; "
            "empty: the file's own scale); <b>consistency</b> projects the output so that it re-integrates "
            "exactly to the input bands; <b>output data type</b> uint16 stores reflectance x 10000 with a "
            "GDAL scale.</p>"
            "<p>Cancelling stops geossr; no partial output is left behind.</p>"
        )

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterRasterLayer("INPUT", "Input raster"))
        self.addParameter(QgsProcessingParameterNumber(
            "SCALE", "Scale (output pixels per input pixel, per axis)", QgsProcessingParameterNumber.Double,
            defaultValue=2.0, minValue=1.0, maxValue=16.0,
        ))
        self.add_sensor_parameters(default="rosis")
        self.addParameter(QgsProcessingParameterEnum(
            "MODEL", "Model", options=MODELS, defaultValue=MODELS[0], usesStaticStrings=True,
        ))
        advanced = [
            QgsProcessingParameterFile("WEIGHTS", "Weights (.safetensors checkpoint)",
                                       behavior=QgsProcessingParameterFile.File, extension="safetensors",
                                       optional=True),
            QgsProcessingParameterNumber("TILE", "Tile size (output pixels)", QgsProcessingParameterNumber.Integer,
                                         defaultValue=256, minValue=16),
            QgsProcessingParameterEnum("DEVICE", "Device", options=DEVICES, defaultValue="auto",
                                       usesStaticStrings=True),
            QgsProcessingParameterBoolean("COG", "Write a Cloud-Optimized GeoTIFF", defaultValue=False),
            QgsProcessingParameterString("INPUT_SCALE", "Input scale (reflectance = stored value x F, or auto)",
                                         optional=True),
            QgsProcessingParameterBoolean("CONSISTENCY", "Re-integrate exactly to the input bands (consistency)",
                                          defaultValue=False),
            QgsProcessingParameterEnum("DTYPE", "Output data type", options=DTYPES, defaultValue=DTYPES[0],
                                       usesStaticStrings=True),
        ]
        for parameter in advanced:
            parameter.setFlags(parameter.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
            self.addParameter(parameter)
        self.addParameter(QgsProcessingParameterRasterDestination("OUTPUT", "Upsampled"))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        output = self.parameterAsOutputLayer(parameters, "OUTPUT", context)
        arguments = [
            "upsample", self.input_path(parameters, context),
            "--scale", repr(self.parameterAsDouble(parameters, "SCALE", context)),
            *self.sensor_arguments(parameters, context),
            "--tile", str(self.parameterAsInt(parameters, "TILE", context)),
            "--device", self.parameterAsEnumString(parameters, "DEVICE", context),
            "--dtype", self.parameterAsEnumString(parameters, "DTYPE", context),
            "--output", output, "--overwrite", "--progress-json",
        ]
        weights = self.parameterAsFile(parameters, "WEIGHTS", context)
        # With weights the checkpoint decides the model, as on the command line without --model
        arguments += ["--weights", weights] if weights else ["--model", self.parameterAsEnumString(parameters, "MODEL", context)]
        input_scale = self.parameterAsString(parameters, "INPUT_SCALE", context).strip()
        if input_scale:
            arguments += ["--input-scale", input_scale]
        if self.parameterAsBoolean(parameters, "CONSISTENCY", context):
            arguments.append("--consistency")
        if self.parameterAsBoolean(parameters, "COG", context):
            arguments.append("--cog")
        self.run_geossr(arguments, feedback)
        return {"OUTPUT": output}


class SimulateAlgorithm(GeossrAlgorithm):
    icon_name = "simulate.svg"

    def name(self):
        return "simulate"

    def displayName(self):  # noqa: N802
        return "Simulate sensor"

    def shortHelpString(self):  # noqa: N802
        return (
            "<p>What another sensor would have recorded of a hyperspectral scene: each target band is the "
            "input spectrum integrated over that band's spectral response (runs <code>geossr simulate</code>). "
            "Use it to make realistic model inputs, e.g. IKONOS from ROSIS.</p>"
            + _SENSOR_HELP +
            "<p><b>Downsampling factor</b>: also make the pixels this many times larger (Gaussian "
            "anti-aliasing, then sampling at the coarse pixel centres); 1 keeps the grid.</p>"
            "<p>Cancelling stops geossr; no partial output is left behind.</p>"
        )

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterRasterLayer("INPUT", "Hyperspectral input raster"))
        self.add_sensor_parameters(default="ikonos")
        self.addParameter(QgsProcessingParameterNumber(
            "SCALE", "Downsampling factor", QgsProcessingParameterNumber.Double, defaultValue=1.0, minValue=1.0,
        ))
        self.addParameter(QgsProcessingParameterRasterDestination("OUTPUT", "Simulated"))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        output = self.parameterAsOutputLayer(parameters, "OUTPUT", context)
        arguments = [
            "simulate", self.input_path(parameters, context),
            *self.sensor_arguments(parameters, context),
            "--output", output, "--overwrite", "--progress-json",
        ]
        scale = self.parameterAsDouble(parameters, "SCALE", context)
        if scale != 1:
            arguments += ["--scale", repr(scale)]
        self.run_geossr(arguments, feedback)
        return {"OUTPUT": output}
