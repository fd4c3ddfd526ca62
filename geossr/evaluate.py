"""Evaluate a model on held-out scenes: PSNR / SSIM / SAM / RMSE / ERGAS per scale and band count."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from geossr.fileio import atomic_output
from geossr.models.base import SuperResolver
from geossr.models.limits import check_band_range, check_scale

METRIC_COLUMNS = ("psnr", "ssim", "sam", "rmse", "rmse_255", "ergas", "reint_psnr")


def evaluate_model(
    model: SuperResolver,
    cubes,
    scales: list[float],
    band_counts: list[int],
    *,
    label: str,
    crop: int | None = None,
    trained_scale_range=None,
    trained_spectral_range=None,
    device: str | torch.device = "cpu",
    consistency: bool = False,
) -> list[dict]:
    """One row per (scale, band count): metrics averaged over the cubes (each scene counts once).

    A model with a fixed band set (LIIF, FMNet) is scored on its own bands, whatever ``band_counts``.
    Every row also gives the output's physical consistency: the PSNR of the output re-integrated
    through the input sensor (``geossr.forward.consistency.reintegrate``) against the input. With
    ``consistency`` each row is followed by one for the output projected onto the input
    (``project_to_input``), labelled ``LABEL + consistency``.
    """
    from geossr.forward.consistency import input_response, project_to_input, reintegrate
    from geossr.data import evaluation_pairs, target_sensor_from_intervals
    from geossr.metrics import all_metrics, psnr

    model.eval().to(device)
    if model.fixed_intervals_nm is not None:
        band_counts = [len(model.fixed_intervals_nm)]
    rows = []
    for scale in scales:
        check_scale(scale, trained_scale_range)
        for bands in band_counts:
            per_scene = {label: [], f"{label} + consistency": []}
            for pair in evaluation_pairs(cubes, model.input_sensor, scale, bands, crop=crop):
                check_band_range(pair["intervals"].numpy(), trained_spectral_range)
                hr, lr = pair["hr"][0], pair["lr"]
                with torch.no_grad():
                    pred = model(lr.to(device), hr.shape[-2:], pair["intervals"]).clamp(0, 1).cpu()
                response = input_response(target_sensor_from_intervals(pair["intervals"].numpy()), model.input_sensor)
                outputs = {label: pred}
                if consistency:
                    outputs[f"{label} + consistency"] = project_to_input(pred, lr, response).clamp(0, 1)
                for name, output in outputs.items():
                    metrics = all_metrics(output[0].numpy(), hr.numpy(), pair["scale"])
                    metrics["reint_psnr"] = psnr(reintegrate(output.double(), response, lr.shape[-2:])[0].numpy(),
                                                 lr[0].numpy())
                    per_scene[name].append(metrics)
            for name, scenes in per_scene.items():
                if scenes:
                    row = {"model": name, "scale": scale, "bands": bands, "scenes": len(scenes)}
                    row.update({k: float(np.mean([m[k] for m in scenes])) for k in METRIC_COLUMNS})
                    rows.append(row)
    return rows


def markdown_table(rows: list[dict]) -> str:
    header = ("| model | scale | bands | PSNR (dB) | SSIM | SAM (°) | RMSE | RMSE (0-255) | ERGAS "
              "| re-integration PSNR (dB) | scenes |")
    lines = [header, "|" + "---|" * 11]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['scale']:g} | {r['bands']} | {r['psnr']:.2f} | {r['ssim']:.4f} | "
            f"{r['sam']:.2f} | {r['rmse']:.4f} | {r['rmse_255']:.2f} | {r['ergas']:.2f} | {r['reint_psnr']:.2f} "
            f"| {r['scenes']} |"
        )
    return "\n".join(lines) + "\n"


def write_results(rows: list[dict], stem: str | Path, context: dict) -> tuple[Path, Path]:
    """``stem``.md and ``stem``.json, each written atomically."""
    stem = Path(stem)
    outputs = {
        stem.with_suffix(".md"): f"# Evaluation\n\n{_context_lines(context)}\n{markdown_table(rows)}",
        stem.with_suffix(".json"): json.dumps({"context": context, "rows": rows}, indent=2),
    }
    for path, text in outputs.items():
        with atomic_output(path) as tmp:
            Path(tmp).write_text(text)
    return tuple(outputs)


def _context_lines(context: dict) -> str:
    return "".join(f"- {key}: {value}\n" for key, value in context.items())
