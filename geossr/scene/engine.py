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


def output_tiles(height: int, width: int, tile: int) -> list[tuple[int, int, int, int]]:
    return [(r, min(r + tile, height), c, min(c + tile, width))
            for r in range(0, height, tile) for c in range(0, width, tile)]


def input_window(geometry: Geometry, bounds, in_halo: int, out_halo: int, margin: int = 0):
    """The output bounds a tile renders and the input window (clipped to the scene) it reads.

    With ``margin`` > 0 (consistency), the rendered output is every output pixel whose centre lies
    in the input pixels the tile covers widened by ``margin``; otherwise it is the tile plus the
    model's output halo.
    """
    i0, i1, j0, j1 = bounds
    if margin:
        rows, cols = geometry.centres(i0, i1), geometry.centres(j0, j1)
        p0 = max(0, int(math.floor(rows[0])) - margin)
        p1 = min(geometry.in_height, int(math.floor(rows[-1])) + 1 + margin)
        q0 = max(0, int(math.floor(cols[0])) - margin)
        q1 = min(geometry.in_width, int(math.floor(cols[-1])) + 1 + margin)
        i0, i1 = geometry.outputs_within(p0, p1, geometry.out_height)
        j0, j1 = geometry.outputs_within(q0, q1, geometry.out_width)
    e0, e1 = max(0, i0 - out_halo), min(geometry.out_height, i1 + out_halo)
    f0, f1 = max(0, j0 - out_halo), min(geometry.out_width, j1 + out_halo)
    rows, cols = geometry.centres(e0, e1), geometry.centres(f0, f1)
    r0 = max(0, int(math.floor(rows[0])) - in_halo)
    r1 = min(geometry.in_height, int(math.floor(rows[-1])) + 1 + in_halo)
    c0 = max(0, int(math.floor(cols[0])) - in_halo)
    c1 = min(geometry.in_width, int(math.floor(cols[-1])) + 1 + in_halo)
    return (e0, e1, f0, f1), (r0, r1, c0, c1)


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
    window_origin: tuple[int, int],
    extended: tuple[int, int, int, int],
    bounds: tuple[int, int, int, int],
    geometry: Geometry,
    intervals: np.ndarray,
    device: str = "cpu",
    precision: str = "fp32",
    consistency: tuple[np.ndarray, tuple[int, int, int, int], list[int]] | None = None,
) -> np.ndarray:
    """(C, tile rows, tile cols) float32 for output ``bounds``, from the input ``window``.

    ``consistency`` is (response, footprint, bands): the (len(bands), C) matrix integrating the
    output bands to the input bands ``bands`` (indices), and the input pixels (r0, r1, c0, c1) whose
    rendered output is projected onto those bands before the tile is cut out (see the module's
    docstring).
    """
    filled, invalid = fill_nodata(np.asarray(window, dtype=np.float32))
    r0, c0 = window_origin
    e0, e1, f0, f1 = extended
    rows = geometry.centres(e0, e1) - r0
    cols = geometry.centres(f0, f1) - c0
    device = resolve_device(device)  # "auto" on a dask cluster: each worker's own
    model = _on_device(model, device)
    lr = torch.from_numpy(np.ascontiguousarray(filled))[None].to(device)
    dtype = PRECISIONS[precision]
    with torch.no_grad(), torch.autocast(torch.device(device).type, dtype=dtype, enabled=dtype is not None):
        out = model.render(lr, torch.from_numpy(rows), torch.from_numpy(cols),
                           torch.as_tensor(intervals, dtype=torch.float32), geometry.cell)
    out = out[0].float().clamp_(min=0).cpu()  # reflectance is never negative
    if consistency is not None:
        out, (e0, e1, f0, f1) = _project_tile(out, filled, window_origin, (e0, e1, f0, f1), geometry, *consistency)
    out = out.numpy()
    i0, i1, j0, j1 = bounds
    out = out[:, i0 - e0 : i1 - e0, j0 - f0 : j1 - f0]
    if invalid.any():
        # The input pixel that holds each output centre decides whether it is nodata.
        in_rows = np.floor(geometry.centres(i0, i1)).astype(int) - r0
        in_cols = np.floor(geometry.centres(j0, j1)).astype(int) - c0
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


def _project_tile(out, filled, window_origin, extended, geometry, response, footprint, bands):
    """Project the rendered output of the input ``footprint`` onto that input's ``bands``; returns it and its bounds."""
    from geossr.forward.consistency import project_to_input

    r0, c0 = window_origin
    p0, p1, q0, q1 = footprint
    e0, e1, f0, f1 = extended
    k0, k1 = geometry.outputs_within(p0, p1, geometry.out_height)
    l0, l1 = geometry.outputs_within(q0, q1, geometry.out_width)
    lr = torch.from_numpy(np.ascontiguousarray(filled[bands, p0 - r0 : p1 - r0, q0 - c0 : q1 - c0]))[None]
    projected = project_to_input(out[None, :, k0 - e0 : k1 - e0, l0 - f0 : l1 - f0], lr, torch.from_numpy(response))
    return projected[0].clamp_(min=0), (k0, k1, l0, l1)


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
    margin, response, covered = 0, None, []
    if consistency:
        from geossr.forward.consistency import covered_input_bands, input_response

        covered = covered_input_bands(sensor, model.input_sensor)
        if not covered:
            raise ValueError(f"the bands of {sensor.name} hold none of the input bands' responses")
        names = [model.input_sensor.band_names[i] for i in covered]
        margin, response = CONSISTENCY_MARGIN, input_response(sensor, model.input_sensor.select(names)).numpy()
    tiles = output_tiles(geometry.out_height, geometry.out_width, tile)
    rows_of_blocks: dict[int, list] = {}
    for bounds in tiles:
        extended, (r0, r1, c0, c1) = input_window(geometry, bounds, in_halo, out_halo, margin)
        projection = None
        if consistency:
            _, footprint = input_window(geometry, bounds, 0, 0, margin)
            projection = (response, footprint, covered)
        task = render(model_node, source[:, r0:r1, c0:c1], (r0, c0), extended, bounds, geometry,
                      intervals, device, precision, projection)
        shape = (bands, bounds[1] - bounds[0], bounds[3] - bounds[2])
        rows_of_blocks.setdefault(bounds[0], []).append(dask.array.from_delayed(task, shape, np.float32))
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
