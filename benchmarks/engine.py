"""Scene-engine benchmark: tiled engine vs whole-image inference on mosaics of real CAVE scenes.

    python benchmarks/engine.py --data ../shared/data --out benchmarks/results/engine

Model: by default the shipped SSIF weights that ``geossr upsample`` takes for the scenes' Nikon
D700 bands (``ssif_rgb_default``: what a user's RGB photo runs through); ``--weights`` takes any
other checkpoint, e.g. a run of ``configs/ssif_rf-uf_cave_cpu.yaml``.

Scenes. The CAVE test cubes (fake_and_real_peppers, pompoms, real_and_fake_apples; 31 bands,
512 x 512) are integrated to the Nikon D700 bands (``geossr.data.spectral_matrix``) and reduced
to BASE x BASE input pixels with the training degradation (``geossr.data.spatial_downsample``).
Mosaics of 1x, 4x and 16x the area of one base scene (1x1, 2x2 and 4x4 scenes, alternate ones
mirrored) are written as float32 GeoTIFFs in the D700 bands (``geossr.scene.io.write_raster``)
into a temporary folder. Output: SCALE x larger, in the bands of ``--sensor``.

Measurements (each one in a fresh Python process, so its peak RSS is its own; all in one run,
so ratios compare like with like on a noisy machine):

1. throughput (output pixels x bands / s, end to end: model load, read, compute, write) and peak
   RSS (``getrusage`` of that process) of (a) ``geossr.scene.upsample.upsample_file`` (tiled,
   dask's default threaded scheduler) and (b) a whole-image reference as LIIF's code runs a model:
   the encoder over the whole input, then LIIF's ``query_rgb`` in batches of 30000 output pixels
   (``liif_query``: unfolded features, the whole pixel MLP per ensemble member; same weights, same
   spectral decoder), clamped at 0 as the engine does, the result held in memory and written with
   rasterio (same GeoTIFF profile); the two outputs are compared pixel by pixel;
2. the model's FLOP rate on one interior tile (``torch.utils.flop_counter.FlopCounterMode``,
   one counter per stage) against this machine's peak measured in the same process (2048^2
   matmul in fp32 and bf16, 64->64 3x3 conv in NCHW and channels_last, and the fp32 matmul run
   as the engine runs tiles), the tile timed as ``upsample_file`` runs tiles (one per dask thread
   at a time, torch's threads shared out) and alone with all threads, its page faults, and where
   its time goes;
3. dask.distributed LocalCluster with 1 and 2 worker processes (1 thread each, torch 1 thread)
   vs the default threaded scheduler, on the 4x mosaic; also with MALLOC_MMAP_THRESHOLD_ set in
   the workers (see ``child_scheduler``);
4. bf16 / fp16 autocast vs fp32 (``precision`` of the engine) on the 1x scene.

``--device cuda`` runs parts 1 and 4 on a GPU (the tiled engine, the reference and the precision
runs; GPU memory from ``torch.cuda.max_memory_allocated`` beside the peak RSS); parts 2 and 3
measure the CPU and are left out.

Writes OUT.md and OUT.json. Other jobs running at the same time skew every number (on 2 cores a
single busy process can slow torch's 2-thread kernels several-fold): before every measurement
the script waits (up to ``--wait-idle`` s) until no ``geossr train`` process and no other
process busy on the CPU runs, and it records the CPU other processes used while it ran.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULT_MARK = "GEOSSR_BENCH_RESULT "
SIZES = (1, 4, 16)
CAVE_NATIVE_PX = 512  # side of a CAVE scene; --base 512 mosaics the scenes unreduced
# stages of one tile's pixel decoder (ImplicitSuperResolver.encode / pixel_features)
CODE_STAGE = "pixel decoder: first layer as 3x3 conv (in encode)"
QUERY_STAGE = "pixel decoder: per query (gather, rest of the MLP, blend)"
GEMM_STAGE = "  of which the MLP's GEMMs after the first layer"


# --------------------------------------------------------------------------------------------
# helpers shared by parent and children


def rss_bytes() -> int:
    import psutil

    return psutil.Process().memory_info().rss


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: kilobytes


def reset_device_peak(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats(device)


def device_peak_bytes(device: str) -> int | None:
    """The GPU memory torch allocated at most since the last reset (None on a CPU)."""
    import torch

    return torch.cuda.max_memory_allocated(device) if device.startswith("cuda") else None


def mib(n: float) -> float:
    return n / 2**20


def geotiff_profile(height: int, width: int, count: int) -> dict:
    """The profile write_raster uses for float32 output (deflate, predictor 3, 256 tiles)."""
    from geossr.scene.io import DEFLATE_LEVEL

    block = 256 if min(height, width) >= 256 else 16 * max(1, min(height, width) // 16)
    return {"driver": "GTiff", "width": width, "height": height, "count": count, "dtype": "float32",
            "nodata": float("nan"), "compress": "deflate", "zlevel": DEFLATE_LEVEL, "predictor": 3,
            "interleave": "band", "tiled": True, "blockxsize": block, "blockysize": block, "BIGTIFF": "IF_SAFER"}


def emit(result: dict) -> None:
    print(RESULT_MARK + json.dumps(result), flush=True)


# --------------------------------------------------------------------------------------------
# children: one measurement each, in a fresh process


def child_tiled(p: dict) -> dict:
    import torch

    from geossr.scene.upsample import upsample_file

    if p.get("torch_threads"):
        torch.set_num_threads(p["torch_threads"])
    baseline = rss_bytes()

    def run(path, output):
        start = time.perf_counter()
        summary = upsample_file(path, output, scale=p["scale"], sensor=p["sensor"], weights=p["weights"],
                                tile=p["tile"], precision=p.get("precision", "fp32"), device=p["device"], overwrite=True)
        return time.perf_counter() - start, summary

    # One call on a 16 x 16 scene first: the process's one-time initialisation stays out of the timing.
    first_call, _ = run(p["warm_input"], str(Path(p["output"]).with_suffix(".warm.tif")))
    reset_device_peak(p["device"])
    elapsed, summary = run(p["input"], p["output"])
    return {"seconds": elapsed, "peak_rss": peak_rss_bytes(), "baseline_rss": baseline,
            "device_peak": device_peak_bytes(p["device"]),
            "first_call_tiny_seconds": first_call, "output_size": summary["output_size"], "bands": summary["bands"],
            "torch_threads": torch.get_num_threads(), "warnings": summary["warnings"]}


# LIIF's test scripts query in batches of 30000 points (eval_bsize in its configs/test/*.yaml).
LIIF_EVAL_BATCH = 30000


def liif_query(model, feat_unfold, pos, cell):
    """(B, Q, pixel_dim): LIIF's ``query_rgb`` as published (Chen et al., models/liif.py), on this model's weights.

    Per ensemble member: nearest-neighbour ``grid_sample`` of the 3x3-unfolded feature map at the
    shifted query, relative coordinate and cell concatenated to it, the whole pixel MLP on that
    row, then the 4-way area blend. ``pos`` and ``cell`` are in input pixels, turned into LIIF's
    [-1, 1] coordinates here. One departure from LIIF's code: the unfold is done once per image by
    the caller, not once per query batch (LIIF recomputes it in every ``query_rgb`` call).
    """
    import torch
    import torch.nn.functional as F

    b, _, h, w = feat_unfold.shape
    size = torch.tensor([h, w], dtype=pos.dtype, device=pos.device)
    coord = 2 * pos / size - 1  # LIIF's make_coord convention: pixel centres at -1 + (2i + 1) / h
    preds, areas = [], []
    for vy in (-1, 1):
        for vx in (-1, 1):
            shifted = coord + torch.tensor([vy / h, vx / w], dtype=pos.dtype, device=pos.device) + 1e-6
            shifted = shifted.clamp(-1 + 1e-6, 1 - 1e-6)
            grid = shifted.flip(-1).unsqueeze(1).to(feat_unfold.dtype)
            q_feat = F.grid_sample(feat_unfold, grid, mode="nearest", align_corners=False)[:, :, 0, :].permute(0, 2, 1)
            index = torch.floor((shifted + 1) / 2 * size).clamp(max=size - 1)  # the picked pixel
            rel = (coord - (2 * (index + 0.5) / size - 1)) * size
            inp = torch.cat([q_feat, rel.to(q_feat.dtype), (2 * cell).to(q_feat.dtype)], dim=-1)
            preds.append(model.pixel_mlp(inp.reshape(b * pos.shape[1], -1)).view(b, pos.shape[1], -1))
            areas.append(torch.abs(rel[..., 0] * rel[..., 1]).to(q_feat.dtype) + 1e-9)
    total = sum(areas)
    areas[0], areas[3], areas[1], areas[2] = areas[3], areas[0], areas[2], areas[1]
    return sum(pred * (area / total).unsqueeze(-1) for pred, area in zip(preds, areas))


def liif_reference_render(model, lr, out_size, intervals):
    """(1, C, H, W): encoder over the whole image, then LIIF's batched querying of every output pixel."""
    import torch
    import torch.nn.functional as F

    from geossr.models.base import grid_centres

    feat = model.encoder(lr)
    b, c, h, w = feat.shape
    feat_unfold = F.unfold(feat, 3, padding=1).view(b, c * 9, h, w)
    del feat
    rows, cols = grid_centres(out_size[0], h), grid_centres(out_size[1], w)
    pos = torch.stack(torch.meshgrid(rows, cols, indexing="ij"), dim=-1).reshape(1, -1, 2).to(lr.device)
    cell = torch.tensor([h / out_size[0], w / out_size[1]], dtype=torch.float64, device=lr.device).expand_as(pos)
    bands = model.prepare_bands(intervals)
    values = [model.decode_bands(liif_query(model, feat_unfold, pos[:, s:s + LIIF_EVAL_BATCH],
                                            cell[:, s:s + LIIF_EVAL_BATCH]), bands)
              for s in range(0, pos.shape[1], LIIF_EVAL_BATCH)]
    return torch.cat(values, dim=1).permute(0, 2, 1).reshape(b, -1, *out_size)


def child_reference(p: dict) -> dict:
    import numpy as np
    import rasterio
    import torch

    import geossr.scene.upsample  # noqa: F401  (same imports as the tiled child: same baseline RSS)
    from geossr.models.checkpoint import load_checkpoint
    from geossr.spectral.sensors import load_sensor

    baseline = rss_bytes()

    def run(path, output):
        start = time.perf_counter()
        sensor = load_sensor(p["sensor"])
        intervals = torch.as_tensor(sensor.intervals_nm, dtype=torch.float32)
        model, _ = load_checkpoint(p["weights"])
        model.eval().to(p["device"])
        with rasterio.open(path) as src:
            lr = src.read().astype(np.float32)
            transform = src.transform
        height, width = lr.shape[1:]
        out_size = (math.floor(height * p["scale"] + 1e-9), math.floor(width * p["scale"] + 1e-9))
        with torch.no_grad():
            # clamped at 0 as the engine's render_tile does (reflectance is never negative)
            out = liif_reference_render(model, torch.from_numpy(lr)[None].to(p["device"]), out_size,
                                        intervals.to(p["device"]))[0].clamp_(min=0).cpu().numpy()
        profile = geotiff_profile(out_size[0], out_size[1], len(sensor))
        profile["transform"] = transform * transform.scale(1 / p["scale"])
        with rasterio.open(output, "w", **profile) as dst:
            dst.write(out)
        return time.perf_counter() - start, out_size, len(sensor)

    first_call, *_ = run(p["warm_input"], str(Path(p["output"]).with_suffix(".warm.tif")))
    reset_device_peak(p["device"])
    elapsed, out_size, bands = run(p["input"], p["output"])
    return {"seconds": elapsed, "peak_rss": peak_rss_bytes(), "baseline_rss": baseline,
            "device_peak": device_peak_bytes(p["device"]),
            "first_call_tiny_seconds": first_call, "output_size": list(out_size), "bands": bands,
            "torch_threads": torch.get_num_threads(), "query_batch": LIIF_EVAL_BATCH}


def _time(fn, repeats: int = 3, min_seconds: float = 0.0) -> float:
    """Median seconds of one call of ``fn`` (after one untimed call)."""
    fn()
    times = []
    while len(times) < repeats or sum(times) < min_seconds:
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def child_flops(p: dict) -> dict:
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np
    import rasterio
    import torch
    from rasterio.windows import Window
    from torch.utils.flop_counter import FlopCounterMode

    from geossr.device import native_cpu_precisions
    from geossr.models.checkpoint import load_checkpoint
    from geossr.scene.engine import Geometry, input_window, render_tile, torch_threads_per_task
    from geossr.scene.schedule import dask_threads
    from geossr.spectral.sensors import load_sensor

    torch.manual_seed(0)
    result = {"torch_threads": torch.get_num_threads()}

    # --- this machine's peak, same process, same threads
    peaks = {}
    n = 2048
    a, b = torch.randn(n, n), torch.randn(n, n)
    peaks["matmul 2048^2 fp32"] = 2 * n**3 / _time(lambda: a @ b, 5, 2.0)
    a16, b16 = a.bfloat16(), b.bfloat16()
    peaks["matmul 2048^2 bf16"] = 2 * n**3 / _time(lambda: a16 @ b16, 5, 2.0)
    side = 128
    conv = torch.nn.Conv2d(64, 64, 3, padding=1).eval()
    x = torch.randn(1, 64, side, side)
    conv_flops = 2 * 64 * 64 * 9 * side * side
    with torch.no_grad():
        peaks["conv3x3 64->64 fp32 NCHW"] = conv_flops / _time(lambda: conv(x), 5, 2.0)
        conv_cl, x_cl = conv.to(memory_format=torch.channels_last), x.to(memory_format=torch.channels_last)
        peaks["conv3x3 64->64 fp32 channels_last"] = conv_flops / _time(lambda: conv_cl(x_cl), 5, 2.0)
    result["peaks_flops"] = peaks
    result["bf16_peak"] = peaks["matmul 2048^2 bf16"]
    result["native_precisions"] = native_cpu_precisions()

    # --- one interior tile of the largest mosaic, exactly as the engine cuts it
    model, _ = load_checkpoint(p["weights"])
    model.eval()
    sensor = load_sensor(p["sensor"])
    intervals = sensor.intervals_nm
    intervals_t = torch.as_tensor(intervals, dtype=torch.float32)
    with rasterio.open(p["input"]) as src:
        geometry = Geometry(src.height, src.width, float(p["scale"]))
        tile = p["tile"]
        i0 = j0 = tile if geometry.out_height >= 3 * tile else 0  # interior when there is one
        bounds = (i0, min(i0 + tile, geometry.out_height), j0, min(j0 + tile, geometry.out_width))
        in_halo, out_halo = model.halo(geometry.cell)
        extended, (r0, r1, c0, c1) = input_window(geometry, bounds, in_halo, out_halo)

        def read_window():
            return src.read(window=Window(c0, r0, c1 - c0, r1 - r0)).astype(np.float32)

        t_read = _time(read_window, 5)
        window = read_window()
    result["tile"] = {"bounds": bounds, "input_window": [r0, r1, c0, c1], "output_pixels":
                      (bounds[1] - bounds[0]) * (bounds[3] - bounds[2]), "bands": len(sensor)}

    def run_tile(precision="fp32"):
        return render_tile(model, window, (r0, c0), extended, bounds, geometry, intervals, "cpu", precision)

    # Page faults per tile: freed decoder temporaries that glibc handed back to the kernel and the
    # next tile faults in again (counted over the calls _time makes, whatever their number).
    calls = []

    def counted_tile():
        calls.append(None)
        return run_tile()

    faults_before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    t_tile = _time(counted_tile, 5, 2.0)  # at least 2 s: the first calls still grow the heap
    result["page_faults_per_tile"] = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults_before) / len(calls)
    t_tile_bf16 = _time(lambda: run_tile("bf16"), 3)
    # As upsample_file runs tiles: one per dask thread at a time, torch's threads shared out between
    # them (engine.torch_threads_per_task); the matmul peak measured the same way, beside the above.
    tasks = dask_threads()
    with torch_threads_per_task(), ThreadPoolExecutor(tasks) as pool:
        result["engine_tasks"], result["engine_torch_threads"] = tasks, torch.get_num_threads()

        def per_call(fn, calls: int, min_seconds: float = 0.0) -> float:
            return _time(lambda: list(pool.map(lambda _: fn(), range(calls))), 3, min_seconds) / calls

        t_tile_engine = per_call(run_tile, 2 * tasks, 2.0)
        peaks[f"matmul 2048^2 fp32, {tasks} at a time (threads shared out)"] = 2 * n**3 / per_call(lambda: a @ b, 4 * tasks, 2.0)
    fp32_peak_name = max((k for k in peaks if "fp32" in k), key=peaks.get)
    result["fp32_peak_name"] = fp32_peak_name
    result["fp32_peak"] = peaks[fp32_peak_name]
    # The query chunk decides whether the decoder's temporaries stay in cache (implicit.CPU_QUERY_CHUNK).
    result["tile_seconds_by_query_chunk"] = {}
    for chunk in (1024, 2048, 4096, 16384):
        model.query_chunk = chunk
        result["tile_seconds_by_query_chunk"][chunk] = _time(run_tile, 3)
    model.query_chunk = None
    result["default_query_chunk"] = model.chunk_size(torch.device("cpu"))
    out = run_tile()

    with tempfile.TemporaryDirectory() as scratch:
        def write_tile():
            profile = geotiff_profile(out.shape[1], out.shape[2], out.shape[0])
            with rasterio.open(Path(scratch) / "tile.tif", "w", **profile) as dst:
                dst.write(out)

        t_write = _time(write_tile, 3)
        result["write_by_zlevel"] = {}
        for level in (1, 6):  # geossr's default (DEFLATE_LEVEL) and GDAL's
            def write_level():
                profile = {**geotiff_profile(out.shape[1], out.shape[2], out.shape[0]), "zlevel": level}
                with rasterio.open(Path(scratch) / f"tile{level}.tif", "w", **profile) as dst:
                    dst.write(out)

            result["write_by_zlevel"][level] = {"seconds": _time(write_level, 3),
                                                "bytes": (Path(scratch) / f"tile{level}.tif").stat().st_size}

    # --- FLOPs and time of one tile, stage by stage (ImplicitSuperResolver.render's steps). Each stage
    # is counted under its own FlopCounterMode (matmuls and convolutions): module names cannot tell
    # the stages apart, since the pixel MLP's first layer runs as a 3x3 convolution inside encode().
    e0, e1, f0, f1 = extended
    rows = torch.from_numpy(geometry.centres(e0, e1) - r0)
    cols = torch.from_numpy(geometry.centres(f0, f1) - c0)
    lr = torch.from_numpy(window)[None]
    lr_channels_last = lr.contiguous(memory_format=torch.channels_last)  # as encode() runs the encoder
    pos = torch.stack(torch.meshgrid(rows, cols, indexing="ij"), dim=-1).reshape(1, -1, 2)
    cells = torch.tensor(geometry.cell, dtype=torch.float64).expand_as(pos)
    chunk = model.chunk_size(torch.device("cpu"))
    starts = range(0, pos.shape[1], chunk)

    def counted(fn):
        counter = FlopCounterMode(display=False)
        with counter:
            out = fn()
        return out, counter.get_total_flops()

    with torch.no_grad():
        feat, encoder_flops = counted(lambda: model.encoder(lr_channels_last))
        codes, encode_flops = counted(lambda: model.encode(lr))
        bands, bands_flops = counted(lambda: model.prepare_bands(intervals_t))

        def pixel_all():
            return [model.pixel_features(codes, pos[:, s:s + chunk], cells[:, s:s + chunk]) for s in starts]

        pixels, query_flops = counted(pixel_all)
        _, decode_flops = counted(lambda: [model.decode_bands(px, bands) for px in pixels])
        _, total = counted(lambda: model.render(lr, rows, cols, intervals_t, geometry.cell))
        # The pixel MLP after its first layer, alone, on contiguous inputs of the same shapes, as
        # pixel_features runs it: its hidden layers on all ensemble members stacked, its last layer
        # once on the blend. The rest of the per-query stage is gathering, float64 coordinate
        # arithmetic and the blend.
        members = 4 if model.local_ensemble else 1
        hidden = model.pixel_mlp.layers[0].out_features
        body, last = model.pixel_mlp.layers[1:-1], model.pixel_mlp.layers[-1]
        mlp_in = [torch.randn(members, min(chunk, pos.shape[1] - s), hidden) for s in starts]

        def mlp_alone():
            return [last(body(z)[0]) for z in mlp_in]

        _, mlp_flops = counted(mlp_alone)
        t_mlp = _time(mlp_alone, 3)
        t_encoder = _time(lambda: model.encoder(lr_channels_last), 3)
        t_encode = _time(lambda: model.encode(lr), 3)
        t_bands = _time(lambda: model.prepare_bands(intervals_t), 3)
        t_pixel = _time(pixel_all, 3)
        t_decode = _time(lambda: [model.decode_bands(px, bands) for px in pixels], 3)
    result["encoder_channels"] = feat.shape[1]
    result["pixel_hidden"] = hidden
    code_flops = encode_flops - encoder_flops
    flops = {"total": total, "encoder": encoder_flops, "pixel decoder": code_flops + query_flops,
             "pixel decoder: first layer as a 3x3 conv per input pixel": code_flops,
             "pixel decoder: per query": query_flops, "spectral decoder": bands_flops + decode_flops}
    stages = {"read input window (rasterio)": t_read, "encoder (EDSR)": t_encoder,
              CODE_STAGE: t_encode - t_encoder,
              QUERY_STAGE: t_pixel,
              GEMM_STAGE: t_mlp,
              "spectral decoder (prepare + decode)": t_bands + t_decode,
              "write tile (rasterio, deflate)": t_write}
    stages["render_tile other (nodata fill, crop, copies)"] = max(0.0, t_tile - t_encode - t_pixel - t_bands - t_decode)
    rate = {"encoder (EDSR)": encoder_flops / t_encoder,
            CODE_STAGE: code_flops / max(t_encode - t_encoder, 1e-9),
            QUERY_STAGE: query_flops / t_pixel,
            GEMM_STAGE: mlp_flops / t_mlp,
            "spectral decoder (prepare + decode)": flops["spectral decoder"] / (t_bands + t_decode)}
    result.update({
        "flops": flops, "flops_check_render_minus_stages": total - encode_flops - query_flops - bands_flops - decode_flops,
        "tile_seconds": t_tile, "tile_seconds_bf16": t_tile_bf16, "tile_seconds_engine": t_tile_engine,
        "tile_seconds_with_io": t_tile + t_read + t_write,
        "stage_seconds": stages, "stage_flop_rate": rate,
        "achieved_flops": total / t_tile,
        "achieved_flops_engine": total / t_tile_engine,
        "achieved_flops_with_io": total / (t_tile + t_read + t_write),
        "achieved_flops_bf16": total / t_tile_bf16,
    })
    result["fraction_of_fp32_peak"] = result["achieved_flops"] / result["fp32_peak"]
    result["fraction_of_fp32_peak_engine"] = result["achieved_flops_engine"] / result["fp32_peak"]
    result["fraction_of_bf16_peak_bf16"] = result["achieved_flops_bf16"] / result["bf16_peak"]
    return result


SCHEDULERS = {
    # key: (label, dask workers or None for the threaded scheduler, torch threads per task, mmap fix);
    # "threaded-all" switches off upsample_file's sharing of the cores (torch_threads_per_task)
    "threaded": ("threaded (default: {cpus} dask threads, torch threads shared out: {shared} each)", None, None, False),
    "threaded-all": ("threaded ({cpus} dask threads, torch {threads} threads in every task)", None, None, False),
    "cluster-1": ("LocalCluster 1 worker (process, 1 thread, torch 1 thread)", 1, 1, False),
    "cluster-2": ("LocalCluster 2 workers (processes, 1 thread, torch 1 thread)", 2, 1, False),
    "cluster-1-mmap": ("LocalCluster 1 worker + MALLOC_MMAP_THRESHOLD_=64 MiB", 1, 1, True),
    "cluster-2-mmap": ("LocalCluster 2 workers + MALLOC_MMAP_THRESHOLD_=64 MiB", 2, 1, True),
}
MMAP_THRESHOLD = 64 * 2**20


def child_scheduler(p: dict) -> dict:
    """One scheduler configuration: a warm-up call on the 1x scene, then the timed call.

    distributed's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536 (its
    ``distributed.nanny.pre-spawn-environ``); setting it switches off glibc's dynamic mmap
    threshold, so every tensor above 128 KiB becomes a fresh mmap (page faults, zeroing). The
    "mmap" configurations also give the workers MALLOC_MMAP_THRESHOLD_=64 MiB, which restores reuse.
    Each configuration runs in its own process: the nanny leaves its environment behind.
    """
    import contextlib

    import dask
    import torch

    import geossr.scene.upsample
    from geossr.scene.upsample import upsample_file

    label, workers, threads, mmap_fix = SCHEDULERS[p["scheduler"]]
    if p["scheduler"] == "threaded-all":
        geossr.scene.upsample.torch_threads_per_task = contextlib.nullcontext

    def run(path, output):
        start = time.perf_counter()
        upsample_file(path, output, scale=p["scale"], sensor=p["sensor"], weights=p["weights"],
                      tile=p["tile"], device="cpu", overwrite=True)
        return time.perf_counter() - start

    def cpu_seconds() -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    out_dir = Path(p["out_dir"])
    result = {"label": label.format(cpus=dask.system.CPU_COUNT, threads=torch.get_num_threads(),
                                    shared=max(1, torch.get_num_threads() // dask.system.CPU_COUNT))}
    if workers is None:
        if threads:
            torch.set_num_threads(threads)
        run(p["warm_input"], out_dir / f"warm-{p['scheduler']}.tif")
        before = cpu_seconds()
        result["seconds"] = run(p["input"], out_dir / f"{p['scheduler']}.tif")
        result["cpu_seconds_here"], result["cpu_seconds_workers"] = cpu_seconds() - before, 0.0
        result["torch_threads"] = torch.get_num_threads()
        return result
    from distributed import Client, LocalCluster

    extra = {"distributed.nanny.pre-spawn-environ.MALLOC_MMAP_THRESHOLD_": MMAP_THRESHOLD} if mmap_fix else {}
    with dask.config.set(extra), \
            LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        client.run(torch.set_num_threads, threads)
        result["worker_torch_threads"] = sorted(set(client.run(torch.get_num_threads).values()))
        env = client.run(lambda: {k: os.environ.get(k) for k in ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_")})
        result["worker_malloc_env"] = next(iter(env.values()))
        client.run(lambda: __import__("geossr.scene.upsample"))  # every worker imports geossr and torch
        run(p["warm_input"], out_dir / f"warm-{p['scheduler']}.tif")
        workers_before, before = sum(client.run(cpu_seconds).values()), cpu_seconds()
        result["seconds"] = run(p["input"], out_dir / f"{p['scheduler']}.tif")
        # This process computes nothing but reads results, writes (deflate) and runs the scheduler.
        result["cpu_seconds_here"] = cpu_seconds() - before
        result["cpu_seconds_workers"] = sum(client.run(cpu_seconds).values()) - workers_before
    return result


def child_precision(p: dict) -> dict:
    import numpy as np
    import rasterio
    import torch

    from geossr.device import emulated_precision_warning
    from geossr.scene.upsample import upsample_file

    out_dir = Path(p["out_dir"])
    result = {}
    for precision in ("fp32", "bf16", "fp16"):
        output = out_dir / f"precision_{precision}.tif"
        try:
            times = []
            for _ in range(p["repeats"] + 1):  # the first call is a warm-up (kernel selection)
                start = time.perf_counter()
                upsample_file(p["input"], output, scale=p["scale"], sensor=p["sensor"], weights=p["weights"],
                              tile=p["tile"], precision=precision, device=p["device"], overwrite=True)
                times.append(time.perf_counter() - start)
            with rasterio.open(output) as src:
                values = src.read()
            result[precision] = {"seconds": min(times[1:]), "all_seconds": times, "output": str(output),
                                 "finite": bool(np.isfinite(values).all()), "native": emulated_precision_warning(precision, p["device"]) is None}
        except Exception as exc:  # noqa: BLE001 - reported, not hidden
            result[precision] = {"error": f"{type(exc).__name__}: {exc}"}
    with rasterio.open(result["fp32"]["output"]) as src:
        reference = src.read().astype(np.float64)
    for precision, entry in result.items():
        if "error" in entry or precision == "fp32":
            continue
        with rasterio.open(entry["output"]) as src:
            values = src.read().astype(np.float64)
        diff = values - reference
        mse = float(np.nanmean(diff**2))
        entry.update({"max_abs_error": float(np.nanmax(np.abs(diff))), "rmse": math.sqrt(mse),
                      "psnr_vs_fp32_db": 10 * math.log10(1.0 / mse) if mse > 0 else float("inf"),
                      "fp32_output_range": [float(reference.min()), float(reference.max())]})
    result["torch_threads"] = torch.get_num_threads()
    result["cpu_capability"] = torch.backends.cpu.get_cpu_capability()
    return result


CHILDREN = {"tiled": child_tiled, "reference": child_reference, "flops": child_flops,
            "scheduler": child_scheduler, "precision": child_precision}


WAIT_IDLE_SECONDS = [0.0]  # set by main(): how long to wait for other CPU load before each measurement
MONITOR: list = [None]  # the LoadMonitor of the run
OTHER_LOAD_LIMIT = 0.25  # cores other processes may use during a measurement before it is taken again
ATTEMPTS = 4


def run_child(kind: str, timeout: float = 1800, **params) -> dict:
    """Run one measurement in a fresh process; take it again when other processes loaded the CPU meanwhile."""
    for attempt in range(1, ATTEMPTS + 1):
        wait_until_idle(WAIT_IDLE_SECONDS[0])
        started = time.time()
        command = [sys.executable, str(Path(__file__).resolve()), "--child", kind, json.dumps(params)]
        proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        for line in reversed(proc.stdout.splitlines()):
            if line.startswith(RESULT_MARK):
                result = json.loads(line[len(RESULT_MARK):])
                break
        else:
            raise RuntimeError(f"{kind} measurement failed (exit {proc.returncode}):\n"
                               f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        other = MONITOR[0].max_between(started, time.time()) if MONITOR[0] else 0.0
        result.update(other_cores_during=other, attempts=attempt)
        if other <= OTHER_LOAD_LIMIT or attempt == ATTEMPTS:
            return result
        print(f"   other processes used up to {other:.2f} cores during it: measuring again", flush=True)


# --------------------------------------------------------------------------------------------
# parent: scenes, orchestration, report


def busy_processes(sample_seconds: float = 2.0, threshold: float = 25.0) -> list[str]:
    """`geossr train` jobs, and any other process using more than ``threshold`` % of a core."""
    import psutil

    mine = {os.getpid()} | {p.pid for p in psutil.Process().children(recursive=True)}
    procs = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        if proc.pid in mine:
            continue
        try:
            proc.cpu_percent(None)
            procs.append(proc)
        except psutil.Error:
            pass
    time.sleep(sample_seconds)
    found = []
    for proc in procs:
        try:
            cmdline = " ".join(proc.info["cmdline"] or [])[:160]
            usage = proc.cpu_percent(None)
        except psutil.Error:
            continue
        if "geossr train" in cmdline or usage > threshold:
            found.append(f"{proc.pid} ({usage:.0f}% CPU): {cmdline}")
    return found


class LoadMonitor:
    """Samples, every ``interval`` s, how many cores processes outside this benchmark use."""

    def __init__(self, interval: float = 2.0):
        import threading

        self.interval, self.samples, self._stop = interval, [], threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        import psutil

        known: dict[int, psutil.Process] = {}
        while not self._stop.wait(self.interval):
            mine = {os.getpid()} | {p.pid for p in psutil.Process().children(recursive=True)}
            total, top = 0.0, ("", 0.0)
            for proc in psutil.process_iter(["pid", "cmdline"]):
                if proc.pid in mine:
                    continue
                proc = known.setdefault(proc.pid, proc)
                try:
                    usage = proc.cpu_percent(None)
                except psutil.Error:
                    continue
                total += usage
                if usage > top[1]:  # (the first reading of a process is 0: no baseline yet)
                    top = (" ".join(proc.info["cmdline"] or [])[:120], usage)
            self.samples.append({"t": time.time(), "other_cores": total / 100, "top": top[0], "top_cores": top[1] / 100})

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def max_between(self, start: float, stop: float) -> float:
        """Largest load of other processes in samples covering [start, stop] (waits for the last one)."""
        deadline = time.time() + 3 * self.interval
        while (not self.samples or self.samples[-1]["t"] < stop) and time.time() < deadline:
            time.sleep(0.2)
        covering = [x["other_cores"] for x in self.samples if start < x["t"] <= stop + self.interval]
        return round(max(covering, default=0.0), 3)

    def summary(self) -> dict:
        cores = [s["other_cores"] for s in self.samples[1:]] or [0.0]  # the first sample has no baseline
        worst = max(self.samples[1:], key=lambda s: s["other_cores"], default=None)
        return {"mean_other_cores": round(statistics.mean(cores), 3), "max_other_cores": round(max(cores), 3),
                "busiest_other": worst["top"] if worst else "", "samples": len(cores)}


def wait_until_idle(limit: float) -> list[str]:
    deadline = time.time() + limit
    while (busy := busy_processes()) and time.time() < deadline:
        print(f"waiting for the machine to be idle: {busy[0]}", flush=True)
        time.sleep(15)
    return busy


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


def code_version() -> dict:
    """The commit of the geossr checkout and a hash of its sources (others may edit them meanwhile)."""
    import hashlib

    import geossr

    package = Path(geossr.__file__).parent
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(str(path.relative_to(package)).encode() + path.read_bytes())
    try:
        commit = subprocess.run(["git", "-C", str(package.parent), "rev-parse", "HEAD"], capture_output=True,
                                text=True, timeout=10).stdout.strip() or "unknown"
        dirty = subprocess.run(["git", "-C", str(package.parent), "status", "--porcelain", "--", "geossr"],
                               capture_output=True, text=True, timeout=10).stdout.strip() != ""
    except (OSError, subprocess.SubprocessError):
        commit, dirty = "unknown", None
    return {"commit": commit, "geossr_sources_modified": dirty, "sources_sha256": digest.hexdigest()[:16]}


def count_attempts(res: dict) -> dict:
    """How many measurements were taken again because other processes loaded the CPU."""
    found = []
    if "flops" in res:
        found.append(res["flops"])
    for row in res.get("throughput", []):
        found += row["tiled"]["runs"] + row["reference"]["runs"]
    for runs in res.get("scaling", {}).get("runs", {}).values():
        found += runs
    if "precision" in res:
        found.append(res["precision"])
    repeated = [r for r in found if r.get("attempts", 1) > 1]
    return {"measurements": len(found), "taken_again": len(repeated),
            "still_loaded": sum(r.get("other_cores_during", 0) > OTHER_LOAD_LIMIT for r in found)}


def machine() -> dict:
    import psutil
    import torch

    cpu = "unknown"
    flags = set()
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name") and cpu == "unknown":
                cpu = line.split(":", 1)[1].strip()
            if line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
    simd = [f for f in ("avx2", "avx512f", "avx512_bf16", "avx512_fp16", "amx_bf16", "amx_tile") if f in flags]
    return {"cpu": cpu, "cores": os.cpu_count(), "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
            "simd": simd, "torch": torch.__version__, "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "torch_threads": torch.get_num_threads(), "python": platform.python_version(),
            "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
            "os": f"{platform.system()} {platform.release()}",
            "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds")}


def fmt_rate(x: float) -> str:
    return f"{x / 1e6:.2f} M" if x >= 1e5 else f"{x / 1e3:.1f} k"


def gflops(x: float) -> str:
    return f"{x / 1e9:.1f}"


def verdict(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


def report(res: dict) -> str:
    m, cfg = res["machine"], res["config"]
    lines = ["# Scene-engine benchmark", "",
             f"- date: {m['date']}",
             f"- machine: {m['cpu']}, {m['cores']} cores, {m['ram_gib']} GiB RAM, SIMD {', '.join(m['simd'])}"
             f"{'' if 'amx_bf16' in m['simd'] else ' (no AMX)'}, {m['os']}, Python {m['python']}, torch {m['torch']} (CPU capability {m['torch_cpu_capability']}, "
             f"{m['torch_threads']} threads)"
             + (f"; GPU {m['gpu']}, the tiled engine, the reference and the precision runs on {cfg['device']}"
                if cfg.get("device", "cpu") != "cpu" else ""),
             f"- load: other busy processes at start: {res['busy_at_start'] or 'none'}; load average at start "
             f"{res['loadavg_start']}, at end {res['loadavg_end']}; CPU used by other processes during the run "
             f"(sampled every 2 s): mean {res['other_load']['mean_other_cores']:.2f} cores, max "
             f"{res['other_load']['max_other_cores']:.2f} ({res['other_load']['busiest_other'] or '-'}); by part: "
             + ", ".join(f"{k} mean {v['mean_other_cores']:.2f} / max {v['max_other_cores']:.2f}"
                         for k, v in res["other_load_by_part"].items()),
             f"- code: geossr commit {res['code']['commit'][:12]}"
             f"{' with uncommitted changes' if res['code']['geossr_sources_modified'] else ''}"
             f"{'; WARNING: geossr sources changed during the run' if res.get('code_changed_during_run') else ''}",
             f"- measurements: {res['attempts']['measurements']}, taken again because other processes loaded the CPU: "
             f"{res['attempts']['taken_again']}, still loaded after {ATTEMPTS} attempts: {res['attempts']['still_loaded']}",
             f"- model: {cfg['weights']} ({cfg['model']})",
             f"- scenes: CAVE test scenes (fake_and_real_peppers, pompoms, real_and_fake_apples) integrated to Nikon D700, "
             f"{'at their native' if cfg['base'] == CAVE_NATIVE_PX else 'reduced to'} {cfg['base']}x{cfg['base']} "
             f"input px per scene; mosaics of 1x1, 2x2, 4x4 scenes; "
             f"scale {cfg['scale']:g}, target sensor {cfg['sensor']}, tile {cfg['tile']}",
             f"- timings: end to end (model load, read, compute, write), each in a fresh process after one call on a "
             f"16x16 scene (one-time initialisation not timed), best of "
             f"{cfg['repeats']} (peak RSS: the largest of the repeats); runtime of the benchmark {res['elapsed_s']:.0f} s",
             ""]

    # 1. throughput and memory
    if "throughput" in res:
        lines += ["## 1. Tiled engine vs whole-image reference", "",
                  "Throughput in output pixels x bands per second. Peak RSS is the process's (`getrusage`), "
                  "including the Python/torch/GDAL baseline after imports (given in brackets as 'above baseline').", "",
                  "| mosaic | input px | output px x bands | tiled s | reference s | tiled throughput | reference throughput "
                  "| throughput ratio tiled/ref | tiled peak RSS MiB (above baseline) | reference peak RSS MiB (above baseline) "
                  "| memory ratio tiled/ref | max abs diff tiled vs ref |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for row in res["throughput"]:
            t, r = row["tiled"], row["reference"]
            lines.append(
                f"| {row['size']}x | {row['input_size'][0]}x{row['input_size'][1]} | {row['output_size'][0]}x{row['output_size'][1]}x{row['bands']} "
                f"| {t['seconds']:.2f} | {r['seconds']:.2f} | {fmt_rate(t['throughput'])} | {fmt_rate(r['throughput'])} "
                f"| {row['throughput_ratio']:.2f} | {mib(t['peak_rss']):.0f} ({mib(t['peak_rss'] - t['baseline_rss']):.0f}) "
                f"| {mib(r['peak_rss']):.0f} ({mib(r['peak_rss'] - r['baseline_rss']):.0f}) | {row['memory_ratio']:.2f} "
                f"| {row['max_abs_diff']:.1e} |")
        if res["throughput"][0]["tiled"].get("device_peak") is not None:
            lines += ["", "GPU memory (`torch.cuda.max_memory_allocated`, the timed call): " + "; ".join(
                f"{row['size']}x tiled {mib(row['tiled']['device_peak']):.0f} MiB, reference "
                f"{mib(row['reference']['device_peak']):.0f} MiB ({row['tiled']['device_peak'] / row['reference']['device_peak']:.2f})"
                for row in res["throughput"])]
        s = res["summary"]
        lines += ["",
                  f"- tiled throughput >= 3x the reference at the largest size: {s['throughput_ratio_largest']:.2f}x, "
                  f"{verdict(s['throughput_target_met'])}",
                  f"- tiled peak RSS <= 1/10 of the reference at the largest size: {s['memory_ratio_largest']:.2f} "
                  f"(above baseline: {s['memory_ratio_largest_above_baseline']:.2f}), {verdict(s['memory_target_met'])}",
                  f"- tiled peak RSS growth 1x -> 16x <= 1.2x: {s['tiled_rss_growth']:.2f}x "
                  f"(above baseline: {s['tiled_rss_growth_above_baseline']:.2f}x), {verdict(s['rss_growth_target_met'])}",
                  ""]

    # 2. FLOP rate
    if "flops" in res:
        f = res["flops"]
        tile = f["tile"]
        lines += ["## 2. Achieved FLOP rate vs this machine's peak", "",
                  "Peak measured in the same process with torch's default threads "
                  f"({f['torch_threads']}), and as the engine shares them between tiles:", "", "| kernel | GFLOP/s |", "|---|---|"]
        emulated = {k for k, native in f.get("native_precisions", {}).items() if not native}
        lines += [f"| {k}{' (no native bf16 on this CPU: emulated)' if 'bf16' in emulated and 'bf16' in k else ''} "
                  f"| {gflops(v)} |" for k, v in f["peaks_flops"].items()]
        lines += ["",
                  f"One interior tile: output {tile['bounds']}, input window {tile['input_window']} "
                  f"({tile['output_pixels']} output px x {tile['bands']} bands); FLOPs counted by FlopCounterMode "
                  f"(matmuls and convolutions), each stage under its own counter: {f['flops']['total'] / 1e9:.2f} GFLOP "
                  f"(encoder {f['flops']['encoder'] / 1e9:.2f}, pixel decoder {f['flops']['pixel decoder'] / 1e9:.2f} = "
                  f"first layer as a 3x3 conv per input pixel "
                  f"{f['flops']['pixel decoder: first layer as a 3x3 conv per input pixel'] / 1e9:.2f} + per query "
                  f"{f['flops']['pixel decoder: per query'] / 1e9:.2f}, spectral decoder "
                  f"{f['flops']['spectral decoder'] / 1e9:.3f}; render() counted whole minus the stages: "
                  f"{f['flops_check_render_minus_stages'] / 1e9:.3f}).", "",
                  f"- fp32 `render_tile` as `upsample_file` runs it ({f['engine_tasks']} tiles at a time, "
                  f"{f['engine_torch_threads']} torch thread(s) each): {f['tile_seconds_engine']:.3f} s per tile -> "
                  f"{gflops(f['achieved_flops_engine'])} GFLOP/s = **{f['fraction_of_fp32_peak_engine']:.2f} of the fp32 "
                  f"peak** (the highest above: {f['fp32_peak_name']}); target >= 0.5: "
                  f"{verdict(f['fraction_of_fp32_peak_engine'] >= 0.5)}",
                  f"- fp32 `render_tile`, one tile alone with all {f['torch_threads']} threads: {f['tile_seconds']:.3f} s -> "
                  f"{gflops(f['achieved_flops'])} GFLOP/s = {f['fraction_of_fp32_peak']:.2f} of that peak; "
                  f"{f['page_faults_per_tile']:.0f} page faults per tile",
                  f"- with the tile's read and write: {f['tile_seconds_with_io']:.3f} s -> {gflops(f['achieved_flops_with_io'])} GFLOP/s",
                  f"- bf16 autocast `render_tile`: {f['tile_seconds_bf16']:.3f} s -> {gflops(f['achieved_flops_bf16'])} GFLOP/s "
                  + (f"= {f['fraction_of_bf16_peak_bf16']:.2f} of the bf16 matmul peak" if "bf16" not in emulated else
                     f"({f['tile_seconds_bf16'] / f['tile_seconds']:.1f}x the fp32 tile's time: this CPU has no native "
                     "bf16 kernels, torch emulates them)"), "",
                  "fp32 `render_tile` by queries per chunk (the decoder's temporaries grow with the chunk; default "
                  f"on a CPU: {f['default_query_chunk']}): "
                  + ", ".join(f"{chunk}: {sec:.3f} s" for chunk, sec in f["tile_seconds_by_query_chunk"].items()), "",
                  "Deflate level of the tile's write (raw "
                  f"{4 * tile['output_pixels'] * tile['bands'] / 2**20:.1f} MiB): "
                  + ", ".join(f"zlib level {level}: {w['seconds']:.3f} s, {w['bytes'] / 2**20:.2f} MiB"
                              for level, w in f["write_by_zlevel"].items()), "",
                  "Where one tile's time goes (each stage timed separately, median of 3):", "",
                  "| stage | s | share of tile + I/O | GFLOP/s |", "|---|---|---|---|"]
        whole = f["tile_seconds_with_io"]
        for stage, seconds in f["stage_seconds"].items():
            rate = f["stage_flop_rate"].get(stage)
            lines.append(f"| {stage} | {seconds:.3f} | {seconds / whole:.0%} | {gflops(rate) if rate else ''} |")
        lines.append("")

    # 3. scaling
    if "scaling" in res:
        sc = res["scaling"]
        best = sc["best_seconds"]
        lines += ["## 3. dask schedulers on the 4x mosaic", "",
                  f"upsample_file on the {sc['input_size'][0]}x{sc['input_size'][1]} mosaic ({sc['output_px_bands']:,} output px x bands); "
                  f"each configuration in its own process, best of {cfg['repeats']} interleaved rounds, timed after a warm-up "
                  "call on the 1x scene (cluster start-up not timed).", "",
                  "| scheduler | s | throughput | speed-up vs LocalCluster 1 worker | CPU s in this process | CPU s in workers |",
                  "|---|---|---|---|---|---|"]
        for key, seconds in best.items():
            fastest = min(sc["runs"][key], key=lambda r: r["seconds"])
            lines.append(f"| {sc['labels'][key]} | {seconds:.2f} | {fmt_rate(sc['output_px_bands'] / seconds)} | "
                         f"{best['cluster-1'] / seconds:.2f} | {fastest['cpu_seconds_here']:.2f} | "
                         f"{fastest['cpu_seconds_workers']:.2f} |")
        env = {key: runs[0].get("worker_malloc_env") for key, runs in sc["runs"].items() if runs[0].get("worker_malloc_env")}
        lines += ["", f"- 2 vs 1 workers, as distributed starts them: {sc['speedup_2_vs_1']:.2f}x; target >= 1.7x: "
                      f"{verdict(sc['speedup_2_vs_1'] >= 1.7)}",
                  f"- 2 vs 1 workers, both with MALLOC_MMAP_THRESHOLD_=64 MiB: {sc['speedup_2_vs_1_mmap']:.2f}x "
                  f"({verdict(sc['speedup_2_vs_1_mmap'] >= 1.7)} with that setting); the setting alone makes 1 worker "
                  f"{sc['mmap_fix_speedup_1_worker']:.2f}x and 2 workers {sc['mmap_fix_speedup_2_workers']:.2f}x faster; "
                  f"2 workers with it vs 1 worker as distributed starts it: {best['cluster-1'] / best['cluster-2-mmap']:.2f}x",
                  f"- the CPU a run needs bounds it on {sc['cores']} cores: 2 workers need the CPU time of their work "
                  f"plus this process's (reading results, deflate writes, the scheduler), which the 1-worker run gets "
                  f"on an otherwise idle core; with the CPU the fastest 2-worker runs used, 2 vs 1 workers can reach at "
                  f"most {sc['speedup_bound_2_vs_1']:.2f}x as distributed starts them and "
                  f"{sc['speedup_bound_2_vs_1_mmap']:.2f}x with the setting",
                  "- worker environment (checked inside the workers): "
                  + "; ".join(f"{key}: {value}" for key, value in env.items()),
                  ""]

    # 4. precision
    if "precision" in res:
        pr = res["precision"]
        lines += ["## 4. Precision (autocast) on the 1x scene", "",
                  f"upsample_file, {pr['output_px_bands']:,} output px x bands, best of {cfg['repeats']} after a warm-up; "
                  "errors vs the fp32 output; PSNR of the difference with peak 1.0 (reflectance).", "",
                  "| precision | s | speed vs fp32 | max abs error | RMSE | PSNR vs fp32 (dB) | note |", "|---|---|---|---|---|---|---|"]
        for precision in ("fp32", "bf16", "fp16"):
            e = pr[precision]
            if "error" in e:
                lines.append(f"| {precision} | | | | | | failed: {e['error']} |")
                continue
            speed = pr["fp32"]["seconds"] / e["seconds"]
            err = ("| 0 | 0 | reference" if precision == "fp32" else
                   f"| {e['max_abs_error']:.2e} | {e['rmse']:.2e} | {e['psnr_vs_fp32_db']:.1f}")
            notes = ([] if e["finite"] else ["non-finite values"]) + (
                [] if e.get("native", True) else ["no native kernels on this hardware: emulated (geossr upsample warns)"])
            lines.append(f"| {precision} | {e['seconds']:.2f} | {speed:.2f}x {err} | {'; '.join(notes)} |")
        lines.append("")
    if res.get("findings"):
        lines += ["## Findings", ""] + [f"- {x}" for x in res["findings"]] + [""]
    return "\n".join(lines)


def derive_findings(res: dict) -> list[str]:
    """Statements that follow from the numbers of this run (no hand-entered values)."""
    out = []
    f = res.get("flops")
    if f:
        st, whole = f["stage_seconds"], f["tile_seconds_with_io"]
        query = st[QUERY_STAGE]
        gemm = st[GEMM_STAGE]
        code = st[CODE_STAGE]
        rate = f["stage_flop_rate"]
        out.append(
            f"Where a tile's time goes (with its read and write): encoder {st['encoder (EDSR)'] / whole:.0%}, the pixel "
            f"decoder's first layer as a convolution {code / whole:.0%}, the per-query pixel decoder {query / whole:.0%}, "
            f"the spectral decoder {st['spectral decoder (prepare + decode)'] / whole:.0%}, read + write "
            f"{(st['read input window (rasterio)'] + st['write tile (rasterio, deflate)']) / whole:.0%}. Inside the "
            f"per-query decoder the MLP's GEMMs on contiguous inputs of the same shapes take {gemm / query:.0%} of its "
            f"time, at {rate[GEMM_STAGE] / f['fp32_peak']:.0%} "
            f"of the fp32 peak ({f['pixel_hidden']}-wide layers are small GEMMs for this CPU); the other "
            f"{1 - gemm / query:.0%} is gathering codes, float64 coordinate arithmetic and the 4-way blend. The "
            f"encoder's convolutions run at {rate['encoder (EDSR)'] / f['fp32_peak']:.0%} of the peak.")
    rows = res.get("throughput")
    if rows and len(rows) >= 2:
        first, last = rows[0], rows[-1]
        r0, r1 = first["reference"], last["reference"]
        slope = (r1["peak_rss"] - r0["peak_rss"]) / (last["size"] - first["size"])
        tiled = max(r["tiled"]["peak_rss"] for r in rows)
        if slope > 0:
            need = (10 * tiled - (r0["peak_rss"] - slope * first["size"])) / slope
            out.append(
                f"Memory: the reference grows by {mib(slope):.0f} MiB per base-scene area, the tiled engine stays at "
                f"{mib(tiled):.0f} MiB (of which ~{mib(last['tiled']['baseline_rss']):.0f} MiB is the interpreter with "
                f"torch, dask and GDAL loaded). Extrapolating linearly, the <= 1/10 peak-RSS target would be reached "
                f"only from about {need:.0f}x the base-scene area.")
    if f and rows:
        last = rows[-1]
        tiles = math.ceil(last["output_size"][0] / res["config"]["tile"]) * math.ceil(last["output_size"][1] / res["config"]["tile"])
        writing = tiles * f["stage_seconds"]["write tile (rasterio, deflate)"]
        out.append(
            f"Writes: one tile's deflate write takes {f['stage_seconds']['write tile (rasterio, deflate)']:.3f} s, "
            f"about {writing:.1f} s for the {tiles} tiles of the largest mosaic ({writing / last['tiled']['seconds']:.0%} "
            f"of its {last['tiled']['seconds']:.1f} s). The engine's writer thread (geossr.scene.io) compresses and "
            "writes one batch while the next is computed, so this overlaps compute rather than adding to it; on 2 "
            "cores it still takes CPU time from the model.")
    if rows:
        first_tiled = statistics.median(r["first_call_tiny_seconds"] for row in rows for r in row["tiled"]["runs"])
        first_ref = statistics.median(r["first_call_tiny_seconds"] for row in rows for r in row["reference"]["runs"])
        out.append(
            f"One-time cost: the first upsample_file call in a process, on a 16x16 scene, takes {first_tiled:.2f} s "
            f"(the whole-image path on the same scene: {first_ref:.2f} s), mostly modules that dask, xarray and "
            "rioxarray import lazily on first use"
            + (" (compiled from source on this machine: PYTHONDONTWRITEBYTECODE is set)"
               if os.environ.get("PYTHONDONTWRITEBYTECODE") else "")
            + "; it is excluded from the timings above, and paid once per `geossr upsample` process.")
    sc = res.get("scaling")
    if sc:
        best = sc["best_seconds"]
        out.append(
            f"Threaded scheduler: {best['threaded']:.2f} s with the cores shared out between dask's tasks "
            f"(upsample_file's default) vs {best['threaded-all']:.2f} s with torch's default threads in every task "
            f"({best['threaded-all'] / best['threaded']:.2f}x).")
        out.append(
            "LocalCluster workers: distributed starts every worker with MALLOC_TRIM_THRESHOLD_=65536 "
            "(distributed.nanny.pre-spawn-environ), which turns off glibc's dynamic mmap threshold, so each of the "
            "decoder's large temporaries is a fresh mmap (page faults, zeroing). With MALLOC_MMAP_THRESHOLD_=64 MiB "
            f"added, 1 worker is {sc['mmap_fix_speedup_1_worker']:.2f}x and 2 workers {sc['mmap_fix_speedup_2_workers']:.2f}x "
            f"faster; 2 vs 1 workers: {sc['speedup_2_vs_1_mmap']:.2f}x with it, {sc['speedup_2_vs_1']:.2f}x without. "
            f"The best cluster ({min(best['cluster-2'], best['cluster-2-mmap']):.2f} s) is still slower than the threaded "
            f"scheduler ({best['threaded']:.2f} s) on one machine.")
    return out


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--child":  # one measurement, in a fresh process
        emit(CHILDREN[sys.argv[2]](json.loads(sys.argv[3])))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", type=Path, default=None,
                        help="SSIF checkpoint (default: the shipped weights geossr upsample takes for Nikon D700 input)")
    parser.add_argument("--data", type=Path, default=Path("../shared/data"), help="shared data root (holds cave/)")
    parser.add_argument("--base", type=int, default=256,
                        help="input pixels per side of one base scene (256: the 16x mosaic takes ~1 min on 2 cores)")
    parser.add_argument("--scale", type=float, default=2.0)
    parser.add_argument("--sensor", default="grid:400:700:31", help="target bands")
    parser.add_argument("--tile", type=int, default=256, help="engine tile (output px); 256 is upsample_file's default")
    parser.add_argument("--repeats", type=int, default=2, help="timed repeats per measurement (best is reported)")
    parser.add_argument("--parts", default="flops,throughput,scaling,precision")
    parser.add_argument("--device", default="cpu",
                        help="cpu, cuda[:N] or auto: where parts 1 and 4 compute (parts 2 and 3 measure the CPU: cpu only)")
    parser.add_argument("--wait-idle", type=float, default=900, help="seconds to wait, before each measurement, for other CPU load (e.g. `geossr train`) to end")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/engine"))
    args = parser.parse_args()
    args.weights = args.weights or default_weights()
    if not args.weights.is_file():
        parser.error(f"weights not found: {args.weights}")
    from geossr.device import resolve_device
    from geossr.errors import GeossrError

    try:
        args.device = resolve_device(args.device)  # "auto" becomes the device the children use
    except GeossrError as exc:
        parser.error(str(exc))
    parts = set(args.parts.split(","))
    if args.device != "cpu" and parts & {"flops", "scaling"}:
        print(f"parts flops and scaling measure the CPU: left out with --device {args.device}", flush=True)
        parts -= {"flops", "scaling"}
    WAIT_IDLE_SECONDS[0] = args.wait_idle
    busy = wait_until_idle(args.wait_idle)
    if busy:
        print(f"WARNING: still running, numbers will be noisy: {busy}", flush=True)
    started = time.perf_counter()
    res = {"machine": machine(), "busy_at_start": busy, "loadavg_start": [round(x, 2) for x in os.getloadavg()]}
    card = json.loads(args.weights.with_suffix(".json").read_text())
    model_cfg = {k: v for k, v in card["model"].items() if k != "input_sensor"}
    res["config"] = {"weights": str(args.weights), "model": json.dumps(model_cfg), "base": args.base, "scale": args.scale,
                     "sensor": args.sensor, "tile": args.tile, "repeats": args.repeats, "data": str(args.data),
                     "device": args.device}
    common = {"weights": str(args.weights.resolve()), "scale": args.scale, "sensor": args.sensor, "tile": args.tile,
              "device": args.device}
    res["code"] = code_version()
    sections = {}
    monitor = LoadMonitor().__enter__()
    MONITOR[0] = monitor
    with tempfile.TemporaryDirectory(prefix="geossr-engine-bench-") as tmp:
        tmp = Path(tmp)
        scenes = build_scenes(args.data, args.base, SIZES, tmp)
        print("scenes:", ", ".join(p.name for p in scenes.values()), flush=True)
        common["warm_input"] = str(scenes["warm"])

        if "flops" in parts:
            print("2. FLOP rate ...", flush=True)
            sections["flops"] = [time.time()]
            res["flops"] = run_child("flops", input=str(scenes[SIZES[-1]]), **common)
            sections["flops"].append(time.time())

        if "throughput" in parts:
            samples = {(size, kind): [] for size in SIZES for kind in ("tiled", "reference")}
            sections["throughput"] = [time.time()]
            for repeat in range(args.repeats):
                for size in SIZES:
                    for kind in ("tiled", "reference"):
                        print(f"1. {kind} {size}x (round {repeat + 1}) ...", flush=True)
                        samples[size, kind].append(run_child(
                            kind, input=str(scenes[size]), output=str(tmp / f"{kind}_{size}x.tif"), **common))
            sections["throughput"].append(time.time())
            import numpy as np
            import rasterio

            rows = []
            for size in SIZES:
                row = {"size": size}
                for kind in ("tiled", "reference"):
                    runs = samples[size, kind]
                    best = min(runs, key=lambda r: r["seconds"])
                    px_bands = best["output_size"][0] * best["output_size"][1] * best["bands"]
                    row[kind] = {**best, "peak_rss": max(r["peak_rss"] for r in runs),
                                 "baseline_rss": min(r["baseline_rss"] for r in runs),
                                 "all_seconds": [r["seconds"] for r in runs], "all_peak_rss": [r["peak_rss"] for r in runs],
                                 "throughput": px_bands / best["seconds"], "runs": runs}
                with rasterio.open(tmp / f"tiled_{size}x.tif") as a, rasterio.open(tmp / f"reference_{size}x.tif") as b:
                    row["max_abs_diff"] = float(np.nanmax(np.abs(a.read() - b.read())))
                    with rasterio.open(scenes[size]) as src:
                        row["input_size"] = [src.height, src.width]
                row["output_size"], row["bands"] = row["tiled"]["output_size"], row["tiled"]["bands"]
                row["throughput_ratio"] = row["tiled"]["throughput"] / row["reference"]["throughput"]
                row["memory_ratio"] = row["tiled"]["peak_rss"] / row["reference"]["peak_rss"]
                row["memory_ratio_above_baseline"] = ((row["tiled"]["peak_rss"] - row["tiled"]["baseline_rss"])
                                                      / (row["reference"]["peak_rss"] - row["reference"]["baseline_rss"]))
                rows.append(row)
            res["throughput"] = rows
            first, last = rows[0], rows[-1]
            growth = last["tiled"]["peak_rss"] / first["tiled"]["peak_rss"]
            growth_above = ((last["tiled"]["peak_rss"] - last["tiled"]["baseline_rss"])
                            / (first["tiled"]["peak_rss"] - first["tiled"]["baseline_rss"]))
            res["summary"] = {
                "throughput_ratio_largest": last["throughput_ratio"], "throughput_target_met": last["throughput_ratio"] >= 3,
                "memory_ratio_largest": last["memory_ratio"],
                "memory_ratio_largest_above_baseline": last["memory_ratio_above_baseline"],
                "memory_target_met": last["memory_ratio"] <= 0.1,
                "tiled_rss_growth": growth, "tiled_rss_growth_above_baseline": growth_above,
                "rss_growth_target_met": growth <= 1.2,
            }

        if "scaling" in parts:
            print("3. schedulers ...", flush=True)
            sections["scaling"] = [time.time()]
            out_dir = tmp / "scaling"
            out_dir.mkdir()
            runs = {key: [] for key in SCHEDULERS}
            for repeat in range(args.repeats):  # interleaved rounds: drift hits every configuration alike
                for key in SCHEDULERS:
                    print(f"3. {key} (round {repeat + 1}) ...", flush=True)
                    runs[key].append(run_child("scheduler", scheduler=key, input=str(scenes[4]), out_dir=str(out_dir),
                                               **{**common, "warm_input": str(scenes[1])}))
            import rasterio

            with rasterio.open(scenes[4]) as src:
                input_size = [src.height, src.width]
            with rasterio.open(out_dir / "cluster-2.tif") as dst:
                px_bands = dst.height * dst.width * dst.count
            best = {key: min(r["seconds"] for r in rs) for key, rs in runs.items()}
            sc = {"input_size": input_size, "output_px_bands": px_bands, "runs": runs, "best_seconds": best,
                  "labels": {key: rs[0]["label"] for key, rs in runs.items()},
                  "speedup_2_vs_1": best["cluster-1"] / best["cluster-2"],
                  "speedup_2_vs_1_mmap": best["cluster-1-mmap"] / best["cluster-2-mmap"],
                  "mmap_fix_speedup_1_worker": best["cluster-1"] / best["cluster-1-mmap"],
                  "mmap_fix_speedup_2_workers": best["cluster-2"] / best["cluster-2-mmap"], "cores": os.cpu_count()}
            for suffix in ("", "-mmap"):
                two = min(runs[f"cluster-2{suffix}"], key=lambda r: r["seconds"])
                fastest_possible = (two["cpu_seconds_here"] + two["cpu_seconds_workers"]) / sc["cores"]
                sc[f"speedup_bound_2_vs_1{suffix.replace('-', '_')}"] = best[f"cluster-1{suffix}"] / fastest_possible
            sections["scaling"].append(time.time())
            res["scaling"] = sc

        if "precision" in parts:
            print("4. precision ...", flush=True)
            sections["precision"] = [time.time()]
            out_dir = tmp / "precision"
            out_dir.mkdir()
            pr = run_child("precision", input=str(scenes[1]), out_dir=str(out_dir), repeats=args.repeats, **common)
            import rasterio

            with rasterio.open(pr["fp32"]["output"]) as dst:
                pr["output_px_bands"] = dst.height * dst.width * dst.count
            sections["precision"].append(time.time())
            res["precision"] = pr

    res["elapsed_s"] = time.perf_counter() - started
    monitor.__exit__(None, None, None)
    res["other_load"] = monitor.summary()
    res["other_load_by_part"] = {}
    for part, (t0, t1) in sections.items():
        cores = [x["other_cores"] for x in monitor.samples[1:] if t0 <= x["t"] <= t1] or [0.0]
        res["other_load_by_part"][part] = {"mean_other_cores": round(statistics.mean(cores), 3),
                                           "max_other_cores": round(max(cores), 3)}
    res["other_load_samples"] = monitor.samples
    res["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    res["code_at_end"] = code_version()
    res["code_changed_during_run"] = res["code_at_end"]["sources_sha256"] != res["code"]["sources_sha256"]
    res["attempts"] = count_attempts(res)
    res["findings"] = derive_findings(res)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(res, indent=2, default=str))
    args.out.with_suffix(".md").write_text(report(res))
    print(report(res))
    print(f"written: {args.out.with_suffix('.json')}, {args.out.with_suffix('.md')}")


if __name__ == "__main__":
    main()
