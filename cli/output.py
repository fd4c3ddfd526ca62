"""Shared printing helpers for the commands: JSON for scripts, rich tables for people."""

from __future__ import annotations

import json
import sys

from rich.console import Console

console = Console()
err_console = Console(stderr=True)


def print_json(payload) -> None:
    sys.stdout.write(json.dumps(payload, indent=2) + "\n")
