"""The measurements, one per child process (``engine.py --child KIND PARAMS``), and what only they use."""

from __future__ import annotations

import math
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path

from .common import CODE_STAGE, GEMM_STAGE, QUERY_STAGE


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


def geotiff_profile(height: int, width: int, count: int) -> dict:
    """The profile write_raster uses for float32 output (deflate, predictor 3, 256 tiles)."""
    from geossr.scene.io import DEFLATE_LEVEL

    block = 256 if min(height, width) >= 256 else 16 * max(1, min(height, width) // 16)
    return {"driver": "GTiff", "width": width, "height": height, "count": count, "dtype": "float32",
            "nodata": float("nan"), "compress": "deflate", "zlevel": DEFLATE_LEVEL, "predictor": 3,
            "interleave": "band", "tiled": True, "blockxsize": block, "blockysize": block, "BIGTIFF": "IF_SAFER"}


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

    from geossr.models.checkpoint import load_checkpoint
    from geossr.spectral.sensors import load_sensor

    __import__("geossr.scene.upsample")  # the tiled child's imports too: the same baseline RSS

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
    from geossr.scene import engine
    from geossr.scene.engine import Geometry, render_tile, torch_threads_per_task
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
        planned = geometry.tile(engine.Window(i0, min(i0 + tile, geometry.out_height), j0,
                                              min(j0 + tile, geometry.out_width)), *model.halo(geometry.cell))
        r0, r1, c0, c1 = (planned.source.row0, planned.source.row1, planned.source.col0, planned.source.col1)

        def read_window():
            return src.read(window=Window(c0, r0, c1 - c0, r1 - r0)).astype(np.float32)

        t_read = _time(read_window, 5)
        window = read_window()
    out = planned.output
    result["tile"] = {"bounds": [out.row0, out.row1, out.col0, out.col1], "input_window": [r0, r1, c0, c1],
                      "output_pixels": out.shape[0] * out.shape[1], "bands": len(sensor)}

    def run_tile(precision="fp32"):
        return render_tile(model, window, planned, geometry, intervals, "cpu", precision)

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
    rendered = planned.rendered
    rows = torch.from_numpy(geometry.centres(rendered.row0, rendered.row1) - r0)
    cols = torch.from_numpy(geometry.centres(rendered.col0, rendered.col1) - c0)
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
