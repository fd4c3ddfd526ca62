"""Fit the shipped ``linear`` prior (geossr/weights/linear_prior_airborne.npz) on the airborne training split.

    python benchmarks/make_linear_prior.py --data ../shared/data

μ and Σ of the training sites' spectra on a 5 nm grid over 400-1000 nm, every site weighted equally
(geossr.models.linear.fit_prior). The observation noise σ is chosen by leave-one-site-out over the
training sites: for each σ, each training site is estimated (p = 1, from every input sensor below) by
the prior of the other sites, and the σ with the lowest mean SAM is kept. The table of that search
goes to benchmarks/results/linear_prior.md. No test site is read.
"""

from __future__ import annotations

import argparse
import platform
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import sam_deg  # noqa: E402

from geossr.data import load_dataset
from geossr.data.airborne import AIRBORNE_SPLIT, site_of
from geossr.models.linear import PRIORS_DIR, SHIPPED_PRIOR, fit_prior
from geossr.spectral.integration import response_matrix
from geossr.spectral.sensors import load_sensor

GRID_NM = np.arange(400.0, 1000.0 + 1e-9, 5.0)
TARGET = "grid:400:1000:60"
INPUT_SENSORS = {"RGB (Nikon D700)": "nikon_d700", "IKONOS": "ikonos:blue,green,red,nir",
                 "Sentinel-2 10 m": "sentinel2_msi:B02,B03,B04,B08", "Landsat 8": "landsat8_oli:B2,B3,B4,B5"}
NOISE_STDS = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2)
# Spectra are scored on at most this many pixels per scene (evenly spaced): enough for a mean SAM.
PIXELS = 4000


def pixels_of(cube) -> np.ndarray:
    flat = cube.data.reshape(len(cube.sensor), -1).T.astype(np.float64)
    return flat[np.linspace(0, len(flat) - 1, min(PIXELS, len(flat))).astype(int)]


def spectral_sam(prior, cube, sensor, target) -> float:
    """SAM of the prior's p = 1 estimate of ``cube`` seen through ``sensor``, against ``target`` bands."""
    pixels = pixels_of(cube)
    observed = pixels @ response_matrix(cube.sensor, sensor).T
    truth = pixels @ response_matrix(cube.sensor, target).T
    matrix, offset, _ = prior.estimator(sensor, target)
    return sam_deg(np.clip(observed @ matrix.T + offset, 0, None), truth)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, default=PRIORS_DIR / f"{SHIPPED_PRIOR}.npz")
    parser.add_argument("--results", type=Path, default=Path(__file__).parent / "results" / "linear_prior.md")
    args = parser.parse_args()

    cubes = [c for name in AIRBORNE_SPLIT["train"] for c in load_dataset(name, args.data)]
    sites = [site_of(c.name) for c in cubes]
    target = load_sensor(TARGET)
    sensors = {label: load_sensor(spec) for label, spec in INPUT_SENSORS.items()}
    table = {}
    for noise in NOISE_STDS:
        for held in sorted(set(sites)):
            keep = [i for i, s in enumerate(sites) if s != held]
            prior = fit_prior([cubes[i] for i in keep], GRID_NM, noise, [sites[i] for i in keep])
            for label, sensor in sensors.items():
                scores = [spectral_sam(prior, cube, sensor, target) for cube, s in zip(cubes, sites) if s == held]
                table[noise, held, label] = float(np.mean(scores))
    mean_sam = {noise: np.mean([v for (n, _, _), v in table.items() if n == noise]) for noise in NOISE_STDS}
    best = min(mean_sam, key=mean_sam.get)
    card = {"grid": "400-1000 nm, 5 nm", "training_scenes": [c.name for c in cubes],
            "noise_std": "chosen by leave-one-site-out SAM over the training sites (benchmarks/results/linear_prior.md)",
            "script": "benchmarks/make_linear_prior.py"}
    prior = fit_prior(cubes, GRID_NM, best, sites, card)
    prior.save(args.out)

    held_sites = sorted(set(sites))
    lines = ["# Linear prior: noise σ chosen by leave-one-site-out SAM (p = 1, 400-1000 nm at 10 nm)", "",
             f"Machine: {platform.processor() or platform.machine()}; made by `benchmarks/make_linear_prior.py`.",
             f"Training scenes: {', '.join(c.name for c in cubes)} ({len(held_sites)} sites, equally weighted).",
             f"Chosen σ = {best:g} (values in [0, 1] per scene); written to {args.out.name}.", "",
             "Mean SAM (°) over the input sensors, per held-out training site:", "",
             "| σ | " + " | ".join(held_sites) + " | mean |", "|---" * (len(held_sites) + 2) + "|"]
    for noise in NOISE_STDS:
        per_site = [np.mean([table[noise, h, label] for label in sensors]) for h in held_sites]
        lines.append(f"| {noise:g} | " + " | ".join(f"{v:.2f}" for v in per_site) + f" | {mean_sam[noise]:.2f} |")
    lines += ["", f"At σ = {best:g}, per input sensor (mean over held-out sites):", "",
              "| input | SAM (°) |", "|---|---|"]
    lines += [f"| {label} | {np.mean([table[best, h, label] for h in held_sites]):.2f} |" for label in sensors]
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
