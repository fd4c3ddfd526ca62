"""Hyperspectral cubes for training and evaluation, loaded from the real public data sets.

Every loader returns :class:`HyperspectralCube` objects holding a (C, H, W) float32 array with
values in [0, 1] and the :class:`Sensor` its bands were measured with, and raises
:class:`GeossrError` with a one-line message when a file is missing or not what it should be.

Layouts handled here:
- CAVE: 31 single-band 16-bit PNGs per scene, ``<scene>_ms_01..31.png`` (400..700 nm, 10 nm);
- ROSIS ``abu-beach-4.mat``: ``data`` (rows, cols, bands);
- Jasper Ridge and Samson (unmixing benchmarks): ``Y`` (bands, pixels) with the pixels in MATLAB
  column-major order, i.e. pixel k is at row ``k % nRow``, column ``k // nRow``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
import scipy.io
from rasterio.errors import NotGeoreferencedWarning, RasterioIOError

from geossr.data.airborne import AIRBORNE_SPLIT, aviris_nominal_nm, load_airborne_scene
from geossr.data.airborne import SCENES as AIRBORNE_SCENES
from geossr.errors import GeossrError
from geossr.scene.io import open_raster, read_sensor
from geossr.spectral.bands import Band, Sensor
from geossr.spectral.sensors import load_sensor

CAVE_BANDS = 31
CAVE_SCENES = (
    "balloons",
    "beads",
    "cd",
    "chart_and_stuffed_toy",
    "cloth",
    "face",
    "fake_and_real_peppers",
    "feathers",
    "flowers",
    "oil_painting",
    "pompoms",
    "real_and_fake_apples",
)
# Scene-level split of the 12 scenes we have. pompoms and real_and_fake_apples are test scenes in
# the SSIF/US3RN protocol ("first 22 of 32 for training", in the alphabetical order of the CAVE
# distribution), so our test numbers stay comparable and no scene of theirs leaks into our
# training set. fake_and_real_peppers is held out too because it is the bundled example
# (examples/cave_peppers_256x256.tif): demos on it then show a scene the model never saw.
CAVE_SPLIT = {
    "train": [
        "balloons",
        "beads",
        "cd",
        "chart_and_stuffed_toy",
        "cloth",
        "face",
        "feathers",
        "flowers",
        "oil_painting",
    ],
    "test": ["fake_and_real_peppers", "pompoms", "real_and_fake_apples"],
}
SPLITS = ("train", "validation", "test", "all")

# Paths of the single-scene data sets inside the shared data root.
DATASET_FILES = {
    "rosis": "pavia_centre/abu-beach-4.mat",
    "jasper": "jasper_ridge/JasperRidge2_R198.mat",
    "samson": "samson/Samson.mat",
}
GEOTIFF_SUFFIXES = (".tif", ".tiff")
# The airborne scenes as one remote-sensing set: SSIF is continuous in wavelength, so scenes with
# different band sets train one model. The real ROSIS crop is held out: it is the only one of the
# three in the ROSIS 430-860 nm band set the multispectral model is meant to produce.
REMOTE_SPLIT = {"train": ["jasper", "samson"], "test": ["rosis"]}

# AVIRIS: 224 channels on a nominal linear grid over 380-2500 nm (Jasper Ridge keeps 198).
AVIRIS_FIRST_NM, AVIRIS_LAST_NM, AVIRIS_CHANNELS = 380.0, 2500.0, 224
# SAMSON: 156 channels on a nominal linear grid over 401-889 nm.
SAMSON_FIRST_NM, SAMSON_LAST_NM, SAMSON_CHANNELS = 401.0, 889.0, 156


@dataclass(frozen=True, eq=False, repr=False)
class HyperspectralCube:
    """One scene: ``data`` is (C, H, W) float32 in [0, 1], band i measured by ``sensor.bands[i]``."""

    name: str
    data: np.ndarray
    sensor: Sensor
    source: str

    def __post_init__(self):
        if self.data.ndim != 3 or self.data.dtype != np.float32:
            raise GeossrError(
                f"cube {self.name!r}: data must be a (C, H, W) float32 array, "
                f"got {self.data.dtype} of shape {self.data.shape}"
            )
        if self.data.shape[0] != len(self.sensor):
            raise GeossrError(
                f"cube {self.name!r} has {self.data.shape[0]} bands but sensor "
                f"{self.sensor.name} has {len(self.sensor)}"
            )

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.data.shape

    def __repr__(self) -> str:
        bands, height, width = self.data.shape
        return f"HyperspectralCube({self.name!r}, {bands}x{height}x{width}, sensor={self.sensor.name!r})"


def load_cave_scene(scene_dir: str | Path) -> HyperspectralCube:
    """A CAVE scene folder ``<scene>_ms`` → its 31 bands / 65535 (the shipped _RGB.bmp is not used)."""
    scene_dir = Path(scene_dir)
    if not scene_dir.is_dir():
        raise GeossrError(f"CAVE scene folder not found: {scene_dir}")
    scene = scene_dir.name.removesuffix("_ms")
    planes = []
    for index in range(1, CAVE_BANDS + 1):
        path = scene_dir / f"{scene}_ms_{index:02d}.png"
        if not path.is_file():
            raise GeossrError(f"CAVE scene {scene}: band file missing: {path}")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", NotGeoreferencedWarning)
                with rasterio.open(path) as dataset:
                    # watercolors ships 8-bit RGBA PNGs: refuse rather than mis-scale them.
                    if dataset.count != 1 or dataset.dtypes[0] != "uint16":
                        raise GeossrError(
                            f"CAVE scene {scene}: {path.name} has {dataset.count} band(s) of "
                            f"{dataset.dtypes[0]}; expected one 16-bit band"
                        )
                    planes.append(dataset.read(1))
        except RasterioIOError:
            raise GeossrError(f"CAVE scene {scene}: cannot read {path}") from None
    if len({plane.shape for plane in planes}) != 1:
        raise GeossrError(f"CAVE scene {scene}: band images differ in size")
    data = np.stack(planes).astype(np.float32) / np.float32(65535)
    return HyperspectralCube(scene, data, load_sensor("cave31"), f"CAVE {scene_dir}")


def load_cave(root: str | Path, split: str = "all") -> list[HyperspectralCube]:
    """The CAVE scenes of ``split`` (train / test / all) from ``root``, the folder of ``<scene>_ms``."""
    if split not in SPLITS:
        raise GeossrError(f"unknown CAVE split {split!r} (use {', '.join(SPLITS)})")
    root = Path(root)
    if not root.is_dir():
        raise GeossrError(f"CAVE folder not found: {root}")
    if split != "all" and split not in CAVE_SPLIT:
        raise GeossrError(f"CAVE has no {split} split (use {', '.join(CAVE_SPLIT)} or all)")
    scenes = CAVE_SCENES if split == "all" else CAVE_SPLIT[split]
    return [load_cave_scene(root / f"{scene}_ms") for scene in scenes]


def load_rosis_crop(mat_path: str | Path) -> HyperspectralCube:
    """The ROSIS-03 crop ``abu-beach-4.mat`` (102 bands, 100 x 100, normalised to [0, 1] as shipped)."""
    data = _load_mat(mat_path, ["data"])["data"]
    if data.ndim != 3 or data.shape[2] != 102:
        raise GeossrError(f"{mat_path}: 'data' should be (rows, cols, 102), got {data.shape}")
    cube = np.ascontiguousarray(np.transpose(data, (2, 0, 1)), dtype=np.float32)
    return HyperspectralCube("abu-beach-4", cube, load_sensor("rosis"), f"ROSIS-03 {mat_path}")


def load_jasper_ridge(mat_path: str | Path, channel_table: np.ndarray | None = None) -> HyperspectralCube:
    """Jasper Ridge (AVIRIS, 198 kept bands, 100 x 100), divided by the cube's maximum.

    The cube's own maximum (5437) is used rather than the file's ``maxValue`` (5000), which a
    few pixels exceed, so values stay in [0, 1]. Band centres: AVIRIS channel n (``SlectBands``,
    1-based) at ``channel_table[n - 1]`` (the nominal 224-channel table, whose spectrometer overlaps
    put channel 43 at 760 nm), else on the linear grid 380 + (n − 1)·2120/223 nm (channel 43 at
    779 nm: 10-20 nm long in the NIR), Gaussian with FWHM = the grid spacing.
    The kept bands skip the water-absorption channels, so the sensor has gaps; integration
    interpolates the spectrum linearly across them.
    """
    mat = _load_mat(mat_path, ["Y", "SlectBands", "nRow", "nCol"])
    channels = mat["SlectBands"].ravel().astype(np.float64)  # stored as uint8: cast before arithmetic
    values = mat["Y"].astype(np.float64)
    if values.shape[0] != channels.size:
        raise GeossrError(f"{mat_path}: 'Y' has {values.shape[0]} bands but 'SlectBands' lists {channels.size}")
    cube = _column_major(values, mat, mat_path) / values.max()
    spacing = (AVIRIS_LAST_NM - AVIRIS_FIRST_NM) / (AVIRIS_CHANNELS - 1)
    centres = AVIRIS_FIRST_NM + (channels - 1) * spacing if channel_table is None else channel_table[channels.astype(int) - 1]
    sensor = _nominal_sensor(
        "jasper_ridge_aviris",
        centres,
        spacing,
        [f"c{int(c):03d}" for c in channels],
        "AVIRIS channels kept in the Jasper Ridge unmixing benchmark (198 of 224)",
    )
    return HyperspectralCube("jasper_ridge", cube.astype(np.float32), sensor, f"AVIRIS Jasper Ridge {mat_path}")


def load_samson(mat_path: str | Path) -> HyperspectralCube:
    """Samson (156 bands, 401-889 nm, 95 x 95), values as shipped (already scaled to [0, 1]).

    Band i (1-based) is nominally at 401 + (i − 1)·488/155 nm, Gaussian with FWHM = that spacing.
    """
    mat = _load_mat(mat_path, ["Y", "nRow", "nCol"])
    values = mat["Y"].astype(np.float64)
    if values.shape[0] != SAMSON_CHANNELS:
        raise GeossrError(f"{mat_path}: 'Y' should have {SAMSON_CHANNELS} bands, got {values.shape[0]}")
    cube = _column_major(values, mat, mat_path)
    spacing = (SAMSON_LAST_NM - SAMSON_FIRST_NM) / (SAMSON_CHANNELS - 1)
    sensor = _nominal_sensor(
        "samson",
        SAMSON_FIRST_NM + np.arange(SAMSON_CHANNELS) * spacing,
        spacing,
        [f"b{i:03d}" for i in range(1, SAMSON_CHANNELS + 1)],
        "SAMSON airborne imager, 156 channels over 401-889 nm",
    )
    return HyperspectralCube("samson", cube.astype(np.float32), sensor, f"SAMSON {mat_path}")


def load_geotiff_cube(path: str | Path, sensor: str | Sensor | None = None, scale: float = 1.0) -> HyperspectralCube:
    """A GeoTIFF (or any GDAL raster) read whole, values × ``scale``.

    The values are used as stored: give data in [0, 1], or the factor that maps it there (e.g.
    ``scale=1e-4`` for Sentinel-2 L2A or Landsat SR reflectance × 10000). The bands come from
    ``sensor`` (a spec or a Sensor) or else from the file's wavelength metadata. Nodata pixels
    are refused: a training crop must not contain them.
    """
    path = Path(path)
    data = open_raster(path)
    if sensor is None:
        sensor = read_sensor(path)
        if sensor is None:
            raise GeossrError(f"{path} declares no band wavelengths; pass its sensor")
    elif not isinstance(sensor, Sensor):
        sensor = load_sensor(sensor)
    if data.sizes["band"] != len(sensor):
        raise GeossrError(f"{path} has {data.sizes['band']} bands but sensor {sensor.name} has {len(sensor)}")
    cube = np.asarray(data.values, dtype=np.float32) * np.float32(scale)
    if not np.all(np.isfinite(cube)):
        raise GeossrError(f"{path} contains nodata pixels; crop them out before training")
    return HyperspectralCube(path.stem, cube, sensor, str(path))


def load_dataset(name_or_path: str | Path, root: str | Path | None = None, split: str = "all") -> list[HyperspectralCube]:
    """``cave``, ``remote`` or ``airborne`` (each with a scene split), ``rosis``, ``jasper``, ``samson``,
    ``jasper-aviris`` (Jasper Ridge on the nominal AVIRIS channel table), an airborne scene, or a GeoTIFF.

    ``root`` is the shared data folder (the one with ``cave/``, ``pavia_centre/``, …). The
    single-scene sets have no train/test split: ask for ``split="all"``.
    """
    name = str(name_or_path)
    if split not in SPLITS:
        raise GeossrError(f"unknown split {split!r} (use {', '.join(SPLITS)})")
    if name in ("airborne", "jasper-aviris") or name in AIRBORNE_SCENES:
        if root is None:
            raise GeossrError(f"data set {name!r} needs the data root folder")
        if name == "airborne":
            scenes = sum(AIRBORNE_SPLIT.values(), []) if split == "all" else AIRBORNE_SPLIT[split]
            return [cube for scene in scenes for cube in load_dataset(scene, root)]
        if split != "all":
            raise GeossrError(f"data set {name!r} is a single scene with no {split} split; use split='all'")
        if name == "jasper-aviris":
            return [load_jasper_ridge(Path(root) / DATASET_FILES["jasper"], aviris_nominal_nm(root))]
        return [load_airborne_scene(root, name)]
    if name == "remote":
        if split != "all" and split not in REMOTE_SPLIT:
            raise GeossrError(f"data set 'remote' has no {split} split (use {', '.join(REMOTE_SPLIT)} or all)")
        scenes = REMOTE_SPLIT["train"] + REMOTE_SPLIT["test"] if split == "all" else REMOTE_SPLIT[split]
        return [cube for scene in scenes for cube in load_dataset(scene, root)]
    if name == "cave" or name in DATASET_FILES:
        if root is None:
            raise GeossrError(f"data set {name!r} needs the data root folder")
        if name == "cave":
            return load_cave(Path(root) / "cave", split)
        if split != "all":
            raise GeossrError(f"data set {name!r} is a single scene with no {split} split; use split='all'")
        loader = {"rosis": load_rosis_crop, "jasper": load_jasper_ridge, "samson": load_samson}[name]
        return [loader(Path(root) / DATASET_FILES[name])]
    path = Path(name).expanduser()
    if path.suffix.lower() in GEOTIFF_SUFFIXES:
        if split != "all":
            raise GeossrError(f"{path} is a single scene with no {split} split; use split='all'")
        return [load_geotiff_cube(path)]
    raise GeossrError(f"unknown data set {name!r} (use cave, remote, airborne, rosis, jasper, jasper-aviris, samson, "
                      f"an airborne scene ({', '.join(AIRBORNE_SCENES)}) or a GeoTIFF path)")


def _load_mat(path: str | Path, keys: list[str]) -> dict:
    path = Path(path)
    if not path.is_file():
        raise GeossrError(f"file not found: {path}")
    try:
        mat = scipy.io.loadmat(path)
    except (ValueError, TypeError, OSError, NotImplementedError):
        raise GeossrError(f"not a MATLAB file scipy can read: {path}") from None
    missing = [key for key in keys if key not in mat]
    if missing:
        raise GeossrError(f"{path}: variable {missing[0]!r} missing")
    return mat


def _column_major(values: np.ndarray, mat: dict, path) -> np.ndarray:
    """(bands, pixels) with pixel k at row k % nRow, column k // nRow → (bands, rows, cols)."""
    rows, cols = int(mat["nRow"].ravel()[0]), int(mat["nCol"].ravel()[0])
    if values.ndim != 2 or values.shape[1] != rows * cols:
        raise GeossrError(f"{path}: 'Y' should be (bands, {rows}x{cols} pixels), got {values.shape}")
    return values.reshape(values.shape[0], cols, rows).transpose(0, 2, 1)


def _nominal_sensor(name, centers_nm, fwhm_nm, band_names, description) -> Sensor:
    bands = tuple(Band.gaussian(n, c, fwhm_nm) for n, c in zip(band_names, centers_nm))
    return Sensor(
        name,
        bands,
        description=description,
        source=f"Nominal linear wavelength grid; Gaussian bands with FWHM = the {fwhm_nm:.3g} nm spacing",
        response_kind="nominal",
    )
