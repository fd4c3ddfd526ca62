"""Labelled hyperspectral scenes for the land-use benchmark, each with spatially disjoint areas.

A :class:`LabelledScene` is a cube, a label map (0 = unlabelled, 1..K) and three disjoint
rectangles: ``train``, ``validation`` and ``test``. Patches are cut from each rectangle alone
(reflect padding at its edges, see ``sampling``), so no training patch sees a test pixel.

- **Jasper Ridge / Samson**: labels are the dominant endmember of the abundance maps (argmax of
  ``A``), a proxy for land use (tree / water / dirt / road; rock / tree / water). Split by rows:
  top 60 % train, next 15 % validation, bottom 25 % test (every class occurs in each part).
- **Pavia Centre** (EHU ``Pavia.mat`` / ``Pavia_gt.mat``): test = the upper-left 1024 x 128 pixels
  (SSIF paper, App. A.4); validation = the next 128 columns (all rows); train = the columns after.
- **Files**: a cube GeoTIFF and a label raster, split by ``rows:TRAIN,VAL`` or ``cols:TRAIN,VAL``
  fractions (test = the rest, at the bottom / right).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.io

from geossr.data.cubes import HyperspectralCube, load_geotiff_cube, load_jasper_ridge, load_samson
from geossr.errors import GeossrError
from geossr.spectral.sensors import load_sensor

AREAS = ("train", "validation", "test")
UNMIXING_SPLIT = "rows:0.6,0.15"
PAVIA_TEST_BLOCK = (1024, 128)
PAVIA_CLASSES = ["water", "trees", "asphalt", "self-blocking bricks", "bitumen", "tiles", "shadows",
                 "meadows", "bare soil"]


@dataclass(frozen=True)
class Area:
    """Rows [top, bottom) x columns [left, right) of the scene."""

    top: int
    bottom: int
    left: int
    right: int

    @property
    def slices(self) -> tuple[slice, slice]:
        return slice(self.top, self.bottom), slice(self.left, self.right)

    @property
    def shape(self) -> tuple[int, int]:
        return self.bottom - self.top, self.right - self.left

    def describe(self) -> str:
        return f"rows {self.top}-{self.bottom - 1}, cols {self.left}-{self.right - 1}"


@dataclass(frozen=True, eq=False)
class LabelledScene:
    name: str
    cube: HyperspectralCube
    labels: np.ndarray  # (H, W) int64, 0 = unlabelled
    class_names: list[str]
    areas: dict[str, Area]
    notes: list[str] = field(default_factory=list)

    def __post_init__(self):
        _, height, width = self.cube.data.shape
        if self.labels.shape != (height, width):
            raise GeossrError(f"{self.name}: labels are {self.labels.shape[0]}x{self.labels.shape[1]} "
                              f"but the cube is {height}x{width}")
        if self.labels.min() < 0 or self.labels.max() > len(self.class_names):
            raise GeossrError(f"{self.name}: labels must be 0 (unlabelled) or 1..{len(self.class_names)}")
        cells = np.zeros((height, width), dtype=int)
        for name, area in self.areas.items():
            if not (0 <= area.top < area.bottom <= height and 0 <= area.left < area.right <= width):
                raise GeossrError(f"{self.name}: {name} area ({area.describe()}) is outside the "
                                  f"{height}x{width} scene")
            cells[area.slices] += 1
        if cells.max() > 1:
            raise GeossrError(f"{self.name}: train, validation and test areas overlap")


def parse_split(spec: str, height: int, width: int) -> dict[str, Area]:
    """``rows:0.6,0.15`` → train = top 60 % of rows, validation = next 15 %, test = the rest (``cols:`` likewise)."""
    try:
        axis, fractions = spec.split(":")
        train, validation = (float(v) for v in fractions.split(","))
    except ValueError:
        raise GeossrError(f"--split must look like rows:0.6,0.15 or cols:0.6,0.15, got {spec!r}") from None
    if axis not in ("rows", "cols") or not (train > 0 and validation > 0 and train + validation < 1):
        raise GeossrError(f"--split {spec!r}: axis rows or cols, fractions > 0 summing to less than 1")
    size = height if axis == "rows" else width
    cuts = [0, round(train * size), round((train + validation) * size), size]
    if min(np.diff(cuts)) < 1:
        raise GeossrError(f"--split {spec!r} leaves an empty area in a {height}x{width} scene")
    areas = {}
    for name, lo, hi in zip(AREAS, cuts[:-1], cuts[1:]):
        areas[name] = Area(lo, hi, 0, width) if axis == "rows" else Area(0, height, lo, hi)
    return areas


def _abundance_labels(end_path: Path, height: int, width: int) -> tuple[np.ndarray, list[str]]:
    """argmax + 1 of the abundance maps ``A`` (classes, pixels), pixels in MATLAB column-major order,
    and the class names from ``cood`` (entries like ``1-tree``)."""
    if not end_path.is_file():
        raise GeossrError(f"file not found: {end_path}")
    mat = scipy.io.loadmat(end_path)
    if "A" not in mat:
        raise GeossrError(f"{end_path}: variable 'A' missing")
    abundances = mat["A"]
    if abundances.ndim != 2 or abundances.shape[1] != height * width:
        raise GeossrError(f"{end_path}: 'A' should be (classes, {height}x{width}), got {abundances.shape}")
    labels = (abundances.argmax(axis=0).reshape(width, height).T + 1).astype(np.int64)
    try:
        names = [str(entry.ravel()[0]).split("-", 1)[1].lower() for entry in mat["cood"].ravel()]
    except (KeyError, IndexError):
        raise GeossrError(f"{end_path}: variable 'cood' (class names) missing or malformed") from None
    if len(names) != abundances.shape[0]:
        raise GeossrError(f"{end_path}: 'cood' names {len(names)} classes but 'A' has {abundances.shape[0]}")
    return labels, names


def load_jasper_ridge_scene(root: str | Path, split: str = UNMIXING_SPLIT) -> LabelledScene:
    return _unmixing_scene(root, split, "jasper_ridge", load_jasper_ridge, "JasperRidge2_R198.mat",
                           "_EndJasperRidge2_R198.mat")


def load_samson_scene(root: str | Path, split: str = UNMIXING_SPLIT) -> LabelledScene:
    return _unmixing_scene(root, split, "samson", load_samson, "Samson.mat", "_EndSamson.mat")


def _unmixing_scene(root, split: str, name: str, load_cube, cube_file: str, endmember_file: str) -> LabelledScene:
    """An unmixing scene whose labels are the dominant endmember of its abundance maps."""
    folder = Path(root) / name
    cube = load_cube(folder / cube_file)
    labels, names = _abundance_labels(folder / endmember_file, *cube.data.shape[1:])
    return LabelledScene(name, cube, labels, names, parse_split(split, *labels.shape),
                         ["labels = argmax of the abundance maps (dominant endmember), a land-use proxy"])


def pavia_centre_areas(height: int, width: int, test_block=PAVIA_TEST_BLOCK) -> dict[str, Area]:
    """Test = upper-left ``test_block``; validation = the next block width of columns; train = the rest."""
    rows, cols = test_block
    if height < rows or width < 3 * cols:
        raise GeossrError(f"Pavia Centre split needs at least {rows}x{3 * cols} pixels "
                          f"(test = upper-left {rows}x{cols}), the scene is {height}x{width}")
    return {"train": Area(0, height, 2 * cols, width), "validation": Area(0, height, cols, 2 * cols),
            "test": Area(0, rows, 0, cols)}


def load_pavia_centre(cube_path: str | Path, gt_path: str | Path, test_block=PAVIA_TEST_BLOCK) -> LabelledScene:
    """The EHU Pavia Centre files: ``pavia`` (rows, cols, 102), ``pavia_gt`` (rows, cols), 0 = unlabelled.

    Values are divided by the cube's maximum (the EHU file holds raw integers); bands are the
    nominal ROSIS Pavia Centre grid of the ``rosis`` sensor.
    """
    data = _mat_variable(cube_path, "pavia")
    labels = _mat_variable(gt_path, "pavia_gt")
    if data.ndim != 3 or data.shape[2] != 102:
        raise GeossrError(f"{cube_path}: 'pavia' should be (rows, cols, 102), got {data.shape}")
    if labels.shape != data.shape[:2]:
        raise GeossrError(f"labels are {labels.shape[0]}x{labels.shape[1]} but the cube is "
                          f"{data.shape[0]}x{data.shape[1]}")
    cube = np.transpose(data, (2, 0, 1)).astype(np.float64)
    peak = cube.max()
    if not (np.isfinite(peak) and peak > 0 and cube.min() >= 0):
        raise GeossrError(f"{cube_path}: 'pavia' must hold finite non-negative values, not all zero")
    cube = HyperspectralCube("pavia_centre", (cube / peak).astype(np.float32), load_sensor("rosis"),
                             f"ROSIS Pavia Centre {cube_path}")
    return LabelledScene("pavia_centre", cube, labels.astype(np.int64), PAVIA_CLASSES,
                         pavia_centre_areas(*labels.shape, test_block))


def load_files_scene(cube_path: str | Path, labels_path: str | Path, split: str, sensor=None,
                     scale: float = 1.0) -> LabelledScene:
    """A cube GeoTIFF (values × ``scale`` in [0, 1]) and a single-band label raster of the same size."""
    import warnings

    import rasterio
    from rasterio.errors import NotGeoreferencedWarning, RasterioIOError

    labels_path = Path(labels_path)
    if not Path(cube_path).is_file():
        raise GeossrError(f"file not found: {cube_path}")
    if not labels_path.is_file():
        raise GeossrError(f"file not found: {labels_path}")
    cube = load_geotiff_cube(cube_path, sensor, scale)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)  # a plain label image is fine
            with rasterio.open(labels_path) as dataset:
                labels = dataset.read(1)
    except RasterioIOError:
        raise GeossrError(f"cannot read label raster {labels_path}") from None
    if not np.issubdtype(labels.dtype, np.integer):
        raise GeossrError(f"{labels_path}: labels must be integers (0 = unlabelled), got {labels.dtype}")
    if labels.shape != cube.data.shape[1:]:
        raise GeossrError(f"labels are {labels.shape[0]}x{labels.shape[1]} but the cube is "
                          f"{cube.data.shape[1]}x{cube.data.shape[2]}")
    classes = int(labels.max())
    return LabelledScene(cube.name, cube, labels.astype(np.int64), [f"class {k}" for k in range(1, classes + 1)],
                         parse_split(split, *labels.shape))


def _mat_variable(path: str | Path, key: str) -> np.ndarray:
    path = Path(path)
    if not path.is_file():
        raise GeossrError(f"file not found: {path}")
    try:
        mat = scipy.io.loadmat(path, variable_names=[key])
    except (ValueError, TypeError, OSError, NotImplementedError):
        raise GeossrError(f"not a MATLAB file scipy can read: {path}") from None
    if key not in mat:
        raise GeossrError(f"{path}: variable {key!r} missing")
    return mat[key]
