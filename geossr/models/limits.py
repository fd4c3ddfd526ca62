"""What a trained model may be asked: scales and wavelengths, judged against its card.

Beyond the trained range a model extrapolates: we warn. Far beyond it (past the margins here)
the answer is meaningless: we refuse.
"""

from __future__ import annotations

import warnings

import numpy as np

from geossr.errors import GeossrError

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
