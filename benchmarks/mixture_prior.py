"""Experiment: a Gaussian-mixture spectral prior (pixel-adaptive MMSE) against the single-Gaussian ``linear`` prior.

    python benchmarks/mixture_prior.py --data ../shared/data --out benchmarks/results/mixture_prior

The ``linear`` prior is one Gaussian over all airborne training spectra, so every pixel gets the
same linear map from its input bands to a spectrum. A mixture of K Gaussians (fitted with
scikit-learn on the training sites' spectra, 5 nm grid over 400-1000 nm, the same number of pixels
from each site) gives each pixel the posterior-weighted sum of K Wiener estimates, the weights
from how likely its input bands are under each component: vegetation and roofs get different
maps. Scored at p = 1 (spectra only) on the test sites of geossr.data.airborne.AIRBORNE_SPLIT, on
the bands each scene covers (10 nm, as benchmarks/remote_fidelity.py), from RGB, IKONOS,
Sentinel-2 and Landsat 8; K = 1 is the linear prior refitted here. Nothing here is shipped.
"""

from __future__ import annotations

import argparse
import math
import platform
import sys
import time
from pathlib import Path

import numpy as np
from scipy.special import logsumexp
from sklearn.mixture import GaussianMixture

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import sam_deg, write_report  # noqa: E402

from geossr.data import load_dataset
from geossr.data.airborne import AIRBORNE_SPLIT, site_of
from geossr.models.linear import SHIPPED_PRIOR, SpectralPrior, grid_spectra
from geossr.spectral.integration import response_matrix, source_coverage_nm
from geossr.spectral.sensors import grid_sensor, load_sensor

GRID_NM = np.arange(400.0, 1000.0 + 1e-9, 5.0)
SENSORS = {"RGB": "nikon_d700", "IKONOS": "ikonos:blue,green,red,nir",
           "Sentinel-2": "sentinel2_msi:B02,B03,B04,B08", "Landsat 8": "landsat8_oli:B2,B3,B4,B5"}
COMPONENTS = (1, 4, 8, 16)
PIXELS_PER_SITE = 20000
TEST_PIXELS = 4000
SEED = 0


def mixture_estimate(gmm: GaussianMixture, grid_sensor_obj, sensor, y: np.ndarray, noise: float) -> np.ndarray:
    """(pixels, grid) posterior-mean spectra of input values ``y`` (pixels, c) under the mixture."""
    a = response_matrix(grid_sensor_obj, sensor)  # (c, grid)
    log_w, estimates = [], []
    for weight, mean, cov in zip(gmm.weights_, gmm.means_, gmm.covariances_):
        s = a @ cov @ a.T + noise**2 * np.eye(len(a))
        gain = cov @ a.T @ np.linalg.inv(s)  # (grid, c)
        residual = y - a @ mean
        _, logdet = np.linalg.slogdet(s)
        mahalanobis = np.einsum("pi,ij,pj->p", residual, np.linalg.inv(s), residual)
        log_w.append(math.log(weight) - 0.5 * (mahalanobis + logdet))
        estimates.append(mean + residual @ gain.T)
    log_w = np.stack(log_w)  # (K, pixels)
    w = np.exp(log_w - logsumexp(log_w, axis=0))
    return np.einsum("kp,kpg->pg", w, np.stack(estimates))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/mixture_prior"))
    args = parser.parse_args()
    started = time.perf_counter()
    rng = np.random.default_rng(SEED)
    by_site: dict[str, list[np.ndarray]] = {}
    for name in AIRBORNE_SPLIT["train"]:
        for cube in load_dataset(name, args.data):
            by_site.setdefault(site_of(cube.name), []).append(grid_spectra(cube, GRID_NM))
    training = np.concatenate([s[rng.choice(len(s), min(PIXELS_PER_SITE, len(s)), replace=False)]
                               for s in (np.concatenate(v) for v in by_site.values())])
    shipped = SpectralPrior.load(SHIPPED_PRIOR)
    assert np.allclose(shipped.grid_nm, GRID_NM)
    noise, grid = shipped.noise_std, shipped.sensor  # the linear prior's noise and point-sampled grid
    mixtures = {k: GaussianMixture(k, covariance_type="full", reg_covar=1e-6, random_state=SEED, max_iter=300)
                .fit(training) for k in COMPONENTS}
    rows = []
    for name in AIRBORNE_SPLIT["test"]:
        for cube in load_dataset(name, args.data):
            lo, hi = source_coverage_nm(cube.sensor)
            lo, hi = max(400.0, math.ceil(lo / 10) * 10), min(1000.0, math.floor(hi / 10) * 10)
            target = grid_sensor(f"grid:{lo:g}:{hi:g}:{int(round((hi - lo) / 10))}")
            flat = cube.data.reshape(len(cube.sensor), -1).T.astype(np.float64)
            pixels = flat[np.linspace(0, len(flat) - 1, min(TEST_PIXELS, len(flat))).astype(int)]
            truth = pixels @ response_matrix(cube.sensor, target).T
            to_target = response_matrix(grid, target)
            for label, spec in SENSORS.items():
                sensor = load_sensor(spec)
                y = pixels @ response_matrix(cube.sensor, sensor, 0.15).T
                for k, gmm in mixtures.items():
                    spectra = np.clip(mixture_estimate(gmm, grid, sensor, y, noise), 0, None)
                    rows.append({"site": site_of(cube.name), "scene": cube.name, "input": label, "components": k,
                                 "sam": sam_deg(spectra @ to_target.T, truth)})
    means = {}
    for label in SENSORS:
        for k in COMPONENTS:
            chosen = [r for r in rows if r["input"] == label and r["components"] == k]
            sites = sorted({r["site"] for r in chosen})
            means[label, k] = float(np.mean([np.mean([r["sam"] for r in chosen if r["site"] == s]) for s in sites]))
    md = ["# Experiment: a Gaussian-mixture spectral prior", "",
          f"- machine: {platform.machine()}; {time.perf_counter() - started:.0f} s; training pixels: "
          f"{len(training)} ({PIXELS_PER_SITE} per site at most, sites {', '.join(sorted(by_site))})",
          f"- p = 1, test sites {', '.join(sorted({r['site'] for r in rows}))}: mean SAM (°) over sites", "",
          "| input | " + " | ".join(f"K = {k}" for k in COMPONENTS) + " |", "|---|" + "---|" * len(COMPONENTS)]
    md += [f"| {label} | " + " | ".join(f"{means[label, k]:.2f}" for k in COMPONENTS) + " |" for label in SENSORS]
    write_report(args.out, md, {"rows": rows})
    print("\n".join(md))


if __name__ == "__main__":
    main()
