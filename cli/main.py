"""Entry point: builds the typer app and turns every error into one line on stderr."""

from __future__ import annotations

import os
import signal
import sys

import typer
from typer.exceptions import TyperException

from geossr import __version__
from geossr.errors import GeossrError
from geossr_cli import benchmark, evaluate, info, models, qgis_plugin, sensors, simulate, train, upsample

app = typer.Typer(
    name="geossr",
    help="Spatial-spectral super-resolution for remote sensing imagery.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("upsample")(upsample.upsample)
app.add_typer(sensors.app, name="sensors")
app.command("simulate")(simulate.simulate)
app.command("info")(info.info)
app.add_typer(models.app, name="models")
app.command("train")(train.train)
app.command("evaluate")(evaluate.evaluate)
app.command("qgis-plugin")(qgis_plugin.qgis_plugin)
app.add_typer(benchmark.app, name="benchmark")
benchmark.app.command("landuse")(benchmark.landuse)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"geossr {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Spatial-spectral super-resolution for remote sensing imagery.

    Sensors are data: every command that takes a sensor accepts a shipped name (see
    `geossr sensors list`), a sensor .yaml file, or grid:START:STOP:N[:gaussian|uniform].
    """


class Terminated(BaseException):
    """SIGTERM (e.g. Cancel in QGIS) raised in the main thread, so temporary outputs are removed on the way out."""


def _raise_terminated(signum, frame) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not interrupt the cleanup
    raise Terminated


INTERRUPTED = 128 + signal.SIGINT


def fail(message: str, code: int = 1) -> None:
    sys.stderr.write(f"geossr: error: {message}\n")
    sys.exit(code)


def main() -> None:
    """Console script: no tracebacks for user errors (set GEOSSR_DEBUG=1 to see them)."""
    debug = bool(os.environ.get("GEOSSR_DEBUG"))
    signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        code = app(standalone_mode=False)
    except (typer.Abort, KeyboardInterrupt):
        code = INTERRUPTED
    except Terminated:
        # Every cleanup (temporary outputs, clusters) ran as the exception came up to here; leave
        # without waiting for compute threads to finish tiles nobody wants.
        sys.stderr.write("geossr: error: terminated\n")
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(128 + signal.SIGTERM)
    except TyperException as exc:  # bad usage: unknown option, missing or unparsable value
        ctx = getattr(exc, "ctx", None)
        hint = f" (see `{ctx.command_path} --help`)" if ctx else ""
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        fail(message + hint, getattr(exc, "exit_code", 2))
    except GeossrError as exc:
        if debug:
            raise
        fail(str(exc))
    except OSError as exc:
        if debug:
            raise
        fail(f"{exc.strerror or exc}{': ' + str(exc.filename) if exc.filename else ''}")
    except Exception as exc:  # a bug, not bad input: still one line, with a way to see more
        if debug:
            raise
        fail(f"internal error: {exc.__class__.__name__}: {exc} (set GEOSSR_DEBUG=1 for a traceback)", 70)
    if code == INTERRUPTED:  # click returns this for Ctrl-C outside standalone mode
        fail("interrupted; no partial output left", INTERRUPTED)
    sys.exit(code or 0)
