"""`geossr benchmark landuse`: classify real vs generated bands (SSIF paper, Table 3)."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import typer

from geossr_cli.output import console, err_console, parse_list

app = typer.Typer(help="Task benchmarks of generated images.", no_args_is_help=True)


@app.callback()
def benchmark() -> None:
    """Task benchmarks of generated images (see `geossr benchmark landuse --help`)."""


DATASETS = ("jasper-ridge", "samson", "pavia-centre", "files")


def _load_scene(dataset, root, cube, gt, labels, split, cube_sensor, cube_scale):
    from geossr.errors import GeossrError
    from geossr.landuse import datasets

    if dataset == "jasper-ridge":
        return datasets.load_jasper_ridge_scene(root, split or datasets.UNMIXING_SPLIT)
    if dataset == "samson":
        return datasets.load_samson_scene(root, split or datasets.UNMIXING_SPLIT)
    if dataset == "pavia-centre":
        if cube is None or gt is None:
            raise GeossrError("--dataset pavia-centre needs --cube Pavia.mat and --gt Pavia_gt.mat")
        return datasets.load_pavia_centre(cube, gt)
    if dataset == "files":
        if cube is None or labels is None or split is None:
            raise GeossrError("--dataset files needs --cube CUBE.tif, --labels LABELS.tif and --split rows:F,F|cols:F,F")
        return datasets.load_files_scene(cube, labels, split, cube_sensor, cube_scale)
    raise GeossrError(f"unknown --dataset {dataset!r} (use {', '.join(DATASETS)})")


class _Progress:
    """Rich bars for generation, classifier fits and A2S2K epochs (on stderr when it is a terminal)."""

    def __init__(self, progress):
        self.progress, self.tasks = progress, {}

    def __call__(self, kind, **info):
        if self.progress is None:
            return
        if kind in ("generate", "classify"):
            label = {"generate": "generating SR images", "classify": "training + scoring classifiers"}[kind]
            self.tasks[kind] = self.progress.add_task(label, total=info["total"])
        elif kind == "generated":
            self.progress.advance(self.tasks["generate"])
        elif kind == "classified":
            self.progress.advance(self.tasks["classify"])
            if "epoch" in self.tasks:  # a finished A2S2K run: its epoch bar goes
                self.progress.remove_task(self.tasks.pop("epoch"))
        elif kind == "epoch":
            if "epoch" not in self.tasks:
                self.tasks["epoch"] = self.progress.add_task("", total=info["total"])
            self.progress.update(self.tasks["epoch"], completed=info["epoch"],
                                 description=f"  {info['classifier']} seed {info['seed']} "
                                             f"(val OA {100 * info['val_oa']:.1f} %)")


def _log_line(kind, **info):
    """Without a terminal (a log file): one plain line per finished step."""
    if kind in ("generated", "classified") or (kind == "epoch" and info["epoch"] % 5 == 0):
        details = " ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in info.items())
        err_console.print(f"{kind} {details}", markup=False, highlight=False)


def landuse(
    dataset: str = typer.Option(..., "--dataset", help="jasper-ridge, samson, pavia-centre or files."),
    output: Path = typer.Option(..., "--output", "-o", help="Write OUTPUT.md, OUTPUT.json and OUTPUT_*.png."),
    root: Path = typer.Option(Path("../shared/data"), "--root", help="Folder of the real data (jasper-ridge, samson)."),
    cube: Path = typer.Option(None, "--cube", help="pavia-centre: Pavia.mat; files: the cube GeoTIFF."),
    gt: Path = typer.Option(None, "--gt", help="pavia-centre: Pavia_gt.mat."),
    labels: Path = typer.Option(None, "--labels", help="files: label raster (0 = unlabelled, 1..K)."),
    split: str = typer.Option(None, "--split", help="rows:TRAIN,VAL or cols:TRAIN,VAL fractions (test = rest)."),
    cube_sensor: str = typer.Option(None, "--cube-sensor", help="files: the cube's sensor (else its metadata)."),
    cube_scale: float = typer.Option(1.0, "--cube-scale", help="files: factor mapping the cube's values to [0, 1]."),
    scales: str = typer.Option("2,3,4,8", "--scales", help="Spatial scales p."),
    models: str = typer.Option("bicubic,ssif_ikonos_default", "--models",
                               help="bicubic, linear and/or shipped weight names (see `geossr models list`), or none."),
    weights: list[Path] = typer.Option([], "--weights", help="Extra LIIF/SSIF checkpoint (.safetensors); repeatable."),
    input_sensor: str = typer.Option("ikonos:blue,green,red,nir", "--input-sensor", help="Input sensor of bicubic, linear and any-sensor models (ssif-any)."),
    classifiers: str = typer.Option("a2s2k,svm,rf", "--classifiers", help="a2s2k, svm, rf."),
    seeds: int = typer.Option(3, "--seeds", help="Seeds (sampling and initialisation); mean ± std over them."),
    epochs: int = typer.Option(100, "--epochs", help="A2S2K epochs at most (early stopping on validation)."),
    patience: int = typer.Option(10, "--patience", help="A2S2K: epochs without validation-loss gain before stopping."),
    patch: int = typer.Option(11, "--patch", help="A2S2K patch side (odd)."),
    train_per_class: int = typer.Option(2000, "--train-per-class", help="Training pixels per class (at most)."),
    val_per_class: int = typer.Option(500, "--val-per-class", help="Validation pixels per class (at most)."),
    min_pixels: int = typer.Option(20, "--min-pixels", help="A class needs this many pixels in the train and validation areas."),
    bands: str = typer.Option("auto", "--bands", help="Classifier bands: auto (what every model produces), all, or LO-HI nm."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda[:N]."),
) -> None:
    """Land-use fidelity: train A2S2K-ResNet / SVM / RF on real bands, score them on generated images."""
    from geossr.errors import GeossrError

    # Cheap checks first, before torch and the data are loaded.
    if dataset not in DATASETS:
        raise GeossrError(f"unknown --dataset {dataset!r} (use {', '.join(DATASETS)})")
    if not output.parent.resolve().is_dir():
        raise GeossrError(f"output directory does not exist: {output.parent}")
    for path in [p for p in (cube, gt, labels, *weights) if p is not None]:
        if not path.is_file():
            raise GeossrError(f"file not found: {path}")

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from geossr.extras import pyplot, require

    require("sklearn", "geossr benchmark landuse")  # its scores and SVM / RF; the figures need matplotlib
    pyplot("geossr benchmark landuse")
    from geossr.device import resolve_device
    from geossr.landuse.benchmark import BenchmarkConfig, resolve_models, run_benchmark
    from geossr.landuse.report import markdown, write_report

    target = resolve_device(device)
    config = BenchmarkConfig(
        scales=parse_list(scales, float, "--scales"), classifiers=parse_list(classifiers, str, "--classifiers"),
        seeds=seeds, epochs=epochs, patience=patience, patch=patch, train_per_class=train_per_class,
        val_per_class=val_per_class, min_pixels=min_pixels, bands=bands, device=target)
    if patch < 3 or patch % 2 == 0:
        raise GeossrError(f"--patch must be an odd number >= 3, got {patch}")
    model_names = [] if models == "none" else parse_list(models, str, "--models")
    scene = _load_scene(dataset, root, cube, gt, labels, split, cube_sensor, cube_scale)
    sr_models = resolve_models(model_names, [str(w) for w in weights], input_sensor, target)
    command = "geossr " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    if err_console.is_terminal:
        with Progress(*columns, console=err_console, transient=True) as progress:
            result = run_benchmark(scene, sr_models, config, _Progress(progress))
    else:
        result = run_benchmark(scene, sr_models, config, _log_line)
    paths = write_report(result, output, command)
    console.print(markdown(result).split("## Training runs")[0], markup=False, highlight=False, soft_wrap=True)
    console.print("wrote " + ", ".join(str(p) for p in paths), markup=False, highlight=False)
