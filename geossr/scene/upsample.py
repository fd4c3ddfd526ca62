"""`geossr upsample` as a library call: one scene file in, one super-resolved GeoTIFF out.

Choosing the model (``geossr.models.loader``): ``--weights FILE`` (any checkpoint), ``--model bicubic``
or ``linear`` (no weights), or the shipped weights of ``--model`` (default ``linear-sr``, which reads
any sensor) for the input sensor. When ``--model ssif`` has no weights for the input sensor, the shipped any-sensor SSIF (``ssif-any``, which reads the bands from
their responses) is taken instead and a note says so; on the held-out scene it is level with the
sensor-specific SSIF (benchmarks/results/anysensor.md). The input is scaled to [0, 1] reflectance
by ``input_scale``, else the file's GDAL band scale, else its REFLECTANCE_SCALE tag; integer data
without any is refused unless ``input_scale="auto"`` (``geossr.scene.radiometry``). Scaled values
beyond ±``REFLECTANCE_BOUND`` are nodata, with a warning that counts them, and a scene that looks
mis-scaled gets a warning; an input without a valid pixel is refused.

A finished output carries a GEOSSR_REQUEST tag, a hash of everything that determines it (input
file, sensors, scale, model and weights, output options), and a checksum of its blocks. Rerunning
the same request finds the tag, verifies the checksum and skips the file; since outputs are renamed
into place only when complete, that is a finished one, even after ``kill -9`` mid-batch. One with
the tag whose blocks fail the checksum (truncated, overwritten) is redone, with a warning.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import rasterio
import xarray as xr

from geossr import __version__
from geossr.device import EmulatedPrecisionWarning, emulated_precision_warning, resolve_device
from geossr.forward.consistency import covered_input_bands
from geossr.errors import GeossrError
from geossr.fileio import check_no_other_writer
from geossr.models import load as load_model
from geossr.models.base import SuperResolver
from geossr.models.checkpoint import read_card
from geossr.models.loader import ANY_SENSOR_SSIF, DEFAULT_MODEL
from geossr.models.registry import closed_form_models
from geossr.models.linear import LinearPrior
from geossr.models.limits import (check_band_range, check_input_reach, check_scale, half_maximum_extents_nm,
                                  usable_input_bands)
from geossr.scene.engine import (PRECISIONS, REFLECTANCE_BOUND, UntileableWarning, torch_threads_per_task,
                                 upsample_reflectance)
from geossr.scene.schedule import active_client
from geossr.scene.io import (Progress, absolute_dataset_name, check_creation_options, check_output_path, check_valid_pixels,
                             checksum_matches, dataset_basename, input_identity, open_dataset, open_raster,
                             write_raster)
from geossr.scene.radiometry import PLAUSIBLE_BOUND, InputScale, dataset_scale, implausible_values, parse_input_scale
from geossr.scene.simulate import resolve_input_sensor
from geossr.spectral.bands import Sensor, same_bands
from geossr.spectral.sensors import load_sensor

DTYPES = {"float32": (np.float32, float("nan")), "uint16": (np.uint16, 65535)}
UINT16_SCALE = 10000  # uint16 output holds reflectance x 10000, as Sentinel-2 L2A does


def choose_model(model_name: str | None, weights: str | None, input_sensor: Sensor):
    """(model, card, weights label, note) for the request (``geossr.models.load``).

    With ``weights``, the model is the checkpoint's; a ``model_name`` given as well must be that
    model. Without, ``model_name`` (default ``linear-sr``) takes its shipped weights for the input sensor.
    """
    if weights is not None and model_name is not None:
        check_weights_model(model_name, weights)
    loaded = load_model(Path(weights) if weights is not None else model_name or DEFAULT_MODEL, input_sensor)
    return loaded.net, loaded.card, loaded.label, loaded.note


# With their articles, for messages
_MODEL_KINDS = {"ssif": "an SSIF", "ssif-any": "an any-sensor SSIF", "liif": "a LIIF", "fmnet": "an FMNet"}


def check_weights_model(model_name: str, weights: str) -> None:
    """Refuse ``--model`` with a checkpoint of another model: it would run as the checkpoint's
    model anyway, and fail later on that model's limits without naming the mix-up."""
    held = read_card(weights)["model"]["name"]
    # --model ssif falls back to the any-sensor SSIF anyway, so it takes its checkpoints too
    if held == model_name or (model_name == "ssif" and held == ANY_SENSOR_SSIF):
        return
    kind = _MODEL_KINDS.get(held, f"a {held}")
    if model_name in closed_form_models():
        raise GeossrError(f"--model {model_name} takes no weights, but --weights {weights} is {kind} checkpoint; "
                          "leave out --model to run it, or leave out --weights")
    wanted = _MODEL_KINDS.get(model_name, f"a {model_name}").split(" ", 1)[1]
    raise GeossrError(f"--weights {weights} is {kind} checkpoint, and --model {model_name} needs {wanted} weights; "
                      f"leave out --model (or give --model {held}) to run this checkpoint, or leave out --weights "
                      f"to use the shipped {model_name} weights")


def check_options(*, scale: float, input_scale: float | str | None, dtype: str, precision: str, tile: int,
                  driver: str, creation_options: dict | None) -> None:
    """Refuse bad options before any work (the CLI calls it before it starts a cluster, too)."""
    check_scale(scale, None)
    if dtype not in DTYPES:
        raise GeossrError(f"--dtype must be one of {', '.join(DTYPES)}")
    if precision not in PRECISIONS:
        raise GeossrError(f"--precision must be one of {', '.join(PRECISIONS)}")
    if tile < 16 or tile % 16:
        # whole output blocks per tile (geossr.scene.io.block_size): GDAL appends a block written in
        # parts, so misaligned tiles grew a file by up to 1.8x
        raise GeossrError(f"--tile must be a multiple of 16 output pixels (the output's blocks), got {tile}; "
                          f"try {max(16, round(tile / 16) * 16)}")
    parse_input_scale(input_scale)
    check_creation_options({k.upper(): v for k, v in (creation_options or {}).items()}, dtype=dtype,
                           nodata=DTYPES[dtype][1], driver=driver)


def request_key(**fields) -> str:
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()[:32]


def output_state(path: Path, key: str) -> str | None:
    """"complete": a finished output of this request; "damaged": one whose blocks are not those it
    was written with (truncated, overwritten); None: anything else (another request's, not a GeoTIFF).

    The tags sit at the start of the file, so a damaged copy (a full disk, an interrupted copy, a bad
    disk) still opens with the right key; its block checksum is what gives it away. Verifying reads
    the whole file once, without decompressing it (docs/reliability.md has the cost).
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
            with rasterio.open(path) as ds:
                if ds.tags().get("GEOSSR_REQUEST") != key:
                    return None
                return "complete" if checksum_matches(ds, path) else "damaged"
    except (rasterio.errors.RasterioIOError, OSError, ValueError):
        return None


@dataclass(frozen=True)
class UpsampleRequest:
    """One input, one output and the options of ``geossr upsample``.

    ``model`` None is the checkpoint's model with ``weights``, else ``linear-sr``. ``input_sensor``
    that contradicts the file's wavelength metadata needs ``override_metadata``. ``consistency``
    projects the output so that it re-integrates to the input through the input sensor
    (``geossr.forward.consistency``; measured in benchmarks/results/fidelity.md). ``driver``: "GTiff"
    or "COG"; ``creation_options``: GDAL's.
    """

    input_path: str | Path
    output_path: Path
    scale: float
    sensor: str | Sensor
    model: str | None = None
    weights: str | None = None
    input_sensor: str | None = None
    override_metadata: bool = False
    input_scale: float | str | None = None
    device: str = "auto"
    tile: int = 256
    dtype: str = "float32"
    precision: str = "fp32"
    driver: str = "GTiff"
    creation_options: dict | None = None
    overwrite: bool = False
    consistency: bool = False

    def check(self) -> None:
        check_options(scale=self.scale, input_scale=self.input_scale, dtype=self.dtype, precision=self.precision,
                      tile=self.tile, driver=self.driver, creation_options=self.creation_options)


@dataclass
class UpsamplePlan:
    """What a request resolves to: the model, the sensors, the lazy output and its tags, ready to write."""

    request: UpsampleRequest
    net: SuperResolver
    target: Sensor
    source: Sensor
    weights_label: str
    note: str | None
    radiometry: InputScale
    input_size: tuple[int, int]
    output: xr.DataArray
    tags: dict
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        request = self.request
        return {
            "input": str(request.input_path),
            "output": str(request.output_path),
            "status": "written",
            "model": self.net.name,
            "weights": self.weights_label,
            "model_note": self.note,
            "input_sensor": self.source.name,
            "input_bands": self.net.input_sensor.band_names,
            "sensor": self.target.name,
            "bands": len(self.target),
            "scale": request.scale,
            "input_scale": self.radiometry.factor,
            "input_scale_origin": self.radiometry.origin,
            "consistency": request.consistency,
            "input_size": list(self.input_size),
            "output_size": [self.output.sizes["y"], self.output.sizes["x"]],
            "warnings": self.warnings,
        }


def upsample_file(input_path: str | Path, output_path: str | Path, *, progress: Progress | None = None,
                  **options) -> dict:
    """Super-resolve one scene file; returns a summary (``status`` is "written" or "skipped ...").

    ``options`` are the fields of :class:`UpsampleRequest` (``scale`` and ``sensor`` at least).
    ``progress(done, total)`` follows the output blocks as they are written.
    """
    plan = plan_upsample(UpsampleRequest(input_path, Path(output_path), **options))
    if plan is None:
        return {"input": str(input_path), "output": str(output_path), "status": "skipped (already complete)"}
    return write_plan(plan, progress)


def plan_upsample(request: UpsampleRequest) -> UpsamplePlan | None:
    """Check the request, resolve its model and sensors and build the lazy output (nothing computed yet).

    None: a finished output of the same request is there already. A damaged one is redone, with a warning.
    """
    request.check()
    target = request.sensor if isinstance(request.sensor, Sensor) else load_sensor(request.sensor)
    client = active_client()
    device = request.device
    if client is None:
        device = resolve_device(device)
        slow_precision = [emulated_precision_warning(request.precision, device)]
    input_path, output_path = request.input_path, request.output_path
    with open_dataset(input_path) as ds:
        radiometry = dataset_scale(ds, request.input_scale)
        georeferencing = ds.tags().get("GEOREFERENCING")
    if client is not None:
        from geossr.scene.cluster import prepare_workers

        # Checked, and resolved in each task ("auto"), on the workers: they compute the tiles.
        slow_precision = prepare_workers(client, [absolute_dataset_name(input_path)], device, request.precision)
    data = open_raster(input_path, band_scale=radiometry.band_scale)
    source = resolve_input_sensor(input_path, request.input_sensor, data.sizes["band"], request.override_metadata)
    net, card, weights_label, note = choose_model(request.model, request.weights, source)
    key = request_key(**input_identity(input_path), source=source.fingerprint, target=target.fingerprint,
                      scale=request.scale, model=net.config, weights=weights_label, input_scale=radiometry,
                      dtype=request.dtype, precision=request.precision, driver=request.driver,
                      co=request.creation_options, consistency=request.consistency, version=__version__)
    input_size = (data.sizes["y"], data.sizes["x"])
    redone, overwrite = [], request.overwrite
    if output_path.exists() and not overwrite:
        state = output_state(output_path, key)
        if state == "complete":
            return None
        if state == "damaged":
            redone.append(f"{output_path} is damaged (checksum mismatch); redoing it")
            overwrite = True
    check_output_path(output_path, overwrite)
    check_no_other_writer(output_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data, projected_onto = _fit_model_to_request(net, card.get("training", {}), weights_label, request, target,
                                                     source, data)
        for slow in filter(None, slow_precision):
            warnings.warn(slow)
        scaled = data * radiometry.factor
        counts = check_valid_pixels(scaled, input_path, REFLECTANCE_BOUND, PLAUSIBLE_BOUND)
        if counts.beyond:
            warnings.warn(f"{counts.beyond} input pixel{'s' if counts.beyond > 1 else ''} with values beyond "
                          f"±{REFLECTANCE_BOUND:g} after input scaling (reflectance lies in [0, 1]): "
                          "treated as nodata")
        if mis_scaled := implausible_values(counts.values, counts.implausible, radiometry):
            warnings.warn(mis_scaled)
    with warnings.catch_warnings(record=True) as building:
        warnings.simplefilter("ignore", EmulatedPrecisionWarning)  # said above, with the other warnings
        warnings.simplefilter("always", UntileableWarning)
        out = upsample_reflectance(scaled, request.scale, target, net.to("cpu" if client else device),
                                   tile=request.tile, device=device, precision=request.precision,
                                   consistency=request.consistency)
    caught += [w for w in building if issubclass(w.category, UntileableWarning)]
    numpy_dtype, nodata = DTYPES[request.dtype]
    if request.dtype == "uint16":
        stored = (out * UINT16_SCALE).clip(0, nodata - 1).round()
        out = stored.where(~np.isnan(out), nodata).astype(numpy_dtype)
    tags = {
        "GEOSSR_MODEL": net.name,
        "GEOSSR_WEIGHTS": weights_label,
        "GEOSSR_SCALE": f"{request.scale:g}",
        "GEOSSR_SOURCE": dataset_basename(input_path),
        "GEOSSR_SOURCE_SENSOR": source.name,
        "GEOSSR_INPUT_BANDS": ",".join(net.input_sensor.band_names),
        "GEOSSR_REQUEST": key,
        **radiometry.tags(),
        "GEOSSR_CONSISTENCY": (f"projected onto the input bands {','.join(projected_onto)}" if request.consistency
                               else "none"),
    }
    if isinstance(net, LinearPrior) and not request.consistency:
        # Its posterior spread per band (the same for every pixel): an error bar for each generated band.
        std = net.posterior_std(torch.as_tensor(target.intervals_nm))
        tags["GEOSSR_POSTERIOR_STD"] = ",".join(f"{v:.4g}" for v in std.tolist())
    if request.dtype == "uint16":
        tags["REFLECTANCE_SCALE"] = f"{1 / UINT16_SCALE:g}"
    if georeferencing:
        tags["GEOREFERENCING"] = georeferencing
    return UpsamplePlan(request, net, target, source, weights_label, note, radiometry, input_size, out, tags,
                        redone + [str(w.message) for w in caught])


def _fit_model_to_request(net, training: dict, weights_label: str, request: UpsampleRequest, target: Sensor,
                          source: Sensor, data):
    """Refuse bands the model cannot make; warn where the request leaves what it was trained on.

    Returns the input (without bands an any-sensor model was not trained to read) and the input
    bands the consistency projection holds.
    """
    if net.fixed_intervals_nm is not None and not same_bands(net.fixed_intervals_nm, target.intervals_nm):
        raise GeossrError(f"--model {net.name} produces only the {len(net.fixed_intervals_nm)} bands it was "
                          f"trained for, not {target.name}; use ssif for other band sets")
    try:
        net.check_output_bands(target.intervals_nm)
    except GeossrError as exc:
        raise GeossrError(f"--model {net.name} cannot make the bands of {target.name}: {exc}; "
                          "another --model may (geossr models list)") from None
    check_scale(request.scale, training.get("scale_range"))
    check_band_range(half_maximum_extents_nm(target), training.get("spectral_range_nm"))
    if net.any_input_sensor:
        if trained_nm := training.get("spectral_range_nm"):  # a closed-form model has no trained range
            keep = usable_input_bands(source, trained_nm, weights_label)
            if len(keep) < len(source):
                data = data.isel(band=keep)
                net.use_input_sensor(source.select([source.band_names[i] for i in keep]))
        check_input_reach(net.input_sensor, target.intervals_nm, weights_label)
    projected_onto = []
    if request.consistency:
        projected_onto = [net.input_sensor.band_names[i] for i in covered_input_bands(target, net.input_sensor)]
        left_out = [name for name in net.input_sensor.band_names if name not in projected_onto]
        if not projected_onto:
            raise GeossrError(f"--consistency needs output bands that hold at least one input band's response; "
                              f"{target.name} holds none of {net.input_sensor.name}'s")
        if left_out:
            warnings.warn(f"--consistency: input band{'s' if len(left_out) > 1 else ''} {', '.join(left_out)} "
                          f"reach{'' if len(left_out) > 1 else 'es'} beyond the output bands {target.name}: "
                          f"the output is projected onto {', '.join(projected_onto)} only")
    return data, projected_onto


def write_plan(plan: UpsamplePlan, progress: Progress | None = None) -> dict:
    """Compute the plan's output, stream it to its file (atomically) and return the summary."""
    request = plan.request
    with torch_threads_per_task():
        write_raster(plan.output, request.output_path, plan.target, overwrite=True, tags=plan.tags,
                     nodata=DTYPES[request.dtype][1], dtype=request.dtype,
                     scale=1 / UINT16_SCALE if request.dtype == "uint16" else None, driver=request.driver,
                     creation_options=request.creation_options, progress=progress)
    return plan.summary()
