"""`geossr upsample` as a library call: one scene file in, one super-resolved GeoTIFF out.

Choosing the model: ``--weights FILE`` (any checkpoint), ``--model bicubic`` (no weights), or the
shipped weights of ``--model`` for the input sensor. When ``--model ssif`` (the default) has no
weights for the input sensor, the shipped any-sensor SSIF (``ssif-any``, which reads the bands from
their responses) is taken instead and a note says so; on the held-out scene it is level with the
sensor-specific SSIF (benchmarks/results/anysensor.md). The input is scaled to [0, 1] reflectance
by GDAL's band scale if the file has one, then ``input_scale`` (default: its REFLECTANCE_SCALE
tag, else 1). Scaled values beyond ±``REFLECTANCE_BOUND`` are nodata, with a warning that counts
them; an input without a valid pixel is refused.

A finished output carries a GEOSSR_REQUEST tag, a hash of everything that determines it (input
file, sensors, scale, model and weights, output options). Rerunning the same request finds the
tag and skips the file; since outputs are renamed into place only when complete, a file under
the final name with the right tag is a finished one, even after ``kill -9`` mid-batch.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import warnings
from pathlib import Path

import numpy as np
import torch
import rasterio

from geossr import __version__
from geossr.device import EmulatedPrecisionWarning, emulated_precision_warning, resolve_device
from geossr.consistency import covered_input_bands
from geossr.errors import GeossrError
from geossr.models import build
from geossr.models.checkpoint import load_checkpoint
from geossr.models.linear import LinearPrior
from geossr.models.limits import check_band_range, check_input_reach, check_scale, usable_input_bands
from geossr.models.weights import installed_weights
from geossr.scene.engine import PRECISIONS, REFLECTANCE_BOUND, torch_threads_per_task, upsample
from geossr.scene.io import (Progress, check_creation_options, check_output_path, check_valid_pixels, open_dataset,
                             open_raster, write_raster)
from geossr.scene.simulate import resolve_input_sensor
from geossr.spectral.bands import Sensor
from geossr.spectral.sensors import load_sensor, sensor_from_dict

DTYPES = {"float32": (np.float32, float("nan")), "uint16": (np.uint16, 65535)}
UINT16_SCALE = 10000  # uint16 output holds reflectance x 10000, as Sentinel-2 L2A does


ANY_SENSOR_MODEL = "ssif-any"


def choose_model(model_name: str, weights: str | None, input_sensor: Sensor):
    """(model, card, weights label, note) for the request; a clear error when weights are missing.

    ``--model ssif`` (the default) takes the shipped SSIF trained for the input sensor, else the
    shipped any-sensor SSIF; ``ssif-any`` always the latter. ``note`` names the any-sensor model when
    it is used (None otherwise).
    """
    if weights is not None:
        model, card = load_checkpoint(weights, expect_input_sensor=input_sensor)
        return model, card, str(weights), None
    if model_name in ("bicubic", "linear"):  # closed form: no weights to choose
        label = "none" if model_name == "bicubic" else "linear_prior_airborne"
        return build(model_name, input_sensor=input_sensor), {}, label, None
    shipped = installed_weights()
    for entry in shipped:
        if entry["model"] != model_name or model_name == ANY_SENSOR_MODEL:
            continue
        trained = sensor_from_dict(entry["card"]["model"]["input_sensor"])  # no need to build the network
        if len(trained) == len(input_sensor) and np.allclose(trained.centers_nm, input_sensor.centers_nm, atol=1.0):
            model, card = load_checkpoint(entry["path"])
            return model, card, entry["name"], None
    any_sensor = [entry for entry in shipped if entry["model"] == ANY_SENSOR_MODEL]
    if model_name in ("ssif", ANY_SENSOR_MODEL) and any_sensor:
        name = any_sensor[0]["name"]
        model, card = load_checkpoint(any_sensor[0]["path"], expect_input_sensor=input_sensor)
        reason = "" if model_name == ANY_SENSOR_MODEL else f"no ssif weights for input sensor {input_sensor.name}: "
        return model, card, name, f"{reason}using the any-sensor model {name}"
    raise GeossrError(
        f"no shipped {model_name} weights for input sensor {input_sensor.name} ({len(input_sensor)} bands); "
        "pass --weights FILE (train one with `geossr train configs/...`) or use --model ssif or --model bicubic"
    )


def input_scale_of(path) -> float:
    """The factor to reflectance in [0, 1] a file declares beyond GDAL's band scale (which
    ``open_raster`` already applies): its REFLECTANCE_SCALE tag (Sentinel-2 L2A, Landsat SR), else 1."""
    with open_dataset(path) as ds:
        tag = ds.tags().get("REFLECTANCE_SCALE")
    return check_input_scale(tag, f"the REFLECTANCE_SCALE tag of {path}") if tag else 1.0


def check_input_scale(value: float | str, origin: str) -> float:
    """``value`` as the factor to reflectance: NaN gave an all-NaN output, 0 an all-zero input."""
    try:
        factor = float(value)
    except ValueError:
        factor = math.nan
    if not (math.isfinite(factor) and factor > 0):
        shown = format(value, "g") if isinstance(value, float) else repr(value)
        raise GeossrError(f"{origin} must be a finite number above 0, got {shown}")
    return factor


def check_options(*, scale: float, input_scale: float | None, dtype: str, precision: str, tile: int, cog: bool,
                  creation_options: dict | None) -> None:
    """Refuse bad options before any work (the CLI calls it before it starts a cluster, too)."""
    check_scale(scale, None)
    if dtype not in DTYPES:
        raise GeossrError(f"--dtype must be one of {', '.join(DTYPES)}")
    if precision not in PRECISIONS:
        raise GeossrError(f"--precision must be one of {', '.join(PRECISIONS)}")
    if tile < 16:
        raise GeossrError(f"--tile must be at least 16 output pixels, got {tile}")
    if input_scale is not None:
        check_input_scale(input_scale, "--input-scale")
    check_creation_options({k.upper(): v for k, v in (creation_options or {}).items()}, dtype=dtype,
                           nodata=DTYPES[dtype][1], cog=cog)


def request_key(**fields) -> str:
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()[:32]


def is_complete(path: Path, key: str) -> bool:
    """A readable GeoTIFF carrying this request's key, with all its blocks: a finished output of the same request.

    The tags sit at the start of the file, so a truncated copy (a full disk, an interrupted copy)
    still opens with the right key; its missing blocks are what give it away.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
            with rasterio.open(path) as ds:
                if ds.tags().get("GEOSSR_REQUEST") != key or ds.count == 0:
                    return False
                return _blocks_in_file(ds, path.stat().st_size)
    except (rasterio.errors.RasterioIOError, OSError, ValueError):
        return False


def _blocks_in_file(ds, file_size: int) -> bool:
    """Every block of every band is stored and lies wholly inside the file (GDAL's TIFF block offsets)."""
    for band in ds.indexes:
        for (row, col), _ in ds.block_windows(band):
            offset = ds.get_tag_item(f"BLOCK_OFFSET_{col}_{row}", "TIFF", bidx=band)
            length = ds.get_tag_item(f"BLOCK_SIZE_{col}_{row}", "TIFF", bidx=band)
            if not offset or not length or int(offset) == 0 or int(offset) + int(length) > file_size:
                return False
    return True


def upsample_file(
    input_path: str | Path,
    output_path: str | Path,
    *,
    scale: float,
    sensor: str | Sensor,
    model: str = "ssif",
    weights: str | None = None,
    input_sensor: str | None = None,
    input_scale: float | None = None,
    device: str = "auto",
    tile: int = 256,
    dtype: str = "float32",
    precision: str = "fp32",
    cog: bool = False,
    creation_options: dict | None = None,
    overwrite: bool = False,
    consistency: bool = False,
    progress: Progress | None = None,
) -> dict:
    """Super-resolve one scene file; returns a summary (``status`` is "written" or "skipped").

    ``consistency`` projects the output so that it re-integrates to the input through the input
    sensor (``geossr.consistency``; measured in benchmarks/results/fidelity.md).
    ``progress(done, total)`` follows the output blocks as they are written.
    """
    check_options(scale=scale, input_scale=input_scale, dtype=dtype, precision=precision, tile=tile, cog=cog,
                  creation_options=creation_options)
    target = sensor if isinstance(sensor, Sensor) else load_sensor(sensor)
    device = resolve_device(device)
    output_path = Path(output_path)
    data = open_raster(input_path)
    source = resolve_input_sensor(input_path, input_sensor, data.sizes["band"])
    net, card, weights_label, note = choose_model(model, weights, source)
    factor = input_scale if input_scale is not None else input_scale_of(input_path)
    stat = Path(input_path).stat()
    key = request_key(input=str(Path(input_path).resolve()), size=stat.st_size, mtime=stat.st_mtime_ns,
                      source=source.fingerprint, target=target.fingerprint, scale=scale, model=net.config,
                      weights=weights_label, input_scale=factor, dtype=dtype, precision=precision, cog=cog,
                      co=creation_options, consistency=consistency, version=__version__)
    if output_path.exists() and not overwrite and is_complete(output_path, key):
        return {"input": str(input_path), "output": str(output_path), "status": "skipped (already complete)"}
    check_output_path(output_path, overwrite)
    cleanup_stale_temporaries(output_path)
    training = card.get("training", {})
    if net.fixed_intervals_nm is not None and (
        net.fixed_intervals_nm.shape != target.intervals_nm.shape
        or not np.allclose(net.fixed_intervals_nm, target.intervals_nm, atol=0.5)
    ):
        raise GeossrError(f"--model {net.name} produces only the {len(net.fixed_intervals_nm)} bands it was "
                          f"trained for, not {target.name}; use ssif for other band sets")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_scale(scale, training.get("scale_range"))
        check_band_range(target.intervals_nm, training.get("spectral_range_nm"))
        if net.any_input_sensor:
            keep = usable_input_bands(source, training.get("spectral_range_nm") or (0.0, np.inf), weights_label)
            if len(keep) < len(source):
                data = data.isel(band=keep)
                net.use_input_sensor(source.select([source.band_names[i] for i in keep]))
            check_input_reach(net.input_sensor, target.intervals_nm, weights_label)
        projected_onto = []
        if consistency:
            projected_onto = [net.input_sensor.band_names[i] for i in covered_input_bands(target, net.input_sensor)]
            left_out = [name for name in net.input_sensor.band_names if name not in projected_onto]
            if not projected_onto:
                raise GeossrError(f"--consistency needs output bands that hold at least one input band's response; "
                                  f"{target.name} holds none of {net.input_sensor.name}'s")
            if left_out:
                warnings.warn(f"--consistency: input band{'s' if len(left_out) > 1 else ''} {', '.join(left_out)} "
                              f"reach{'' if len(left_out) > 1 else 'es'} beyond the output bands {target.name}: "
                              f"the output is projected onto {', '.join(projected_onto)} only")
        if slow := emulated_precision_warning(precision, device):
            warnings.warn(slow)
        scaled = data * factor
        if beyond := check_valid_pixels(scaled, input_path, REFLECTANCE_BOUND):
            warnings.warn(f"{beyond} input pixel{'s' if beyond > 1 else ''} with values beyond "
                          f"±{REFLECTANCE_BOUND:g} after input scaling (reflectance lies in [0, 1]): "
                          "treated as nodata")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EmulatedPrecisionWarning)  # said above, with the other warnings
        out = upsample(scaled, scale, target, net.to(device), tile=tile, device=device, precision=precision,
                       consistency=consistency)
    numpy_dtype, nodata = DTYPES[dtype]
    if dtype == "uint16":
        scaled = (out * UINT16_SCALE).clip(0, nodata - 1).round()
        out = scaled.where(~np.isnan(out), nodata).astype(numpy_dtype)
    tags = {
        "GEOSSR_MODEL": net.name,
        "GEOSSR_WEIGHTS": weights_label,
        "GEOSSR_SCALE": f"{scale:g}",
        "GEOSSR_SOURCE": Path(input_path).name,
        "GEOSSR_SOURCE_SENSOR": source.name,
        "GEOSSR_INPUT_BANDS": ",".join(net.input_sensor.band_names),
        "GEOSSR_REQUEST": key,
        "GEOSSR_CONSISTENCY": f"projected onto the input bands {','.join(projected_onto)}" if consistency else "none",
    }
    if isinstance(net, LinearPrior) and not consistency:
        # Its posterior spread per band (the same for every pixel): an error bar for each generated band.
        std = net.posterior_std(torch.as_tensor(target.intervals_nm))
        tags["GEOSSR_POSTERIOR_STD"] = ",".join(f"{v:.4g}" for v in std.tolist())
    if dtype == "uint16":
        tags["REFLECTANCE_SCALE"] = f"{1 / UINT16_SCALE:g}"
    with open_dataset(input_path) as ds:
        if "GEOREFERENCING" in ds.tags():
            tags["GEOREFERENCING"] = ds.tags()["GEOREFERENCING"]
    with torch_threads_per_task():
        write_raster(out, output_path, target, overwrite=True, tags=tags, nodata=nodata, dtype=dtype, cog=cog,
                     creation_options=creation_options, progress=progress)
    return {
        "input": str(input_path),
        "output": str(output_path),
        "status": "written",
        "model": net.name,
        "weights": weights_label,
        "model_note": note,
        "input_sensor": source.name,
        "input_bands": net.input_sensor.band_names,
        "sensor": target.name,
        "bands": len(target),
        "scale": scale,
        "input_scale": factor,
        "consistency": consistency,
        "input_size": [data.sizes["y"], data.sizes["x"]],
        "output_size": [out.sizes["y"], out.sizes["x"]],
        "warnings": [str(w.message) for w in caught],
    }


def cleanup_stale_temporaries(output_path: Path) -> None:
    """Remove temporaries a killed run left beside ``output_path`` (they are never under its name)."""
    for stale in output_path.parent.glob(f".{output_path.name}.*"):
        if stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
        else:
            stale.unlink(missing_ok=True)

