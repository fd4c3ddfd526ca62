"""A training run's validation curve (PSNR and SAM against steps), beside the linear prior it started from.

    python benchmarks/training_curve.py checkpoints/ssif_airborne_default --out benchmarks/results/training_ssif_airborne

Reads the run's ``train_state.pt`` history (what ``geossr train`` validated every ``validate_every``
steps) and scores the ``linear`` prior on the same validation pairs (the config's validation scenes,
sensor, scale, bands and crop): the network's step-0 output. Writes a PNG and a markdown table.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from geossr.data import evaluation_pairs, load_dataset  # noqa: E402
from geossr.metrics import psnr, sam  # noqa: E402
from geossr.models.registry import build  # noqa: E402
from geossr.train import TrainConfig  # noqa: E402


def prior_scores(config: TrainConfig) -> dict:
    data, train = config.data, config.train
    cubes = [c for name in data["validation_scenes"] for c in load_dataset(name, data["root"])]
    sensor = config.model["input_sensor"]
    model = build("linear", input_sensor=sensor)
    pairs = evaluation_pairs(cubes, sensor, train["validation_scale"], train["validation_bands"],
                             spectral_range_nm=data["spectral_range_nm"], crop=train["validation_crop"])
    scores = []
    with torch.no_grad():
        for pair in pairs:
            pred = model(pair["lr"], pair["hr"].shape[-2:], pair["intervals"]).clamp(0, 1)[0].numpy()
            truth = pair["hr"][0].numpy()
            scores.append((psnr(pred, truth), sam(pred, truth)))
    return {"val_psnr": float(np.mean([s[0] for s in scores])), "val_sam": float(np.mean([s[1] for s in scores]))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--config", type=Path, default=None, help="default: configs/<run folder name>.yaml")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    state = torch.load(args.run / "train_state.pt", map_location="cpu", weights_only=True)
    config = TrainConfig.load(args.config or Path("configs") / f"{args.run.name}.yaml")
    history, prior = state["history"], prior_scores(config)
    steps = [h["step"] for h in history]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for ax, key, label in ((axes[0], "val_psnr", "validation PSNR (dB)"), (axes[1], "val_sam", "validation SAM (°)")):
        ax.plot(steps, [h[key] for h in history], marker="o", ms=3, label=config.name)
        ax.axhline(prior[key], color="grey", ls="--", label="linear prior (step 0)")
        ax.set_xlabel("training step")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    sensor, site = config.model["input_sensor"], ", ".join(config.data["validation_scenes"])
    fig.suptitle(f"{config.name}: validation on {site}, input {sensor}, p = {config.train['validation_scale']:g}",
                 fontsize=9)
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out.with_suffix(".png"), dpi=110)
    lines = [f"# Training curve: {config.name}", "",
             f"Validation on {site} from {sensor} at p = {config.train['validation_scale']:g}, "
             f"{config.train['validation_bands']} bands over {config.data['spectral_range_nm']} nm; "
             f"{state['step']} steps, {state['elapsed_s']:.0f} s of training ({config.train['precision']}).", "",
             f"Linear prior (the untrained network): {prior['val_psnr']:.2f} dB, SAM {prior['val_sam']:.2f}°.", "",
             "| step | PSNR (dB) | SAM (°) |", "|---|---|---|"]
    lines += [f"| {h['step']} | {h['val_psnr']:.2f} | {h['val_sam']:.2f} |" for h in history]
    args.out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
