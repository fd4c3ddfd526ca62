"""`geossr info`: size, georeferencing and bands of a raster."""

from __future__ import annotations

import typer
from rich.table import Table

from geossr_cli.output import console, print_json

# GEOSSR tags of a file geossr wrote, in the order a reader wants them
PROVENANCE_ORDER = ("version", "model", "weights", "scale", "source", "source_sensor", "input_bands", "sensor",
                    "consistency")


def info(
    # str, not Path: Path turns a URL's "//" into "/"
    path: str = typer.Argument(..., help="Any GDAL raster: a file, a /vsizip/ or /vsicurl/ path, a URL, NETCDF:..."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Show a raster's size, CRS and bands, with wavelengths when the file declares them."""
    from geossr.scene.io import raster_info  # imported here: keeps `geossr --help` fast

    details = raster_info(path)
    if as_json:
        print_json(details)
        return
    console.print(f"[bold]{details['path']}[/bold] ({details['driver']})")
    console.print(f"size     {details['width']} x {details['height']} px, {details['count']} bands")
    console.print(f"crs      {details['crs'] or 'none'} (georeferencing: {details['georeferencing']})")
    console.print(f"pixel    {details['pixel_size'][0]:g} x {details['pixel_size'][1]:g}")
    console.print(f"nodata   {details['nodata']}")
    console.print(f"sensor   {details['sensor'] or 'unknown (no wavelength metadata)'}", highlight=False)
    if likely := details["likely_input_sensor"]:
        console.print(f"         likely --input-sensor {likely['spec']} (from its {likely['evidence']})",
                      highlight=False, markup=False)
    if details["provenance"]:  # the request hash and checksum are for resuming batches, not for people
        tags = details["provenance"]
        keys = [k for k in PROVENANCE_ORDER if k in tags] + sorted(set(tags) - set(PROVENANCE_ORDER)
                                                                   - {"request", "checksum"})
        console.print("geossr   " + ", ".join(f"{key} {tags[key]}" for key in keys), highlight=False)
    table = Table()
    for column in ("#", "description", "dtype", "centre (nm)", "FWHM (nm)"):
        table.add_column(column)
    for band in details["bands"]:
        table.add_row(str(band["index"]), band["description"], band["dtype"],
                      f"{band['center_nm']:.1f}" if "center_nm" in band else "-",
                      f"{band['fwhm_nm']:.1f}" if "fwhm_nm" in band else "-")
    console.print(table)
