"""``python -m geossr``: the ``geossr`` command."""

from geossr_cli.main import main

main()
