"""Quality metrics, checked against scikit-image / numpy and hand-worked values on real CAVE crops."""

import numpy as np
import pytest
import rasterio
from rasterio.windows import Window
from scipy.ndimage import gaussian_filter
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from geossr.metrics import all_metrics, ergas, psnr, psnr_per_band, rmse, rmse_255, sam, ssim

BANDS = (6, 16, 26)  # 450, 550, 650 nm
SSIM_SETTINGS = {"gaussian_weights": True, "sigma": 1.5, "use_sample_covariance": False}


def cave_crop(root, scene, row=224, col=224, size=64):
    folder = root / "cave" / f"{scene}_ms"
    bands = []
    for b in BANDS:
        with rasterio.open(folder / f"{scene}_ms_{b:02d}.png") as ds:
            bands.append(ds.read(1, window=Window(col, row, size, size)))
    return np.stack(bands).astype(np.float64) / 65535


@pytest.fixture(scope="module", params=["balloons", "feathers"])
def crop(request, shared_data):
    return cave_crop(shared_data, request.param)


def blur(cube, sigma):
    return np.stack([gaussian_filter(band, sigma) for band in cube])


def test_psnr_is_one_mse_over_the_whole_cube_like_skimage(crop):
    pred = blur(crop, 1.0)
    assert psnr(pred, crop) == pytest.approx(peak_signal_noise_ratio(crop, pred, data_range=1.0), rel=1e-12)
    per_band = psnr_per_band(pred, crop)
    expected = [peak_signal_noise_ratio(r, p, data_range=1.0) for p, r in zip(pred, crop)]
    np.testing.assert_allclose(per_band, expected, rtol=1e-12)
    # Whole-cube MSE, not the mean of per-band PSNRs (these differ whenever band errors differ).
    assert psnr(pred, crop) == pytest.approx(-10 * np.log10(np.mean(10 ** (-per_band / 10))), rel=1e-12)
    assert abs(psnr(pred, crop) - per_band.mean()) > 1e-3
    assert psnr(crop, crop) == np.inf


def test_ssim_is_mean_of_per_band_skimage_with_wang_settings(crop):
    pred = blur(crop, 1.0)
    expected = np.mean([structural_similarity(p, r, data_range=1.0, **SSIM_SETTINGS) for p, r in zip(pred, crop)])
    assert ssim(pred, crop) == pytest.approx(expected, rel=1e-12)
    default = np.mean([structural_similarity(p, r, data_range=1.0) for p, r in zip(pred, crop)])
    assert abs(ssim(pred, crop) - default) > 1e-4  # the Gaussian settings are really applied
    assert ssim(crop, crop) == pytest.approx(1.0, abs=1e-12)


def test_stronger_degradation_scores_worse(crop):
    mild, strong = blur(crop, 0.7), blur(crop, 2.0)
    assert psnr(strong, crop) < psnr(mild, crop) < psnr(crop, crop)
    assert ssim(strong, crop) < ssim(mild, crop) < ssim(crop, crop)
    assert rmse(strong, crop) > rmse(mild, crop) > 0
    assert ergas(strong, crop, 4) > ergas(mild, crop, 4) > 0


def test_sam_hand_worked_pixels_in_degrees():
    # Bands first: each column of this (3 bands, 4 pixels) table is one pixel's spectrum.
    ref = np.array([[1.0, 1.0, 1.0, 0.3],
                    [2.0, 0.0, 1.0, 0.2],
                    [3.0, 0.0, 0.0, 0.1]])
    pred = np.array([[2.0, 0.0, 1.0, 0.0],   # pixel 0: scaled copy -> 0 deg
                     [4.0, 1.0, 0.0, 0.0],   # pixel 1: orthogonal -> 90 deg
                     [6.0, 0.0, 0.0, 0.0]])  # pixel 2: [1,1,0] vs [1,0,0] -> 45 deg; pixel 3: zero pred, left out
    assert sam(pred[:, None, :], ref[:, None, :]) == pytest.approx((0 + 90 + 45) / 3, abs=1e-9)
    assert sam(pred[:, None, 1:2], ref[:, None, 1:2]) == pytest.approx(90.0, abs=1e-9)
    assert np.isnan(sam(np.zeros((3, 2, 2)), np.ones((3, 2, 2))))


def test_sam_on_real_crop_is_scale_invariant_and_matches_per_pixel_loop(crop):
    assert sam(2 * crop, crop) == pytest.approx(0.0, abs=1e-5)
    pred = blur(crop, 1.5)
    angles = []
    for p, r in zip(pred.reshape(3, -1).T, crop.reshape(3, -1).T):
        cos = p @ r / (np.linalg.norm(p) * np.linalg.norm(r))
        angles.append(np.degrees(np.arccos(min(cos, 1.0))))
    assert sam(pred, crop) == pytest.approx(np.mean(angles), rel=1e-9)
    assert sam(pred, crop) > 0.1


def test_rmse_matches_numpy_and_rmse_255_is_scaled(crop):
    pred = blur(crop, 1.0)
    expected = np.sqrt(np.mean((pred - crop) ** 2))
    assert rmse(pred, crop) == pytest.approx(expected, rel=1e-12)
    assert rmse_255(pred, crop) == pytest.approx(255 * expected, rel=1e-12)


def test_ergas_hand_worked():
    ref = np.stack([np.full((2, 2), 0.5), np.full((2, 2), 0.25)])
    pred = ref + 0.1  # relative band errors 0.1/0.5 = 0.2 and 0.1/0.25 = 0.4
    assert ergas(pred, ref, scale=4) == pytest.approx(100 / 4 * np.sqrt((0.2**2 + 0.4**2) / 2), rel=1e-12)
    assert ergas(pred, ref, scale=4) == pytest.approx(7.905694150420949, rel=1e-12)


def test_ergas_zero_for_identical_and_halves_when_scale_doubles(crop):
    assert ergas(crop, crop, 4) == 0.0
    pred = blur(crop, 1.0)
    assert ergas(pred, crop, 8) == pytest.approx(ergas(pred, crop, 4) / 2, rel=1e-12)


def test_all_metrics_agrees_with_the_single_functions_and_accepts_tensors(crop):
    torch = pytest.importorskip("torch")
    pred = blur(crop, 1.0)
    result = all_metrics(torch.from_numpy(pred).float(), torch.from_numpy(crop).float(), scale=4)
    assert set(result) == {"psnr", "ssim", "sam", "rmse", "rmse_255", "ergas"}
    # float32 tensors round the inputs, hence the loose tolerance.
    expected = {"psnr": psnr(pred, crop), "ssim": ssim(pred, crop), "sam": sam(pred, crop),
                "rmse": rmse(pred, crop), "rmse_255": rmse_255(pred, crop), "ergas": ergas(pred, crop, 4)}
    assert result == pytest.approx(expected, rel=1e-4)


def test_bad_input_is_rejected_with_a_clear_message(crop):
    with pytest.raises(ValueError, match=r"pred \(3, 64, 64\), ref \(3, 64, 63\)"):
        psnr(crop, crop[:, :, :63])
    with pytest.raises(ValueError, match=r"pred \(64, 64\), ref \(64, 64\)"):
        ssim(crop[0], crop[0])
    with pytest.raises(ValueError, match="NaN or inf"):
        bad = crop.copy()
        bad[1, 5, 5] = np.nan
        rmse(crop, bad)
    with pytest.raises(ValueError, match="scale must be > 0"):
        ergas(crop, crop, 0)
    with pytest.raises(ValueError, match=r"band\(s\) \[1\] have mean 0"):
        ergas(crop, crop * np.array([1.0, 0.0, 1.0])[:, None, None], 4)
