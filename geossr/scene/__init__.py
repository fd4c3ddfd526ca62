"""Scenes: raster I/O (``io``), the tiled engine (``engine``), simulation and super-resolution of
files (``simulate``, ``upsample``), dask clusters (``cluster``)."""
