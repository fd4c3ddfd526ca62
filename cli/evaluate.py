"""`geossr evaluate`: PSNR / SSIM / SAM / RMSE / ERGAS of a checkpoint or the bicubic baseline."""

from __future__ import annotations

from pathlib import Path

import typer

from geossr_cli.output import console, parse_list, print_json

DEFAULT_INPUT_SENSOR = {"cave": "nikon_d700"}


def evaluate(
    model: str = typer.Argument(..., help="A checkpoint (.safetensors with its .json card), a shipped weight name, "
                                          "or a model name (bicubic, linear, ssif, ...: its shipped weights)."),
    dataset: str = typer.Option("cave", "--dataset", help="cave, rosis, jasper, samson, or a GeoTIFF."),
    root: Path = typer.Option(Path("../shared/data"), "--root", help="Folder of the real data."),
    split: str = typer.Option("test", "--split", help="Which scenes (never the training ones)."),
    scales: str = typer.Option("2,4,8", "--scales", help="Comma-separated spatial scales, e.g. 2,4,8,12."),
    bands: str = typer.Option("31", "--bands", help="Comma-separated target band counts, e.g. 15,31,62."),
    input_sensor: str = typer.Option(None, "--input-sensor", help="Input sensor of a model name or an any-sensor "
                                     "checkpoint (default: nikon_d700 on cave, else ikonos:blue,green,red,nir; a "
                                     "checkpoint trained for one sensor keeps it)."),
    crop: int = typer.Option(None, "--crop", help="Evaluate a centred crop of this many HR pixels."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda[:N]."),
    output: Path = typer.Option(None, "--output", "-o", help="Write OUTPUT.md and OUTPUT.json."),
    as_json: bool = typer.Option(False, "--json", help="Print the rows as JSON."),
) -> None:
    """Evaluate on held-out scenes; prints a table and writes markdown + JSON."""
    from geossr.data import load_dataset
    from geossr.errors import GeossrError
    from geossr.evaluate import evaluate_model, markdown_table, write_results
    from geossr.models import MODELS, load
    from geossr.models.registry import closed_form_models
    from geossr.device import resolve_device
    from geossr.spectral.sensors import load_sensor

    from geossr.models.limits import check_scale

    scale_list = parse_list(scales, float, "--scales")
    band_list = parse_list(bands, int, "--bands")
    for scale in scale_list:
        check_scale(scale, None)  # before any data is read
    target = resolve_device(device)
    if output is not None and not output.parent.resolve().is_dir():
        raise GeossrError(f"output directory does not exist: {output.parent}")
    if input_sensor is None and model in MODELS:
        input_sensor = DEFAULT_INPUT_SENSOR.get(dataset, "ikonos:blue,green,red,nir")
    loaded = load(model, load_sensor(input_sensor) if input_sensor else None, target)
    net, card = loaded.net, loaded.card
    label = model if model in closed_form_models() else card.get("name", Path(loaded.label).stem)
    cubes = load_dataset(dataset, root, split)
    training = card.get("training", {})
    rows = evaluate_model(
        net, cubes, scale_list, band_list, label=label, crop=crop, device=target,
        trained_scale_range=training.get("scale_range"), trained_spectral_range=training.get("spectral_range_nm"),
    )
    if output is not None:
        write_results(rows, output, {"model": model, "dataset": dataset, "split": split,
                                     "scenes": ", ".join(c.name for c in cubes), "crop": crop})
    if as_json:
        print_json(rows)
    else:
        console.print(markdown_table(rows), markup=False)
