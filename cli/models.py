"""`geossr models list`: every model and variant, and which trained weights are installed."""

from __future__ import annotations

import typer
from rich.table import Table

from geossr_cli.output import console, print_json

app = typer.Typer(help="List the models geossr can build and train.", no_args_is_help=True)


@app.command("list")
def list_models(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Every registered model with its variants, and the installed trained weights."""
    from geossr.models.loader import DEFAULT_MODEL
    from geossr.models.registry import MODELS
    from geossr.models.weights import installed_weights

    weights = installed_weights()
    rows = [{"model": name, "description": MODELS[name].description,
             "weights": [w["name"] for w in weights if w["model"] == name]}
            for name in sorted(MODELS, key=lambda name: (name != DEFAULT_MODEL, name))]
    if as_json:
        print_json(rows)
        return
    table = Table(title="geossr models")
    for column in ("model", "description", "installed weights"):
        table.add_column(column)
    for row in rows:
        table.add_row(row["model"], row["description"], ", ".join(row["weights"]) or "none")
    console.print(table)


@app.command("show")
def show_model(
    name: str = typer.Argument(..., help="Name of installed weights (see `geossr models list`)."),
    as_json: bool = typer.Option(False, "--json", help="The whole model card as JSON."),
) -> None:
    """The model card of installed weights: data, split, steps, hardware, metrics, limits."""
    from geossr.errors import GeossrError
    from geossr.models.weights import installed_weights

    found = {w["name"]: w for w in installed_weights()}
    if name not in found:
        raise GeossrError(f"no installed weights named {name!r} (installed: {', '.join(found) or 'none'})")
    card = found[name]["card"]
    if as_json:
        print_json(card)
        return
    training = card.get("training", {})
    model = card["model"]
    console.print(f"[bold]{name}[/bold]: {model['name']} {model.get('variant', '')} "
                  f"({found[name]['path']})", highlight=False)
    if model["name"] == "ssif-any":
        lo, hi = training["spectral_range_nm"]
        console.print(f"input sensor  any with bands in {lo:.0f}-{hi:.0f} nm "
                      f"(validated on {model['input_sensor']['name']})", highlight=False)
    else:
        console.print(f"input sensor  {model['input_sensor']['name']}", highlight=False)
    for key in ("dataset", "train_scenes", "validation_scenes", "steps", "scale_range", "spectral_range_nm",
                "device", "hardware", "elapsed_s"):
        if key in training:
            console.print(f"{key:<14}{training[key]}", highlight=False)
    console.print(f"metrics       {card.get('metrics', {})}", highlight=False)
    for line in card.get("limits", []):
        console.print(f"limit         {line}", highlight=False)
