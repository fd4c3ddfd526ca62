"""The Python API: open a raster with its wavelengths, load a model by name, upsample a DataArray.

    import geossr
    scene = geossr.open_raster("s2.tif")  # (band, y, x), wavelength_nm / fwhm_nm per band
    out = geossr.upsample(scene, scale=2, sensor="rosis", model="linear-sr", input_scale=1e-4)
    out.rio.to_raster("out.tif")  # band names, nodata and wavelengths travel with it

Names are resolved as the command line resolves ``--model`` / ``--weights`` (``geossr.models.load``);
the input sensor comes from ``input_sensor``, else from the array's own wavelength metadata (what
``open_raster`` attaches). The result is lazy (dask); nothing is computed until it is written or
``.compute()``-d.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import xarray as xr

from geossr.device import resolve_device
from geossr.errors import GeossrError
from geossr.models.base import SuperResolver
from geossr.models.loader import DEFAULT_MODEL, load
from geossr.scene import io as raster_io
from geossr.scene.engine import upsample as upsample_array
from geossr.spectral.bands import Sensor
from geossr.spectral.sensors import load_sensor, sensor_from_dict

# A dataset tag (default domain) holding the bands as geossr's sensor JSON: rioxarray writes an
# array's attributes as such tags, so ``out.rio.to_raster`` keeps the wavelengths for ``geossr info``.
SENSOR_ATTR = "GEOSSR_SENSOR_JSON"


def open_raster(path: str | Path) -> xr.DataArray:
    """Lazy (band, y, x) float32 DataArray with nodata as NaN, GDAL's band scale applied, its CRS, and
    ``wavelength_nm`` / ``fwhm_nm`` band coordinates when the file declares its bands."""
    data = raster_io.open_raster(path)
    sensor = raster_io.read_sensor(path)
    # rioxarray lifts band 1's tags into the array's attributes, as if they held for every band
    data.attrs = {k: v for k, v in data.attrs.items() if k not in ("wavelength", "fwhm", "wavelength_units")}
    return with_bands(data, sensor) if sensor is not None else data


def with_bands(data: xr.DataArray, sensor: Sensor) -> xr.DataArray:
    """``data`` with ``sensor``'s bands as coordinates, per-band names and the sensor's JSON attribute."""
    if data.sizes["band"] != len(sensor):
        raise GeossrError(f"{data.sizes['band']} bands of data but sensor {sensor.name} has {len(sensor)}")
    data = data.assign_coords(wavelength_nm=("band", sensor.centers_nm), fwhm_nm=("band", sensor.fwhms_nm))
    data.attrs.update({"long_name": tuple(raster_io.band_description(sensor, band) for band in sensor.bands),
                       SENSOR_ATTR: json.dumps(sensor.to_dict())})
    return data


def array_sensor(data: xr.DataArray) -> Sensor | None:
    """The bands an array declares (``open_raster``'s or ``upsample``'s attribute), or None."""
    stored = data.attrs.get(SENSOR_ATTR)
    return sensor_from_dict(json.loads(stored), where="the array's GEOSSR_SENSOR_JSON: ") if stored else None


def _as_sensor(spec: Sensor | str | None) -> Sensor | None:
    return load_sensor(spec) if isinstance(spec, str) else spec


def load_model(model: str | Path = DEFAULT_MODEL, input_sensor: Sensor | str | None = None, *,
               weights: str | Path | None = None, device: str = "auto") -> SuperResolver:
    """A model ready to run: a name (``ssif``, ``linear-sr``, ``linear``, ``bicubic``…, with its shipped
    weights for ``input_sensor``), a shipped weight name, or ``weights`` (a checkpoint path)."""
    target = Path(weights) if weights is not None else model
    return load(target, _as_sensor(input_sensor), resolve_device(device)).net


def upsample(
    data: xr.DataArray,
    scale: float,
    sensor: Sensor | str,
    model: str | Path | SuperResolver = DEFAULT_MODEL,
    *,
    weights: str | Path | None = None,
    input_sensor: Sensor | str | None = None,
    device: str = "auto",
    input_scale: float | str | None = None,
    tile: int = 256,
    precision: str = "fp32",
    consistency: bool = False,
) -> xr.DataArray:
    """Lazy (band, y, x) super-resolution of a georeferenced DataArray to the bands of ``sensor``.

    ``model`` is a name or a model object (``load_model``); ``input_sensor`` defaults to the bands the
    array declares. Values are scaled to reflectance as the command line does (``input_scale``, the
    array's band scale, or a refusal for unscaled integers). The result is named ``reflectance``,
    with per-band names, NaN as nodata, and the output bands as coordinates and as an attribute
    that ``.rio.to_raster`` writes.
    """
    target = resolve_device(device)
    if isinstance(model, SuperResolver):
        net = model
    else:
        source = _as_sensor(input_sensor) or array_sensor(data)
        if source is None:
            raise GeossrError("the array declares no band wavelengths: give input_sensor (e.g. "
                              "'sentinel2_msi:B02,B03,B04,B08'), or open it with geossr.open_raster")
        net = load(Path(weights) if weights is not None else model, source, target).net
    if data.sizes.get("band") != len(net.input_sensor):
        raise GeossrError(f"the array has {data.sizes.get('band')} bands but the model reads "
                          f"{len(net.input_sensor)} ({net.input_sensor.name})")
    out_sensor = _as_sensor(sensor)
    out = upsample_array(data, scale, out_sensor, net, input_scale=input_scale, tile=tile, device=target,
                         precision=precision, consistency=consistency)
    out = with_bands(out.rename("reflectance"), out_sensor)
    return out.rio.write_nodata(np.nan, encoded=False)
