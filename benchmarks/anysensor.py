"""The any-sensor SSIF (ssif-any) against the sensor-specific SSIF and bicubic, and on real satellite scenes.

    python benchmarks/anysensor.py --data ../shared/data --out benchmarks/results/anysensor --seeds 0 1

Part 1, held-out hyperspectral scenes: the real ROSIS crop abu-beach-4 (never trained on) with the
shipped models, and leave-one-scene-out over the two airborne scenes the shipped models
train on — Jasper Ridge scored with models trained on SAMSON and not Jasper Ridge, and vice versa
(the shipped configs without that scene; the any-sensor config's CAVE group stays), with each
seed of --seeds; trained into --folds on the first run, about 35 min on 2 CPU cores per seed. The
two configs must share their steps and learning-rate schedule (checked). For each
input sensor — IKONOS B/G/R/NIR, Sentinel-2 B02/B03/B04/B08, Nikon D700 (all three seen in
training) and Landsat 8 OLI B2-B5 (left out of training) — the input is simulated from the cube
through the sensor's response and downsampled p times; the target is the cube in 102 contiguous
bands (ROSIS: over its 430-860 nm; Jasper Ridge and SAMSON: over the trained range). Scored: the
any-sensor model, the IKONOS model of the same scenes, architecture, budget and schedule (on its
own sensor, and — as one would use it without an any-sensor model — on the blue/green/red/NIR of
Sentinel-2 and Landsat 8) and bicubic + linear spectral interpolation, at p = 2 and 4: PSNR /
SSIM / SAM; also the any-sensor output and the bicubic baseline each projected onto the input
(geossr.forward.consistency.project_to_input, what `--consistency` does), since the projection raises any
output that does not re-integrate to its input, the baseline's too. Beside the scores over all target
bands, PSNR and SSIM over the target bands inside the input sensor's span (its lowest to highest band
edge, centre ± FWHM/2): outside it (ROSIS's 430-452 nm below Landsat 8's B2) every method extrapolates.

ROSIS stops at 860 nm while the Sentinel-2 B08 and Landsat 8 B5 responses reach further (27 % and
65 % of their response beyond 860 nm): those two bands are simulated from the part of their
response inside 430-860 nm (the integration renormalises over the covered part, i.e. takes the
spectrum beyond 860 nm equal to its weighted mean inside). This is stated in the report.

Part 2, real georeferenced scenes with no hyperspectral truth (Sentinel-2 L2A patch, Landsat 8 SR
crop): `geossr upsample` (the CLI, default model choice) at scale 1 and 2 to the ROSIS bands, then
physical consistency: the output re-integrated through the input sensor's responses
(geossr.forward.consistency) against the input, per input band. The ROSIS bands cover S2 B08 and L8 B5
only partly (see above), so the consistency of those bands is measured on a second output over the
airborne training scenes' range (grid:404:890:54). Quicklook and spectrum PNGs (at p = 1 and 2) for
a vegetation, a water and a soil pixel picked from NDVI / NDWI of the input (see ``pick_pixels``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import rasterio
from scipy import ndimage
import torch
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fidelity import machine  # noqa: E402

from geossr.forward.consistency import input_response, project_to_input, reintegrate  # noqa: E402
from geossr.data import common_coverage_nm, evaluation_pairs, load_dataset, target_sensor_from_intervals  # noqa: E402
from geossr.fileio import atomic_output  # noqa: E402
from geossr.metrics import psnr, sam, ssim  # noqa: E402
from geossr.models import build  # noqa: E402
from geossr.models.checkpoint import load_checkpoint  # noqa: E402
from geossr.models.limits import inside_input_span  # noqa: E402
from geossr.models.weights import WEIGHTS_DIR  # noqa: E402
from geossr.scene.quicklook import plot_spectrum  # noqa: E402
from geossr.scene.io import read_sensor  # noqa: E402
from geossr.scene.radiometry import dataset_scale, read_reflectance  # noqa: E402
from geossr.spectral.integration import uncovered_fraction  # noqa: E402
from geossr.spectral.sensors import load_sensor  # noqa: E402
from geossr.train import TrainConfig, Trainer  # noqa: E402

SENSORS = {
    "IKONOS": ("ikonos:blue,green,red,nir", "seen in training"),
    "Sentinel-2": ("sentinel2_msi:B02,B03,B04,B08", "seen in training"),
    "Nikon D700": ("nikon_d700", "seen in training"),
    "Landsat 8": ("landsat8_oli:B2,B3,B4,B5", "left out of training"),
}
SCALES = (2.0, 4.0)
BANDS = 102
# Enough for Landsat 8 B5 on ROSIS (65 % of its response beyond 860 nm), see the module docstring.
SIMULATION_TOLERANCE = 0.7
SCENES = {
    "Sentinel-2 L2A (Ireland)": ("geotiff/s2_l2a_bigearthnet_T29UPU_20180421/S2B_MSIL2A_20180421T114349_41_4_10m.tif",
                                 "sentinel2_msi:B02,B03,B04,B08", {"blue": "B02", "green": "B03", "red": "B04", "nir": "B08"}),
    "Landsat 8 SR (Brazil)": ("geotiff/landsat8_sr_LC08_232066_20190727/LC08_232066_20190727_SR_B2-B7.tif",
                              "landsat8_oli:B2,B3,B4,B5,B6,B7", {"blue": "B2", "green": "B3", "red": "B4", "nir": "B5"}),
}
FULL_RANGE = "grid:404:890:54"
REPO = Path(__file__).resolve().parent.parent
SHIPPED_CONFIGS = {"ssif-any": REPO / "configs/ssif_anysensor_default.yaml",
                   "ikonos": REPO / "configs/ssif_ikonos_default.yaml"}
# Leave one scene out: the shipped models train on both airborne scenes and are scored on the ROSIS crop;
# these folds hold out one airborne scene each and train on the other, same configs otherwise.
FOLDS = {"jasper": ["samson"], "samson": ["jasper"]}
# Row labels of the IKONOS model, on its own sensor and fed another sensor's blue/green/red/NIR.
IKONOS_SPECIFIC = "ssif (IKONOS-specific)"
IKONOS_MISMATCHED = "ssif (IKONOS weights, mismatched sensor)"
# The least-squares projection of `--consistency`, applied to a method's output (row label suffix).
PROJECTED = " + consistency projection"
# Consistency measured against an input band needs the output bands to hold most of its response.
CONSISTENCY_TOLERANCE = 0.15


def fold_scenes(train_scenes: list | None, held_out: str) -> list:
    """A shipped config's training scenes without ``held_out``: FOLDS' for the remote split, else its
    own list (or groups) with that scene removed."""
    if train_scenes is None:
        return FOLDS[held_out]
    if all(isinstance(group, list) for group in train_scenes):
        return [[name for name in group if name != held_out] for group in train_scenes]
    return [name for name in train_scenes if name != held_out]


# The two models compare at the same budget: the same steps and learning-rate schedule.
SCHEDULE = ("steps", "lr", "lr_halve_every")


def fold_config(key: str, data: Path, held_out: str, spectral_range_nm: list[float], seed: int) -> TrainConfig:
    """A shipped config without ``held_out``, with ``seed`` (named apart when it is not the config's own)."""
    raw = yaml.safe_load(SHIPPED_CONFIGS[key].read_text())
    if seed != raw["seed"]:
        raw["seed"] = seed
        raw["name"] += f"_seed{seed}"
    raw["name"] += f"_without_{held_out}"
    raw["data"] |= {"root": str(data.resolve()), "validation_scenes": [held_out], "spectral_range_nm": spectral_range_nm,
                    "train_scenes": fold_scenes(raw["data"].get("train_scenes"), held_out)}
    return TrainConfig.from_dict(raw, where=f"{SHIPPED_CONFIGS[key].name} without {held_out}")


def trained(config: TrainConfig, runs_dir: Path) -> tuple:
    """The model of ``config`` trained into ``runs_dir`` unless a finished run is there (resumed if an
    unfinished one is), with its card."""
    trainer = Trainer(config, runs_dir / config.name)
    steps = trainer.config.train["steps"]
    if not trainer.resume() or trainer.step < steps:
        print(f"training {config.name} ({steps} steps) into {trainer.out_dir}", flush=True)
        trainer.run(on_validate=lambda step, m: print(f"  step {step}: validation PSNR {m['val_psnr']:.2f} dB",
                                                      flush=True))
    return load_checkpoint(trainer.weights_path)


def fold_models(data: Path, folds_dir: Path, held_out: str, spectral_range_nm: list[float], seed: int) -> tuple:
    """The any-sensor and IKONOS models trained without ``held_out`` over ``spectral_range_nm``, with ``seed``."""
    return tuple(trained(fold_config(key, data, held_out, spectral_range_nm, seed), folds_dir)
                 for key in SHIPPED_CONFIGS)


def scores(pred: torch.Tensor, hr: torch.Tensor, in_span: np.ndarray) -> dict:
    """PSNR / SSIM / SAM over all bands, and PSNR / SSIM over the bands ``in_span`` selects."""
    p, r = pred[0].numpy(), hr[0].numpy()
    return {"psnr": psnr(p, r), "ssim": ssim(p, r), "sam": sam(p, r),
            "psnr_in_span": psnr(p[in_span], r[in_span]), "ssim_in_span": ssim(p[in_span], r[in_span])}


def held_out_rows(cubes: list, any_model, ikonos_model, seed: int, spectral_range_nm=None) -> list[dict]:
    """Every input sensor x scale x model on ``cubes`` (held out from both models' training, which used
    ``seed``); targets are BANDS contiguous bands over ``spectral_range_nm`` (default: the cubes' coverage)."""
    rows = []
    for label, (spec, status) in SENSORS.items():
        sensor = load_sensor(spec)
        models = {"ssif-any": any_model.use_input_sensor(sensor), "bicubic": build("bicubic", input_sensor=sensor)}
        if label == "IKONOS":
            models[IKONOS_SPECIFIC] = ikonos_model
        elif len(sensor) == 4:
            # What one would do without ssif-any: feed this sensor's blue/green/red/NIR to the IKONOS model.
            models[IKONOS_MISMATCHED] = ikonos_model
        outside = uncovered_fraction(cubes[0].sensor, sensor)
        for scale in SCALES:
            for pair in evaluation_pairs(cubes, sensor, scale, BANDS, spectral_range_nm,
                                         coverage_tolerance=SIMULATION_TOLERANCE):
                response = input_response(target_sensor_from_intervals(pair["intervals"].numpy()), sensor,
                                          SIMULATION_TOLERANCE)
                in_span = inside_input_span(sensor, pair["intervals"].numpy())
                outputs = {}
                for name, model in models.items():
                    with torch.no_grad():
                        outputs[name] = model.eval()(pair["lr"], pair["hr"].shape[-2:], pair["intervals"]).clamp(0, 1)
                # What `geossr upsample --consistency` does (least-squares projection onto the input), to the
                # any-sensor output and to the baseline alike.
                for name in ("ssif-any", "bicubic"):
                    outputs[name + PROJECTED] = project_to_input(outputs[name], pair["lr"], response).clamp(0, 1)
                for name, pred in outputs.items():
                    rows.append({"input": label, "sensor": spec, "status": status, "model": name, "scale": scale,
                                 "scene": pair["name"], "seed": seed, "bands": BANDS,
                                 "bands_in_input_span": int(in_span.sum()),
                                 "input_share_outside_scene_nm": [round(float(v), 3) for v in outside],
                                 **scores(pred, pair["hr"], in_span)})
    return rows


def pick_pixels(path: Path, bands: dict, names: list[str]) -> dict:
    """Among pixels with blue, green, red and NIR reflectance above 0.005 (SR products hold a few negative
    values): vegetation = highest NDVI; water = highest NDWI (McFeeters, green vs NIR) if above 0; soil =
    lowest positive NDVI among pixels with NDWI < -0.1 (clear of water and its edges) whose visible
    reflectance rises with wavelength (blue < green < red, as bare soil's does; grey surfaces and
    vegetation do not). Each over its 3x3 neighbourhood (the lowest NDVI / NDWI there, soil's test
    passed by all nine): an upsampled pixel mixes its neighbours, so a shoreline "water" pixel would
    show the bank's NIR."""
    with rasterio.open(path) as src:
        cube = read_reflectance(src, dataset_scale(src, None))
    blue, green, red, nir = (cube[names.index(bands[k])] for k in ("blue", "green", "red", "nir"))
    valid = (blue > 0.005) & (green > 0.005) & (red > 0.005) & (nir > 0.005)
    ndvi = np.where(valid, (nir - red) / np.maximum(nir + red, 1e-6), -np.inf)
    ndwi = np.where(valid, (green - nir) / np.maximum(green + nir, 1e-6), -np.inf)
    ndvi_3x3, ndwi_3x3 = ndimage.minimum_filter(ndvi, 3), ndimage.minimum_filter(ndwi, 3)
    picks = {"vegetation": np.unravel_index(np.argmax(ndvi_3x3), ndvi.shape)}
    if ndwi_3x3.max() > 0:
        picks["water"] = np.unravel_index(np.argmax(ndwi_3x3), ndwi.shape)
    soil_like = ndimage.minimum_filter((ndvi > 0) & (ndwi < -0.1) & (blue < green) & (green < red), 3)
    picks["soil"] = np.unravel_index(np.argmin(np.where(soil_like, ndvi, np.inf)), ndvi.shape)
    return {kind: {"col": int(c), "row": int(r), "ndvi": round(float(ndvi[r, c]), 3), "ndwi": round(float(ndwi[r, c]), 3),
                   "ndvi_3x3_min": round(float(ndvi_3x3[r, c]), 3), "ndwi_3x3_min": round(float(ndwi_3x3[r, c]), 3)}
            for kind, (r, c) in picks.items()} | {"max_ndwi": round(float(ndwi.max()), 3)}


def consistency(input_path: Path, output_path: Path, sensor, used_bands: list[str]) -> dict:
    """Per input band the model read: RMSE (reflectance), relative RMSE and bias of the output re-integrated
    through that band's response and degraded back to the input grid, against the input."""
    with rasterio.open(input_path) as src:
        lr = torch.from_numpy(read_reflectance(src, dataset_scale(src, None)))[None]
    with rasterio.open(output_path) as out:
        pred = torch.from_numpy(out.read().astype(np.float64))[None]
    output_sensor = read_sensor(output_path)
    result = {}
    for band in used_bands:
        i = sensor.band_names.index(band)
        single = sensor.select([band])
        share = float(uncovered_fraction(output_sensor, single)[0])
        if share > CONSISTENCY_TOLERANCE:
            result[band] = {"covered": False, "share_outside_output": round(share, 3)}
            continue
        response = input_response(output_sensor, single, CONSISTENCY_TOLERANCE)
        again = reintegrate(pred, response, lr.shape[-2:])[0, 0]
        error = again - lr[0, i]
        rmse = float(error.pow(2).mean().sqrt())
        result[band] = {"covered": True, "share_outside_output": round(share, 3), "rmse": rmse,
                        "relative_rmse": rmse / float(lr[0, i].abs().mean()), "mean_bias": float(error.mean()),
                        "reint_psnr": psnr(again[None].numpy(), lr[0, i : i + 1].numpy())}
    return result


def geossr(*args) -> subprocess.CompletedProcess:
    command = [sys.executable, "-c", "from geossr_cli.main import main; main()", *map(str, args)]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"geossr {' '.join(map(str, args))} failed: {result.stderr.strip()}")
    return result


def real_scene_rows(data: Path, pictures: Path, work: Path) -> tuple[list[dict], dict]:
    rows, pixels = [], {}
    for label, (relative, spec, indices) in SCENES.items():
        path = data / relative
        sensor = load_sensor(spec)
        stem = Path(relative).parent.name
        pixels[label] = pick_pixels(path, indices, sensor.band_names)
        for scale in (1.0, 2.0):
            outputs = {}
            for target in ("rosis", FULL_RANGE):
                out = work / f"{stem}_x{scale:g}_{'rosis' if target == 'rosis' else 'fullrange'}.tif"
                extra = ["--quicklook", pictures / f"{stem}_x{scale:g}_quicklook.png"] if target == "rosis" else []
                started = time.perf_counter()
                result = geossr("upsample", path, "-p", scale, "-s", target, "--input-sensor", spec, "-m", "ssif-any",
                                "-o", out, "--json", *extra)
                (summary,) = json.loads(result.stdout)
                outputs[target] = out
                rows.append({
                    "scene": label, "file": relative, "scale": scale, "target": target,
                    "model": summary["model"], "weights": summary["weights"], "model_note": summary["model_note"],
                    "input_bands": summary["input_bands"], "warnings": summary["warnings"],
                    "output_size": summary["output_size"], "seconds": round(time.perf_counter() - started, 1),
                    "consistency": consistency(path, out, sensor, summary["input_bands"]),
                })
            # At p = 1 the spectrum is the model's spectral reading of that input pixel alone; at p = 2 the
            # plotted output pixel also mixes in its neighbours, as any spatial upsampling does.
            for kind, where in pixels[label].items():
                if kind != "max_ndwi":
                    plot_spectrum(path, outputs["rosis"], f"{where['col']},{where['row']}",
                                  pictures / f"{stem}_x{scale:g}_spectrum_{kind}.png", input_sensor=spec)
    return rows, pixels


def held_out_table(rows: list[dict]) -> str:
    lines = ["| scene | seed | input sensor | in training | model | p | PSNR (dB) | SSIM | SAM (°) "
             "| bands in the input's span: PSNR (dB) / SSIM |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['scene']} | {r['seed']} | {r['input']} | {r['status']} | {r['model']} | {r['scale']:g} | "
                     f"{r['psnr']:.2f} | {r['ssim']:.4f} | {r['sam']:.2f} | "
                     f"{r['psnr_in_span']:.2f} / {r['ssim_in_span']:.4f} ({r['bands_in_input_span']} of {r['bands']}) |")
    return "\n".join(lines) + "\n"


def targets_table(rows: list[dict]) -> str:
    """The issue's two targets per held-out scene and scale: ssif-any within 0.5 dB of the IKONOS model on
    IKONOS input; on Landsat 8 (never seen in training) above the best of the baselines — over all bands,
    over the bands inside Landsat 8's span, and with both outputs projected onto the input."""
    by = {(r["scene"], r["seed"], r["input"], r["model"], r["scale"]): r for r in rows}
    lines = ["| scene | seed | p | IKONOS: ssif-any - IKONOS-specific (dB) | Landsat 8: ssif-any - best baseline (dB) "
             "| same, bands in Landsat 8's span (dB) | ssif-any - bicubic, both projected (dB) | best baseline on Landsat 8 |",
             "|---|---|---|---|---|---|---|---|"]
    for scene, seed, scale in dict.fromkeys((r["scene"], r["seed"], r["scale"]) for r in rows):
        own = (by[scene, seed, "IKONOS", "ssif-any", scale]["psnr"]
               - by[scene, seed, "IKONOS", IKONOS_SPECIFIC, scale]["psnr"])
        landsat = {m: by[scene, seed, "Landsat 8", m, scale] for m in ("ssif-any", "bicubic", IKONOS_MISMATCHED)}
        best = max(("bicubic", IKONOS_MISMATCHED), key=lambda m: landsat[m]["psnr"])
        best_in_span = max(landsat[m]["psnr_in_span"] for m in ("bicubic", IKONOS_MISMATCHED))
        projected = (by[scene, seed, "Landsat 8", "ssif-any" + PROJECTED, scale]["psnr"]
                     - by[scene, seed, "Landsat 8", "bicubic" + PROJECTED, scale]["psnr"])
        lines.append(f"| {scene} | {seed} | {scale:g} | {own:+.2f} | {landsat['ssif-any']['psnr'] - landsat[best]['psnr']:+.2f} | "
                     f"{landsat['ssif-any']['psnr_in_span'] - best_in_span:+.2f} | {projected:+.2f} | {best} |")
    return "\n".join(lines) + "\n"


def consistency_table(rows: list[dict]) -> str:
    lines = ["| scene | p | output bands | model (weights) | input band | re-integration RMSE | relative RMSE "
             "| bias | re-integration PSNR (dB) |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        for band, c in r["consistency"].items():
            if not c["covered"]:
                lines.append(f"| {r['scene']} | {r['scale']:g} | {r['target']} | {r['model']} ({r['weights']}) | {band} "
                             f"| not covered ({c['share_outside_output']:.0%} of its response outside) | | | |")
                continue
            lines.append(f"| {r['scene']} | {r['scale']:g} | {r['target']} | {r['model']} ({r['weights']}) | {band} | "
                         f"{c['rmse']:.4f} | {c['relative_rmse']:.1%} | {c['mean_bias']:+.4f} | {c['reint_psnr']:.2f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/anysensor"))
    parser.add_argument("--folds", type=Path, default=Path("runs/anysensor_folds"),
                        help="where the leave-one-scene-out models are trained (reused when finished there)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0],
                        help="train and score the leave-one-scene-out models with each of these seeds")
    args = parser.parse_args()
    started = time.perf_counter()
    any_model, any_card = load_checkpoint(WEIGHTS_DIR / "ssif_anysensor_default.safetensors")
    schedules = [TrainConfig.load(path).train for path in SHIPPED_CONFIGS.values()]  # with the defaults filled in
    if any(schedules[0][field] != schedules[1][field] for field in SCHEDULE):
        sys.exit(f"the any-sensor and IKONOS configs must share {', '.join(SCHEDULE)} to be compared")
    ikonos_model, ikonos_card = load_checkpoint(WEIGHTS_DIR / "ssif_ikonos_default.safetensors")
    cards = [any_card, ikonos_card]
    held_out = held_out_rows(load_dataset("remote", args.data, "test"), any_model, ikonos_model,
                             any_card["training"]["seed"])
    # The airborne scenes' shared range within the trained one (a model may also have trained on
    # narrower scenes, e.g. CAVE's 400-700 nm): the folds train and are scored over it.
    airborne = {scene: load_dataset(scene, args.data) for scene in FOLDS}
    shared = common_coverage_nm([cube for cubes in airborne.values() for cube in cubes])
    trained_range = any_card["training"]["spectral_range_nm"]
    fold_range = [max(shared[0], trained_range[0]), min(shared[1], trained_range[1])]
    for scene, cubes in airborne.items():
        for seed in args.seeds:
            (fold_any, fold_any_card), (fold_ikonos, fold_ikonos_card) = fold_models(args.data, args.folds, scene,
                                                                                     fold_range, seed)
            cards += [fold_any_card, fold_ikonos_card]
            held_out += held_out_rows(cubes, fold_any, fold_ikonos, seed, fold_range)
    pictures = args.out
    pictures.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        real, pixels = real_scene_rows(args.data, pictures, Path(work))
    budgets = "; ".join(
        f"{card['name']}: {card['training']['steps']} steps on {', '.join(card['training']['train_scenes'])}, "
        f"{card['training']['elapsed_s']} s on {card['training']['device']}" for card in cards)
    context = {"machine": machine(), "models": budgets, "benchmark time": f"{time.perf_counter() - started:.0f} s",
               "held-out scenes": "abu-beach-4 (ROSIS, 100x100, normalised per band by its distributors) for the "
                                  "shipped models, 102 contiguous target bands over 430-860 nm; Jasper Ridge (AVIRIS, "
                                  "100x100) and SAMSON (95x95), each scored with the models trained on the other "
                                  f"one, 102 bands over the range both cover {fold_range[0]:.0f}-{fold_range[1]:.0f} nm",
               "simulation note": "S2 B08 and L8 B5 reach past ROSIS's 860 nm (27 % and 65 % of their response); "
                                  "on ROSIS they are integrated over the covered part (coverage tolerance 0.7)"}
    pixel_lines = "".join(
        f"- {scene}: " + "; ".join(f"{k} at col {v['col']}, row {v['row']} (NDVI {v['ndvi']}, NDWI {v['ndwi']}; "
                                   f"lowest in its 3x3: {v['ndvi_3x3_min']}, {v['ndwi_3x3_min']})"
                                   for k, v in picks.items() if k != "max_ndwi")
        + f" (highest NDWI in the scene: {picks['max_ndwi']})\n" for scene, picks in pixels.items())
    warnings_lines = "".join(dict.fromkeys(f"- {r['scene']}: {w}\n" for r in real for w in r["warnings"]))
    notes = "".join(dict.fromkeys(f"- {r['scene']}: {r['model_note']}\n" for r in real if r["model_note"]))
    md = ("# Any-sensor SSIF\n\n" + "".join(f"- {k}: {v}\n" for k, v in context.items())
          + "\n## Held-out hyperspectral scenes: targets\n\n" + targets_table(held_out)
          + "\n## Held-out hyperspectral scenes (simulated input, real hyperspectral truth)\n\n"
          + held_out_table(held_out)
          + "\n## Real scenes: physical consistency of `geossr upsample` outputs\n\n"
          + "Re-integration: output bands integrated through each input band's response and spatially "
            "degraded by p (geossr.forward.consistency.reintegrate), against the input (reflectance).\n\n"
          + consistency_table(real)
          + "\nModel choice (stderr of `geossr upsample`):\n\n" + (notes or "- none\n")
          + "\nWarnings:\n\n" + (warnings_lines or "- none\n")
          + "\nPixels for the spectrum plots (NDVI = (NIR-red)/(NIR+red), NDWI = (green-NIR)/(green+NIR); "
            "vegetation = highest NDVI, water = highest NDWI if above 0, soil = lowest positive NDVI among "
            "pixels with NDWI < -0.1 and blue < green < red; only pixels with all four bands above 0.005; each "
            "judged by its whole 3x3 neighbourhood, since an upsampled pixel mixes its neighbours):\n\n" + pixel_lines
          + f"\nPictures: {', '.join(sorted(p.name for p in pictures.glob('*.png')))} in {pictures}/\n")
    for path, text in ((args.out.with_suffix(".md"), md),
                       (args.out.with_suffix(".json"),
                        json.dumps({"context": context, "held_out": held_out, "real_scenes": real, "pixels": pixels},
                                   indent=2))):
        with atomic_output(path) as tmp:
            Path(tmp).write_text(text)
    print(md)


if __name__ == "__main__":
    main()
