"""How an input's stored values become reflectance in [0, 1] (``--input-scale``, ``input_scale=``).

The scale comes from the first of:

1. ``--input-scale F``: reflectance = stored value x F (a GDAL band scale is then not applied);
2. the GDAL band scale/offset (rasterio's ``scales`` / ``offsets``; e.g. 1/65535 in the CAVE example);
3. a ``REFLECTANCE_SCALE`` tag (the bundled Sentinel-2 and Landsat files: 0.0001);
4. float data: 1, it is taken as reflectance.

Integer data with none of these is refused: a DN of unknown meaning upsampled as reflectance gave
"reflectance" up to 502 without a word. ``--input-scale auto`` takes 2 or 3 where the file has them,
else a rule by data type (``AUTO_RULES``): uint8 -> 1/255 (8-bit imagery, 0-255), uint16 and int16
-> 1e-4 (reflectance x 10000: Sentinel-2 L2A, Landsat Collection 1 surface reflectance); wider
integers have no rule. The output's tags record the scale used and where it came from
(``GEOSSR_INPUT_SCALE``, ``GEOSSR_INPUT_SCALE_ORIGIN``).

After scaling, more than ``IMPLAUSIBLE_SHARE`` of the values beyond ±``PLAUSIBLE_BOUND`` (the
99.9th percentile of |value| above 1.5; real reflectance passes 1 only a little, at glint or on
bright slopes) gets a warning that the scale is likely wrong.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import dask.array
import numpy as np
import xarray as xr

from geossr.errors import GeossrError

AUTO = "auto"
# dtype -> (factor, the factor as people write it, what such files hold): --input-scale auto's rule,
# and the hint of the refusal
_TIMES_10000 = "reflectance x 10000, as Sentinel-2 L2A and Landsat Collection 1 surface reflectance store it"
AUTO_RULES = {
    "uint8": (1 / 255, "1/255", "8-bit imagery, 0-255"),
    "uint16": (1e-4, "1e-4", _TIMES_10000),
    "int16": (1e-4, "1e-4", _TIMES_10000),
}
PLAUSIBLE_BOUND = 1.5
IMPLAUSIBLE_SHARE = 0.001
# The Python API looks at this many pixels a side in the middle of a lazy scene (reading all of it
# would cost a second pass over the input); in-memory arrays are looked at whole.
API_SAMPLE_PX = 512


@dataclass(frozen=True)
class InputScale:
    """Stored values -> reflectance: GDAL's band scale/offset first where ``band_scale``, then x ``factor``."""

    factor: float
    origin: str  # where it came from, for tags and messages
    value: str  # reflectance = stored value x this (text: the band scale may differ per band)
    band_scale: bool = False

    def tags(self) -> dict[str, str]:
        return {"GEOSSR_INPUT_SCALE": self.value, "GEOSSR_INPUT_SCALE_ORIGIN": self.origin}


def parse_input_scale(value: float | str | None, option: str = "--input-scale") -> float | str | None:
    """``value`` as a finite factor above 0, ``"auto"`` or None: NaN gave an all-NaN output, 0 an all-zero input."""
    if value is None or (isinstance(value, str) and value.strip().lower() == AUTO):
        return None if value is None else AUTO
    return check_factor(value, option, also="or auto")


def check_factor(value: float | str, origin: str, also: str = "") -> float:
    try:
        factor = float(value)
    except ValueError:
        factor = math.nan
    if not (math.isfinite(factor) and factor > 0):
        shown = format(value, "g") if isinstance(value, float) else repr(value)
        raise GeossrError(f"{origin} must be a finite number above 0{' ' + also if also else ''}, got {shown}")
    return factor


def choose_scale(requested: float | str | None, *, dtype: str, band_scales: tuple[float, ...] | None,
                 band_offsets: tuple[float, ...] | None, tag: str | None, where: str,
                 option: str = "--input-scale") -> InputScale:
    """The rule of the module docstring. ``band_scales``/``band_offsets``: GDAL's, when not the identity;
    ``tag``: the REFLECTANCE_SCALE tag; ``where`` names the input in messages."""
    requested = parse_input_scale(requested, option)
    if isinstance(requested, float):
        return InputScale(requested, option, f"{requested:g}")
    if band_scales is not None:
        offsets = band_offsets or (0.0,) * len(band_scales)
        if len(set(band_scales)) == 1 and len(set(offsets)) == 1:
            value = f"{band_scales[0]:g}" + (f" + {offsets[0]:g}" if offsets[0] else "")
        else:
            value = "per band: " + ", ".join(f"{s:g}" + (f" + {o:g}" if o else "")
                                             for s, o in zip(band_scales, offsets))
        return InputScale(1.0, "GDAL band scale", value, band_scale=True)
    if tag is not None:
        factor = check_factor(tag, f"the REFLECTANCE_SCALE tag of {where}")
        return InputScale(factor, "REFLECTANCE_SCALE tag", f"{factor:g}")
    if np.dtype(dtype).kind == "f":
        return InputScale(1.0, "float input without a scale", "1")
    rule = AUTO_RULES.get(str(dtype))
    if requested == AUTO:
        if rule is None:
            raise GeossrError(f"{where} holds {dtype} values and {_given(option, AUTO)} has no rule for {dtype}: "
                              f"give the factor to reflectance, {_given(option, 'F')}")
        return InputScale(rule[0], f"{_given(option, AUTO)}: {rule[1]} for {dtype}, {rule[2]}", f"{rule[0]:g}")
    hint = (f"{_given(option, format(rule[0], '.3g'))} ({rule[1]}, for {rule[2]}) or {_given(option, AUTO)}" if rule
            else _given(option, "F"))
    raise GeossrError(f"{where} holds {dtype} values with no scale to reflectance (no GDAL band scale, no "
                      f"REFLECTANCE_SCALE tag): give {hint}")


def _given(option: str, value: str) -> str:
    """How a user writes the option: ``--input-scale 0.0001`` on the command line, ``input_scale=0.0001`` in Python."""
    if option.startswith("--"):
        return f"{option} {value}"
    return f"{option}={value!r}" if value == AUTO else f"{option}={value}"


def dataset_scale(dataset, requested: float | str | None, option: str = "--input-scale") -> InputScale:
    """The input scale of an open rasterio dataset."""
    scales, offsets = tuple(dataset.scales), tuple(dataset.offsets)
    declared = any(s != 1 for s in scales) or any(o != 0 for o in offsets)
    return choose_scale(requested, dtype=dataset.dtypes[0], band_scales=scales if declared else None,
                        band_offsets=offsets if declared else None, tag=dataset.tags().get("REFLECTANCE_SCALE"),
                        where=dataset.name, option=option)


def read_reflectance(dataset, scale: InputScale, window=None) -> np.ndarray:
    """(band, y, x) float64 reflectance of ``window`` (None: the whole raster), nodata as NaN."""
    values = dataset.read(window=window, masked=True).astype(np.float64)
    if scale.band_scale:
        values = values * np.asarray(dataset.scales)[:, None, None] + np.asarray(dataset.offsets)[:, None, None]
    return (values * scale.factor).filled(np.nan)


def array_to_reflectance(data, input_scale: float | str | None, bound: float):
    """A (band, y, x) DataArray scaled to reflectance by the module's rule, for the Python API.

    ``input_scale`` multiplies the values as given. Otherwise a band scale rioxarray has not applied
    (``mask_and_scale=False``: ``scale_factor`` / ``add_offset`` or ``scales`` / ``offsets`` attributes)
    is applied, with the nodata value masked; one it applied is kept (the stored dtype stays in
    ``encoding``); then the ``REFLECTANCE_SCALE`` attribute; float data is taken as it is. Warns when
    a sample (``API_SAMPLE_PX``) looks mis-scaled; values beyond ±``bound`` (nodata to the engine) are
    not counted.
    """
    stored = str(data.encoding.get("rasterio_dtype") or data.encoding.get("dtype") or data.dtype)
    bands = data.sizes["band"]
    scales = tuple(data.attrs.get("scales", (data.attrs.get("scale_factor", 1.0),) * bands))
    offsets = tuple(data.attrs.get("offsets", (data.attrs.get("add_offset", 0.0),) * bands))
    pending = any(s != 1 for s in scales) or any(o != 0 for o in offsets)
    applied = (data.encoding.get("scale_factor", 1.0), data.encoding.get("add_offset", 0.0))
    if pending:
        declared = scales, offsets
    elif data.dtype.kind == "f" and applied != (1.0, 0.0):
        declared = (applied[0],), (applied[1],)
    else:
        declared = None, None
    tag = data.attrs.get("REFLECTANCE_SCALE")
    scale = choose_scale(input_scale, dtype=stored, band_scales=declared[0], band_offsets=declared[1],
                         tag=None if tag is None else str(tag), where="the array", option="input_scale")
    values = data
    if data.dtype.kind != "f" or (scale.band_scale and pending):
        nodata = data.rio.nodata
        values = data.astype(np.float32)
        if nodata is not None and not np.isnan(nodata):
            values = values.where(data != nodata)
        if scale.band_scale and pending:
            values = (values * xr.DataArray(np.asarray(scales, np.float32), dims="band")
                      + xr.DataArray(np.asarray(offsets, np.float32), dims="band"))
    out = (values * np.float32(scale.factor)).astype(np.float32) if scale.factor != 1 else values
    array = out.transpose("band", "y", "x").data
    if isinstance(array, dask.array.Array):
        h, w = array.shape[1:]
        y0, x0 = max(0, (h - API_SAMPLE_PX) // 2), max(0, (w - API_SAMPLE_PX) // 2)
        array = array[:, y0 : y0 + API_SAMPLE_PX, x0 : x0 + API_SAMPLE_PX].compute()
    array = np.abs(np.asarray(array))
    within = array <= bound
    if message := implausible_values(int(within.sum()), int((within & (array > PLAUSIBLE_BOUND)).sum()), scale,
                                     "input_scale"):
        warnings.warn(message, stacklevel=3)
    return out


def implausible_values(values: int, implausible: int, scale: InputScale, option: str = "--input-scale") -> str | None:
    """The warning for ``implausible`` of ``values`` beyond ±PLAUSIBLE_BOUND after scaling, or None."""
    if not values or implausible <= IMPLAUSIBLE_SHARE * values:
        return None
    return (f"{100 * implausible / values:.3g} % of the input values lie beyond ±{PLAUSIBLE_BOUND:g} after scaling by "
            f"{scale.value} ({scale.origin}), though reflectance lies in [0, 1]: the scale looks wrong; check {option}")
