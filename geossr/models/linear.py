"""The ``linear`` model: a closed-form spectral prior (linear MMSE / Wiener estimate), bicubic in space.

A pixel's spectrum x on a fine wavelength grid is modelled as a random vector with the mean μ and
covariance Σ of real airborne spectra. An input sensor with response matrix A (bands x grid) sees
y = A x + n, n ~ N(0, σ² I). The linear minimum-mean-square-error estimate and its error are

    x̂ = μ + W (y − A μ),   W = Σ Aᵀ (A Σ Aᵀ + σ² I)⁻¹,   P = Σ − W A Σ,

and a target band set with responses R gets R x̂, with standard deviation sqrt(diag(R P Rᵀ)) per
band. Both are affine in y, so the spatial step (bicubic) commutes with them: the model is bicubic
upsampling followed by one (C x c) matrix and an offset. Any input sensor, any output band set, no
training run: μ and Σ come from a small shipped file (:func:`fit_prior`,
``benchmarks/make_linear_prior.py``). σ is part of the prior (chosen there by leave-one-site-out
error), because simulated inputs are noise-free but real sensors and real scenes are not the prior's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from geossr.errors import GeossrError
from geossr.models.base import SuperResolver
from geossr.models.bicubic import bicubic_sample
from geossr.models.registry import register
from geossr.models.spectral_interp import apply_spectral_matrix
from geossr.spectral.bands import Band, Sensor
from geossr.spectral.integration import response_matrix

PRIORS_DIR = Path(__file__).resolve().parents[1] / "weights"
SHIPPED_PRIOR = "linear_prior_airborne"


class PriorError(GeossrError, ValueError):
    """A prior file that is missing, malformed or does not fit the request."""


def grid_sensor(grid_nm: np.ndarray) -> Sensor:
    """Samples of a spectrum at ``grid_nm``, as a sensor: integration then reads the spectrum piecewise linearly."""
    step = float(np.min(np.diff(grid_nm)))
    bands = tuple(Band.uniform(f"g{i:03d}", nm - step / 2, nm + step / 2) for i, nm in enumerate(grid_nm))
    return Sensor(f"grid_{grid_nm[0]:.0f}_{grid_nm[-1]:.0f}_{len(grid_nm)}", bands, response_kind="nominal")


@dataclass(frozen=True, eq=False)
class SpectralPrior:
    """Mean and covariance of spectra sampled at ``grid_nm``, and the observation noise σ the estimate assumes."""

    grid_nm: np.ndarray
    mean: np.ndarray
    cov: np.ndarray
    noise_std: float
    card: dict = field(default_factory=dict)

    def __post_init__(self):
        size = len(self.grid_nm)
        if self.mean.shape != (size,) or self.cov.shape != (size, size):
            raise PriorError(f"prior: mean {self.mean.shape} / covariance {self.cov.shape} do not match "
                             f"its {size}-point wavelength grid")
        if not (np.all(np.diff(self.grid_nm) > 0) and np.isfinite(self.cov).all() and self.noise_std > 0):
            raise PriorError("prior: the grid must increase, the covariance be finite and the noise positive")

    @property
    def sensor(self) -> Sensor:
        return _grid_sensor_cached(tuple(self.grid_nm.tolist()))

    def responses(self, sensor: Sensor, role: str) -> np.ndarray:
        """(bands, grid) response matrix of ``sensor`` on the prior's grid; one-line error if it is not covered."""
        lo, hi = self.grid_nm[0], self.grid_nm[-1]
        try:
            return response_matrix(self.sensor, sensor)
        except GeossrError as exc:
            raise PriorError(f"the linear prior's grid ({lo:.0f}-{hi:.0f} nm) does not cover the {role} "
                             f"sensor: {exc}") from None

    def estimator(self, input_sensor: Sensor, output_sensor: Sensor):
        """(matrix (C, c), offset (C,), posterior std (C,)): output = matrix @ input + offset."""
        a = self.responses(input_sensor, "input")
        r = self.responses(output_sensor, "output")
        gain = self.cov @ a.T @ np.linalg.inv(a @ self.cov @ a.T + self.noise_std ** 2 * np.eye(len(a)))
        matrix = r @ gain
        offset = r @ (self.mean - gain @ (a @ self.mean))
        posterior = self.cov - gain @ a @ self.cov
        std = np.sqrt(np.clip(np.einsum("ig,gh,ih->i", r, posterior, r), 0, None))
        return matrix, offset, std

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez(tmp, grid_nm=self.grid_nm, mean=self.mean, cov=self.cov, noise_std=self.noise_std,
                 card=json.dumps(self.card))
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, name_or_path: str | Path) -> SpectralPrior:
        """A shipped prior by name (``linear_prior_airborne``) or an ``.npz`` file written by :meth:`save`."""
        path = Path(name_or_path)
        if path.suffix != ".npz":
            path = PRIORS_DIR / f"{name_or_path}.npz"
        return _load_prior(str(path.expanduser().resolve()))


@lru_cache(maxsize=8)
def _grid_sensor_cached(grid: tuple[float, ...]) -> Sensor:
    return grid_sensor(np.array(grid))


@lru_cache(maxsize=4)
def _load_prior(path: str) -> SpectralPrior:
    if not Path(path).is_file():
        raise PriorError(f"linear prior not found: {path}")
    try:
        with np.load(path) as data:
            fields = {key: data[key] for key in ("grid_nm", "mean", "cov", "noise_std", "card")}
    except (OSError, ValueError, KeyError) as exc:
        raise PriorError(f"not a linear prior file (grid_nm, mean, cov, noise_std, card): {path} ({exc})") from None
    return SpectralPrior(fields["grid_nm"].astype(float), fields["mean"].astype(float), fields["cov"].astype(float),
                         float(fields["noise_std"]), json.loads(str(fields["card"])))


def grid_spectra(cube, grid_nm: np.ndarray) -> np.ndarray:
    """(pixels, grid) spectra of a cube at ``grid_nm`` (its bands read piecewise linearly, as integration does)."""
    matrix = response_matrix(cube.sensor, _grid_sensor_cached(tuple(np.asarray(grid_nm).tolist())))
    return cube.data.reshape(len(cube.sensor), -1).T.astype(np.float64) @ matrix.T


def fit_prior(cubes, grid_nm, noise_std: float, sites: list[str] | None = None, card: dict | None = None) -> SpectralPrior:
    """μ, Σ of the cubes' spectra on ``grid_nm``, every site weighted equally (``sites``: one per cube).

    Sites with many crops (five of Los Angeles) would otherwise set the prior alone. The site mixture's
    moments: μ = mean of the site means, Σ = mean of (Σ_s + (μ_s − μ)(μ_s − μ)ᵀ).
    """
    grid_nm = np.asarray(grid_nm, dtype=float)
    sites = sites or [cube.name for cube in cubes]
    by_site: dict[str, list[np.ndarray]] = {}
    for cube, site in zip(cubes, sites):
        by_site.setdefault(site, []).append(grid_spectra(cube, grid_nm))
    means, covs = [], []
    for spectra in by_site.values():
        stacked = np.concatenate(spectra)
        means.append(stacked.mean(axis=0))
        covs.append(np.cov(stacked, rowvar=False))
    mean = np.mean(means, axis=0)
    cov = np.mean([c + np.outer(m - mean, m - mean) for m, c in zip(means, covs)], axis=0)
    return SpectralPrior(grid_nm, mean, cov, float(noise_std), dict(card or {}, sites=sorted(by_site)))


@register("linear MMSE spectral prior from airborne spectra, bicubic spatial (closed form, any sensor)",
          closed_form="linear_prior_airborne")
class LinearPrior(SuperResolver):
    """Bicubic in space, the prior's linear MMSE estimate in wavelength; no trainable parameters."""

    name = "linear"
    any_input_sensor = True

    def __init__(self, input_sensor: Sensor, prior: str | SpectralPrior = SHIPPED_PRIOR):
        """``prior``: a shipped prior's name, an ``.npz`` file, or a :class:`SpectralPrior` (not storable in a config)."""
        super().__init__(len(input_sensor))
        self.prior = prior if isinstance(prior, SpectralPrior) else SpectralPrior.load(prior)
        self.use_input_sensor(input_sensor)

    def use_input_sensor(self, sensor: Sensor) -> LinearPrior:
        self.prior.responses(sensor, "input")  # refuse an uncovered sensor now, not at render time
        self.input_sensor = sensor
        self.input_bands = len(sensor)
        return self

    def halo(self, cell):
        return 2, 0  # the cubic kernel's taps

    def check_output_bands(self, intervals_nm) -> None:
        self.prior.responses(interval_sensor(intervals_nm), "output")

    def spectral_map(self, intervals) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(matrix (C, c), offset (C,), posterior std (C,)) for target bands with uniform responses over ``intervals``."""
        return prior_spectral_map(self.prior, self.input_sensor, interval_sensor(intervals))

    def render(self, lr, rows, cols, intervals, cell) -> torch.Tensor:
        self.check_input(lr)
        matrix, offset, _ = self.spectral_map(intervals)
        sampled = apply_spectral_matrix(matrix.to(lr.device, lr.dtype), bicubic_sample(lr, rows, cols))
        return (sampled + offset.to(lr.device, lr.dtype)[:, None, None]).clamp(min=0.0)

    def posterior_std(self, intervals) -> torch.Tensor:
        """(C,) the estimate's standard deviation per target band (the same for every pixel)."""
        return self.spectral_map(intervals)[2]


def interval_sensor(intervals) -> Sensor:
    """Uniform bands over (C, 2) intervals in nm: the target bands models render."""
    intervals = torch.as_tensor(intervals).detach().cpu().double().numpy()
    if intervals.ndim != 2 or intervals.shape[1] != 2 or len(intervals) == 0:
        raise ValueError(f"intervals must have shape (C, 2) in nm, got {tuple(intervals.shape)}")
    return Sensor("intervals", tuple(Band.uniform(f"t{i:03d}", lo, hi) for i, (lo, hi) in enumerate(intervals)))


_MAPS: dict = {}


def prior_spectral_map(prior: SpectralPrior, input_sensor: Sensor, output: Sensor):
    """(matrix, offset, std) as float tensors, cached per (prior, input, output)."""
    key = (id(prior), input_sensor.fingerprint, output.fingerprint)
    if key not in _MAPS:
        if len(_MAPS) > 64:
            _MAPS.clear()
        matrix, offset, std = prior.estimator(input_sensor, output)
        _MAPS[key] = tuple(torch.from_numpy(v).float() for v in (matrix, offset, std))
    return _MAPS[key]
