"""Sensors from the files users already have: a CSV of band centres and widths, an ENVI header.

Both give each band a centre and a full width at half maximum, so each band becomes a Gaussian
with that FWHM (``response: approximation``). Units: the ones the file states (a CSV column named
``center_nm`` / ``center_um``, an ENVI ``wavelength units``), else detected from the values (all
below 100: micrometres, else nanometres); the sensor's description says which and how.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np

from geossr.errors import SensorError
from geossr.spectral.bands import Band, Sensor

CENTRE_COLUMNS = ("center", "centre", "wavelength", "center_wavelength", "central_wavelength")
WIDTH_COLUMNS = ("fwhm", "full_width_half_max", "bandwidth", "width")
UNIT_FACTORS = {"nm": 1.0, "nanometers": 1.0, "nanometres": 1.0, "um": 1000.0, "µm": 1000.0,
                "micrometers": 1000.0, "micrometres": 1000.0, "microns": 1000.0, "mm": 1e6, "millimeters": 1e6}
# "center", "center_nm", "center (um)", "fwhm_um": a column's name and the unit it may state
HEADER = re.compile(r"(?P<base>[a-z_]+?)(?:_(?P<suffix>nm|um|µm)|\s*\((?P<paren>[^)]+)\))?")
MICROMETRE_BELOW = 100.0  # no optical band centre lies below 100 nm, none above 100 µm


def _unit_factor(unit: str | None, centres: np.ndarray, where: str, field: str) -> tuple[float, str]:
    if unit is not None:
        factor = UNIT_FACTORS.get(unit.strip().lower())
        if factor is None:
            raise SensorError(f"{where}: unknown unit {unit!r} in {field} (use nm or µm)")
        return factor, f"{unit.strip()} (as the file states)"
    if np.all(centres < MICROMETRE_BELOW):
        return 1000.0, "µm (detected: every centre below 100)"
    return 1.0, "nm (detected: centres of 100 or more)"


def _sensor(path: Path, names: list[str], centres, widths, unit: str | None, where: str, field: str) -> Sensor:
    try:
        centres, widths = np.asarray(centres, dtype=float), np.asarray(widths, dtype=float)
    except ValueError:
        raise SensorError(f"{where}: {field} holds a value that is not a number") from None
    if not np.all(np.isfinite(centres)) or not np.all(np.isfinite(widths)):
        raise SensorError(f"{where}: {field} holds a value that is not a finite number")
    factor, how = _unit_factor(unit, centres, where, field)
    bands = tuple(Band.gaussian(name, c * factor, w * factor, where=f"{where}: ")
                  for name, c, w in zip(names, centres, widths))
    return Sensor(path.stem, bands, description=f"{len(bands)} bands from {path.name}; wavelengths in {how}",
                  source=f"band centres and FWHM read from {path}, each band a Gaussian of that FWHM",
                  response_kind="approximation", path=str(path))


def sensor_from_csv(path: str | Path) -> Sensor:
    """A header row naming a centre column and a FWHM column (``center``/``wavelength``…,
    ``fwhm``/``bandwidth``…, optionally suffixed ``_nm`` / ``_um``) and optionally ``name``."""
    path = Path(path)
    where = str(path)
    try:
        with open(path, newline="") as handle:
            rows = [row for row in csv.reader(line for line in handle if not line.startswith("#")) if row]
    except OSError as exc:
        raise SensorError(f"cannot read sensor table {path}: {exc.strerror}") from None
    if len(rows) < 2:
        raise SensorError(f"{where}: needs a header row and one row per band")
    header = [h.strip().lower() for h in rows[0]]

    def column(candidates: tuple[str, ...], what: str) -> tuple[int, str | None]:
        for i, name in enumerate(header):
            parsed = HEADER.fullmatch(name)
            if parsed and parsed["base"] in candidates:
                return i, parsed["paren"] or parsed["suffix"]
        raise SensorError(f"{where}: no {what} column (header: {', '.join(rows[0])}; expected one of "
                          f"{', '.join(candidates)}, optionally with a unit: center_nm, fwhm (um))")

    centre_at, centre_unit = column(CENTRE_COLUMNS, "band centre")
    width_at, width_unit = column(WIDTH_COLUMNS, "FWHM")
    if centre_unit and width_unit and centre_unit != width_unit:
        raise SensorError(f"{where}: centre and FWHM columns give different units ({centre_unit}, {width_unit})")
    body = rows[1:]
    if any(len(row) != len(header) for row in body):
        raise SensorError(f"{where}: every row needs {len(header)} values, as the header has")
    names = [row[header.index("name")].strip() for row in body] if "name" in header else \
        [f"b{i:03d}" for i in range(1, len(body) + 1)]
    return _sensor(path, names, [row[centre_at] for row in body], [row[width_at] for row in body],
                   centre_unit or width_unit, where, f"columns {rows[0][centre_at]!r} / {rows[0][width_at]!r}")


def _envi_fields(text: str) -> dict[str, str]:
    """ENVI header ``key = value`` pairs, braces spanning lines, keys lower-cased."""
    fields = {}
    for match in re.finditer(r"^\s*([^=\n{}]+?)\s*=\s*(\{[^}]*\}|[^\n]*)", text, re.MULTILINE):
        fields[match.group(1).strip().lower()] = match.group(2).strip()
    return fields


def _envi_list(value: str) -> list[str]:
    return [item.strip() for item in value.strip("{} \n").split(",") if item.strip()]


def sensor_from_envi_header(path: str | Path) -> Sensor:
    """An ENVI ``.hdr``: ``wavelength`` and ``fwhm`` lists, ``wavelength units``, ``band names``."""
    path = Path(path)
    where = str(path)
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        raise SensorError(f"cannot read ENVI header {path}: {exc.strerror}") from None
    if not text.lstrip().startswith("ENVI"):
        raise SensorError(f"{where}: not an ENVI header (its first word is not ENVI)")
    fields = _envi_fields(text)
    for key in ("wavelength", "fwhm"):
        if key not in fields:
            raise SensorError(f"{where}: field '{key}' is missing")
    centres, widths = _envi_list(fields["wavelength"]), _envi_list(fields["fwhm"])
    if len(centres) != len(widths):
        raise SensorError(f"{where}: field 'fwhm' has {len(widths)} values and 'wavelength' {len(centres)}")
    names = _envi_list(fields.get("band names", ""))
    if len(names) != len(centres):
        names = [f"b{i:03d}" for i in range(1, len(centres) + 1)]
    unit = fields.get("wavelength units")
    if unit is not None and unit.lower() == "unknown":
        unit = None
    return _sensor(path, names, centres, widths, unit, where, "field 'wavelength units'" if unit else "field 'wavelength'")
