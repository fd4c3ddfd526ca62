"""`geossr upsample`: super-resolve scenes into GeoTIFF/COG, one file or a batch."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
from pathlib import Path

import typer
from rich.table import Table

from geossr_cli.output import console, err_console, print_json, quiet_libtiff


def _creation_options(values: list[str]) -> dict:
    from geossr.errors import GeossrError

    options = {}
    for item in values or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise GeossrError(f"--co expects KEY=VALUE, got {item!r}")
        options[key.strip().upper()] = value.strip()
    return options


def _parse_scheduler(spec: str | None) -> int | str | None:
    """``local:N`` as its worker count (1 to the cores available), an address as itself; checked before any work."""
    if spec is None:
        return None
    from geossr.errors import GeossrError

    if spec.startswith("local:"):
        import dask.system

        cores = dask.system.CPU_COUNT  # this process's share: affinity and cgroup quotas included
        try:
            workers = int(spec.split(":", 1)[1])
        except ValueError:
            raise GeossrError(f"--scheduler local:N needs a worker count, got {spec!r}") from None
        if not 1 <= workers <= cores:
            raise GeossrError(f"--scheduler local:N needs 1 <= N <= {cores} (the cores available), got {spec!r}")
        return workers
    from geossr.extras import require

    get_address_host_port = require("distributed.comm", "--scheduler").get_address_host_port

    try:
        host, port = get_address_host_port(spec)
    except ValueError as exc:
        raise GeossrError(f"--scheduler must be local:N or an address such as tcp://HOST:PORT, got {spec!r} "
                          f"({exc})") from None
    if not host or not 0 < port < 2**16:
        raise GeossrError(f"--scheduler {spec!r}: an address needs a host and a port in 1-65535")
    return spec


@contextlib.contextmanager
def _scheduler(spec: int | str | None):
    """N (``local:N``) starts a LocalCluster of N worker processes; an address joins a running one."""
    if spec is None:
        yield
        return
    from geossr.errors import GeossrError
    from geossr.extras import require

    Client = require("distributed", "--scheduler").Client
    from geossr.scene.cluster import local_cluster

    with _client_logs_silenced():
        if isinstance(spec, int):
            with local_cluster(spec):
                yield
            return
        try:
            client = Client(spec, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise GeossrError(f"no dask scheduler answers at {spec} within 10 s ({exc.__class__.__name__})") from None
        with client:
            yield


@contextlib.contextmanager
def _client_logs_silenced():
    """The dask client's own log lines (callbacks cancelled by Ctrl-C, connections closing) are not
    the user's business: failures reach them as one geossr line. GEOSSR_DEBUG=1 keeps them."""
    if os.environ.get("GEOSSR_DEBUG"):
        yield
        return
    loggers = [logging.getLogger(name) for name in ("tornado.application", "distributed")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def upsample(
    # str, not Path: Path turns a URL's "//" into "/" (GDAL names are kept as given, see geossr.scene.io)
    inputs: list[str] = typer.Argument(
        ..., help="Scene(s): any GDAL raster: a file, a /vsizip/ or /vsicurl/ path, an http(s) or s3 URL, NETCDF:..."
    ),
    scale: float = typer.Option(..., "--scale", "-p", help="Spatial scale, 1-16 (fractional allowed)."),
    sensor: str = typer.Option(..., "--sensor", "-s", help="Target bands: sensor name, .yaml file or grid:..."),
    output: Path = typer.Option(None, "--output", "-o", help="Output file (one input)."),
    out_dir: Path = typer.Option(None, "--out-dir", help="Output folder: INPUT_geossr.tif for each input."),
    model: str = typer.Option(
        None, "--model", "-m", show_default=False,
        help="A model of `geossr models list` (default linear-sr: learnt spatial detail of each input band, then "
             "the linear prior; any sensor). "
             "With --weights: the checkpoint's model.",
    ),
    weights: Path = typer.Option(None, "--weights", help="A checkpoint (.safetensors + .json card)."),
    input_sensor: str = typer.Option(None, "--input-sensor", help="Sensor of the input bands if the file does not say."),
    override_metadata: bool = typer.Option(
        False, "--override-metadata", help="Use --input-sensor even where the file declares other band wavelengths.",
    ),
    input_scale: str = typer.Option(
        None, "--input-scale",
        help="Reflectance = stored value x this. Default: the file's GDAL band scale, else its REFLECTANCE_SCALE "
             "tag; float data is taken as reflectance, integer data without a scale is refused. auto: those, else "
             "1/255 for uint8 and 1e-4 for 16-bit data (recorded in the output's tags).",
    ),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda[:N]."),
    tile: int = typer.Option(256, "--tile", help="Output tile size in pixels (memory is bounded by it)."),
    dtype: str = typer.Option("float32", "--dtype", help="float32 (NaN nodata) or uint16 (x10000, 65535 nodata)."),
    precision: str = typer.Option("fp32", "--precision", help="fp32, bf16 or fp16 inference; bf16/fp16 are faster only "
                                   "where the CPU or GPU computes them natively (warned otherwise)."),
    consistency: bool = typer.Option(
        False, "--consistency",
        help="Project the output so it re-integrates to the input, in every input band the output bands hold.",
    ),
    cog: bool = typer.Option(False, "--cog", help="Write a Cloud-Optimized GeoTIFF."),
    co: list[str] = typer.Option(None, "--co", help="GDAL creation option KEY=VALUE (repeatable)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing outputs."),
    scheduler: str = typer.Option(None, "--scheduler", help="local:N or tcp://HOST:PORT (dask.distributed)."),
    quicklook: Path = typer.Option(None, "--quicklook", help="Also save an RGB rendering (640/550/470 nm) as PNG."),
    spectrum: tuple[str, Path] | None = typer.Option(
        None, "--spectrum", help="COL,ROW OUT.png: input vs output spectrum at an input pixel."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress or summary."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
    progress_json: bool = typer.Option(
        False, "--progress-json", help='Print progress as JSON lines {"done": N, "total": M} on stdout (for programs).'
    ),
) -> None:
    """Super-resolve scenes: more bands and finer pixels, written as georeferenced GeoTIFF/COG."""
    quiet_libtiff()
    from geossr.errors import DiskFullError, GeossrError
    from geossr.scene.io import dataset_basename, dataset_stem
    from geossr.scene.simulate import check_override_metadata
    from geossr.scene.upsample import check_options, upsample_file
    from geossr_cli.progress import block_progress, print_progress_json

    if (output is None) == (out_dir is None):
        raise GeossrError("give exactly one of -o/--output (one input) or --out-dir (any number of inputs)")
    if output is not None and len(inputs) > 1:
        raise GeossrError(f"-o takes one input, got {len(inputs)}; use --out-dir for a batch")
    if out_dir is not None and not out_dir.is_dir():
        raise GeossrError(f"output directory does not exist: {out_dir}")
    options = _creation_options(co)
    if quicklook or spectrum:  # before any work, not after the scene is written
        from geossr.extras import pyplot

        pyplot("--quicklook" if quicklook else "--spectrum")
    driver = "COG" if cog else "GTiff"
    check_options(scale=scale, input_scale=input_scale, dtype=dtype, precision=precision, tile=tile, driver=driver,
                  creation_options=options)
    check_override_metadata(input_sensor, override_metadata)  # once, not for each file of a batch
    cluster = _parse_scheduler(scheduler)
    targets = [(path, output if output is not None else out_dir / f"{dataset_stem(path)}_geossr.tif")
               for path in inputs]
    results = []
    with _scheduler(cluster):
        for number, (source, target) in enumerate(targets, start=1):
            about = {"input": str(source), "file": number, "files": len(targets)}
            try:
                with block_progress(f"{dataset_basename(source)} x{scale:g}",
                                    enabled=not (quiet or as_json or progress_json)) as bar:
                    summary = upsample_file(
                        source, target, scale=scale, sensor=sensor, model=model,
                        weights=str(weights) if weights else None, input_sensor=input_sensor,
                        override_metadata=override_metadata, input_scale=input_scale, device=device, tile=tile,
                        dtype=dtype, precision=precision, driver=driver, creation_options=options, overwrite=overwrite,
                        consistency=consistency,
                        progress=functools.partial(print_progress_json, **about) if progress_json else bar,
                    )
                if summary["status"] == "written" and (quicklook or spectrum):
                    from geossr.scene.quicklook import plot_spectrum, save_quicklook

                    if quicklook:
                        save_quicklook(target, quicklook)
                    if spectrum:
                        plot_spectrum(source, target, spectrum[0], spectrum[1], input_sensor=input_sensor,
                                      override_metadata=override_metadata, input_scale=input_scale)
            except DiskFullError as exc:
                if len(targets) == 1:
                    raise
                raise GeossrError(f"{source}: {exc}; stopping the batch (outputs finished before it are kept)") from None
            except GeossrError as exc:
                if len(targets) == 1:
                    raise
                summary = {"input": str(source), "output": str(target), "status": f"failed: {exc}"}
                err_console.print(f"geossr: error: {source}: {exc}", markup=False, highlight=False, soft_wrap=True)
            if summary.get("model_note") and not quiet:
                err_console.print(f"geossr: {summary['model_note']}", markup=False, highlight=False, soft_wrap=True)
            for warning in summary.get("warnings", []):
                err_console.print(f"geossr: warning: {warning}", markup=False, highlight=False, soft_wrap=True)
            results.append(summary)
    failed = [r for r in results if r["status"].startswith("failed")]
    if as_json:
        print_json(results)
    elif not (quiet or progress_json):
        table = Table(title=f"geossr upsample x{scale:g} -> {sensor}")
        for column in ("input", "output", "status", "size"):
            table.add_column(column)
        for r in results:
            size = f"{r['output_size'][1]}x{r['output_size'][0]}" if "output_size" in r else ""  # W x H, as info
            table.add_row(r["input"], r["output"], r["status"], size)
        console.print(table)
    if failed:
        raise typer.Exit(1)
