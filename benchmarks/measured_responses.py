"""How far the Gaussian approximations of Sentinel-2 and Landsat 8 are from the measured responses.

    python benchmarks/measured_responses.py --data ../shared/data --out benchmarks/results/measured_responses

Per band of ``sentinel2_msi`` (Sentinel-2A, measured; sensors/make_measured_from_pyrsr.py) against
``sentinel2_msi_gaussian``, and ``landsat8_oli`` against ``landsat8_oli_gaussian``: the shift of the
response's centre of mass, the ratio of the widths at half maximum, and, on every airborne scene of
geossr.data.airborne.AIRBORNE_SPLIT (real AVIRIS / HYDICE cubes), what the two versions of the band
record from the same spectra: the mean absolute difference relative to the measured band's mean,
per scene, reported as the mean and the largest over the scenes. Bands a scene does not cover are
left out for that scene.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import write_report  # noqa: E402

from geossr.data import load_dataset
from geossr.data.airborne import AIRBORNE_SPLIT
from geossr.errors import CoverageError
from geossr.spectral.integration import response_matrix
from geossr.spectral.sensors import load_sensor

PAIRS = {"Sentinel-2 (2A)": ("sentinel2_msi", "sentinel2_msi_gaussian"),
         "Landsat 8 OLI": ("landsat8_oli", "landsat8_oli_gaussian")}


def recorded(cube, sensor) -> np.ndarray | None:
    """(bands, pixels) the sensor records from the cube's spectra; None if the cube does not cover a band."""
    try:
        matrix = response_matrix(cube.sensor, sensor)
    except CoverageError:
        return None
    return np.tensordot(matrix, cube.data.reshape(cube.data.shape[0], -1), axes=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/measured_responses"))
    args = parser.parse_args()
    started = time.perf_counter()
    cubes = [cube for split in ("train", "validation", "test") for name in AIRBORNE_SPLIT[split]
             for cube in load_dataset(name, args.data)]
    rows = []
    for label, (measured_name, gaussian_name) in PAIRS.items():
        measured, gaussian = load_sensor(measured_name), load_sensor(gaussian_name)
        for i, band in enumerate(measured.band_names):
            one_m, one_g = measured.select([band]), gaussian.select([band])
            differences = {}
            for cube in cubes:
                m, g = recorded(cube, one_m), recorded(cube, one_g)
                if m is not None and g is not None and m.mean() > 0:
                    differences[cube.name] = float(np.abs(m - g).mean() / m.mean())
            rows.append({"sensor": label, "band": band, "centre_nm": float(measured.centers_nm[i]),
                         "centre_shift_nm": float(measured.centers_nm[i] - gaussian.centers_nm[i]),
                         "fwhm_ratio": float(measured.fwhms_nm[i] / gaussian.fwhms_nm[i]),
                         "scenes": len(differences), "per_scene": differences,
                         "mean_relative_difference": float(np.mean(list(differences.values()))) if differences else None,
                         "max_relative_difference": float(max(differences.values())) if differences else None})
    md = ["# Measured responses against their Gaussian approximations", "",
          f"- machine: {platform.machine()}, torch {torch.__version__}; {time.perf_counter() - started:.0f} s",
          f"- scenes: {', '.join(c.name for c in cubes)} (real airborne cubes; a band a scene does not cover "
          "is left out for it)",
          "- difference: mean |measured - Gaussian| / mean measured, of what the band records from each scene", "",
          "| sensor | band | centre (nm) | centre shift (nm) | FWHM ratio | scenes | mean difference | largest |",
          "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        diff = (f"{100 * r['mean_relative_difference']:.2f} % | {100 * r['max_relative_difference']:.2f} %"
                if r["scenes"] else "- | -")
        md.append(f"| {r['sensor']} | {r['band']} | {r['centre_nm']:.1f} | {r['centre_shift_nm']:+.2f} | "
                  f"{r['fwhm_ratio']:.3f} | {r['scenes']} | {diff} |")
    write_report(args.out, md, {"rows": rows})
    print("\n".join(md))


if __name__ == "__main__":
    main()
