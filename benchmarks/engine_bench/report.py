"""The markdown report of a run and the findings derived from its numbers."""

from __future__ import annotations

import math
import os
import statistics

from .common import CODE_STAGE, GEMM_STAGE, QUERY_STAGE
from .runner import ATTEMPTS

CAVE_NATIVE_PX = 512  # side of a CAVE scene; --base 512 mosaics the scenes unreduced


def mib(n: float) -> float:
    return n / 2**20


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
