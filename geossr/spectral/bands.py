"""Spectral bands and sensors.

A band is a spectral response function ρ(λ) normalised so that ∫ρ dλ = 1 (λ in nanometres):
tabulated (a measured or published curve, linearly interpolated, zero outside), Gaussian
(μ = centre, σ = FWHM / 2√(2 ln 2)) or uniform (a box of width FWHM around the centre).
Files use micrometres, as the STAC ``eo`` extension does; the library works in nanometres.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from dataclasses import dataclass, field

import numpy as np

from geossr.errors import SensorError

SHAPES = ("tabulated", "gaussian", "uniform")
FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))
# A tabulated band's interval is the run around its peak where the response stays above this
# fraction of the peak: measured tables carry out-of-band leaks and a noise floor (IKONOS blue:
# 1-3 % of peak from 550 to 900 nm) that are not part of the band's passband.
TABULATED_FLOOR = 0.05
# Two bands whose centres (or interval edges) lie closer than this are the same band: a model
# trained for one band set runs on a request for it, a checkpoint trained for one sensor on input
# from it. 1 nm absorbs a sensor file's rounding and the gap between a measured response's centre
# of mass and its Gaussian approximation (at most 0.55 nm for Landsat 8's multispectral bands).
SAME_BAND_NM = 1.0


def same_bands(a, b, tolerance_nm: float = SAME_BAND_NM) -> bool:
    """Whether two arrays of band centres, or of (C, 2) intervals, in nm describe the same bands."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return a.shape == b.shape and bool(np.all(np.abs(a - b) <= tolerance_nm))


@dataclass(frozen=True, eq=False)
class Band:
    """One spectral band. Build it with :meth:`gaussian`, :meth:`uniform` or :meth:`tabulated`."""

    name: str
    shape: str
    center_nm: float
    fwhm_nm: float
    common_name: str | None = None
    curve_nm: np.ndarray | None = field(default=None, repr=False)
    curve_response: np.ndarray | None = field(default=None, repr=False)
    sigma_nm: float | None = None

    @classmethod
    def gaussian(cls, name, center_nm, fwhm_nm=None, *, sigma_nm=None, common_name=None, where=""):
        """Gaussian band from its FWHM, or from σ directly (the SSIF grid uses σ = width / 6)."""
        if sigma_nm is not None:
            fwhm_nm = sigma_nm * FWHM_PER_SIGMA
        center_nm, fwhm_nm = _check_center_fwhm(name, center_nm, fwhm_nm, where)
        return cls(name, "gaussian", center_nm, fwhm_nm, common_name, sigma_nm=fwhm_nm / FWHM_PER_SIGMA)

    @classmethod
    def uniform(cls, name, start_nm, stop_nm, *, common_name=None, where=""):
        """Box response over [start, stop] nm."""
        center_nm, fwhm_nm = _check_center_fwhm(
            name, (start_nm + stop_nm) / 2.0, stop_nm - start_nm, where
        )
        return cls(name, "uniform", center_nm, fwhm_nm, common_name)

    @classmethod
    def tabulated(cls, name, wavelengths_nm, response, *, common_name=None, where=""):
        """Band from a sampled curve; the centre is its centroid and the FWHM is measured on it."""
        wl = np.asarray(wavelengths_nm, dtype=float).ravel()
        rho = np.asarray(response, dtype=float).ravel()
        at = f"{where}band {name!r}"
        if wl.size != rho.size:
            raise SensorError(f"{at}: {wl.size} wavelengths but {rho.size} response values")
        if wl.size < 2:
            raise SensorError(f"{at}: a response curve needs at least 2 samples")
        if not (np.all(np.isfinite(wl)) and np.all(np.isfinite(rho))):
            raise SensorError(f"{at}: response curve contains NaN or infinite values")
        if np.any(wl < 0):
            raise SensorError(f"{at}: negative wavelength in response curve")
        if np.any(np.diff(wl) <= 0):
            raise SensorError(f"{at}: response curve wavelengths are not strictly increasing")
        if np.any(rho < 0):
            raise SensorError(f"{at}: negative response value in response curve")
        area = np.trapezoid(rho, wl)
        if not area > 0:
            raise SensorError(f"{at}: response curve has zero area")
        rho = rho / area
        center = float(np.trapezoid(rho * wl, wl))
        return cls(name, "tabulated", center, _measured_fwhm(wl, rho), common_name, wl, rho)

    @property
    def interval_nm(self) -> tuple[float, float]:
        """Where the band's response lives: the SSIF wavelength interval Λ = [λs, λe].

        Uniform: the box. Gaussian: μ ± 3σ (so a grid band with σ = width/6 gets its own
        interval back). Tabulated: the run around the peak where the
        response stays at or above ``TABULATED_FLOOR`` of its maximum (and the samples just past it).
        """
        if self.shape == "uniform":
            return (self.center_nm - self.fwhm_nm / 2, self.center_nm + self.fwhm_nm / 2)
        if self.shape == "gaussian":
            return (self.center_nm - 3 * self.sigma_nm, self.center_nm + 3 * self.sigma_nm)
        rho = self.curve_response
        low = rho < TABULATED_FLOOR * rho.max()
        peak = int(np.argmax(rho))
        left = np.nonzero(low[:peak])[0]
        right = np.nonzero(low[peak:])[0]
        lo = left[-1] if left.size else 0
        hi = peak + right[0] if right.size else rho.size - 1
        return (float(self.curve_nm[lo]), float(self.curve_nm[hi]))

    @property
    def support_nm(self) -> tuple[float, float]:
        """Outside this range ρ is zero (Gaussians are cut at ±6σ, < 1e-8 of their mass)."""
        if self.shape == "tabulated":
            return (float(self.curve_nm[0]), float(self.curve_nm[-1]))
        if self.shape == "gaussian":
            return (self.center_nm - 6 * self.sigma_nm, self.center_nm + 6 * self.sigma_nm)
        return self.interval_nm

    def response(self, wavelengths_nm) -> np.ndarray:
        """ρ(λ) in 1/nm, with ∫ρ dλ = 1."""
        wl = np.asarray(wavelengths_nm, dtype=float)
        if self.shape == "gaussian":
            z = (wl - self.center_nm) / self.sigma_nm
            return np.exp(-0.5 * z * z) / (self.sigma_nm * math.sqrt(2 * math.pi))
        if self.shape == "uniform":
            lo, hi = self.interval_nm
            return np.where((wl >= lo) & (wl <= hi), 1.0 / self.fwhm_nm, 0.0)
        return np.interp(wl, self.curve_nm, self.curve_response, left=0.0, right=0.0)

    def to_dict(self) -> dict:
        """The band in the sensor-file schema (micrometres, STAC ``eo`` names)."""
        out = {"name": self.name}
        if self.common_name:
            out["common_name"] = self.common_name
        out["center_wavelength"] = self.center_nm / 1000
        out["full_width_half_max"] = self.fwhm_nm / 1000
        out["shape"] = self.shape
        if self.shape == "tabulated":
            out["response"] = {
                "wavelength_nm": [float(v) for v in self.curve_nm],
                "value": [float(v) for v in self.curve_response],
            }
        return out


@dataclass(frozen=True, eq=False)
class Sensor:
    """An ordered set of bands with its provenance."""

    name: str
    bands: tuple[Band, ...]
    description: str = ""
    source: str = ""
    response_kind: str = ""  # measured | approximation | nominal
    path: str | None = None

    def __post_init__(self):
        if not self.bands:
            raise SensorError(f"sensor {self.name!r} has no bands")
        seen = set()
        for band in self.bands:
            if band.name in seen:
                raise SensorError(f"sensor {self.name!r}: duplicate band name {band.name!r}")
            seen.add(band.name)

    def __len__(self) -> int:
        return len(self.bands)

    @property
    def band_names(self) -> list[str]:
        return [b.name for b in self.bands]

    @property
    def centers_nm(self) -> np.ndarray:
        return np.array([b.center_nm for b in self.bands])

    @property
    def fwhms_nm(self) -> np.ndarray:
        return np.array([b.fwhm_nm for b in self.bands])

    @property
    def intervals_nm(self) -> np.ndarray:
        """(C, 2) array of SSIF wavelength intervals."""
        return np.array([b.interval_nm for b in self.bands])

    @property
    def range_nm(self) -> tuple[float, float]:
        iv = self.intervals_nm
        return (float(iv[:, 0].min()), float(iv[:, 1].max()))

    def select(self, names: list[str]) -> Sensor:
        """The sensor restricted to the named bands, in the given order, named ``BASE:band,band``
        (a selection of a selection is named by its base sensor too)."""
        by_name = {b.name: b for b in self.bands}
        missing = [n for n in names if n not in by_name]
        if missing:
            raise SensorError(
                f"sensor {self.name!r} has no band {missing[0]!r} (bands: {', '.join(self.band_names)})"
            )
        base, _, selected = self.name.rpartition(":")
        if not base or not set(selected.split(",")) <= set(by_name):  # not itself a selection (grid:400:700:31)
            base = self.name
        return Sensor(
            f"{base}:{','.join(names)}",
            tuple(by_name[n] for n in names),
            self.description,
            self.source,
            self.response_kind,
            self.path,
        )

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "description": self.description,
            "source": self.source,
            "response": self.response_kind,
            "bands": [b.to_dict() for b in self.bands],
        }

    @functools.cached_property
    def fingerprint(self) -> str:
        """Hash of the band responses, so caches keyed by it follow edits to a sensor file."""
        return hashlib.sha1(json.dumps(self.to_dict()["bands"]).encode()).hexdigest()


def _check_center_fwhm(name, center_nm, fwhm_nm, where):
    at = f"{where}band {name!r}"
    try:
        center_nm, fwhm_nm = float(center_nm), float(fwhm_nm)
    except (TypeError, ValueError):
        raise SensorError(f"{at}: center_wavelength and full_width_half_max must be numbers") from None
    if not (math.isfinite(center_nm) and math.isfinite(fwhm_nm)):
        raise SensorError(f"{at}: center_wavelength or full_width_half_max is NaN or infinite")
    if center_nm <= 0:
        raise SensorError(f"{at}: center_wavelength must be positive, got {center_nm / 1000:g} µm")
    if fwhm_nm <= 0:
        raise SensorError(f"{at}: full_width_half_max must be positive, got {fwhm_nm / 1000:g} µm")
    return center_nm, fwhm_nm


def _measured_fwhm(wl, rho):
    """Width between the outermost half-maximum crossings, interpolated linearly."""
    half = rho.max() / 2
    above = np.nonzero(rho >= half)[0]
    i, j = above[0], above[-1]
    left = wl[i] if i == 0 else np.interp(half, [rho[i - 1], rho[i]], [wl[i - 1], wl[i]])
    right = wl[j] if j == wl.size - 1 else np.interp(half, [rho[j + 1], rho[j]], [wl[j + 1], wl[j]])
    return float(max(right - left, np.min(np.diff(wl))))
