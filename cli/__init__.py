"""The geossr command line: a thin typer layer over the geossr library."""
