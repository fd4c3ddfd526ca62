"""`geossr simulate`: what another sensor would have seen of a hyperspectral scene."""

from __future__ import annotations

from pathlib import Path

import typer

from geossr.spectral.integration import DEFAULT_COVERAGE_TOLERANCE
from geossr_cli.output import console, err_console, print_json, quiet_libtiff


def simulate(
    # str, not Path: Path turns a URL's "//" into "/"
    input: str = typer.Argument(..., help="Hyperspectral raster: any GDAL raster, a /vsizip/ path or a URL too."),
    sensor: str = typer.Option(..., "--sensor", "-s", help="Target sensor: name, .yaml file, or grid:..."),
    output: Path = typer.Option(..., "--output", "-o", help="Output GeoTIFF."),
    scale: float = typer.Option(
        None, "--scale", "-p",
        help="Also downsample by this factor (>= 1, fractional allowed): Gaussian anti-aliasing "
        "with sigma = (p-1)/2 pixels, then sampling at the coarse pixel centres.",
    ),
    input_sensor: str = typer.Option(
        None, "--input-sensor", help="Sensor of the input's bands, if its metadata does not say."
    ),
    override_metadata: bool = typer.Option(
        False, "--override-metadata", help="Use --input-sensor even where the file declares other band wavelengths.",
    ),
    input_scale: str = typer.Option(
        None, "--input-scale", help="Reflectance = stored value x this, or auto; as `geossr upsample --input-scale`.",
    ),
    coverage_tolerance: float = typer.Option(
        DEFAULT_COVERAGE_TOLERANCE, "--coverage-tolerance",
        help="Share of a target band's response allowed outside the input's spectral range.",
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or summary."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
    progress_json: bool = typer.Option(
        False, "--progress-json", help='Print progress as JSON lines {"done": N, "total": M} on stdout (for programs).'
    ),
) -> None:
    """Simulate a sensor from a hyperspectral cube by spectral-response integration."""
    quiet_libtiff()
    from geossr.scene.simulate import simulate as simulate_scene  # heavy: rioxarray, dask
    from geossr_cli.progress import block_progress, print_progress_json

    with block_progress(f"simulating {sensor}", enabled=not (quiet or as_json or progress_json)) as bar:
        summary = simulate_scene(
            input, sensor, output, input_sensor=input_sensor, override_metadata=override_metadata, scale=scale,
            input_scale=input_scale, overwrite=overwrite, coverage_tolerance=coverage_tolerance,
            progress=print_progress_json if progress_json else bar,
        )
    for warning in summary["warnings"]:
        err_console.print(f"geossr: warning: {warning}", markup=False, highlight=False, soft_wrap=True)
    if as_json:
        print_json(summary)
    elif not (quiet or progress_json):
        console.print(
            f"{summary['output']}: {summary['bands']} {summary['sensor']} bands, "
            f"{summary['output_size'][1]}x{summary['output_size'][0]} px "  # W x H, as info
            f"(from {summary['input_sensor']}, {summary['input_size'][1]}x{summary['input_size'][0]} px"
            f"{', scale ' + format(summary['scale'], 'g') if summary['scale'] != 1 else ''})"
        )
