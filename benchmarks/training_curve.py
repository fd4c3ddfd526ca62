"""Training runs' validation curves (PSNR and SAM against steps), beside the linear prior.

    python benchmarks/training_curve.py checkpoints/ssif_airborne_default --out benchmarks/results/training_ssif_airborne
    python benchmarks/training_curve.py checkpoints/ssif_airborne_ikonos checkpoints/liif_airborne_ikonos \
        --out benchmarks/results/training_ssif_vs_liif_airborne

Reads the run's ``train_state.pt`` history (what ``geossr train`` validated every ``validate_every``
steps) and scores the ``linear`` prior on the same validation pairs (the config's validation scenes,
sensor, scale, bands and crop): the step-0 output of a model that starts from it (linear-sr, a
prior-start ssif-any), a reference for one that starts untrained. Several runs with the same
validation are drawn together. Writes a PNG and a markdown table.
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


def starts_from_prior(config: TrainConfig) -> bool:
    """linear-sr and a prior-start ssif-any begin as the linear prior; other models begin untrained."""
    return config.model["name"] == "linear-sr" or config.model.get("baseline") == "prior"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path, nargs="+", help="run folders; several: drawn together (same validation)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    runs = [(torch.load(run / "train_state.pt", map_location="cpu", weights_only=True),
             TrainConfig.load(Path("configs") / f"{run.name}.yaml")) for run in args.runs]
    first = runs[0][1]
    prior = prior_scores(first)
    prior_label = "linear prior (step 0)" if all(starts_from_prior(c) for _, c in runs) else "linear prior (closed form)"
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for ax, key, label in ((axes[0], "val_psnr", "validation PSNR (dB)"), (axes[1], "val_sam", "validation SAM (°)")):
        for state, config in runs:
            ax.plot([h["step"] for h in state["history"]], [h[key] for h in state["history"]], marker="o", ms=3,
                    label=config.name)
        ax.axhline(prior[key], color="grey", ls="--", label=prior_label)
        ax.set_xlabel("training step")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    sensor, site = first.model["input_sensor"], ", ".join(first.data["validation_scenes"])
    names = " vs ".join(c.name for _, c in runs)
    fig.suptitle(f"{names}: validation on {site}, input {sensor}, p = {first.train['validation_scale']:g}", fontsize=9)
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out.with_suffix(".png"), dpi=110)
    lines = [f"# Training curve: {names}", "",
             f"Validation on {site} from {sensor} at p = {first.train['validation_scale']:g}, "
             f"{first.train['validation_bands']} bands over {first.data['spectral_range_nm']} nm.", ""]
    lines += [f"- {c.name}: {state['step']} steps, {state['elapsed_s']:.0f} s of training ({c.train['precision']})"
              + ("" if starts_from_prior(c) else "; starts untrained") for state, c in runs]
    lines += ["", f"{'Linear prior (the untrained network)' if prior_label.endswith('(step 0)') else 'Linear prior (closed form, for reference)'}: "
              f"{prior['val_psnr']:.2f} dB, SAM {prior['val_sam']:.2f}°.", "",
              "| step | " + " | ".join(f"{c.name} PSNR (dB) / SAM (°)" for _, c in runs) + " |",
              "|---|" + "---|" * len(runs)]
    by_step = [{h["step"]: h for h in state["history"]} for state, _ in runs]
    for step in sorted(set().union(*by_step)):
        cells = [f"{b[step]['val_psnr']:.2f} / {b[step]['val_sam']:.2f}" if step in b else "" for b in by_step]
        lines.append(f"| {step} | " + " | ".join(cells) + " |")
    args.out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
