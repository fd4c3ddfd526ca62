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
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from engine_bench.children import CHILDREN, SCHEDULERS
from engine_bench.common import emit
from engine_bench.context import code_version, machine
from engine_bench.load import LoadMonitor, wait_until_idle
from engine_bench.report import derive_findings, report
from engine_bench.runner import RunSettings, count_attempts, run_child
from engine_bench.scenes import build_scenes, default_weights

SIZES = (1, 4, 16)


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
    # stopped however the measurements end, so its thread never outlives them
    with LoadMonitor() as monitor:
        settings = RunSettings(args.wait_idle, monitor)
        with tempfile.TemporaryDirectory(prefix="geossr-engine-bench-") as tmp:
            tmp = Path(tmp)
            scenes = build_scenes(args.data, args.base, SIZES, tmp)
            print("scenes:", ", ".join(p.name for p in scenes.values()), flush=True)
            common["warm_input"] = str(scenes["warm"])

            if "flops" in parts:
                print("2. FLOP rate ...", flush=True)
                sections["flops"] = [time.time()]
                res["flops"] = run_child("flops", settings, input=str(scenes[SIZES[-1]]), **common)
                sections["flops"].append(time.time())

            if "throughput" in parts:
                samples = {(size, kind): [] for size in SIZES for kind in ("tiled", "reference")}
                sections["throughput"] = [time.time()]
                for repeat in range(args.repeats):
                    for size in SIZES:
                        for kind in ("tiled", "reference"):
                            print(f"1. {kind} {size}x (round {repeat + 1}) ...", flush=True)
                            samples[size, kind].append(run_child(
                                kind, settings, input=str(scenes[size]), output=str(tmp / f"{kind}_{size}x.tif"), **common))
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
                                     "all_seconds": [r["seconds"] for r in runs],
                                     "all_peak_rss": [r["peak_rss"] for r in runs],
                                     "throughput": px_bands / best["seconds"], "runs": runs}
                    with rasterio.open(tmp / f"tiled_{size}x.tif") as a, rasterio.open(tmp / f"reference_{size}x.tif") as b:
                        row["max_abs_diff"] = float(np.nanmax(np.abs(a.read() - b.read())))
                        with rasterio.open(scenes[size]) as src:
                            row["input_size"] = [src.height, src.width]
                    row["output_size"], row["bands"] = row["tiled"]["output_size"], row["tiled"]["bands"]
                    row["throughput_ratio"] = row["tiled"]["throughput"] / row["reference"]["throughput"]
                    row["memory_ratio"] = row["tiled"]["peak_rss"] / row["reference"]["peak_rss"]
                    tiled, reference = row["tiled"], row["reference"]
                    row["memory_ratio_above_baseline"] = ((tiled["peak_rss"] - tiled["baseline_rss"])
                                                          / (reference["peak_rss"] - reference["baseline_rss"]))
                    rows.append(row)
                res["throughput"] = rows
                first, last = rows[0], rows[-1]
                growth = last["tiled"]["peak_rss"] / first["tiled"]["peak_rss"]
                growth_above = ((last["tiled"]["peak_rss"] - last["tiled"]["baseline_rss"])
                                / (first["tiled"]["peak_rss"] - first["tiled"]["baseline_rss"]))
                res["summary"] = {
                    "throughput_ratio_largest": last["throughput_ratio"],
                    "throughput_target_met": last["throughput_ratio"] >= 3,
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
                        runs[key].append(run_child("scheduler", settings, scheduler=key, input=str(scenes[4]),
                                                   out_dir=str(out_dir), **{**common, "warm_input": str(scenes[1])}))
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
                pr = run_child("precision", settings, input=str(scenes[1]), out_dir=str(out_dir), repeats=args.repeats,
                               **common)
                import rasterio

                with rasterio.open(pr["fp32"]["output"]) as dst:
                    pr["output_px_bands"] = dst.height * dst.width * dst.count
                sections["precision"].append(time.time())
                res["precision"] = pr

        res["elapsed_s"] = time.perf_counter() - started
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
    text = report(res)
    args.out.with_suffix(".md").write_text(text)
    print(text)
    print(f"written: {args.out.with_suffix('.json')}, {args.out.with_suffix('.md')}")


if __name__ == "__main__":
    main()
