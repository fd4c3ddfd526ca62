"""`geossr train`: train a model from a YAML config, resumably."""

from __future__ import annotations

from pathlib import Path

import typer

from geossr_cli.output import console, err_console, print_json


def train(
    config: Path = typer.Argument(..., help="Training config (YAML), e.g. configs/linear_sr_airborne.yaml."),
    out: Path = typer.Option(None, "--out", help="Run directory (default: runs/<config name>)."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda[:N]."),
    steps: int = typer.Option(None, "--steps", help="Train to this many steps instead of the config's."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out where it stopped."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress output."),
    as_json: bool = typer.Option(False, "--json", help="Print the final model card as JSON."),
) -> None:
    """Train a model (SSIF, LIIF, FMNet) on real data; writes safetensors weights + a JSON card."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from geossr.errors import GeossrError
    from geossr.train import TrainConfig, Trainer

    cfg = TrainConfig.load(config)
    out = out or Path("runs") / cfg.name
    if steps is not None and steps < 1:
        raise GeossrError(f"--steps must be at least 1, got {steps}")
    if (out / "train_state.pt").exists() and not resume:
        raise GeossrError(f"{out} already holds a run; use --resume to continue it or another --out")
    trainer = Trainer(cfg, out, device)
    if resume and not trainer.resume():
        raise GeossrError(f"nothing to resume in {out}")
    total = steps or cfg.train["steps"]
    show = not (quiet or as_json)
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
               TimeElapsedColumn())
    with Progress(*columns, console=err_console, disable=not show) as progress:
        task = progress.add_task(f"{cfg.name}", total=total, completed=trainer.step)

        def on_step(step, loss, lr):
            progress.update(task, completed=step, description=f"{cfg.name} loss {loss:.4f} lr {lr:.1e}")

        def on_validate(step, metrics):
            progress.console.print(
                f"step {step}: validation L1 {metrics['val_l1']:.4f}, PSNR {metrics['val_psnr']:.2f} dB"
            )

        card = trainer.run(total, on_step=on_step, on_validate=on_validate)
    if as_json:
        print_json(card)
    elif not quiet:
        console.print(f"weights: {trainer.weights_path} (card: {trainer.weights_path.with_suffix('.json')})")
