"""`geossr models list`: every model and variant, and which trained weights are installed."""

from __future__ import annotations

import typer
from rich.table import Table

from geossr_cli.output import console, print_json

app = typer.Typer(help="List the models geossr can build and train.", no_args_is_help=True)


@app.command("list")
def list_models(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Every registered model with its variants, and the installed trained weights."""
    from geossr.models.registry import MODELS
    from geossr.models.weights import installed_weights

    weights = installed_weights()
    rows = [{"model": name, "description": description,
             "weights": [w["name"] for w in weights if w["model"] == name]}
            for name, (_, description) in MODELS.items()]
    if as_json:
        print_json(rows)
        return
    table = Table(title="geossr models")
    for column in ("model", "description", "installed weights"):
        table.add_column(column)
    for row in rows:
        table.add_row(row["model"], row["description"], ", ".join(row["weights"]) or "none")
    console.print(table)
