"""Tiled super-resolution of a scene: window by window, with a halo, seam-free, lazily.

Geometry. At scale p the output has floor(h·p) x floor(w·p) pixels of size 1/p input pixels,
anchored at the input's upper-left corner: output pixel (I, J) has its centre at input position
((I + 0.5)/p, (J + 0.5)/p) (input pixel i spans [i, i+1)), and the output transform is the
input's scaled by 1/p. Fractional p is exact; at most one input pixel's fringe is left out.

Tiles. The output is cut into tiles of ``tile`` x ``tile`` pixels. A tile grows by the model's
output halo (FMNet's convolutions run on the output grid), and reads the input window that
covers those output centres plus the model's input halo (encoder reach, LIIF neighbourhood,
bicubic taps), clipped to the scene. Models render from positions, so the tile's pixels equal
the whole-scene rendering; the halo is cropped before the tile is returned.

Nodata. Input pixels that are NaN in any band, or beyond ±``REFLECTANCE_BOUND`` (a fill value
such as 1e30 that no mask declares), are filled with the nearest valid pixel of the window before
the model sees them (so they do not drag their neighbours down, nor spread over the scene), and
output pixels whose centre falls in such a pixel are NaN.

Consistency (optional). Each tile's output is projected so that, re-integrated through the input
sensor and degraded, it reproduces its input (``geossr.forward.consistency.project_to_input``). That
least-squares correction is not local, but its reach decays fast (below 1e-7 of its peak beyond
12 input pixels at p <= 4, and 2e-7 beyond 16 at p = 8), so a tile projects over its input
footprint widened by ``CONSISTENCY_MARGIN`` input pixels and keeps its centre: tiles equal the
whole-scene projection to float precision.
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import math
import threading
import uuid
import warnings
from dataclasses import dataclass

import dask
import dask.array
import dask.threaded
import numpy as np
import torch
import xarray as xr
from affine import Affine
from scipy import ndimage

from geossr.device import EmulatedPrecisionWarning, emulated_precision_warning, resolve_device
from geossr.models.base import SuperResolver
from geossr.scene.radiometry import array_to_reflectance
from geossr.spectral.bands import Sensor
from geossr.spectral.sensors import load_sensor

PRECISIONS = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}
# Input values (reflectance, nominally [0, 1]) beyond ±10 are nodata. Real reflectance exceeds 1 only
# a little (specular glint, bright slopes: up to about 2), so 10 keeps every real value; a finite
# fill value (1e30, -9999) far beyond it would otherwise reach every output pixel the model's
# receptive field holds it in (one 1e30 pixel spread over 91 % of a scene).
REFLECTANCE_BOUND = 10.0
CONSISTENCY_MARGIN = 16


@dataclass(frozen=True)
class Window:
    """Pixels [row0, row1) x [col0, col1) of a grid (the input's or the output's)."""

    row0: int
    row1: int
    col0: int
    col1: int

    @property
    def shape(self) -> tuple[int, int]:
        return self.row1 - self.row0, self.col1 - self.col0

    def within(self, outer: Window) -> tuple[slice, slice]:
        """The (rows, cols) slices that cut this window out of an array covering ``outer``."""
        return (slice(self.row0 - outer.row0, self.row1 - outer.row0),
                slice(self.col0 - outer.col0, self.col1 - outer.col0))


@dataclass(frozen=True)
class Tile:
    """One task: the output pixels it returns, the output pixels it renders to get them (plus the
    model's output halo, or the consistency footprint's outputs) and the input window it reads."""

    output: Window
    rendered: Window
    source: Window
    footprint: Window | None = None  # consistency: the input pixels whose rendered output is projected


@dataclass(frozen=True)
class Projection:
    """Consistency: ``response`` (len(bands), C) integrates the output bands to the input bands ``bands``."""

    response: np.ndarray
    bands: tuple[int, ...]


@dataclass(frozen=True)
class Geometry:
    in_height: int
    in_width: int
    scale: float

    @property
    def out_height(self) -> int:
        return int(math.floor(self.in_height * self.scale + 1e-9))

    @property
    def out_width(self) -> int:
        return int(math.floor(self.in_width * self.scale + 1e-9))

    @property
    def cell(self) -> tuple[float, float]:
        return (1 / self.scale, 1 / self.scale)

    def outputs_within(self, start: int, stop: int, out_size: int) -> tuple[int, int]:
        """Output pixels [I0, I1) of an axis of ``out_size`` whose centres lie in input pixels [start, stop)."""
        # (I + 0.5) / p >= a  <=>  I >= a·p - 0.5
        def first(a):
            return min(out_size, max(0, math.ceil(a * self.scale - 0.5 - 1e-9)))

        return first(start), first(stop)

    def centres(self, start: int, stop: int) -> np.ndarray:
        """Input-pixel positions of output pixel centres start..stop-1 (either axis)."""
        return (np.arange(start, stop, dtype=np.float64) + 0.5) / self.scale

    def outputs_in(self, inputs: Window) -> Window:
        """The output pixels whose centres lie in the input pixels ``inputs``."""
        return Window(*self.outputs_within(inputs.row0, inputs.row1, self.out_height),
                      *self.outputs_within(inputs.col0, inputs.col1, self.out_width))

    def inputs_under(self, outputs: Window, halo: int = 0) -> Window:
        """The input pixels that hold the centres of ``outputs``, widened by ``halo``, clipped to the scene."""
        rows, cols = self.centres(outputs.row0, outputs.row1), self.centres(outputs.col0, outputs.col1)
        return Window(max(0, int(math.floor(rows[0])) - halo), min(self.in_height, int(math.floor(rows[-1])) + 1 + halo),
                      max(0, int(math.floor(cols[0])) - halo), min(self.in_width, int(math.floor(cols[-1])) + 1 + halo))

    def output_windows(self, tile: int) -> list[Window]:
        """The output cut into ``tile`` x ``tile`` windows, row by row."""
        return [Window(r, min(r + tile, self.out_height), c, min(c + tile, self.out_width))
                for r in range(0, self.out_height, tile) for c in range(0, self.out_width, tile)]

    def tile(self, output: Window, in_halo: int, out_halo: int, margin: int = 0) -> Tile:
        """The tile that returns ``output``: what it renders and the input window it reads.

        With ``margin`` > 0 (consistency), it renders every output pixel whose centre lies in the
        input pixels under ``output`` widened by ``margin``; otherwise ``output``; either plus the
        model's output halo. The input window holds those outputs' centres plus the input halo.
        """
        rendered, footprint = output, None
        if margin:
            rendered = self.outputs_in(self.inputs_under(output, margin))
            footprint = self.inputs_under(rendered)
        rendered = Window(max(0, rendered.row0 - out_halo), min(self.out_height, rendered.row1 + out_halo),
                          max(0, rendered.col0 - out_halo), min(self.out_width, rendered.col1 + out_halo))
        return Tile(output, rendered, self.inputs_under(rendered, in_halo), footprint)


def fill_nodata(window: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest-valid fill of pixels NaN or beyond ±REFLECTANCE_BOUND in any band; returns (filled, invalid mask)."""
    invalid = ~np.all(np.abs(window) <= REFLECTANCE_BOUND, axis=0)  # NaN and inf compare False
    if not invalid.any():
        return window, invalid
    if invalid.all():
        return np.zeros_like(window), invalid
    nearest = ndimage.distance_transform_edt(invalid, return_distances=False, return_indices=True)
    return window[:, nearest[0], nearest[1]], invalid


class UntileableWarning(UserWarning):
    """The model's ``halo`` is None: the scene is rendered whole, however large."""


_MOVING_MODEL = threading.Lock()


def _on_device(model: SuperResolver, device: str) -> SuperResolver:
    """``model`` on ``device``, moved there once (under a lock: a worker's task threads share it)."""
    wanted = torch.device(device)
    first = next(itertools.chain(model.parameters(), model.buffers()), None)
    if first is not None and first.device.type != wanted.type:
        with _MOVING_MODEL:
            first = next(itertools.chain(model.parameters(), model.buffers()))
            if first.device.type != wanted.type:
                model.to(wanted)
    return model


def render_tile(
    model: SuperResolver,
    window: np.ndarray,
    tile: Tile,
    geometry: Geometry,
    intervals: np.ndarray,
    device: str = "cpu",
    precision: str = "fp32",
    projection: Projection | None = None,
) -> np.ndarray:
    """(C, rows, cols) float32 of ``tile.output``, from the input ``window`` (the pixels of ``tile.source``).

    With ``projection`` (consistency) the rendered output of ``tile.footprint`` is projected onto
    the input bands before the tile is cut out (see the module's docstring).
    """
    filled, invalid = fill_nodata(np.asarray(window, dtype=np.float32))
    source, rendered = tile.source, tile.rendered
    rows = geometry.centres(rendered.row0, rendered.row1) - source.row0
    cols = geometry.centres(rendered.col0, rendered.col1) - source.col0
    device = resolve_device(device)  # "auto" on a dask cluster: each worker's own
    model = _on_device(model, device)
    lr = torch.from_numpy(np.ascontiguousarray(filled))[None].to(device)
    dtype = PRECISIONS[precision]
    with torch.no_grad(), torch.autocast(torch.device(device).type, dtype=dtype, enabled=dtype is not None):
        out = model.render(lr, torch.from_numpy(rows), torch.from_numpy(cols),
                           torch.as_tensor(intervals, dtype=torch.float32), geometry.cell)
    out = out[0].float().clamp_(min=0).cpu()  # reflectance is never negative
    if projection is not None:
        out, rendered = _project_tile(out, filled, tile, geometry, projection)
    out = out.numpy()[(slice(None), *tile.output.within(rendered))]
    if invalid.any():
        # The input pixel that holds each output centre decides whether it is nodata.
        in_rows = np.floor(geometry.centres(tile.output.row0, tile.output.row1)).astype(int) - source.row0
        in_cols = np.floor(geometry.centres(tile.output.col0, tile.output.col1)).astype(int) - source.col0
        out[:, invalid[np.ix_(in_rows, in_cols)]] = np.nan
    release_freed_memory()
    return out


def _malloc_trim():
    """glibc's malloc_trim from the C library this process already runs on, or None where it has
    none (macOS, musl) or symbols cannot be looked up that way (Windows)."""
    try:
        return ctypes.CDLL(None).malloc_trim
    except (OSError, TypeError, AttributeError):
        return None


_MALLOC_TRIM = _malloc_trim()


def release_freed_memory() -> None:
    """Hand the memory a tile freed back to the system.

    glibc keeps freed memory for reuse, and with tiles of several threads interleaving it held up to
    260 MiB free (beside 239 MiB in use) at the peaks of a native 16x run: peaks of 680 / 745 MiB,
    against 649 / 634 MiB trimming after every tile, for 1-2 % more time (79.6 / 80.7 s vs 78.9 s).
    """
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


def _project_tile(out, filled, tile: Tile, geometry: Geometry, projection: Projection):
    """Project the rendered output of ``tile.footprint`` onto the input's bands; returns it and its output window."""
    from geossr.forward.consistency import project_to_input

    footprint = geometry.outputs_in(tile.footprint)
    lr = filled[(list(projection.bands), *tile.footprint.within(tile.source))]
    projected = project_to_input(out[(None, slice(None), *footprint.within(tile.rendered))],
                                 torch.from_numpy(np.ascontiguousarray(lr))[None], torch.from_numpy(projection.response))
    return projected[0].clamp_(min=0), footprint


def upsample(
    data: xr.DataArray,
    scale: float,
    sensor: Sensor | str,
    model: SuperResolver,
    *,
    input_scale: float | str | None = None,
    tile: int = 256,
    device: str = "cpu",
    precision: str = "fp32",
    consistency: bool = False,
) -> xr.DataArray:
    """Lazy (band, y, x) super-resolution of a georeferenced (band, y, x) DataArray (``geossr.upsample``).

    Its values are scaled to reflectance first: by ``input_scale`` (a factor, or ``"auto"``), else by
    the scale the array declares (rioxarray's band scale, a ``REFLECTANCE_SCALE`` attribute); integer
    data without one is refused, float data is taken as reflectance, and values that look mis-scaled
    get a warning (``geossr.scene.radiometry.array_to_reflectance``). Then ``upsample_reflectance``.
    """
    return upsample_reflectance(array_to_reflectance(data, input_scale, REFLECTANCE_BOUND), scale, sensor, model,
                                tile=tile, device=device, precision=precision, consistency=consistency)


def upsample_reflectance(
    data: xr.DataArray,
    scale: float,
    sensor: Sensor | str,
    model: SuperResolver,
    *,
    tile: int = 256,
    device: str = "cpu",
    precision: str = "fp32",
    consistency: bool = False,
) -> xr.DataArray:
    """Lazy (band, y, x) super-resolution of a georeferenced (band, y, x) DataArray in [0, 1].

    The output has the bands of ``sensor`` (coordinates ``wavelength_nm`` and ``fwhm_nm``), and
    the input's CRS with its transform scaled by 1/``scale``. With ``consistency`` the output is
    projected so that it re-integrates through the model's input sensor to the input, in every input
    band whose response the bands of ``sensor`` hold (``geossr.forward.consistency.covered_input_bands``;
    at least one).

    Every output tile is one dask task reading only its input window, so the result can be
    streamed to disk (``geossr.scene.io.write_raster``) or computed on a dask cluster.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}")
    if slow := emulated_precision_warning(precision, device):
        warnings.warn(slow, EmulatedPrecisionWarning, stacklevel=2)
    sensor = load_sensor(sensor) if isinstance(sensor, str) else sensor
    geometry = Geometry(data.sizes["y"], data.sizes["x"], float(scale))
    if geometry.out_height < 1 or geometry.out_width < 1:
        raise ValueError("the scene is empty at this scale")
    halo = model.halo(geometry.cell)
    if halo is None:
        tile = max(geometry.out_height, geometry.out_width)
        warnings.warn(f"model {model.name} cannot be tiled (each output pixel depends on the whole input): "
                      f"the scene is rendered as one {geometry.out_width}x{geometry.out_height} px tile, "
                      "in memory", UntileableWarning, stacklevel=2)
        halo = (0, 0)
    in_halo, out_halo = halo
    source = data.transpose("band", "y", "x").data
    if not isinstance(source, dask.array.Array):
        source = dask.array.from_array(np.asarray(source))
    # The model enters the graph once, under one key, however many tiles use it.
    model_node = dask.delayed(model.eval(), name=f"geossr-model-{uuid.uuid4().hex}", pure=False)
    render = dask.delayed(render_tile, pure=True)
    intervals = sensor.intervals_nm
    bands = len(sensor)
    margin, projection = 0, None
    if consistency:
        from geossr.forward.consistency import covered_input_bands, input_response

        covered = covered_input_bands(sensor, model.input_sensor)
        if not covered:
            raise ValueError(f"the bands of {sensor.name} hold none of the input bands' responses")
        names = [model.input_sensor.band_names[i] for i in covered]
        margin = CONSISTENCY_MARGIN
        projection = Projection(input_response(sensor, model.input_sensor.select(names)).numpy(), tuple(covered))
    rows_of_blocks: dict[int, list] = {}
    for output in geometry.output_windows(tile):
        planned = geometry.tile(output, in_halo, out_halo, margin)
        window = source[:, planned.source.row0:planned.source.row1, planned.source.col0:planned.source.col1]
        task = render(model_node, window, planned, geometry, intervals, device, precision, projection)
        rows_of_blocks.setdefault(output.row0, []).append(
            dask.array.from_delayed(task, (bands, *output.shape), np.float32))
    array = dask.array.block([blocks for _, blocks in sorted(rows_of_blocks.items())])
    transform = data.rio.transform() @ Affine.scale(1 / geometry.scale)
    centres_y = (transform @ (np.zeros(geometry.out_height), np.arange(geometry.out_height) + 0.5))[1]
    centres_x = (transform @ (np.arange(geometry.out_width) + 0.5, np.zeros(geometry.out_width)))[0]
    out = xr.DataArray(
        array, dims=("band", "y", "x"),
        coords={"band": np.arange(1, bands + 1), "y": centres_y, "x": centres_x,
                "wavelength_nm": ("band", sensor.centers_nm), "fwhm_nm": ("band", sensor.fwhms_nm)},
        attrs={"sensor": sensor.name, "scale": geometry.scale},
    )
    out = out.rio.write_transform(transform)
    return out.rio.write_crs(data.rio.crs) if data.rio.crs else out


@contextlib.contextmanager
def torch_threads_per_task():
    """Share the cores between dask's threads instead of giving each task all of them.

    Under dask's threaded scheduler every task (tile) runs torch, and torch's intra-op pool has
    one thread per core in each: N tasks x N threads oversubscribe the cores. One thread per task
    when dask runs one task per core was 1.10-1.38x faster end to end in three runs on a 2-core
    machine and 0.84x in a fourth (benchmarks/results/engine.md, section 3: that machine is noisy).
    A distributed cluster sets its workers' threads itself (geossr.scene.cluster), so nothing
    changes there.
    """
    from dask.base import get_scheduler

    from geossr.scene.schedule import dask_threads

    before = torch.get_num_threads()
    tasks = dask_threads()
    scheduler = get_scheduler()  # None: the collection's default, dask.array's is the threaded one
    threaded = scheduler is None or scheduler is dask.threaded.get
    if threaded:
        torch.set_num_threads(max(1, before // tasks))
    try:
        yield
    finally:
        torch.set_num_threads(before)
