"""Simulate a sensor from a hyperspectral scene: spectral integration, then optional downsampling."""

from __future__ import annotations

from pathlib import Path

import dask.array
import numpy as np
import xarray as xr

from geossr.errors import GeossrError, SensorError
from geossr.scene.io import (Progress, check_output_path, check_valid_pixels, dataset_basename, open_dataset,
                             open_raster, read_sensor, write_raster)
from geossr.scene.radiometry import PLAUSIBLE_BOUND, dataset_scale, implausible_values
from geossr.forward.resample import antialias_sigma, downsample
from geossr.spectral.bands import Sensor
from geossr.spectral.integration import DEFAULT_COVERAGE_TOLERANCE, response_matrix
from geossr.spectral.sensors import available_sensors, load_sensor


def resolve_input_sensor(path: str | Path, input_sensor: str | None, band_count: int,
                         override_metadata: bool = False) -> Sensor:
    """The source cube's bands: the file's own metadata, or ``--input-sensor``.

    A given sensor that agrees with the metadata (the same band centres) is used as given: it may
    describe the responses better. One that disagrees is refused unless ``override_metadata``:
    a reordered or mistaken ``--input-sensor`` would otherwise silently change the result.
    """
    check_override_metadata(input_sensor, override_metadata)
    try:
        declared = read_sensor(path)
    except (SensorError, ValueError):
        if input_sensor is None:
            raise
        declared = None  # unreadable wavelength metadata declares nothing for --input-sensor to contradict
    if input_sensor is not None:
        sensor = load_sensor(input_sensor)
        origin = f"--input-sensor {input_sensor}"
    else:
        sensor = declared
        origin = "its wavelength metadata"
        if sensor is None:
            raise SensorError(
                f"{path} declares no band wavelengths; name its sensor with --input-sensor "
                f"({_sensor_hint(path, band_count)})"
            )
    if len(sensor) != band_count:
        raise SensorError(
            f"{path} has {band_count} bands but {origin} defines {len(sensor)} ({sensor.name})"
        )
    if input_sensor is not None and declared is not None and len(declared) == band_count and not override_metadata:
        differ = np.abs(declared.centers_nm - sensor.centers_nm) > _same_band_tolerance_nm(declared, sensor)
        if differ.any():
            band = int(np.argmax(differ))
            raise SensorError(
                f"{path} declares {declared.name} ({_band_list(declared)}) but --input-sensor gives {sensor.name} "
                f"({_band_list(sensor)}): band {band + 1} is centred at {declared.centers_nm[band]:.0f} nm, not "
                f"{sensor.centers_nm[band]:.0f} nm; leave out --input-sensor to use the file's bands, or add "
                "--override-metadata to use the given ones"
            )
    return sensor


def check_override_metadata(input_sensor: str | None, override_metadata: bool) -> None:
    if override_metadata and input_sensor is None:
        raise SensorError("--override-metadata needs --input-sensor (the sensor to use instead of the file's)")


def _same_band_tolerance_nm(a: Sensor, b: Sensor) -> np.ndarray:
    """Two descriptions of one band put its centre within half the narrower FWHM of each other
    (inside its passband); 1 nm at least, for centres rounded in metadata."""
    return np.maximum(np.minimum(a.fwhms_nm, b.fwhms_nm) / 2, 1.0)


def _band_list(sensor: Sensor) -> str:
    if len(sensor) <= 8:
        return ", ".join(f"{band.name} {band.center_nm:.0f}" for band in sensor.bands) + " nm"
    return f"{len(sensor)} bands, {sensor.centers_nm.min():.0f}-{sensor.centers_nm.max():.0f} nm"


def _sensor_hint(path, band_count: int) -> str:
    """Shipped sensors (or band subsets of them) that could describe this file's bands."""
    from geossr.scene.identify import likely_sensor

    with open_dataset(path) as dataset:
        likely = likely_sensor(dataset)
    if likely is not None:
        return f"its {likely.evidence} suggest --input-sensor {likely.spec}"
    same_count = [n for n in available_sensors() if len(load_sensor(n)) == band_count]
    choices = ", ".join(same_count) if same_count else "none shipped"
    return f"shipped sensors with {band_count} bands: {choices}; any sensor accepts NAME:BAND,BAND,... " \
           "a .yaml file or grid:START:STOP:N"


def integrate_bands(data: xr.DataArray, matrix: np.ndarray) -> xr.DataArray:
    """Apply a (target, source) response matrix along the band axis, lazily."""
    array = data.data
    if not isinstance(array, dask.array.Array):
        array = dask.array.from_array(np.asarray(array))
    integrated = dask.array.tensordot(
        matrix.astype(np.float32), array.rechunk({0: -1}), axes=(1, 0)
    ).astype(np.float32)
    out = xr.DataArray(
        integrated,
        dims=("band", "y", "x"),
        coords={"band": np.arange(1, matrix.shape[0] + 1), "y": data.y, "x": data.x},
    )
    out = out.rio.write_transform(data.rio.transform())
    return out.rio.write_crs(data.rio.crs) if data.rio.crs else out


def simulate(
    input_path: str | Path,
    target: str | Sensor,
    output_path: str | Path,
    *,
    input_sensor: str | None = None,
    override_metadata: bool = False,
    scale: float | None = None,
    input_scale: float | str | None = None,
    overwrite: bool = False,
    coverage_tolerance: float = DEFAULT_COVERAGE_TOLERANCE,
    progress: Progress | None = None,
) -> dict:
    """Write what ``target`` would have recorded of the scene at ``input_path`` (optionally p× coarser).

    ``input_sensor`` that contradicts the file's wavelength metadata needs ``override_metadata``.
    The input is scaled to reflectance as ``geossr upsample`` scales it (``input_scale``,
    ``geossr.scene.radiometry``), so the output is reflectance too.
    Returns a summary dict (input/output sensors, sizes, scale, warnings). ``progress(done, total)`` follows
    the output blocks as they are written.
    """
    if scale is not None and not (np.isfinite(scale) and scale >= 1):
        raise GeossrError(f"--scale must be a number >= 1 (a downsampling factor), got {scale:g}")
    output_path = check_output_path(output_path, overwrite)
    with open_dataset(input_path) as dataset:
        radiometry = dataset_scale(dataset, input_scale)
    data = open_raster(input_path, band_scale=radiometry.band_scale) * radiometry.factor
    source = resolve_input_sensor(input_path, input_sensor, data.sizes["band"], override_metadata)
    target_sensor = target if isinstance(target, Sensor) else load_sensor(target)
    matrix = response_matrix(source, target_sensor, coverage_tolerance)
    counts = check_valid_pixels(data, input_path, plausible=PLAUSIBLE_BOUND)  # of the chunks up to a valid pixel
    mis_scaled = implausible_values(counts.values, counts.implausible, radiometry)
    out = integrate_bands(data, matrix)
    if scale is not None and scale != 1:
        try:
            out = downsample(out, scale)
        except ValueError as exc:
            raise GeossrError(str(exc)) from None
    tags = {"GEOSSR_SOURCE": dataset_basename(input_path), "GEOSSR_SOURCE_SENSOR": source.name, **radiometry.tags()}
    with open_dataset(input_path) as dataset:
        if "GEOREFERENCING" in dataset.tags():  # e.g. "nominal": the output is no better
            tags["GEOREFERENCING"] = dataset.tags()["GEOREFERENCING"]
    if scale:
        tags.update(GEOSSR_SCALE=f"{scale:g}", GEOSSR_ANTIALIAS_SIGMA_PX=f"{antialias_sigma(scale):g}")
    write_raster(out, output_path, target_sensor, overwrite=overwrite, tags=tags, progress=progress)
    return {
        "input": str(input_path),
        "output": str(output_path),
        "input_sensor": source.name,
        "sensor": target_sensor.name,
        "bands": len(target_sensor),
        "input_size": [data.sizes["y"], data.sizes["x"]],
        "output_size": [out.sizes["y"], out.sizes["x"]],
        "scale": scale or 1.0,
        "input_scale": radiometry.factor,
        "input_scale_origin": radiometry.origin,
        "warnings": [mis_scaled] if mis_scaled else [],
    }
