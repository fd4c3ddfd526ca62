"""What a trained model may be asked: scales and wavelengths, judged against its card.

Beyond the trained range a model extrapolates: we warn. Far beyond it (past the margins here)
the answer is meaningless: we refuse.
"""

from __future__ import annotations

import warnings

import numpy as np

from geossr.errors import GeossrError
from geossr.spectral.bands import Band, Sensor
from geossr.spectral.integration import source_coverage_nm, uncovered_fraction

MIN_SCALE, MAX_SCALE = 1.0, 16.0
# SSIF's spectral encoder is continuous in λ, but nothing anchors it past the training spectra.
SPECTRAL_MARGIN_NM = 30.0


class OutOfRangeError(GeossrError, ValueError):
    """A request lies outside what a model can answer."""


def check_scale(scale: float, trained: tuple[float, float] | None) -> None:
    if not np.isfinite(scale) or not MIN_SCALE <= scale <= MAX_SCALE:
        raise OutOfRangeError(f"scale must be a number in [{MIN_SCALE:g}, {MAX_SCALE:g}], got {scale:g}")
    if trained is not None and not trained[0] <= scale <= trained[1]:
        warnings.warn(f"scale {scale:g} is outside the trained range {trained[0]:g}-{trained[1]:g}: "
                      "out of distribution", stacklevel=2)


def half_maximum_extents_nm(sensor: Sensor) -> np.ndarray:
    """(C, 2) centre ∓ FWHM/2 of each band: the measure a card's trained range is taken in.

    Training records the cubes' coverage as their first and last band edge at half maximum
    (``source_coverage_nm``), so a requested band is judged by the same edges. Its ±3σ interval
    would make the training data's own bands extrapolate: CAVE's 10 nm Gaussians (cave31) cover
    395-705 nm, the RGB models' trained range, at half maximum, but 387-713 nm at ±3σ.
    """
    half = sensor.fwhms_nm / 2
    return np.stack([sensor.centers_nm - half, sensor.centers_nm + half], axis=1)


def check_band_range(intervals_nm: np.ndarray, trained: tuple[float, float] | None) -> None:
    if trained is None:
        return
    lo, hi = float(np.min(intervals_nm)), float(np.max(intervals_nm))
    if lo < trained[0] - SPECTRAL_MARGIN_NM or hi > trained[1] + SPECTRAL_MARGIN_NM:
        raise OutOfRangeError(
            f"requested bands span {lo:.0f}-{hi:.0f} nm, beyond the trained range "
            f"{trained[0]:.0f}-{trained[1]:.0f} nm by more than {SPECTRAL_MARGIN_NM:.0f} nm"
        )
    if lo < trained[0] or hi > trained[1]:
        warnings.warn(f"requested bands {lo:.0f}-{hi:.0f} nm extend past the trained range "
                      f"{trained[0]:.0f}-{trained[1]:.0f} nm: extrapolating", stacklevel=2)


# Requested bands farther than this beyond the input bands (centre ± FWHM/2) are predicted from the
# training scenes, not read from the input: from RGB, an any-sensor model trained on vegetated
# airborne scenes alone invented a NIR plateau (18.8 dB against bicubic's 28.7 on the held-out ROSIS
# crop; docs/models.md, "Shipped weights").
INPUT_REACH_NM = 50.0


def input_span_nm(source: Sensor) -> tuple[float, float]:
    """The wavelengths the input sensor measures (``integration.source_coverage_nm``)."""
    return source_coverage_nm(source)


def inside_input_span(source: Sensor, intervals_nm: np.ndarray) -> np.ndarray:
    """Which requested bands (by the middle of their interval) lie inside the input sensor's span."""
    low, high = input_span_nm(source)
    centres = np.asarray(intervals_nm, dtype=np.float64).mean(axis=-1)
    return (centres >= low) & (centres <= high)


def check_input_reach(source: Sensor, intervals_nm: np.ndarray, model_label: str) -> None:
    """Warn when the requested bands reach well past what the input sensor measures."""
    low, high = input_span_nm(source)
    lo, hi = float(np.min(intervals_nm)), float(np.max(intervals_nm))
    if lo < low - INPUT_REACH_NM or hi > high + INPUT_REACH_NM:
        warnings.warn(f"requested bands {lo:.0f}-{hi:.0f} nm reach more than {INPUT_REACH_NM:.0f} nm past the input "
                      f"bands of {source.name} ({low:.0f}-{high:.0f} nm): {model_label} fills that part in from its "
                      "training scenes, not from the input", stacklevel=2)


# An input band with more than this share of its response outside the trained range is not read;
# one with more than PARTLY_OUTSIDE is read with a warning.
MOSTLY_OUTSIDE, PARTLY_OUTSIDE = 0.5, 0.15


def usable_input_bands(sensor, trained: tuple[float, float], model_label: str) -> list[int]:
    """Indices of the input bands a band-agnostic model reads; refuses a sensor it cannot read.

    Bands mostly outside the trained range are left out with a warning that names them; fewer
    than 2 bands inside (or a single-band sensor) is refused.
    """
    if len(sensor) < 2:
        raise OutOfRangeError(f"{model_label} needs at least 2 input bands; {sensor.name} has {len(sensor)}")
    # The trained range as a one-band source sensor: its coverage is exactly that range.
    trained_source = Sensor("trained range", (Band.uniform("range", *trained),), "trained range")
    shares = uncovered_fraction(trained_source, sensor)
    keep = [i for i, share in enumerate(shares) if share <= MOSTLY_OUTSIDE]
    outside = [sensor.band_names[i] for i, share in enumerate(shares) if share > MOSTLY_OUTSIDE]
    span = f"{trained[0]:.0f}-{trained[1]:.0f} nm"
    if len(keep) < 2:
        raise OutOfRangeError(
            f"input sensor {sensor.name}: bands {', '.join(outside)} lie outside the trained range {span} of "
            f"{model_label}, leaving {len(keep)} band(s) inside (2 needed)"
        )
    if outside:
        warnings.warn(f"input bands {', '.join(outside)} of {sensor.name} lie outside the trained range {span} "
                      f"of {model_label}: ignored", stacklevel=2)
    partly = [sensor.band_names[i] for i in keep if shares[i] > PARTLY_OUTSIDE]
    if partly:
        warnings.warn(f"input bands {', '.join(partly)} of {sensor.name} reach past the trained range {span} "
                      f"of {model_label}: extrapolating", stacklevel=2)
    return keep
