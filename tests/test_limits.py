"""What a trained model may be asked: scale and wavelength limits."""

import numpy as np
import pytest

from geossr.models.limits import MAX_SCALE, SPECTRAL_MARGIN_NM, OutOfRangeError, check_band_range, check_scale


@pytest.mark.parametrize("scale", [0.5, 0, -2, MAX_SCALE + 0.1, float("nan"), float("inf")])
def test_unsupported_scales_are_refused(scale):
    with pytest.raises(OutOfRangeError, match="scale must be a number in"):
        check_scale(scale, (1.0, 8.0))


def test_scale_beyond_training_warns():
    with pytest.warns(UserWarning, match="out of distribution"):
        check_scale(12, (1.0, 8.0))
    check_scale(4, (1.0, 8.0))  # in distribution: silent


def test_band_range_warns_then_refuses():
    trained = (400.0, 700.0)
    check_band_range(np.array([[400.0, 410.0], [690.0, 700.0]]), trained)
    with pytest.warns(UserWarning, match="extrapolating"):
        check_band_range(np.array([[690.0, 710.0]]), trained)
    with pytest.raises(OutOfRangeError, match="beyond the trained range"):
        check_band_range(np.array([[700.0, 700.0 + SPECTRAL_MARGIN_NM + 1]]), trained)


def test_bands_far_past_the_input_sensor_warn():
    import warnings

    from geossr.models.limits import check_input_reach
    from geossr.spectral.sensors import load_sensor

    rosis = load_sensor("rosis").intervals_nm  # 427-863 nm
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_input_reach(load_sensor("sentinel2_msi:B02,B03,B04,B08"), rosis, "m")  # 459-886 nm: covered
        check_input_reach(load_sensor("ikonos:blue,green,red,nir"), rosis, "m")  # 461-840 nm: 20 nm short
    assert caught == []
    with pytest.warns(UserWarning, match=r"427-863 nm reach more than 50 nm past the input bands of nikon_d700 "
                                         r"\(427-626 nm\): m fills that part in"):
        check_input_reach(load_sensor("nikon_d700"), rosis, "m")
