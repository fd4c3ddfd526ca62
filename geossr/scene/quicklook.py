"""Pictures of a result for people: an RGB quicklook and a pixel's spectra."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
from rasterio.enums import Resampling

from geossr.errors import GeossrError
from geossr.extras import pyplot
from geossr.fileio import atomic_output
from geossr.scene.io import dataset_basename, open_dataset, sensor_from_dataset
from geossr.scene.radiometry import dataset_scale, read_reflectance
from geossr.scene.simulate import resolve_input_sensor
from geossr.spectral.plot import save_png

RGB_NM = (640.0, 550.0, 470.0)
MAX_SIDE = 1024


def _png_target(path) -> Path:
    path = Path(path)
    if not path.parent.resolve().is_dir():
        raise GeossrError(f"output directory does not exist: {path.parent}")
    return path


def save_quicklook(raster_path, png_path) -> Path:
    """RGB from the bands nearest 640/550/470 nm, 2-98 % stretch, at most 1024 px a side."""
    plt = pyplot("--quicklook")

    png_path = _png_target(png_path)
    with open_dataset(raster_path) as ds:
        sensor = sensor_from_dataset(ds)
        if sensor is None:
            raise GeossrError(f"{raster_path} declares no band wavelengths: no quicklook")
        bands = [int(np.argmin(np.abs(sensor.centers_nm - nm))) + 1 for nm in RGB_NM]
        shrink = max(1, int(np.ceil(max(ds.height, ds.width) / MAX_SIDE)))
        shape = (3, max(1, ds.height // shrink), max(1, ds.width // shrink))
        rgb = ds.read(bands, out_shape=shape, resampling=Resampling.average, masked=True).astype(np.float64)
        scale = float(ds.tags().get("REFLECTANCE_SCALE", 1.0))
    rgb = rgb.filled(np.nan) * scale
    lo, hi = np.nanpercentile(rgb, [2, 98])
    image = np.clip((np.transpose(rgb, (1, 2, 0)) - lo) / max(hi - lo, 1e-12), 0, 1)
    image = np.nan_to_num(image, nan=0.0)
    with atomic_output(png_path, suffix=".png") as tmp:
        plt.imsave(tmp, image, format="png")
    return png_path


def plot_spectrum(input_path, output_path, pixel: str, png_path, input_sensor: str | None = None,
                  input_scale: float | str | None = None, override_metadata: bool = False) -> Path:
    """Input spectrum at input pixel COL,ROW beside the output spectrum at the same place; the input
    scaled to reflectance as ``geossr upsample`` scales it (``input_scale``: its option)."""
    plt = pyplot("--spectrum")
    try:
        col, row = (int(v) for v in pixel.split(","))
    except ValueError:
        raise GeossrError(f"--spectrum expects COL,ROW (input pixel), got {pixel!r}") from None
    with open_dataset(input_path) as src:
        if not (0 <= col < src.width and 0 <= row < src.height):
            raise GeossrError(f"pixel {col},{row} is outside the {src.width}x{src.height} input")
        source = resolve_input_sensor(input_path, input_sensor, src.count, override_metadata)
        values_in = read_reflectance(src, dataset_scale(src, input_scale), ((row, row + 1), (col, col + 1)))[:, 0, 0]
    with rasterio.open(output_path) as out:
        sensor = sensor_from_dataset(out)
        scale = out.width / src.width
        r, c = int((row + 0.5) * scale), int((col + 0.5) * scale)
        values_out = out.read(window=((r, r + 1), (c, c + 1)))[:, 0, 0] * float(out.tags().get("REFLECTANCE_SCALE", 1))
    fig, ax = plt.subplots(figsize=(8, 4), dpi=120)
    ax.plot(sensor.centers_nm, values_out, "-", lw=1.2, label=f"output ({sensor.name}, {len(sensor)} bands)")
    ax.plot(source.centers_nm, values_in, "o", ms=6, label=f"input ({source.name})")
    ax.set_xlabel("wavelength (nm)")
    ax.set_ylabel("reflectance")
    ax.set_title(f"{dataset_basename(input_path)}: input pixel ({col}, {row})")
    ax.legend()
    fig.tight_layout()
    return save_png(fig, png_path)
