"""bf16 autocast against fp32 for training: the same run (config, seed, batches) in both, side by side.

    python benchmarks/training_precision.py configs/ssif_airborne_default.yaml --steps 1500 \
        --out benchmarks/results/training_precision

Trains the config from scratch twice for ``--steps`` steps, once per precision, with the same seed
(so the same batches and initial weights), alternating the two runs in blocks of ``--block`` steps so
that a change in the machine's load hits both alike. Records seconds per step, the training loss
(mean over each block) and the validation PSNR / SAM every ``--validate-every`` steps; writes a PNG
and a markdown table with the machine (its bf16 support, from /proc/cpuinfo). Run on an idle machine.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from geossr.fileio import atomic_output  # noqa: E402
from geossr.train import TrainConfig, Trainer  # noqa: E402

PRECISIONS = ("fp32", "bf16")


def cpu_bf16() -> str:
    flags = set()
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    native = sorted(flag for flag in flags if flag in ("avx512_bf16", "amx_bf16"))
    return ", ".join(native) or "no native bf16"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", type=Path)
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--block", type=int, default=50)
    parser.add_argument("--validate-every", type=int, default=500)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    base = TrainConfig.load(args.config)
    trainers, logs = {}, {}
    with tempfile.TemporaryDirectory() as scratch:
        for precision in PRECISIONS:
            raw = {**base.raw, "train": {**base.raw.get("train", {}), "precision": precision,
                                         "steps": args.steps, "validate_every": args.validate_every,
                                         "checkpoint_every": 10**9}}
            trainers[precision] = Trainer(TrainConfig.from_dict(raw), Path(scratch) / precision, "cpu")
            logs[precision] = {"loss": [], "seconds": 0.0, "validation": []}
        for end in range(args.block, args.steps + 1, args.block):
            for precision, trainer in trainers.items():
                losses = []
                started = time.perf_counter()
                trainer.run(end, on_step=lambda step, loss, lr: losses.append(loss),
                            on_validate=lambda step, m, log=logs[precision]: log["validation"].append(m))
                logs[precision]["seconds"] += time.perf_counter() - started
                logs[precision]["loss"].append((end, float(np.mean(losses))))

    machine = f"{platform.machine()} {platform.processor()} ({cpu_bf16()}), torch {torch.__version__}, " \
              f"{torch.get_num_threads()} threads"
    per_step = {p: logs[p]["seconds"] / args.steps for p in PRECISIONS}
    figure, (loss_axis, sam_axis) = plt.subplots(1, 2, figsize=(10, 4))
    for precision in PRECISIONS:
        steps, losses = zip(*logs[precision]["loss"])
        loss_axis.plot(steps, losses, label=precision)
        sam_axis.plot([m["step"] for m in logs[precision]["validation"]],
                      [m["val_sam"] for m in logs[precision]["validation"]], marker="o", label=precision)
    loss_axis.set(xlabel="step", ylabel=f"training loss (mean of {args.block} steps)")
    sam_axis.set(xlabel="step", ylabel="validation SAM (°)")
    for axis in (loss_axis, sam_axis):
        axis.legend()
    figure.suptitle(f"{base.name}: bf16 autocast vs fp32, same seed and batches")
    figure.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(args.out.with_suffix(".png")) as tmp:
        figure.savefig(tmp, dpi=110, format="png")

    rows = ["| precision | s / step | final block loss | " +
            " | ".join(f"step {m['step']} PSNR / SAM" for m in logs["fp32"]["validation"]) + " |",
            "|---|---|---|" + "---|" * len(logs["fp32"]["validation"])]
    for precision in PRECISIONS:
        cells = [f"{m['val_psnr']:.2f} / {m['val_sam']:.2f}" for m in logs[precision]["validation"]]
        rows.append(f"| {precision} | {per_step[precision]:.3f} | {logs[precision]['loss'][-1][1]:.4f} | "
                    + " | ".join(cells) + " |")
    gap = [abs(a[1] - b[1]) / a[1] for a, b in zip(logs["fp32"]["loss"], logs["bf16"]["loss"])]
    md = [f"# Training precision: bf16 autocast vs fp32 ({base.name})", "",
          f"- machine: {machine}",
          f"- command: python benchmarks/training_precision.py {args.config} --steps {args.steps} "
          f"--block {args.block} --validate-every {args.validate_every}",
          f"- the two runs alternate every {args.block} steps; same seed, so the same batches and start",
          f"- bf16 takes {per_step['bf16'] / per_step['fp32']:.2f}x the time of fp32 per step; block-mean training "
          f"losses differ by {100 * np.mean(gap):.1f} % on average (at most {100 * max(gap):.1f} %)", "",
          "\n".join(rows), "", f"![curves]({args.out.with_suffix('.png').name})", ""]
    with atomic_output(args.out.with_suffix(".md")) as tmp:
        Path(tmp).write_text("\n".join(md))
    with atomic_output(args.out.with_suffix(".json")) as tmp:
        Path(tmp).write_text(json.dumps({"machine": machine, "seconds_per_step": per_step, "logs": logs}, indent=1))
    print("\n".join(md))


if __name__ == "__main__":
    main()
