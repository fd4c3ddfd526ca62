"""GeoTIFF input and output with spectral metadata.

Reading: any GDAL raster becomes a lazy (band, y, x) xarray DataArray through rioxarray, with
dask chunks. Writing: a (band, y, x) DataArray is streamed to a tiled, compressed GeoTIFF window
by window (``dask.array.store`` with a lock), so a scene never has to fit in memory.

Band wavelengths are written three ways, so every reader finds them:
- GDAL's IMAGERY metadata domain per band: ``CENTRAL_WAVELENGTH_UM``, ``FWHM_UM`` (GDAL ≥ 3.10);
- ENVI-style items per band (``wavelength``, ``fwhm``, ``wavelength_units``), which QGIS and
  ``gdalinfo`` list, and the ENVI domain's ``wavelength = {...}`` lists for the dataset;
- the full sensor definition as JSON in the ``GEOSSR`` domain, so a file written by geossr gets
  its exact band responses (tabulated curves included) back.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import mmap
import os
import re
import shutil
import tempfile
import urllib.parse
import warnings
from pathlib import Path, PurePosixPath
from typing import NamedTuple

import dask.array
import numpy as np
import rasterio
import rasterio._err
import rasterio.shutil
import rioxarray
import xarray as xr
from rasterio.errors import NotGeoreferencedWarning, RasterioIOError

from geossr import __version__
from geossr.errors import DiskFullError, GeossrError, RasterError, SensorError
from geossr.fileio import atomic_output, output_lock
from geossr.scene.schedule import Progress, dask_threads, default_blocks_in_flight, stream_blocks
from geossr.spectral.bands import Band, Sensor
from geossr.spectral.sensors import sensor_from_dict

# progress(done, total): called with the work units finished so far, e.g. blocks written.

GEOSSR_DOMAIN = "GEOSSR"
# band_description() output: "SENSOR BAND (CENTRE nm)"
_DESCRIPTION = re.compile(r"^\S+ (\S+) \([0-9.]+ nm\)$")
DEFAULT_CHUNK = 512
DEFLATE_LEVEL = 1  # see write_raster
# GDAL keeps the blocks it reads and writes in one process-wide cache, 5 % of RAM unless set
# (1.2 GB on a 24 GB machine). While a scene streamed, its input blocks stayed there after their
# tiles were done, so the cache grew with the scene: 24, 48, 72, 96 MiB after each quarter of a
# 2048² input (16x CAVE mosaic). Tiles read their input window once per batch and write whole
# output blocks, so a small cache loses nothing (``bounded_block_cache``).
STREAM_BLOCK_CACHE_BYTES = 32 * 2**20
# Metadata that gives band centres without widths (GDAL items, a STAC sidecar): 10 nm bands, a
# typical spectrometer FWHM.
UNSTATED_FWHM_UM = 0.01


# A GDAL dataset name rather than a local file: a /vsi path (/vsizip/, /vsicurl/, /vsis3/, ...), a
# URL (rasterio turns http(s)://, s3://, ... into /vsi paths) or a driver prefix (NETCDF:"f.nc":var).
_GDAL_NAME = re.compile(r"^(/vsi[a-z0-9_]*/|[A-Za-z][A-Za-z0-9+.-]*://|[A-Z][A-Z0-9_]+:)")
# GDAL's curl waits without limit by default, so a URL that does not answer hung the run. These
# apply where the user (environment or rasterio.Env) has not set them: a dead host fails in 10 s,
# a server that stops sending in 10 s (a speed floor, not a total timeout, which would cut long
# reads of big files), and a transient 429/5xx answer is tried twice more.
HTTP_DEFAULTS = {"GDAL_HTTP_CONNECTTIMEOUT": "10", "GDAL_HTTP_LOW_SPEED_TIME": "10", "GDAL_HTTP_LOW_SPEED_LIMIT": "1",
                 "GDAL_HTTP_MAX_RETRY": "2", "GDAL_HTTP_RETRY_DELAY": "1"}


def is_gdal_name(name: str | Path) -> bool:
    """A dataset name GDAL resolves itself (virtual path, URL, driver prefix), not a local file's path."""
    return isinstance(name, str) and bool(_GDAL_NAME.match(name)) and not Path(name).exists()


def absolute_dataset_name(name: str | Path) -> str:
    """A local file's absolute path (dask workers, in other folders or on other machines, read it by
    that name); a GDAL name as it is."""
    return name if is_gdal_name(name) else os.path.abspath(name)


def dataset_basename(name: str | Path) -> str:
    """The last path component: ``a.tif`` for ``https://host/x/a.tif?sig=...``, ``/vsizip/s.zip/a.tif`` and
    ``a.tif``; ``f.nc:sst`` for ``NETCDF:"/data/f.nc":sst``."""
    text = str(name)
    if url := re.search(r"[A-Za-z][A-Za-z0-9+.-]*://\S*", text):
        text = urllib.parse.urlsplit(url.group(0)).path
    elif driver := re.match(r"^[A-Z][A-Z0-9_]+:(.*)$", text):
        text = driver.group(1).replace('"', "")
    return PurePosixPath(text).name


def dataset_stem(name: str | Path) -> str:
    """``dataset_basename`` without its extension, a subdataset kept: ``f_sst`` for ``NETCDF:"f.nc":sst``."""
    first, *subdataset = dataset_basename(name).split(":")
    return "_".join([PurePosixPath(first).stem, *subdataset])


def input_identity(path: str | Path) -> dict:
    """What tells a rerun the input is unchanged: a local file's resolved path, size and mtime; a GDAL
    name itself (asking a server or an archive for more would cost a request per input)."""
    if is_gdal_name(path):
        return {"input": path}
    stat = Path(path).stat()
    return {"input": str(Path(path).resolve()), "size": stat.st_size, "mtime": stat.st_mtime_ns}


def _open_checked(path: str | Path):
    gdal_name = is_gdal_name(path)
    if gdal_name:
        if "://" in path or re.search(r"/vsi(curl|s3|gs|az|adls|oss|swift|webhdfs)", path):
            for key, value in HTTP_DEFAULTS.items():
                os.environ.setdefault(key, value)  # GDAL reads it at each request, in every thread
    else:
        path = Path(path)
        if not path.exists():
            raise RasterError(f"input not found: {path}")
        if path.is_dir():
            raise RasterError(f"input is a directory, not a raster: {path}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            dataset = rasterio.open(path)
    except RasterioIOError as exc:
        if not gdal_name:
            raise RasterError(f"not a raster GDAL can read: {path}") from None
        reason = str(exc).removeprefix("CURL error: ")
        if "does not exist in the file system" in reason:  # GDAL's words for any name it cannot resolve
            reason = "no such file or archive member, or not a dataset GDAL recognises"
        raise RasterError(f"cannot open {path}: {reason}") from None
    if dataset.width == 0 or dataset.height == 0 or dataset.count == 0:
        dataset.close()
        raise RasterError(f"raster has no pixels or no bands: {path}")
    return dataset


@contextlib.contextmanager
def open_dataset(path: str | Path):
    """rasterio dataset with one-line errors for missing, unreadable and empty rasters."""
    dataset = _open_checked(path)
    try:
        yield dataset
    finally:
        dataset.close()


def open_raster(path: str | Path, chunk: int = DEFAULT_CHUNK, band_scale: bool = True) -> xr.DataArray:
    """Lazy (band, y, x) float32 DataArray in physical units: nodata pixels become NaN, and GDAL's
    per-band scale/offset (if any) is applied; with ``band_scale`` False the stored values are kept
    (an ``--input-scale`` given for them, ``geossr.scene.radiometry``)."""
    with open_dataset(path):
        pass
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        data = rioxarray.open_rasterio(
            absolute_dataset_name(path), chunks={"band": -1, "y": chunk, "x": chunk}, mask_and_scale=band_scale, masked=True, lock=False
        )
    return data.astype(np.float32)


class PixelCounts(NamedTuple):
    beyond: int  # pixels with a value beyond ±bound in some band: nodata to the engine
    values: int  # finite values within ±bound, in the chunks read
    implausible: int  # of those, values beyond ±plausible


def check_valid_pixels(data: xr.DataArray, path: str | Path, bound: float | None = None,
                       plausible: float | None = None) -> PixelCounts:
    """Refuse a (band, y, x) scene without a valid pixel; count pixels beyond ``bound`` and values beyond ``plausible``.

    A valid pixel is finite in every band (``open_raster`` makes nodata NaN) and, with ``bound``,
    within ±``bound`` in every band too (the engine's rule, ``geossr.scene.engine.REFLECTANCE_BOUND``).
    ``plausible`` counts, in the same read, the values a mis-scaled input gives
    (``geossr.scene.radiometry.PLAUSIBLE_BOUND``).
    Cost: without ``bound`` the scan stops at the first batch of chunks holding a valid pixel (a usual
    scene: the first), so the counts are of those chunks; only a scene that is all or nearly all nodata
    is read through, since a decimated read or an overview can miss a small valid area and refuse a good
    scene. With ``bound`` every pixel is read once, to count: a small part of what upsampling them costs.
    """
    array = data.transpose("band", "y", "x").data
    if not isinstance(array, dask.array.Array):
        array = dask.array.from_array(np.asarray(array))
    blocks = array.rechunk({0: -1}).to_delayed()[0].ravel()

    def counts(block):  # (valid pixels, pixels beyond bound, values within bound, of them beyond plausible)
        magnitude = np.abs(block)
        within = np.isfinite(block) if bound is None else magnitude <= bound  # False for NaN, and for inf
        beyond = 0 if bound is None else int((~within & ~np.isnan(block)).any(axis=0).sum())
        implausible = 0 if plausible is None else int((within & (magnitude > plausible)).sum())
        return int(within.all(axis=0).sum()), beyond, int(within.sum()), implausible

    total = np.zeros(4, dtype=np.int64)
    batch = dask_threads()
    for start in range(0, len(blocks), batch):
        with warnings.catch_warnings(), _naming_failures(dataset_basename(path), None):
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            found = dask.compute(*[dask.delayed(counts)(block) for block in blocks[start : start + batch]])
        total += np.sum(found, axis=0)
        if total[0] and bound is None:
            break
    valid, beyond, values, implausible = map(int, total)
    if not valid:
        reason = f"; {beyond} of them hold values beyond ±{bound:g}: is the input scale right?" if beyond else ""
        raise RasterError(f"input has no valid pixels: {path} (every pixel is nodata in at least one band{reason})")
    return PixelCounts(beyond, values, implausible)


def read_sensor(path: str | Path) -> Sensor | None:
    """The bands a raster declares: geossr's own JSON, else IMAGERY, else ENVI items; or None."""
    with open_dataset(path) as dataset:
        return sensor_from_dataset(dataset)


def sensor_from_dataset(dataset) -> Sensor | None:
    # geossr's writer puts the JSON in its own domain; rioxarray's to_raster of a geossr.upsample
    # result, in the default one.
    stored = dataset.tags(ns=GEOSSR_DOMAIN).get("SENSOR_JSON") or dataset.tags().get("GEOSSR_SENSOR_JSON")
    if stored:
        try:
            return sensor_from_dict(json.loads(stored), where=f"{dataset.name} (GEOSSR metadata): ")
        except (json.JSONDecodeError, SensorError):
            pass  # damaged geossr metadata: fall back to the per-band items below
    bands = []
    for index in range(1, dataset.count + 1):
        center_um, fwhm_um = _band_wavelength_um(dataset, index)
        if center_um is None:
            return stac_sidecar_sensor(dataset.name, dataset.count)
        description = dataset.descriptions[index - 1] or f"band{index}"
        ours = _DESCRIPTION.match(description)
        bands.append(Band.gaussian(ours.group(1) if ours else description, center_um * 1000,
                                   (fwhm_um or UNSTATED_FWHM_UM) * 1000))
    try:
        return Sensor(Path(dataset.name).stem, tuple(bands), source="wavelength metadata of the file",
                      response_kind="approximation")
    except SensorError:
        return None


def stac_sidecar_sensor(raster: str, count: int) -> Sensor | None:
    """The bands a STAC Item beside a local raster (``scene.json`` for ``scene.tif``) gives it in
    ``eo:bands`` (its asset whose href names the raster, else the Item's properties), when there are
    ``count`` of them with ``center_wavelength`` (µm); None otherwise. An unreadable sidecar is an error."""
    if is_gdal_name(raster):
        return None
    sidecar = Path(raster).with_suffix(".json")
    if not sidecar.is_file():
        return None
    try:
        item = json.loads(sidecar.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SensorError(f"{sidecar}: not a readable STAC JSON sidecar ({exc.__class__.__name__})") from None
    if not isinstance(item, dict):
        return None
    candidates = [asset.get("eo:bands") for asset in (item.get("assets") or {}).values()
                  if isinstance(asset, dict) and PurePosixPath(str(asset.get("href", ""))).name == Path(raster).name]
    candidates.append((item.get("properties") or {}).get("eo:bands"))
    eo_bands = next((c for c in candidates if isinstance(c, list) and len(c) == count), None)
    if eo_bands is None or not all(isinstance(b, dict) and "center_wavelength" in b for b in eo_bands):
        return None
    doc = {"name": Path(raster).stem, "description": f"eo:bands of the STAC sidecar {sidecar.name}",
           "source": str(sidecar), "response": "approximation",
           "bands": [{"name": str(b.get("name") or f"b{i:03d}"), "common_name": b.get("common_name"),
                      "center_wavelength": b["center_wavelength"],
                      "full_width_half_max": b.get("full_width_half_max", UNSTATED_FWHM_UM)}
                     for i, b in enumerate(eo_bands, start=1)]}
    return sensor_from_dict(doc, where=f"{sidecar} (eo:bands): ")


def _band_wavelength_um(dataset, index) -> tuple[float | None, float | None]:
    imagery = dataset.tags(index, ns="IMAGERY")
    if "CENTRAL_WAVELENGTH_UM" in imagery:
        fwhm = imagery.get("FWHM_UM")
        return float(imagery["CENTRAL_WAVELENGTH_UM"]), float(fwhm) if fwhm else None
    envi = dataset.tags(index)
    if "wavelength" in envi:
        scale = 0.001 if envi.get("wavelength_units", "").lower().startswith("nano") else 1.0
        fwhm = envi.get("fwhm")
        return float(envi["wavelength"]) * scale, float(fwhm) * scale if fwhm else None
    return None, None


def band_description(sensor: Sensor, band: Band) -> str:
    """E.g. ``rosis b012 (478.5 nm)``; a band subset or grid spec is named by its base sensor."""
    return f"{sensor.name.split(':')[0]} {band.name} ({band.center_nm:.1f} nm)"


def check_output_path(path: str | Path, overwrite: bool) -> Path:
    """Refuse before any work: an existing output without overwrite, or a missing directory."""
    path = Path(path)
    if path.is_dir():
        raise RasterError(f"output is a directory: {path}")
    if path.exists() and not overwrite:
        raise RasterError(f"output exists: {path} (use --overwrite to replace it)")
    if not path.parent.resolve().is_dir():
        raise RasterError(f"output directory does not exist: {path.parent}")
    if not os.access(path.parent.resolve(), os.W_OK | os.X_OK):
        raise RasterError(f"output directory is not writable: {path.parent}")
    return path


@contextlib.contextmanager
def bounded_block_cache():
    """Cap GDAL's block cache at ``STREAM_BLOCK_CACHE_BYTES`` while a scene streams, so memory does
    not grow with the scene; a GDAL_CACHEMAX the user set (environment or rasterio.Env) is kept."""
    user_set = "GDAL_CACHEMAX" in os.environ or (
        rasterio.env.hasenv() and "GDAL_CACHEMAX" in rasterio.env.getenv())
    with contextlib.nullcontext() if user_set else rasterio.Env(GDAL_CACHEMAX=STREAM_BLOCK_CACHE_BYTES):
        yield


def write_raster(
    data: xr.DataArray,
    path: str | Path,
    sensor: Sensor,
    *,
    overwrite: bool = False,
    tags: dict | None = None,
    nodata: float | None = float("nan"),
    dtype: str = "float32",
    scale: float | None = None,
    driver: str = "GTiff",
    creation_options: dict | None = None,
    blocks_in_flight: int | None = None,
    progress: Progress | None = None,
) -> Path:
    """Write a (band, y, x) DataArray as a tiled GeoTIFF (``driver`` "GTiff" or "COG") with georeferencing and band metadata.

    Dask-backed data is streamed block by block. The file is written under a temporary name in
    the target directory and renamed at the end, so a failure or an interrupt never leaves a
    partial output or damages an existing one. ``creation_options`` are GDAL's (``--co``). ``scale``:
    GDAL's band scale of the stored values (uint16: 1e-4), which QGIS and rioxarray's ``mask_and_scale``
    apply, so they read reflectance.
    ``progress(done, total)`` is called as blocks are written, last with done == total once the
    file is in place. ``blocks_in_flight`` (computed per batch) defaults to two per thread that
    runs them (``default_blocks_in_flight``). The file records a checksum of its blocks
    (``checksum_matches``). A second writer of ``path``, in any process, is refused
    (``geossr.fileio.output_lock``); temporaries that writers which are gone left beside ``path`` are removed.
    """
    path = check_output_path(path, overwrite)
    cog = check_driver(driver) == "COG"
    if data.sizes["band"] != len(sensor):
        raise GeossrError(f"{data.sizes['band']} bands of data but sensor {sensor.name} has {len(sensor)}")
    options = {k.upper(): v for k, v in (creation_options or {}).items()}
    array = data.transpose("band", "y", "x").data
    tile = max(array.chunks[1][0], array.chunks[2][0]) if isinstance(array, dask.array.Array) else None
    profile = _gtiff_profile(data.sizes["y"], data.sizes["x"], len(sensor), dtype, nodata, {} if cog else options,
                             tile=tile)
    profile.update(crs=data.rio.crs, transform=data.rio.transform())

    def write_gtiff(target: str) -> None:
        with warnings.catch_warnings(), bounded_block_cache():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(target, "w", **profile) as dst:
                _write_metadata(dst, sensor, {**(tags or {}), CHECKSUM_TAG: _CHECKSUM_PLACEHOLDER})
                if scale is not None:
                    dst.scales = (scale,) * len(sensor)
                if isinstance(array, dask.array.Array):
                    stream_blocks(dst, array, dtype, blocks_in_flight or default_blocks_in_flight(), progress)
                else:
                    dst.write(np.asarray(array, dtype=dtype))

    with output_lock(path, ".tmp.tif"), _naming_failures((tags or {}).get("GEOSSR_SOURCE", "the input"), path):
        if not cog:
            with atomic_output(path, suffix=".tmp.tif") as tmp_name:
                write_gtiff(tmp_name)
                _record_checksum(tmp_name)
        else:
            # GDAL cannot write a COG window by window: stream a tiled GeoTIFF into a scratch folder
            # beside the output, then copy it into a COG (the copy keeps the per-band IMAGERY metadata;
            # rio-cogeo would drop it).
            with atomic_output(path, suffix=".tmp.tif") as cog_name, \
                    tempfile.TemporaryDirectory(prefix=f".{path.name}.", dir=path.parent) as scratch:
                plain = str(Path(scratch) / "stream.tif")
                write_gtiff(plain)
                rasterio.shutil.copy(plain, cog_name, driver="COG", **_cog_options(options))
                _record_checksum(cog_name)
    _report_done(progress, data)
    return path


# Below this much free space, a failed write is taken for a full disk (GDAL's error says only
# "TIFFAppendToStrip: Write error").
FULL_DISK_BYTES = 64 * 2**20


@contextlib.contextmanager
def _naming_failures(source: str, path: Path | None):
    """GDAL's read failures of ``source`` and write failures of ``path``, as one line naming the file."""
    try:
        yield
    except RasterioIOError as exc:
        detail = gdal_failure_detail(exc)
        if path is not None and (str(exc).startswith("Write failed") or "No space left" in detail):
            if shutil.disk_usage(path.parent).free < FULL_DISK_BYTES or "No space left" in detail:
                raise DiskFullError(f"no space left on device writing {path}") from None
            raise RasterError(f"cannot write {path}: {detail}") from None
        raise RasterError(f"cannot read {source}: {detail.removeprefix(source + ', ')}") from None


def gdal_failure_detail(exc: BaseException) -> str:
    """The GDAL messages behind rasterio's "Read failed. See previous exception for details.", outermost first."""
    messages, cause = [], exc
    while cause is not None:
        text = str(cause).strip().rstrip(".")
        if text and "See previous exception" not in text and not any(text in m for m in messages):
            messages.append(text)
        cause = cause.__cause__ or cause.__context__
    return "; ".join(messages) or str(exc)


# Written with the other tags as this placeholder and overwritten in place, same length, once the
# file is complete: setting a tag through GDAL then would rewrite the metadata (and break a COG's layout).
CHECKSUM_TAG = "GEOSSR_CHECKSUM"
_CHECKSUM_PLACEHOLDER = "sha256:" + "0" * 64


def block_checksum(ds, path: str | Path) -> str | None:
    """sha256 of the stored bytes of every block of every band, in order; None if a block is cut off.

    Stored (compressed) bytes rather than decoded pixels: reading them back costs a read of the file
    and no decompression, and any change to them shows. Metadata is left out, so a tag or nodata
    edited in place (``gdal_edit``) is not damage; a COG's overviews, derived from these blocks, are left out too.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for band in ds.indexes:
            for (row, col), _ in ds.block_windows(band):
                offset = int(ds.get_tag_item(f"BLOCK_OFFSET_{col}_{row}", "TIFF", bidx=band) or 0)
                size = int(ds.get_tag_item(f"BLOCK_SIZE_{col}_{row}", "TIFF", bidx=band) or 0)  # 0: sparse
                file.seek(offset)
                block = file.read(size)
                if len(block) != size:
                    return None
                digest.update(size.to_bytes(8, "little"))
                digest.update(block)
    return "sha256:" + digest.hexdigest()


def checksum_matches(ds, path: str | Path) -> bool:
    """Whether the blocks of ``ds`` (open on ``path``) are those its writer recorded, i.e. the file is intact."""
    recorded = ds.tags().get(CHECKSUM_TAG)
    return recorded is not None and recorded == block_checksum(ds, path)


def _record_checksum(path: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path) as ds:
            checksum = block_checksum(ds, path).encode()
    item = f'<Item name="{CHECKSUM_TAG}">'.encode()
    # Every copy: GDAL may leave a superseded directory behind. With none (--co PROFILE=BASELINE
    # sends the metadata to a .aux.xml) nothing is recorded, and the file is never taken as complete.
    with open(path, "r+b") as file, mmap.mmap(file.fileno(), 0) as mapped:
        start = mapped.find(item + _CHECKSUM_PLACEHOLDER.encode())
        while start >= 0:
            mapped[start + len(item) : start + len(item) + len(checksum)] = checksum
            start = mapped.find(item + _CHECKSUM_PLACEHOLDER.encode(), start + 1)


def block_size(height: int, width: int, tile: int | None) -> int:
    """The output's square block: one that tiles of ``tile`` pixels fill whole.

    GDAL appends a block written in parts once it has left the block cache, and leaves the old bytes
    as dead space: with 192 px blocks and 128 px tiles a 200 x 200 x 102 output took 20.4 MB against
    11.4 MB with aligned writes. So the block is the largest multiple of 16 up to 512 that divides
    the tile (256 for the default tile), else 256; never more than the image needs.
    """
    block = 256
    if tile is not None:
        block = next((b for b in range(min(tile, 512) // 16 * 16, 15, -16) if tile % b == 0), 256)
    return block if min(height, width) >= block else 16 * max(1, min(height, width) // 16)


def _gtiff_profile(height: int, width: int, count: int, dtype: str, nodata, options: dict,
                   tile: int | None = None) -> dict:
    """rasterio's profile of a streamed GeoTIFF, GDAL creation ``options`` (upper-case keys) applied last."""
    block = block_size(height, width, tile)
    profile = {
        "driver": "GTiff",
        "width": width,
        "height": height,
        "count": count,
        "dtype": dtype,
        "nodata": nodata,
        "compress": "deflate",
        # zlib level 1, not GDAL's 6: a 256 px x 31 band float32 tile compresses in 0.13 s instead of
        # 0.22 s for 3 % more bytes, and on a small machine the writes share the cores with the model.
        "zlevel": DEFLATE_LEVEL,
        "predictor": 3 if np.dtype(dtype).kind == "f" else 2,
        "interleave": "band",
        "tiled": min(height, width) >= 16,
        "blockxsize": block,
        "blockysize": block,
        "BIGTIFF": "IF_SAFER",
    }
    if not profile["tiled"]:
        del profile["blockxsize"], profile["blockysize"]
    profile.update({k.lower(): v for k, v in options.items()})
    return profile


# GeoTIFF streamed block by block, or a Cloud-Optimized GeoTIFF copied from one
DRIVERS = ("GTiff", "COG")


def _cog_options(options: dict) -> dict:
    return {"COMPRESS": "DEFLATE", "LEVEL": DEFLATE_LEVEL, "PREDICTOR": "YES", **options}


def check_driver(driver: str) -> str:
    if driver not in DRIVERS:
        raise GeossrError(f"output driver must be one of {', '.join(DRIVERS)}, not {driver!r}")
    return driver


def check_creation_options(options: dict, *, dtype: str, nodata, driver: str) -> None:
    """Refuse GDAL creation options (upper-case keys) the output driver would reject or ignore, before any work.

    Tiled TIFF blocks must be multiples of 16 pixels. Everything else is checked by GDAL itself:
    it validates creation options against the driver's option list (DMD_CREATIONOPTIONLIST: names,
    string-select values, integer and boolean types) and only warns, through rasterio's logger, so
    a tiny in-memory file is created with the options and those warnings become the error.
    """
    cog = check_driver(driver) == "COG"
    if not options:
        return
    tiled = cog or str(options.get("TILED", "YES")).upper() not in ("NO", "FALSE", "OFF", "0")
    for key in ("BLOCKSIZE",) if cog else ("BLOCKXSIZE", "BLOCKYSIZE") if tiled else ():
        if key in options and not (str(options[key]).isdigit() and int(options[key]) % 16 == 0
                                   and int(options[key]) > 0):
            raise GeossrError(f"--co {key}={options[key]}: TIFF tiles must be a positive multiple of 16 pixels")
    with _gdal_warnings() as messages, warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        try:
            with rasterio.MemoryFile() as plain, rasterio.MemoryFile() as copy:
                with plain.open(**_gtiff_profile(32, 32, 1, dtype, nodata, {} if cog else options)):
                    pass
                if cog:
                    rasterio.shutil.copy(plain.name, copy.name, driver="COG", **_cog_options(options))
        except (rasterio.errors.RasterioError, rasterio._err.CPLE_BaseError) as exc:  # the latter: no public name
            messages.append(str(exc))
    if messages:
        raise GeossrError(f"--co rejected by GDAL's {driver} driver: {'; '.join(dict.fromkeys(m.rstrip('.') for m in messages))}")


@contextlib.contextmanager
def _gdal_warnings():
    """Collect the messages of the GDAL warnings rasterio logs (``rasterio._env``) within the block."""
    messages: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record):
            # rasterio logs ("%s in %s", error class, message)
            messages.append(str(record.args[-1]) if isinstance(record.args, tuple) and record.args
                            else record.getMessage())

    logger, handler = logging.getLogger("rasterio._env"), Collect(logging.WARNING)
    logger.addHandler(handler)
    try:
        yield messages
    finally:
        logger.removeHandler(handler)


def _report_done(progress: Progress | None, data: xr.DataArray) -> None:
    if progress is not None:
        array = data.data
        total = array.numblocks[1] * array.numblocks[2] if isinstance(array, dask.array.Array) else 1
        progress(total, total)


def _write_metadata(dst, sensor: Sensor, tags: dict) -> None:
    wavelengths_um = [f"{b.center_nm / 1000:.6f}" for b in sensor.bands]
    fwhms_um = [f"{b.fwhm_nm / 1000:.6f}" for b in sensor.bands]
    for index, band in enumerate(sensor.bands, start=1):
        dst.set_band_description(index, band_description(sensor, band))
        dst.update_tags(index, ns="IMAGERY", CENTRAL_WAVELENGTH_UM=wavelengths_um[index - 1],
                        FWHM_UM=fwhms_um[index - 1])
        dst.update_tags(index, wavelength=wavelengths_um[index - 1], fwhm=fwhms_um[index - 1],
                        wavelength_units="Micrometers")
    dst.update_tags(ns="ENVI", wavelength="{" + ", ".join(wavelengths_um) + "}",
                    fwhm="{" + ", ".join(fwhms_um) + "}", wavelength_units="Micrometers")
    dst.update_tags(ns=GEOSSR_DOMAIN, SENSOR_JSON=json.dumps(sensor.to_dict()))
    dst.update_tags(GEOSSR_VERSION=__version__, GEOSSR_SENSOR=sensor.name, **tags)


def raster_info(path: str | Path) -> dict:
    """Size, georeferencing, bands (with wavelengths when the file declares them) and, for a file
    geossr wrote, its GEOSSR tags (model, weights, scale, source, ...) as ``provenance``."""
    from geossr.scene.identify import likely_sensor

    with open_dataset(path) as ds:
        sensor = sensor_from_dataset(ds)
        likely = likely_sensor(ds) if sensor is None else None
        bands = []
        for index in range(1, ds.count + 1):
            entry = {"index": index, "description": ds.descriptions[index - 1] or "", "dtype": ds.dtypes[index - 1]}
            if sensor is not None:
                band = sensor.bands[index - 1]
                entry.update(name=band.name, center_nm=round(band.center_nm, 2), fwhm_nm=round(band.fwhm_nm, 2))
            bands.append(entry)
        return {
            "path": str(path),
            "driver": ds.driver,
            "width": ds.width,
            "height": ds.height,
            "count": ds.count,
            "crs": ds.crs.to_string() if ds.crs else None,
            "pixel_size": [abs(ds.transform.a), abs(ds.transform.e)],
            "bounds": list(ds.bounds),
            "nodata": None if ds.nodata is None else ("nan" if np.isnan(ds.nodata) else ds.nodata),
            "sensor": sensor.name if sensor is not None else None,
            "likely_input_sensor": likely._asdict() if likely else None,
            "georeferencing": ds.tags().get("GEOREFERENCING", "as stored" if ds.crs else "none"),
            "provenance": {key.removeprefix("GEOSSR_").lower(): value for key, value in ds.tags().items()
                           if key.startswith("GEOSSR_") and key != "GEOSSR_SENSOR_JSON"},  # shown as bands
            "bands": bands,
        }
