"""`geossr qgis-plugin`: install the QGIS Processing plugin into a QGIS profile, or zip it."""

from __future__ import annotations

from pathlib import Path

import typer



def qgis_plugin(
    install: bool = typer.Option(False, "--install", help="Copy the plugin into a QGIS profile and enable it."),
    profile_dir: Path = typer.Option(
        None, "--profile-dir", help="QGIS profile folder (default: the user's default QGIS 3 profile)."
    ),
    zip_path: Path = typer.Option(None, "--zip", help="Write the plugin as a zip for QGIS's 'Install from ZIP'."),
) -> None:
    """The QGIS Processing plugin: geossr's algorithms in the toolbox, the modeler and qgis_process."""
    from geossr.errors import GeossrError
    from geossr.qgis_install import install_plugin, zip_plugin

    if not install and zip_path is None:
        raise GeossrError("give --install (optionally with --profile-dir DIR) and/or --zip OUT.zip")
    if profile_dir is not None and not install:
        raise GeossrError("--profile-dir goes with --install")
    if zip_path is not None:
        typer.echo(f"plugin zip written to {zip_plugin(zip_path)}")
    if install:
        folder = install_plugin(profile_dir)
        typer.echo(f"plugin installed in {folder} and enabled; restart QGIS, then find the geossr "
                   "algorithms in the Processing Toolbox")
