"""Evaluate a model on held-out scenes: PSNR / SSIM / SAM / RMSE / ERGAS per scale and band count."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from geossr.fileio import atomic_output
from geossr.models.base import SuperResolver
from geossr.models.limits import check_band_range, check_scale

METRIC_COLUMNS = ("psnr", "ssim", "sam", "rmse", "rmse_255", "ergas")


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
) -> list[dict]:
    """One row per (scale, band count): metrics averaged over the cubes (each scene counts once).

    A model with a fixed band set (LIIF, FMNet) is scored on its own bands, whatever ``band_counts``.
    """
    from geossr.data import evaluation_pairs
    from geossr.metrics import all_metrics

    model.eval().to(device)
    if model.fixed_intervals_nm is not None:
        band_counts = [len(model.fixed_intervals_nm)]
    rows = []
    for scale in scales:
        check_scale(scale, trained_scale_range)
        for bands in band_counts:
            per_scene = []
            for pair in evaluation_pairs(cubes, model.input_sensor, scale, bands, crop=crop):
                check_band_range(pair["intervals"].numpy(), trained_spectral_range)
                hr = pair["hr"][0]
                with torch.no_grad():
                    pred = model(pair["lr"].to(device), hr.shape[-2:], pair["intervals"]).clamp(0, 1)[0].cpu()
                per_scene.append(all_metrics(pred.numpy(), hr.numpy(), pair["scale"]))
            row = {"model": label, "scale": scale, "bands": bands, "scenes": len(per_scene)}
            row.update({k: float(np.mean([m[k] for m in per_scene])) for k in METRIC_COLUMNS})
            rows.append(row)
    return rows


def markdown_table(rows: list[dict]) -> str:
    header = "| model | scale | bands | PSNR (dB) | SSIM | SAM (°) | RMSE | RMSE (0-255) | ERGAS | scenes |"
    lines = [header, "|" + "---|" * 10]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['scale']:g} | {r['bands']} | {r['psnr']:.2f} | {r['ssim']:.4f} | "
            f"{r['sam']:.2f} | {r['rmse']:.4f} | {r['rmse_255']:.2f} | {r['ergas']:.2f} | {r['scenes']} |"
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
