"""Shared helpers for the commands: JSON for scripts, rich tables for people, list options."""

from __future__ import annotations

import json
import sys

from rich.console import Console

console = Console()
err_console = Console(stderr=True)


def print_json(payload) -> None:
    sys.stdout.write(json.dumps(payload, indent=2) + "\n")


def parse_list(text: str, kind, option: str) -> list:
    """A comma- or space-separated option value (``--scales 2,4,8``) as a list of ``kind``; one-line errors."""
    from geossr.errors import GeossrError

    try:
        values = [kind(v) for v in text.replace(",", " ").split()]
    except ValueError:
        raise GeossrError(f"{option} must be a comma-separated list of {kind.__name__} values, got {text!r}") from None
    if not values:
        raise GeossrError(f"{option} is empty")
    return values
