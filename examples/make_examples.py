"""Rebuild the bundled example scenes from ../shared/data (run from the repository root).

- pavia_rosis_100x100.tif: the real ROSIS-03 crop abu-beach-4 (100 x 100 px, 102 bands, values
  normalised to [0, 1] by its distributors), as float32 with the nominal `rosis` band metadata.
  The source has no georeferencing: the CRS (UTM 32N) and 1.3 m pixel are real for ROSIS over
  Pavia, but the position is NOMINAL (near Pavia centre), stated in the GEOREFERENCING tag.
- cave_peppers_256x256.tif: the centre 256 x 256 of the CAVE scene fake_and_real_peppers
  (31 bands, 400-700 nm, 16-bit), a lab photograph: no georeferencing at all. Its GDAL band
  scale 1/65535 maps the 16-bit counts to [0, 1], the range the models work in.
"""

import sys
from pathlib import Path

import numpy as np
import rasterio
import scipy.io
import xarray as xr
from affine import Affine

from geossr.scene.io import write_raster
from geossr.spectral.sensors import load_sensor

SHARED = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data")
HERE = Path(__file__).parent


def as_dataarray(cube_bhw, transform, crs):
    bands, height, width = cube_bhw.shape
    data = xr.DataArray(cube_bhw, dims=("band", "y", "x"), coords={"band": np.arange(1, bands + 1)})
    data = data.rio.write_transform(transform)
    return data.rio.write_crs(crs) if crs else data


rosis = scipy.io.loadmat(SHARED / "pavia_centre/abu-beach-4.mat")["data"].astype(np.float32)
write_raster(
    as_dataarray(np.transpose(rosis, (2, 0, 1)), Affine(1.3, 0, 512000.0, 0, -1.3, 5004000.0), "EPSG:32632"),
    HERE / "pavia_rosis_100x100.tif",
    load_sensor("rosis"),
    overwrite=True,
    nodata=None,
    tags={
        "GEOREFERENCING": "nominal (real CRS and 1.3 m pixel; position near Pavia assumed, not known)",
        "SOURCE": "ROSIS-03 crop abu-beach-4.mat (xdjiangkai/LREN @ 6d35f0f), normalised to [0, 1]",
    },
)

scene = "fake_and_real_peppers"
planes = [
    rasterio.open(SHARED / f"cave/{scene}_ms/{scene}_ms_{i:02d}.png").read(1)[128:384, 128:384]
    for i in range(1, 32)
]
write_raster(
    as_dataarray(np.stack(planes).astype(np.uint16), Affine.identity(), None),
    HERE / "cave_peppers_256x256.tif",
    load_sensor("cave31"),
    overwrite=True,
    nodata=None,
    dtype="uint16",
    tags={
        "GEOREFERENCING": "none (laboratory photograph)",
        "SOURCE": f"CAVE multispectral database, {scene}, centre 256x256 crop, 16-bit",
    },
)
with rasterio.open(HERE / "cave_peppers_256x256.tif", "r+") as dataset:
    dataset.scales = [1 / 65535] * dataset.count
