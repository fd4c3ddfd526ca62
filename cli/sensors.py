"""`geossr sensors list|show`: the sensor definitions geossr knows."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from geossr.spectral.sensors import available_sensors, load_sensor, sensor_dir, sensor_summary
from geossr_cli.output import console, print_json

app = typer.Typer(help="List and inspect sensor definitions (shipped, files, grid: specs).", no_args_is_help=True)


@app.command("list")
def list_sensors(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """List the shipped sensors: name, band count, spectral range, source."""
    summaries = [sensor_summary(load_sensor(name)) | {"name": name} for name in available_sensors()]
    if as_json:
        print_json(summaries)
        return
    table = Table(title=f"Sensors in {sensor_dir()}")
    for column in ("name", "bands", "range (nm)", "response", "source"):
        table.add_column(column)
    for s in summaries:
        table.add_row(s["name"], str(s["bands"]), f"{s['range_nm'][0]:.0f}-{s['range_nm'][1]:.0f}",
                      s["response"], s["source"])
    console.print(table)
    console.print("Also: any sensor .yaml file, or grid:START:STOP:N[:gaussian|uniform] (nm).")


@app.command("show")
def show_sensor(
    sensor: str = typer.Argument(..., help="Sensor name, sensor .yaml file, or grid:START:STOP:N[:shape]."),
    plot: Path = typer.Option(None, "--plot", help="Also draw the band responses into this PNG."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Show a sensor's bands: centre, FWHM, shape and SSIF wavelength interval."""
    loaded = load_sensor(sensor)
    if plot is not None:
        from geossr.spectral.plot import plot_sensor

        plot_sensor(loaded, plot)
    rows = [
        {
            "name": b.name,
            "common_name": b.common_name,
            "shape": b.shape,
            "center_nm": round(b.center_nm, 2),
            "fwhm_nm": round(b.fwhm_nm, 2),
            "interval_nm": [round(v, 2) for v in b.interval_nm],
        }
        for b in loaded.bands
    ]
    if as_json:
        print_json(sensor_summary(loaded) | {"bands": rows})
        return
    table = Table(title=f"{loaded.name}: {loaded.description}", caption=f"source: {loaded.source}")
    for column in ("band", "common name", "shape", "centre (nm)", "FWHM (nm)", "interval (nm)"):
        table.add_column(column)
    for r in rows:
        table.add_row(r["name"], r["common_name"] or "", r["shape"], f"{r['center_nm']:.1f}",
                      f"{r['fwhm_nm']:.1f}", f"{r['interval_nm'][0]:.1f}-{r['interval_nm'][1]:.1f}")
    console.print(table)
    if plot is not None:
        console.print(f"plot written to {plot}")
