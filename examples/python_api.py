"""The Python API on the real Sentinel-2 L2A patch: 10 m bands to 5 m, 400-1000 nm at 20 nm.

    python examples/python_api.py [S2.tif] [OUT.tif]
"""

import sys
from pathlib import Path

import geossr

shared = Path(__file__).resolve().parents[2] / "shared/data"
source = sys.argv[1] if len(sys.argv) > 1 else \
    shared / "geotiff/s2_l2a_bigearthnet_T29UPU_20180421/S2B_MSIL2A_20180421T114349_41_4_10m.tif"
target = sys.argv[2] if len(sys.argv) > 2 else Path(__file__).parent / "output/s2_x2_api.tif"

scene = geossr.open_raster(source)  # its REFLECTANCE_SCALE tag (1e-4) turns DN into reflectance
out = geossr.upsample(scene, scale=2, sensor="grid:400:1000:30", model="linear-sr",
                      input_sensor="sentinel2_msi:B02,B03,B04,B08")
Path(target).parent.mkdir(parents=True, exist_ok=True)
out.rio.to_raster(target)  # band names, NaN nodata and the wavelengths go with it
print(f"{target}: {out.sizes['band']} bands, {out.sizes['x']} x {out.sizes['y']} px, "
      f"{float(out.wavelength_nm[0]):.0f}-{float(out.wavelength_nm[-1]):.0f} nm")
