"""Response-curve plots of a sensor."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from geossr.errors import GeossrError
from geossr.extras import pyplot
from geossr.fileio import atomic_output
from geossr.spectral.bands import Sensor


def save_png(fig, path: str | Path) -> Path:
    """Save a matplotlib figure as PNG atomically, refusing a missing directory; closes the figure."""
    plt = pyplot("plots")

    path = Path(path)
    try:
        if not path.parent.resolve().is_dir():
            raise GeossrError(f"output directory does not exist: {path.parent}")
        with atomic_output(path, suffix=".png") as tmp:
            fig.savefig(tmp, format="png")
    finally:
        plt.close(fig)
    return path


def plot_sensor(sensor: Sensor, path: str | Path) -> Path:
    """Draw every band's normalised response ρ(λ) into a PNG (written atomically)."""
    plt = pyplot("--plot")

    lo, hi = sensor.range_nm
    pad = 0.05 * (hi - lo)
    grid = np.linspace(lo - pad, hi + pad, 2000)
    fig, ax = plt.subplots(figsize=(9, 4), dpi=120)
    # Colour by centre wavelength, so a "red" band is drawn red whatever its position in the file.
    colours = plt.get_cmap("turbo")
    for band in sensor.bands:
        shade = colours(0.1 + 0.85 * (band.center_nm - lo) / max(hi - lo, 1e-9))
        ax.plot(grid, band.response(grid), lw=1, label=band.name, color=shade)
    ax.set_xlabel("wavelength (nm)")
    ax.set_ylabel("normalised response ρ(λ) (1/nm)")
    ax.set_title(f"{sensor.name} ({len(sensor)} bands, {sensor.response_kind or 'unstated'})")
    if len(sensor) <= 15:
        ax.legend(fontsize=7, ncols=2)
    fig.tight_layout()
    return save_png(fig, path)
