"""Spectral-response integration checked against independent matrices on real data.

Oracles (both from ../shared/data/srf, made by other projects):
- rosis103_to_ikonos4_R: IKONOS B/G/R/NIR sampled on 103 ROSIS bands assumed to span 430-860 nm.
- cave31_to_rgb_response_coefficient: a column-normalised, Nikon-D700-like 31 -> RGB matrix.
Measured agreement (also in docs/sensors.md): see the thresholds below and their comments.
"""

import numpy as np
import pytest
import rasterio
import scipy.io

from geossr.errors import CoverageError
from geossr.spectral.bands import Band, Sensor
from geossr.spectral.integration import response_matrix, uncovered_fraction
from geossr.spectral.sensors import load_sensor

IKONOS_MS = "ikonos:blue,green,red,nir"


def rel_rmse(ours, ref):
    return np.sqrt(((ours - ref) ** 2).mean(axis=(0, 1))) / ref.mean(axis=(0, 1))


@pytest.fixture(scope="module")
def ikonos_oracle(shared_data):
    R = scipy.io.loadmat(shared_data / "srf/rosis103_to_ikonos4_R.mat")["R"]
    return R / R.sum(axis=1, keepdims=True)


@pytest.fixture(scope="module")
def rosis_cube(shared_data):
    return scipy.io.loadmat(shared_data / "pavia_centre/abu-beach-4.mat")["data"]  # (100, 100, 102)


def test_ikonos_matrix_matches_oracle_on_its_103_band_grid(ikonos_oracle):
    # The oracle's grid: 103 centres evenly over 430-860 nm, each band as wide as the spacing.
    centres = np.linspace(430, 860, 103)
    rosis103 = Sensor("rosis103", tuple(Band.gaussian(f"b{i}", c, centres[1] - centres[0])
                                        for i, c in enumerate(centres)))
    ours = response_matrix(rosis103, load_sensor(IKONOS_MS))
    # Measured: max |difference| per band 0.0009/0.0008/0.0008/0.0004 = 0.8-1.7 % of the row peak.
    err = np.abs(ours - ikonos_oracle).max(axis=1) / ikonos_oracle.max(axis=1)
    assert np.all(err < 0.025), err


def test_ikonos_from_real_rosis_crop_matches_oracle(ikonos_oracle, rosis_cube):
    rosis = load_sensor("rosis")
    # Put the real 102-band spectra on the oracle's 103-band grid, then apply the oracle.
    grid103 = np.linspace(430, 860, 103)
    pixels = rosis_cube.reshape(-1, 102)
    on_grid = np.stack([np.interp(grid103, rosis.centers_nm, px) for px in pixels])
    reference = (on_grid @ ikonos_oracle.T).reshape(100, 100, 4)
    ours = rosis_cube @ response_matrix(rosis, load_sensor(IKONOS_MS)).T
    # Measured: relative RMSE 0.48 % / 0.02 % / 0.03 % / 0.34 % (B, G, R, NIR); correlation > 0.99997.
    assert np.all(rel_rmse(ours, reference) < 0.01)
    for band in range(4):
        assert np.corrcoef(ours[..., band].ravel(), reference[..., band].ravel())[0, 1] > 0.9999


def test_nikon_d700_from_real_cave_cube_matches_oracle(shared_data):
    oracle = np.loadtxt(shared_data / "srf/cave31_to_rgb_response_coefficient.csv", delimiter=",",
                        skiprows=1)[:, 1:]  # (31, 3): red, green, blue
    scene = shared_data / "cave/balloons_ms"
    cube = np.stack([rasterio.open(scene / f"balloons_ms_{i:02d}.png").read(1) for i in range(1, 32)],
                    axis=-1).astype(np.float64) / 65535
    reference = cube @ oracle
    ours = cube @ response_matrix(load_sensor("cave31"), load_sensor("nikon_d700")).T
    # The oracle is "D700-like", not the measured camspec curve: its red stays at ~0.07 up to
    # 700 nm where the measured red has fallen to 0.3 % of its peak. Measured on balloons:
    # relative RMSE 8.6 % / 5.4 % / 3.8 % (R, G, B), correlation 0.9972 / 0.9987 / 0.9996.
    assert np.all(rel_rmse(ours, reference) < 0.10)
    for band in range(3):
        assert np.corrcoef(ours[..., band].ravel(), reference[..., band].ravel())[0, 1] > 0.995


def test_flat_spectrum_stays_flat():
    matrix = response_matrix(load_sensor("rosis"), load_sensor(IKONOS_MS))
    assert matrix.sum(axis=1) == pytest.approx(np.ones(4))
    assert np.all(matrix >= 0)


def test_band_outside_coverage_is_refused():
    rosis = load_sensor("rosis")
    # IKONOS pan reaches 929 nm: 20 % of its response lies beyond ROSIS's 860 nm.
    assert uncovered_fraction(rosis, load_sensor("ikonos"))[-1] == pytest.approx(0.20, abs=0.02)
    with pytest.raises(CoverageError, match="pan.*outside the source coverage"):
        response_matrix(rosis, load_sensor("ikonos"))
    with pytest.raises(CoverageError):
        response_matrix(rosis, load_sensor("landsat8_oli"))
    # A looser, explicit tolerance lets it through.
    assert response_matrix(rosis, load_sensor("ikonos"), tolerance=0.25).shape == (5, 102)


def test_narrow_target_band_picks_the_matching_source_band():
    cave = load_sensor("cave31")
    band = Band.gaussian("x", 550.0, 0.5)
    row = response_matrix(cave, Sensor("t", (band,)))[0]
    # 550 nm is CAVE band 16; its hat function 1 - |λ-550|/10 averaged over the Gaussian
    # gives 1 - σ·√(2/π)/10, the rest goes to the two neighbours.
    assert row[15] == pytest.approx(1 - band.sigma_nm * np.sqrt(2 / np.pi) / 10, abs=1e-3)
    assert row[14] == pytest.approx(row[16]) and row.sum() == pytest.approx(1.0)


def test_linear_spectrum_is_integrated_exactly():
    # A spectrum linear in wavelength is reproduced exactly by the hat basis: the band value is
    # the spectrum at the band's centroid.
    cave = load_sensor("cave31")
    spectrum = 0.2 + 0.001 * (cave.centers_nm - 400)
    d700 = load_sensor("nikon_d700")
    values = response_matrix(cave, d700) @ spectrum
    assert values == pytest.approx(0.2 + 0.001 * (d700.centers_nm - 400), rel=2e-3)
