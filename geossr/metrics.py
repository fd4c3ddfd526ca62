"""Image-quality metrics for super-resolved hyperspectral cubes.

Every function takes ``pred`` and ``ref`` laid out ``(C, H, W)`` (bands first) with values
nominally in [0, 1], as numpy arrays or torch tensors; both are converted to float64 numpy.
Values are not clipped or checked against [0, 1]: a network may overshoot, and that error
should count.

Conventions (chosen to match the SSIF / LIIF / FMNet hyperspectral SR literature):

* ``psnr`` uses one MSE over the whole cube (all bands and pixels), not the mean of per-band
  PSNRs. The two differ (the mean of logs is not the log of the mean); ``psnr_per_band`` gives
  the per-band values when they are wanted.
* ``ssim`` is the mean over bands of scikit-image's ``structural_similarity`` with the settings
  of Wang et al. (2004): 11x11 Gaussian window with sigma = 1.5, population (not sample)
  covariance, K1 = 0.01, K2 = 0.03.
* ``sam`` is in degrees, averaged over pixels.
* ``rmse_255`` is ``255 * rmse``, the scale FMNet reports.
* ``ergas`` follows Wald (2000), with h/l = 1 / scale.

Non-finite input (NaN or inf) raises ValueError rather than being masked: in an evaluation it
means nodata or a broken model, and silently dropping pixels would make scores incomparable
between images. Crop or fill nodata before scoring.
"""

import numpy as np
from skimage.metrics import structural_similarity

__all__ = ["psnr", "psnr_per_band", "ssim", "sam", "rmse", "rmse_255", "ergas", "all_metrics"]

# Wang et al. (2004), "Image quality assessment: from error visibility to structural similarity".
_SSIM_SETTINGS = {"gaussian_weights": True, "sigma": 1.5, "use_sample_covariance": False}


def _as_float64(x, name: str) -> np.ndarray:
    if hasattr(x, "detach"):  # a torch tensor; duck-typed so this module never imports torch
        x = x.detach().cpu().double().numpy()
    a = np.asarray(x, dtype=np.float64)
    if not np.isfinite(a).all():
        bad = int(a.size - np.count_nonzero(np.isfinite(a)))
        raise ValueError(f"{name} has {bad} NaN or inf value(s) of {a.size}; metrics need finite input")
    return a


def _pair(pred, ref) -> tuple[np.ndarray, np.ndarray]:
    p, r = np.shape(pred), np.shape(ref)  # checked before conversion, so the message names the inputs
    if len(p) != 3 or tuple(p) != tuple(r):
        raise ValueError(f"pred and ref must both be (C, H, W) with the same shape; got pred {tuple(p)}, ref {tuple(r)}")
    return _as_float64(pred, "pred"), _as_float64(ref, "ref")


def _check_range(data_range: float) -> float:
    if not data_range > 0:
        raise ValueError(f"data_range must be > 0, got {data_range}")
    return float(data_range)


def _psnr_from_mse(mse, data_range: float):
    with np.errstate(divide="ignore"):  # identical images: MSE 0 gives PSNR +inf, by design
        return 10.0 * np.log10(data_range**2 / mse)


def psnr(pred, ref, data_range: float = 1.0) -> float:
    """Peak signal-to-noise ratio in dB, from one MSE over all bands and pixels.

    ``10 log10(data_range^2 / MSE)`` with MSE the mean over the whole (C, H, W) cube: the
    convention of the SSIF / LIIF hyperspectral papers. Returns ``inf`` for identical inputs.
    """
    p, r = _pair(pred, ref)
    return float(_psnr_from_mse(np.mean((p - r) ** 2), _check_range(data_range)))


def psnr_per_band(pred, ref, data_range: float = 1.0) -> np.ndarray:
    """PSNR of each band separately, shape (C,); ``inf`` where a band is reproduced exactly."""
    p, r = _pair(pred, ref)
    return _psnr_from_mse(np.mean((p - r) ** 2, axis=(1, 2)), _check_range(data_range))


def ssim(pred, ref, data_range: float = 1.0) -> float:
    """Mean over bands of scikit-image's per-band SSIM, with Wang et al. (2004) settings.

    Gaussian-weighted 11x11 window (sigma = 1.5), population covariance. Bands must be at
    least 11x11 pixels (scikit-image raises ValueError otherwise).
    """
    p, r = _pair(pred, ref)
    data_range = _check_range(data_range)
    return float(np.mean([structural_similarity(pb, rb, data_range=data_range, **_SSIM_SETTINGS)
                          for pb, rb in zip(p, r)]))


def sam(pred, ref) -> float:
    """Spectral angle mapper: mean over pixels of the angle between spectra, in degrees.

    Pixels where either spectrum has zero norm have no defined angle and are left out of the
    mean; if every pixel is left out the result is NaN. The cosine is clipped to [-1, 1] so
    rounding cannot push ``arccos`` out of its domain.
    """
    p, r = _pair(pred, ref)
    p, r = p.reshape(p.shape[0], -1), r.reshape(r.shape[0], -1)
    dot = np.einsum("cn,cn->n", p, r)
    norms = np.linalg.norm(p, axis=0) * np.linalg.norm(r, axis=0)
    valid = norms > 0
    if not valid.any():
        return float("nan")
    cos = np.clip(dot[valid] / norms[valid], -1.0, 1.0)
    return float(np.degrees(np.mean(np.arccos(cos))))


def rmse(pred, ref) -> float:
    """Root-mean-square error over all bands and pixels, in the units of the input."""
    p, r = _pair(pred, ref)
    return float(np.sqrt(np.mean((p - r) ** 2)))


def rmse_255(pred, ref) -> float:
    """``255 * rmse``: RMSE on the 8-bit scale that FMNet reports, for [0, 1] input."""
    return 255.0 * rmse(pred, ref)


def ergas(pred, ref, scale: float) -> float:
    """ERGAS (relative dimensionless global error in synthesis), Wald (2000).

    ``ERGAS = 100 * (h / l) * sqrt(mean_b (RMSE_b / mean(ref_b))^2)``, where h / l is the ratio
    of the high- to the low-resolution pixel size, i.e. ``1 / scale`` for a ``scale``-times
    upsampling; lower is better, 0 for a perfect result. Wald, L. (2000), "Quality of high
    resolution synthesised images: is there a simple criterion?", Proc. Fusion of Earth Data.
    A reference band with mean 0 makes the relative error undefined and raises ValueError.
    """
    if not scale > 0:
        raise ValueError(f"scale must be > 0, got {scale}")
    p, r = _pair(pred, ref)
    band_means = r.mean(axis=(1, 2))
    if np.any(band_means == 0):
        raise ValueError(f"ERGAS undefined: reference band(s) {np.flatnonzero(band_means == 0).tolist()} have mean 0")
    band_rmse = np.sqrt(np.mean((p - r) ** 2, axis=(1, 2)))
    return float(100.0 / scale * np.sqrt(np.mean((band_rmse / band_means) ** 2)))


def all_metrics(pred, ref, scale: float) -> dict[str, float]:
    """Every metric above for one pair (data_range 1.0), keyed psnr, ssim, sam, rmse, rmse_255, ergas."""
    p, r = _pair(pred, ref)  # validate and convert once
    return {
        "psnr": psnr(p, r),
        "ssim": ssim(p, r),
        "sam": sam(p, r),
        "rmse": rmse(p, r),
        "rmse_255": rmse_255(p, r),
        "ergas": ergas(p, r, scale),
    }
