"""Fidelity table: every checkpoint in a runs folder plus the bicubic baseline, on held-out scenes.

    python benchmarks/fidelity.py --runs runs --dataset cave --scales 2,4,8 --bands 31 \
        --out benchmarks/results/fidelity_cave_short

Writes OUT.md (with the machine and the models' training budgets) and OUT.json.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import torch

from geossr.data import load_dataset
from geossr.evaluate import evaluate_model, markdown_table, write_results
from geossr.models import build
from geossr.models.checkpoint import load_checkpoint

DEFAULT_INPUT = {"cave": "nikon_d700", "remote": "ikonos:blue,green,red,nir"}


def machine() -> str:
    return (f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
            f"torch {torch.__version__} ({torch.get_num_threads()} threads), "
            f"{'CUDA ' + torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no GPU'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=Path, required=True, help="folder of run folders with model.safetensors")
    parser.add_argument("--dataset", default="cave")
    parser.add_argument("--root", type=Path, default=Path("../shared/data"))
    parser.add_argument("--scales", default="2,4,8")
    parser.add_argument("--bands", default="31")
    parser.add_argument("--crop", type=int, default=None)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    scales = [float(v) for v in args.scales.split(",")]
    bands = [int(v) for v in args.bands.split(",")]
    cubes = load_dataset(args.dataset, args.root, "test")
    rows, budgets = [], []
    started = time.perf_counter()
    baseline = build("bicubic", input_sensor=DEFAULT_INPUT.get(args.dataset, "ikonos:blue,green,red,nir"))
    rows += evaluate_model(baseline, cubes, scales, bands, label="bicubic", crop=args.crop)
    for weights in sorted(args.runs.glob("*/model.safetensors")):
        model, card = load_checkpoint(weights)
        if card["training"]["dataset"] != args.dataset:
            continue
        training = card["training"]
        # A model trained at p = 1 only (FMNet's spectral-SR setting) is scored at p = 1.
        model_scales = [1.0] if training["scale_range"] == [1.0, 1.0] else scales
        rows += evaluate_model(model, cubes, model_scales, bands, label=card["name"],
                               crop=args.crop, trained_scale_range=training["scale_range"],
                               trained_spectral_range=training["spectral_range_nm"])
        budgets.append(f"{card['name']}: {training['steps']} steps, batch {training['data']['batch_size']}, "
                       f"input {training['data']['lr_size']} px, p ~ U{tuple(training['scale_range'])}, "
                       f"{training['elapsed_s']} s on {training['device']}")
    context = {
        "data set": f"{args.dataset}, test scenes: {', '.join(c.name for c in cubes)}",
        "machine": machine(),
        "evaluation time": f"{time.perf_counter() - started:.0f} s",
        "training budgets": "; ".join(budgets) or "none",
    }
    md, js = write_results(rows, args.out, context)
    print(markdown_table(rows))
    print(f"written: {md}, {js}")


if __name__ == "__main__":
    main()
