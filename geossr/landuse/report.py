"""The benchmark's outputs: STEM.md, STEM.json, STEM_confusion_<classifier>.png, STEM_maps_<classifier>.png.

Everything is rendered in memory first and then written file by file through ``atomic_output``,
so a failure while computing leaves nothing behind.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np

from geossr.extras import pyplot
from geossr.fileio import atomic_output
from geossr.landuse.benchmark import REAL

CLASSIFIER_NAMES = {"a2s2k": "A2S2K-ResNet", "svm": "SVM (RBF)", "rf": "Random forest"}


def _pm(stat: dict, percent=True) -> str:
    if percent:
        return f"{100 * stat['mean']:.2f} ± {100 * stat['std']:.2f}"
    return f"{stat['mean']:.3f} ± {stat['std']:.3f}"


def markdown(result: dict, command: str | None = None) -> str:
    models = result["models"]
    scales = result["scales"]
    lines = [f"# Land-use fidelity benchmark: {result['scene']}", ""]
    if command:
        lines += ["Command:", "", f"    {command}", ""]
    bands = result["classifier_bands"]
    cfg = result["config"]
    lines += [
        f"- scene: {result['scene']} ({result['cube']['source']}, {' x '.join(map(str, result['cube']['shape']))})",
        "- areas: " + "; ".join(f"{k} = {v}" for k, v in result["areas"].items()),
        f"- classes: {', '.join(result['classes'])}",
        f"- classifier bands: {bands['count']} real bands, {bands['range_nm'][0]:.0f}-{bands['range_nm'][1]:.0f} nm "
        f"(rule `{bands['rule']}`)",
        f"- sampling: up to {cfg['train_per_class']} train / {cfg['val_per_class']} validation pixels per class "
        f"(all of a class when it has fewer); seeds {cfg['seeds']} (std over seeds with ddof 0)"
        + (f"; A2S2K on {cfg['patch']}x{cfg['patch']} patches, up to {cfg['epochs']} epochs, early stopping "
           f"(patience {cfg['patience']}) on validation loss" if "a2s2k" in cfg["classifiers"] else ""),
        f"- machine: {result['machine']}; whole run {result['elapsed_s']:.0f} s",
    ]
    for model in models:
        flag = (" — **this scene was in its training set** (its training and validation scenes: " + ", ".join(model["trained_on"]) + ")"
                if model["scene_in_training_set"] else "")
        lines.append(f"- model {model['label']}: {model['kind']}, input {model['input_sensor']}, "
                     f"output {model['output_range_nm'][0]:.0f}-{model['output_range_nm'][1]:.0f} nm{flag}")
        for warning in model["warnings"]:
            lines.append(f"  - warning: {warning}")
    for note in result["notes"]:
        lines.append(f"- note: {note}")
    lines.append("")
    header = "| model | " + " | ".join(f"p = {s:g}" for s in scales) + " |"
    rule = "|---|" + "---|" * len(scales)
    for classifier in result["config"]["classifiers"]:
        rows = {(r["image"], r["scale"]): r for r in result["classification"] if r["classifier"] == classifier}
        name = CLASSIFIER_NAMES[classifier]
        lines += [f"## {name}: overall accuracy (%), mean ± std over {cfg['seeds']} seed(s)", "", header, rule]
        real = rows[(REAL, None)]
        lines.append(f"| {REAL} (upper bound) | " + " | ".join([_pm(real["oa"])] * len(scales)) + " |")
        for model in models:
            flag = " †" if model["scene_in_training_set"] else ""
            lines.append(f"| {model['label']}{flag} | " + " | ".join(_pm(rows[(model['label'], s)]["oa"]) for s in scales) + " |")
        lines += ["", f"{name}: OA / AA / kappa and per-class accuracy (%)", "",
                  "| image | p | OA | AA | kappa | " + " | ".join(result["classes"]) + " |",
                  "|---|---|---|---|---|" + "---|" * len(result["classes"])]
        for (image, scale), r in rows.items():
            per_class = " | ".join("–" if v is None else f"{100 * v:.1f}" for v in r["per_class"].values())
            lines.append(f"| {image} | {'' if scale is None else f'{scale:g}'} | {_pm(r['oa'])} | {_pm(r['aa'])} | "
                         f"{_pm(r['kappa'], percent=False)} | {per_class} |")
        lines.append("")
    if any(m["scene_in_training_set"] for m in models):
        lines += ["† the model was trained on this scene (its whole area, test area included): its numbers are "
                  "optimistic, not a held-out result.", ""]
    if result["spectral"]:
        lines += ["## Spectral fidelity of the generated test area (classifier bands)", "",
                  "| model | p | PSNR (dB) | SSIM | SAM (°) |", "|---|---|---|---|---|"]
        for s in result["spectral"]:
            lines.append(f"| {s['model']} | {s['scale']:g} | {s['psnr']:.2f} | {s['ssim']:.4f} | {s['sam']:.2f} |")
        lines.append("")
    lines += ["## Training runs", "", "| classifier | seed | train px | validation px | fit |", "|---|---|---|---|---|"]
    for t in result["training"]:
        fit = ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in t.items()
                        if k not in ("classifier", "seed", "train_pixels", "validation_pixels"))
        lines.append(f"| {t['classifier']} | {t['seed']} | {t['train_pixels']} | {t['validation_pixels']} | {fit} |")
    return "\n".join(lines) + "\n"


def _figures(result: dict) -> dict[str, bytes]:
    plt = pyplot("the land-use report's figures")
    from matplotlib.colors import ListedColormap

    figures = {}
    classes = result["classes"]
    colours = plt.get_cmap("tab10").colors[: len(classes)]
    cmap = ListedColormap(["#000000", *colours])
    for classifier in result["config"]["classifiers"]:
        rows = [r for r in result["classification"] if r["classifier"] == classifier]
        ncols = min(len(rows), 5)
        nrows = -(-len(rows) // ncols)
        fig, axes = plt.subplots(nrows, ncols, figsize=(2.6 * ncols, 2.8 * nrows), squeeze=False)
        for ax in axes.ravel()[len(rows):]:
            ax.axis("off")
        for ax, r in zip(axes.ravel(), rows):
            confusion = np.asarray(r["confusion_summed"], dtype=float)
            normalised = confusion / np.maximum(confusion.sum(axis=1, keepdims=True), 1)
            ax.imshow(normalised, vmin=0, vmax=1, cmap="Blues")
            for (i, j), v in np.ndenumerate(normalised):
                ax.text(j, i, f"{100 * v:.0f}", ha="center", va="center", fontsize=6,
                        color="white" if v > 0.5 else "black")
            ax.set_title(r["image"] + ("" if r["scale"] is None else f" p={r['scale']:g}"), fontsize=7)
            ax.set_xticks(range(len(classes)), classes, rotation=90, fontsize=6)
            ax.set_yticks(range(len(classes)), classes, fontsize=6)
        for ax in axes[:, 0]:
            ax.set_ylabel("truth (row-normalised %)", fontsize=7)
        figures[f"confusion_{classifier}"] = _png(fig, plt)
        keys = [k for k in result["_maps"] if k[0] == classifier]
        truth = result["_truth"]
        panels = [("ground truth", truth)] + [
            (k[1] + ("" if k[2] is None else f" p={k[2]:g}"), np.where(truth >= 0, result["_maps"][k], -1)) for k in keys]
        height, width = truth.shape
        # Grid of panels near square overall: wide test strips stack, tall ones sit side by side.
        ncols = max(1, min(len(panels), round(np.sqrt(len(panels) * height / width))))
        nrows = -(-len(panels) // ncols)
        panel_w, panel_h = (3.5, 3.5 * height / width) if width >= height else (3.5 * width / height, 3.5)
        fig, axes = plt.subplots(nrows, ncols, figsize=(panel_w * ncols, (panel_h + 0.35) * nrows + 0.6),
                                 squeeze=False)
        for ax in axes.ravel():
            ax.axis("off")
        for ax, (title, image) in zip(axes.ravel(), panels):
            ax.imshow(image + 1, cmap=cmap, vmin=0, vmax=len(classes), interpolation="nearest")
            ax.set_title(title, fontsize=7)
        handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in colours]
        fig.legend(handles, classes, loc="lower center", ncol=len(classes), fontsize=6, frameon=False)
        fig.suptitle(f"{CLASSIFIER_NAMES[classifier]}, seed 0: predicted land use on the test area "
                     "(black = unlabelled)", fontsize=7)
        figures[f"maps_{classifier}"] = _png(fig, plt)
    return figures


def _png(fig, plt) -> bytes:
    buffer = io.BytesIO()
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    fig.savefig(buffer, format="png", dpi=90)
    plt.close(fig)
    return buffer.getvalue()


def write_report(result: dict, stem: str | Path, command: str | None = None) -> list[Path]:
    """Render everything, then write each file atomically; returns the paths written."""
    stem = Path(stem)
    public = {k: v for k, v in result.items() if not k.startswith("_")}
    if command:
        public["command"] = command
    outputs = {stem.with_name(stem.name + ".md"): markdown(result, command).encode(),
               stem.with_name(stem.name + ".json"): json.dumps(public, indent=2).encode()}
    for name, data in _figures(result).items():
        outputs[stem.with_name(f"{stem.name}_{name}.png")] = data
    for path, data in outputs.items():
        with atomic_output(path) as tmp:
            Path(tmp).write_bytes(data)
    return list(outputs)
