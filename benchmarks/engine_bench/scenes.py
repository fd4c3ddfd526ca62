"""The benchmark's inputs: mosaics of the CAVE test scenes and the default weights."""

from __future__ import annotations

import math
from pathlib import Path


def build_scenes(data_root: Path, base: int, sizes, folder: Path) -> dict[int, Path]:
    """Mosaics of the CAVE test scenes in the D700 bands, BASE x BASE input pixels per scene."""
    import numpy as np
    import torch
    import xarray as xr
    from affine import Affine

    from geossr.data import load_cave, spatial_downsample, spectral_matrix
    from geossr.scene.io import write_raster
    from geossr.spectral.sensors import load_sensor

    d700 = load_sensor("nikon_d700")
    scenes = []
    for cube in load_cave(data_root / "cave", "test"):
        rgb = torch.tensordot(spectral_matrix(cube.sensor, d700), torch.from_numpy(cube.data), dims=1)
        scenes.append(spatial_downsample(rgb[None], (base, base))[0].clamp(0, 1).numpy())
    paths = {}
    for size in sizes:
        k = math.isqrt(size)
        assert k * k == size, "mosaic sizes must be squares (1, 4, 16, ...)"
        rows = []
        for i in range(k):
            row = []
            for j in range(k):
                block = scenes[(i * k + j) % len(scenes)]
                block = block[:, ::-1, :] if i % 2 else block
                block = block[:, :, ::-1] if j % 2 else block
                row.append(block)
            rows.append(np.concatenate(row, axis=2))
        mosaic = np.ascontiguousarray(np.concatenate(rows, axis=1), dtype=np.float32)
        data = xr.DataArray(mosaic, dims=("band", "y", "x"), coords={"band": np.arange(1, 4)})
        data = data.rio.write_transform(Affine.identity())
        path = folder / f"cave_test_mosaic_{size}x_{mosaic.shape[1]}x{mosaic.shape[2]}.tif"
        write_raster(data, path, d700, overwrite=True, nodata=None, tags={
            "GEOREFERENCING": "none (laboratory photographs)",
            "SOURCE": f"CAVE test scenes {', '.join(c for c in ('fake_and_real_peppers', 'pompoms', 'real_and_fake_apples'))}, "
                      f"Nikon D700 simulated, {base}x{base} per scene, {k}x{k} mosaic (alternate scenes mirrored)"})
        paths[size] = path
    # a 16 x 16 crop of the first scene: warm-up calls, so that one-time initialisation is not timed
    tiny = xr.DataArray(np.ascontiguousarray(scenes[0][:, :16, :16]), dims=("band", "y", "x"),
                        coords={"band": np.arange(1, 4)}).rio.write_transform(Affine.identity())
    paths["warm"] = folder / "warm_up_16x16.tif"
    write_raster(tiny, paths["warm"], d700, overwrite=True, nodata=None)
    return paths


def default_weights() -> Path:
    """The shipped SSIF weights ``geossr upsample`` takes for the scenes' Nikon D700 bands."""
    from geossr.models.weights import installed_weights
    from geossr.scene.upsample import choose_model
    from geossr.spectral.sensors import load_sensor

    _, _, name, _ = choose_model("ssif", None, load_sensor("nikon_d700"))
    return Path(next(entry["path"] for entry in installed_weights() if entry["name"] == name))
