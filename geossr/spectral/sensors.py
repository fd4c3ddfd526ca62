"""Sensor definitions: shipped files, user files and ``grid:`` specs.

A sensor spec is any of
- a shipped sensor name (``ikonos``, ``rosis``, …: the files in ``sensors/``),
- a path to a sensor YAML file, a CSV of band centres and FWHM, or an ENVI ``.hdr`` (``geossr.spectral.tables``),
- ``grid:START:STOP:N[:gaussian|uniform]`` — N contiguous equal intervals over [START, STOP] nm,
- any of the above followed by ``:BAND,BAND,…`` to keep only those bands (``ikonos:blue,green,red,nir``).
"""

from __future__ import annotations

import csv
import difflib
import functools
import math
from pathlib import Path

import numpy as np
import yaml

from geossr.errors import SensorError
from geossr.spectral.bands import SHAPES, Band, Sensor
from geossr.spectral.tables import sensor_from_csv, sensor_from_envi_header

SENSOR_SUFFIXES = (".yaml", ".yml")
TABLE_READERS = {".csv": sensor_from_csv, ".hdr": sensor_from_envi_header}
RESPONSE_KINDS = ("measured", "approximation", "nominal")
# Remote-sensing bands lie between the vacuum ultraviolet and the far infrared: a band outside
# is a unit slip (nm for µm or the reverse, a factor 1000) or a typo, never a real sensor.
OPTICAL_RANGE_NM = (100.0, 100_000.0)


def sensor_dir() -> Path:
    """The shipped sensor files: inside the installed package, or ``sensors/`` of a checkout."""
    package = Path(__file__).resolve().parents[1]
    for candidate in (package / "sensors", package.parent / "sensors"):
        if candidate.is_dir():
            return candidate
    raise SensorError(f"shipped sensor files not found beside {package}; reinstall geossr")


def available_sensors() -> list[str]:
    return sorted(p.stem for p in sensor_dir().iterdir() if p.suffix in SENSOR_SUFFIXES)


def load_sensor(spec: str | Path) -> Sensor:
    """Resolve a sensor spec (see the module docstring) to a :class:`Sensor`."""
    spec = str(spec).strip()
    if spec.startswith("grid:"):
        return grid_sensor(spec)
    path = Path(spec).expanduser()
    if path.suffix.lower() in TABLE_READERS:
        return TABLE_READERS[path.suffix.lower()](path)
    if path.suffix in SENSOR_SUFFIXES or path.is_file():
        return read_sensor_file(path)
    base, _, selection = spec.partition(":")
    if selection:
        return load_sensor(base).select([n.strip() for n in selection.split(",") if n.strip()])
    if spec in available_sensors():
        return read_sensor_file(next(sensor_dir() / f"{spec}{suffix}" for suffix in SENSOR_SUFFIXES
                                     if (sensor_dir() / f"{spec}{suffix}").is_file()))
    close = difflib.get_close_matches(spec, available_sensors(), n=3, cutoff=0.5)
    hint = f"; did you mean {' or '.join(close)}?" if close else ""
    raise SensorError(
        f"unknown sensor {spec!r}{hint} (shipped: {', '.join(available_sensors())}; "
        "or a sensor .yaml file, or grid:START:STOP:N[:gaussian|uniform])"
    )


def grid_sensor(spec: str) -> Sensor:
    """``grid:START:STOP:N[:gaussian|uniform]``: the SSIF paper's contiguous band intervals.

    Uniform bands are boxes over their interval; Gaussian bands have μ = the interval's middle
    and σ = its width / 6, so ±3σ is the interval.
    """
    parts = spec.split(":")[1:]
    usage = f"bad grid sensor {spec!r}: expected grid:START:STOP:N[:gaussian|uniform], START < STOP in nm"
    if len(parts) not in (3, 4):
        raise SensorError(usage)
    shape = parts[3] if len(parts) == 4 else "uniform"
    try:
        start, stop, count = float(parts[0]), float(parts[1]), int(parts[2])
    except ValueError:
        raise SensorError(usage) from None
    if shape not in ("gaussian", "uniform") or not (0 <= start < stop) or count < 1 or not math.isfinite(stop):
        raise SensorError(usage)
    edges = np.linspace(start, stop, count + 1)
    width = len(str(count))
    bands = []
    for i, (lo, hi) in enumerate(zip(edges[:-1], edges[1:]), start=1):
        name = f"b{i:0{max(width, 3)}d}"
        if shape == "uniform":
            bands.append(Band.uniform(name, lo, hi))
        else:
            bands.append(Band.gaussian(name, (lo + hi) / 2, sigma_nm=(hi - lo) / 6))
    return Sensor(
        spec,
        tuple(bands),
        description=f"{count} contiguous {shape} bands over {start:g}-{stop:g} nm",
        source="geossr grid spec (SSIF band intervals)",
        response_kind="approximation",
    )


@functools.lru_cache(maxsize=64)
def _read_sensor_file_cached(path: Path, mtime: float) -> Sensor:
    where = f"{path}: "
    try:
        doc = yaml.safe_load(path.read_text())
    except (OSError, UnicodeDecodeError) as exc:
        raise SensorError(f"{where}cannot read sensor file ({exc.__class__.__name__})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark else ""
        raise SensorError(f"{where}not valid YAML{line}") from None
    return sensor_from_dict(doc, where=where, base_dir=path.parent, path=str(path))


def read_sensor_file(path: str | Path) -> Sensor:
    path = Path(path).expanduser().resolve()
    if not path.is_file():
        raise SensorError(f"sensor file not found: {path}")
    return _read_sensor_file_cached(path, path.stat().st_mtime)


def sensor_from_dict(doc, *, where: str = "", base_dir: Path | None = None, path: str | None = None) -> Sensor:
    """Build a sensor from the file schema (also used for the JSON geossr writes into GeoTIFFs)."""
    if not isinstance(doc, dict):
        raise SensorError(f"{where}a sensor file must be a mapping with 'name' and 'bands'")
    name = doc.get("name")
    if not isinstance(name, str) or not name.strip():
        raise SensorError(f"{where}field 'name' is missing or not a string")
    kind = doc.get("response", "")
    if kind and kind not in RESPONSE_KINDS:
        raise SensorError(f"{where}field 'response' must be one of {', '.join(RESPONSE_KINDS)}")
    bands = doc.get("bands")
    if not isinstance(bands, list) or not bands:
        raise SensorError(f"{where}field 'bands' must be a non-empty list")
    default_shape = doc.get("shape", "gaussian")
    built = [
        _band_from_dict(entry, i, default_shape, where, base_dir) for i, entry in enumerate(bands, start=1)
    ]
    try:
        return Sensor(name, tuple(built), str(doc.get("description", "")), str(doc.get("source", "")), kind, path)
    except SensorError as exc:
        raise SensorError(f"{where}{exc}") from None


def _band_from_dict(entry, index, default_shape, where, base_dir) -> Band:
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), (str, int)):
        raise SensorError(f"{where}band #{index}: each band needs a 'name'")
    name = str(entry["name"])
    common = entry.get("common_name")
    shape = entry.get("shape", "tabulated" if "response" in entry else default_shape)
    if shape not in SHAPES:
        raise SensorError(f"{where}band {name!r}: field 'shape' must be one of {', '.join(SHAPES)}")
    if shape == "tabulated":
        wl_nm, values = _response_curve(entry.get("response"), name, where, base_dir)
        return Band.tabulated(name, wl_nm, values, common_name=common, where=where)
    for key in ("center_wavelength", "full_width_half_max"):
        if key not in entry:
            raise SensorError(f"{where}band {name!r}: field '{key}' (µm) is missing")
        if not isinstance(entry[key], (int, float)) or isinstance(entry[key], bool):
            raise SensorError(f"{where}band {name!r}: field '{key}' must be a number in µm")
    center_nm, fwhm_nm = entry["center_wavelength"] * 1000, entry["full_width_half_max"] * 1000
    if shape == "gaussian":
        band = Band.gaussian(name, center_nm, fwhm_nm, common_name=common, where=where)
    elif not fwhm_nm > 0:
        raise SensorError(f"{where}band {name!r}: full_width_half_max must be positive")
    else:
        band = Band.uniform(name, center_nm - fwhm_nm / 2, center_nm + fwhm_nm / 2, common_name=common, where=where)
    at = f"{where}band {name!r}"
    nm_hint = "values look like nanometres; sensor files give center_wavelength and full_width_half_max in µm"
    if not OPTICAL_RANGE_NM[0] <= band.center_nm <= OPTICAL_RANGE_NM[1]:
        hint = f"; {nm_hint}" if band.center_nm > OPTICAL_RANGE_NM[1] else ""
        raise SensorError(f"{at}: center_wavelength {band.center_nm / 1000:g} µm is outside the optical range "
                          f"{_optical_range()}{hint}")
    if band.fwhm_nm >= band.center_nm:  # no real band is that wide (a panchromatic one: about 2/3 of its centre)
        raise SensorError(f"{at}: full_width_half_max {band.fwhm_nm / 1000:g} µm is not narrower than "
                          f"center_wavelength {band.center_nm / 1000:g} µm; {nm_hint}")
    return band


def _optical_range() -> str:
    return f"{OPTICAL_RANGE_NM[0]:g} nm-{OPTICAL_RANGE_NM[1] / 1000:g} µm"


def _response_curve(spec, name, where, base_dir):
    """A tabulated curve: inline {wavelength_nm|wavelength_um: [...], value: [...]} or {file, column}."""
    at = f"{where}band {name!r}: field 'response'"
    if not isinstance(spec, dict):
        raise SensorError(f"{at} must map 'wavelength_nm' and 'value', or 'file' and 'column'")
    if "file" in spec:
        if base_dir is None:
            raise SensorError(f"{at}: a response file can only be used from a sensor file")
        table = _read_csv(base_dir / str(spec["file"]), where)
        column = str(spec.get("column", name))
        if column not in table:
            raise SensorError(f"{at}: column {column!r} not in {spec['file']} (columns: {', '.join(table)})")
        values = table[column]
    else:
        table = spec
        values = spec.get("value")
    unit_scale = {"wavelength_nm": 1.0, "wavelength_um": 1000.0}
    keys = [k for k in unit_scale if k in table]
    if len(keys) != 1 or values is None:
        raise SensorError(f"{at} needs exactly one of wavelength_nm / wavelength_um, and values")
    try:
        wl = np.asarray(table[keys[0]], dtype=float) * unit_scale[keys[0]]
        values = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise SensorError(f"{at}: wavelengths and values must be numbers") from None
    low, high = OPTICAL_RANGE_NM
    if wl.size and (wl.max() < low or wl.min() > high):  # NaN and the rest: Band.tabulated's checks
        if keys[0] == "wavelength_nm" and wl.max() < low:
            hint = "; values look like micrometres; wavelength_nm is in nm (or give wavelength_um)"
        elif keys[0] == "wavelength_um" and wl.min() > high:
            hint = "; values look like nanometres; wavelength_um is in µm (or give wavelength_nm)"
        else:
            hint = ""
        raise SensorError(f"{at}: {keys[0]} {wl.min() / unit_scale[keys[0]]:g}-{wl.max() / unit_scale[keys[0]]:g} "
                          f"lies outside the optical range {_optical_range()}{hint}")
    return wl, values


@functools.lru_cache(maxsize=32)
def _read_csv(path: Path, where: str) -> dict[str, np.ndarray]:
    try:
        with open(path, newline="") as handle:
            rows = list(csv.reader(row for row in handle if not row.startswith("#")))
    except OSError:
        raise SensorError(f"{where}response file not found: {path}") from None
    header, body = rows[0], [r for r in rows[1:] if r]
    try:
        columns = np.array(body, dtype=float).T
    except ValueError:
        raise SensorError(f"{where}{path.name}: non-numeric value in response table") from None
    if columns.shape[0] != len(header):
        raise SensorError(f"{where}{path.name}: rows and header have different lengths")
    return {h.strip(): col for h, col in zip(header, columns)}


def sensor_summary(sensor: Sensor) -> dict:
    lo, hi = sensor.range_nm
    return {
        "name": sensor.name,
        "bands": len(sensor),
        "range_nm": [round(lo, 1), round(hi, 1)],
        "response": sensor.response_kind,
        "description": sensor.description,
        "source": sensor.source,
    }
