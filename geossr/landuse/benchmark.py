"""The land-use fidelity benchmark (SSIF paper, Table 3): are generated bands good enough to classify?

1. A classifier is trained on the real cube's training area (in the classifier's bands) and
   evaluated on the real test area: the upper bound ("real HSI").
2. For each SR model and scale p, the whole scene is simulated as the model's input sensor sees it
   (spectral response integration, ``geossr.data.spectral_matrix``), downsampled by p with the
   scene resampler's degradation (``geossr.data.spatial_downsample``) — the path ``geossr
   evaluate`` uses — and super-resolved back to the real cube's grid and bands. The same trained
   classifier then predicts the test area of the generated image.
3. Scores: OA, AA, kappa, per-class accuracy (mean ± std over seeds), and the spectral fidelity
   (PSNR / SSIM / SAM) of each generated test area against the real one.

The classifier's bands are the real cube's bands every compared model can produce (``bands="auto"``):
a band is producible when its interval lies within the model's output range (the trained spectral
range in a checkpoint's card; the input sensor's coverage for bicubic) widened by
``geossr.models.limits.SPECTRAL_MARGIN_NM``, the margin past which models refuse.
"""

from __future__ import annotations

import math
import platform
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from geossr.data import spatial_downsample, spectral_matrix
from geossr.errors import GeossrError
from geossr.landuse.classifiers import CLASSIFIERS, A2S2KClassifier, SpectrumClassifier
from geossr.landuse.datasets import AREAS, LabelledScene
from geossr.landuse.metrics import classification_scores, mean_std
from geossr.landuse.sampling import PatchSource, balanced_sample, usable_classes
from geossr.models.base import grid_centres
from geossr.models.limits import SPECTRAL_MARGIN_NM, check_band_range, check_scale
from geossr.spectral.bands import Sensor
from geossr.spectral.integration import source_coverage_nm
from geossr.spectral.sensors import load_sensor

REAL = "real HSI"
MIN_LR_SIDE = 8  # input pixels left at the largest scale: below this the encoders see almost nothing
RENDER_ROWS = 64  # output rows rendered at once (bounds memory on large scenes)


@dataclass
class BenchmarkConfig:
    scales: list[float] = field(default_factory=lambda: [2, 3, 4, 8])
    classifiers: list[str] = field(default_factory=lambda: list(CLASSIFIERS))
    seeds: int = 3
    epochs: int = 100
    patience: int = 10
    patch: int = 11
    train_per_class: int = 2000
    val_per_class: int = 500
    min_pixels: int = 20
    bands: str = "auto"  # auto | all | LO-HI (nm)
    device: str = "cpu"


@dataclass
class SRModel:
    label: str
    net: torch.nn.Module
    output_range_nm: tuple[float, float]
    kind: str
    card: dict = field(default_factory=dict)

    @property
    def trained_scenes(self) -> list[str]:
        training = self.card.get("training", {})
        return list(training.get("train_scenes", [])) + list(training.get("validation_scenes", []))


def resolve_models(names: list[str], weights: list[str], input_sensor: str, device: str) -> list[SRModel]:
    """``bicubic``, ``linear``, shipped weight names (``geossr/weights``) and checkpoint paths → SR models.

    Models for any input sensor (``linear``, ssif-any checkpoints) are given ``input_sensor``; the
    others keep the sensor they were trained for."""
    from geossr.models import MODELS, build
    from geossr.models.registry import closed_form_models
    from geossr.models.weights import installed_weights

    closed_form = closed_form_models()
    sensor = load_sensor(input_sensor)
    shipped = {entry["name"]: entry["path"] for entry in installed_weights()}
    models = []
    for name in names:
        if name in closed_form:
            net = build(name, input_sensor=sensor)
            output = source_coverage_nm(sensor) if name == "bicubic" else \
                (float(net.prior.grid_nm[0]), float(net.prior.grid_nm[-1]))
            models.append(SRModel(f"{name} ({sensor.name.split(':')[0]})", net, output, MODELS[name].description))
        elif name in shipped:
            models.append(_checkpoint_model(shipped[name], name, sensor, device))
        else:
            raise GeossrError(f"unknown model {name!r}: use {', '.join(closed_form)} or a shipped weight name "
                              f"({', '.join(sorted(shipped)) or 'none installed'}); give checkpoints with --weights")
    for path in weights:
        models.append(_checkpoint_model(path, None, sensor, device))
    labels = [m.label for m in models]
    if len(set(labels)) != len(labels):
        raise GeossrError(f"the same model is listed twice: {labels}")
    return models


def _checkpoint_model(path, label, input_sensor: Sensor, device) -> SRModel:
    from geossr.models import load

    if not Path(path).is_file():
        raise GeossrError(f"file not found: {path}")
    loaded = load(Path(path), None, device)  # a model for one sensor keeps its own
    net, card = loaded.net, loaded.card
    if net.any_input_sensor:
        net.use_input_sensor(input_sensor)
    label = label or card.get("name") or Path(path).stem
    trained = card.get("training", {}).get("spectral_range_nm")
    if net.fixed_intervals_nm is not None:
        output = (float(np.min(net.fixed_intervals_nm)), float(np.max(net.fixed_intervals_nm)))
    elif trained is not None:
        output = (float(trained[0]), float(trained[1]))
    else:
        raise GeossrError(f"{path}: its card records no trained spectral range, so its output bands are unknown")
    return SRModel(label, net, output, card["model"]["name"], card)


def select_bands(sensor: Sensor, models: list[SRModel], rule: str) -> list[int]:
    """Indices of the cube bands the classifier uses (see the module docstring)."""
    intervals = sensor.intervals_nm
    if rule == "auto":
        keep = np.ones(len(sensor), dtype=bool)
        for model in models:
            keep &= _covered(intervals, model)
        if keep.sum() < 7:
            raise GeossrError(f"the models {[m.label for m in models]} can together produce only {int(keep.sum())} "
                              f"of the cube's bands ({sensor.name}); A2S2K needs at least 7")
        return [int(i) for i in np.flatnonzero(keep)]
    if rule == "all":
        keep = np.ones(len(sensor), dtype=bool)
    else:
        try:
            lo, hi = (float(v) for v in rule.split("-"))
        except ValueError:
            raise GeossrError(f"--bands must be auto, all or LO-HI in nm (e.g. 430-860), got {rule!r}") from None
        keep = (intervals[:, 0] >= lo) & (intervals[:, 1] <= hi)
        if keep.sum() < 7:
            raise GeossrError(f"--bands {rule}: only {int(keep.sum())} of the cube's bands lie in {lo:g}-{hi:g} nm "
                              "(A2S2K needs at least 7)")
    chosen = intervals[keep]
    for model in models:
        missing = ~_covered(chosen, model)
        if missing.any():
            lo, hi = model.output_range_nm
            raise GeossrError(
                f"model {model.label} produces {lo:.0f}-{hi:.0f} nm (±{SPECTRAL_MARGIN_NM:.0f}), but {int(missing.sum())} "
                f"of the classifier's bands lie outside it (they span {chosen[:, 0].min():.0f}-{chosen[:, 1].max():.0f} "
                "nm); use --bands auto or a narrower LO-HI")
    return [int(i) for i in np.flatnonzero(keep)]


def _covered(intervals: np.ndarray, model: SRModel) -> np.ndarray:
    lo, hi = model.output_range_nm
    if model.net.fixed_intervals_nm is not None:  # interpolated between its fixed band centres
        centres = intervals.mean(axis=1)
        return (centres >= lo) & (centres <= hi)
    return (intervals[:, 0] >= lo - SPECTRAL_MARGIN_NM) & (intervals[:, 1] <= hi + SPECTRAL_MARGIN_NM)


def usable_scales(scales: list[float], height: int, width: int) -> tuple[list[float], list[float]]:
    for scale in scales:
        check_scale(scale, None)
    kept = [s for s in scales if math.floor(min(height, width) / s) >= MIN_LR_SIDE]
    return kept, [s for s in scales if s not in kept]


@torch.no_grad()
def generate(model: SRModel, scene: LabelledScene, bands: Sensor, scale: float, device: str) -> tuple[np.ndarray, float, list[str]]:
    """The model's (C, H, W) image of the scene at ``bands``, from its input sensor downsampled by ``scale``."""
    cube = torch.from_numpy(scene.cube.data)
    _, height, width = cube.shape
    simulated = torch.tensordot(spectral_matrix(scene.cube.sensor, model.net.input_sensor), cube, dims=1)
    low = (math.floor(height / scale), math.floor(width / scale))
    lr = spatial_downsample(simulated[None], low).clamp(0, 1).to(device)
    net = model.net.eval().to(device)
    fixed = net.fixed_intervals_nm
    intervals = torch.as_tensor(fixed if fixed is not None else bands.intervals_nm, dtype=torch.float32)
    training = model.card.get("training", {})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_scale(height / low[0], training.get("scale_range"))
        if fixed is None:
            check_band_range(intervals.numpy(), training.get("spectral_range_nm"))
        rows, cols = grid_centres(height, low[0]), grid_centres(width, low[1])
        cell = (low[0] / height, low[1] / width)
        out = torch.cat([net.render(lr, rows[i:i + RENDER_ROWS].to(device), cols.to(device), intervals.to(device), cell)
                         .clamp(0, 1).cpu() for i in range(0, height, RENDER_ROWS)], dim=2)[0]
    if fixed is not None:
        from geossr.models.spectral_interp import spectral_interpolation_matrix

        matrix = spectral_interpolation_matrix(np.mean(fixed, axis=1), bands.centers_nm)
        out = torch.tensordot(matrix.to(out.dtype), out, dims=1)
    notes = sorted({str(w.message) for w in caught})
    return out.numpy().astype(np.float32), height / low[0], notes


def run_benchmark(scene: LabelledScene, models: list[SRModel], config: BenchmarkConfig, progress=None) -> dict:
    """Everything the report needs: see :func:`write_report`. ``progress(kind, **info)`` is told of each step."""
    progress = progress or (lambda kind, **info: None)
    run_started = time.perf_counter()
    unknown = [c for c in config.classifiers if c not in CLASSIFIERS]
    if unknown or not config.classifiers:
        raise GeossrError(f"unknown classifier {unknown[0] if unknown else ''!r}: use {', '.join(CLASSIFIERS)}")
    if config.seeds < 1 or config.epochs < 1:
        raise GeossrError("--seeds and --epochs must be >= 1")
    classes, counts = usable_classes(scene, config.min_pixels)
    band_index = select_bands(scene.cube.sensor, models, config.bands)
    bands = scene.cube.sensor.select([scene.cube.sensor.band_names[i] for i in band_index])
    _, height, width = scene.cube.data.shape
    scales, dropped = usable_scales(config.scales, height, width)
    if models and not scales:
        raise GeossrError(f"no scale in {config.scales} leaves {MIN_LR_SIDE} input pixels of the {height}x{width} scene")
    notes = list(scene.notes)
    if dropped:
        notes.append(f"scales {dropped} dropped: a {height}x{width} scene downsampled by them leaves fewer than "
                     f"{MIN_LR_SIDE} input pixels")
    left_out = [scene.class_names[k - 1] for k in range(1, len(scene.class_names) + 1) if k not in classes]
    if left_out:
        notes.append(f"classes left out (fewer than {config.min_pixels} pixels in the training or validation "
                     f"area): {', '.join(left_out)}")
    absent = [scene.class_names[k - 1] for k in classes if not counts["test"][k]]
    if absent:
        notes.append(f"classes learnt but absent from the test area (not in AA): {', '.join(absent)}")
    real = scene.cube.data[band_index]
    test = scene.areas["test"]
    images = {(REAL, None): real}
    spectral, model_notes = [], {}
    progress("generate", total=len(models) * len(scales))
    for model in models:
        for scale in scales:
            image, actual, caught = generate(model, scene, bands, scale, config.device)
            images[(model.label, scale)] = image
            model_notes.setdefault(model.label, set()).update(caught)
            metrics = _spectral_metrics(image[:, test.slices[0], test.slices[1]], real[:, test.slices[0], test.slices[1]])
            spectral.append({"model": model.label, "scale": scale, "actual_scale": actual, **metrics})
            progress("generated", model=model.label, scale=scale)

    target_of = np.zeros(len(scene.class_names) + 1, dtype=np.int64) - 1
    target_of[classes] = np.arange(len(classes))
    test_labels = target_of[scene.labels[test.slices]]  # -1: unlabelled or left out
    test_rows, test_cols = np.indices(test.shape).reshape(2, -1)
    scored = test_labels.ravel() >= 0
    per_image: dict = {}
    training, maps = [], {}
    progress("classify", total=len(config.classifiers) * config.seeds)
    for classifier in config.classifiers:
        for seed in range(config.seeds):
            rng = np.random.default_rng(seed)
            train_px = _sample(scene, "train", classes, config.train_per_class, rng)
            val_px = _sample(scene, "validation", classes, config.val_per_class, rng)
            fit_started = time.perf_counter()
            fit, predict = _fit(classifier, seed, real, scene, train_px, val_px, len(classes), config, progress)
            training.append({"classifier": classifier, "seed": seed, "train_pixels": int(train_px[2].size),
                             "validation_pixels": int(val_px[2].size), **fit,
                             "fit_s": round(time.perf_counter() - fit_started, 1)})
            for key, image in images.items():
                predicted = predict(image[:, test.slices[0], test.slices[1]], test_rows, test_cols)
                scores = classification_scores(test_labels.ravel()[scored], predicted[scored], len(classes))
                per_image.setdefault((classifier, *key), []).append(scores)
                if seed == 0:
                    maps[(classifier, *key)] = predicted.reshape(test.shape)
            training[-1]["fit_and_score_s"] = round(time.perf_counter() - fit_started, 1)
            progress("classified", classifier=classifier, seed=seed)
    rows = []
    for (classifier, image, scale), runs in per_image.items():
        rows.append({
            "classifier": classifier, "image": image, "scale": scale,
            **{m: mean_std([r[m] for r in runs]) for m in ("oa", "aa", "kappa")},
            "per_class": {scene.class_names[k - 1]: _nanmean([r["per_class"][i] for r in runs])
                          for i, k in enumerate(classes)},
            "confusion_summed": np.sum([r["confusion"] for r in runs], axis=0).tolist(),
            "per_seed": [{m: r[m] for m in ("oa", "aa", "kappa")} for r in runs],
        })
    return {
        "scene": scene.name,
        "cube": {"source": scene.cube.source, "shape": list(scene.cube.data.shape), "sensor": scene.cube.sensor.name},
        "areas": {name: scene.areas[name].describe() for name in AREAS},
        "classes": [scene.class_names[k - 1] for k in classes],
        "class_counts": {area: {scene.class_names[k - 1]: n for k, n in c.items()} for area, c in counts.items()},
        "classifier_bands": {"count": len(band_index), "range_nm": [float(v) for v in bands.range_nm],
                             "rule": config.bands},
        "scales": scales,
        "models": [{"label": m.label, "kind": m.kind, "input_sensor": m.net.input_sensor.name,
                    "output_range_nm": list(m.output_range_nm), "trained_on": m.trained_scenes,
                    "scene_in_training_set": scene.name in m.trained_scenes,
                    "warnings": sorted(model_notes.get(m.label, []))} for m in models],
        "spectral": spectral,
        "classification": rows,
        "training": training,
        "config": asdict(config),
        "notes": notes,
        "machine": machine_description(config.device),
        "elapsed_s": round(time.perf_counter() - run_started, 1),
        "_maps": maps,
        "_truth": test_labels,
    }


def _sample(scene, area, classes, per_class, rng):
    return balanced_sample(scene.labels[scene.areas[area].slices], classes, per_class, rng)


def _fit(classifier, seed, real, scene, train_px, val_px, classes, config, progress):
    """Train on the real cube; return (fit info, predict(image_of_test_area, rows, cols) → targets)."""
    def area_image(name):
        rows, cols = scene.areas[name].slices
        return real[:, rows, cols]

    if classifier == "a2s2k":
        model = A2S2KClassifier(real.shape[0], classes, seed, config.epochs, config.device, patience=config.patience)
        fit = model.fit(PatchSource(area_image("train"), config.patch), train_px,
                        PatchSource(area_image("validation"), config.patch), val_px,
                        lambda epoch, total, oa: progress("epoch", classifier=classifier, seed=seed, epoch=epoch,
                                                          total=total, val_oa=oa))
        return fit, lambda image, rows, cols: model.predict(PatchSource(image, config.patch), rows, cols)
    model = SpectrumClassifier(classifier, seed)
    spectra = lambda image, px: image[:, px[0], px[1]].T  # noqa: E731
    fit = model.fit(spectra(area_image("train"), train_px), train_px[2],
                    spectra(area_image("validation"), val_px), val_px[2])
    return fit, lambda image, rows, cols: model.predict(spectra(image, (rows, cols)))


def _spectral_metrics(pred: np.ndarray, ref: np.ndarray) -> dict:
    from geossr.metrics import psnr, sam, ssim

    return {"psnr": psnr(pred, ref), "ssim": ssim(pred, ref), "sam": sam(pred, ref)}


def _nanmean(values):
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def machine_description(device: str) -> str:
    import os

    text = platform.machine()
    try:
        models = [line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")]
        text += f" {models[0]}" if models else ""
    except OSError:
        pass
    text += f", {os.cpu_count()} logical CPUs, torch {torch.__version__} threads {torch.get_num_threads()}"
    if device.startswith("cuda"):
        text += f", GPU {torch.cuda.get_device_name(device)}"
    return text + f", device {device}"
