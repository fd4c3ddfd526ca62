"""Trained weights shipped inside the package (``geossr/weights/*.safetensors`` + cards)."""

from __future__ import annotations

import json
from pathlib import Path

WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights"


def installed_weights() -> list[dict]:
    """Name, model and card of every shipped checkpoint (none until weights are trained and shipped)."""
    found = []
    for weights in sorted(WEIGHTS_DIR.glob("*.safetensors")) if WEIGHTS_DIR.is_dir() else []:
        card = json.loads(weights.with_suffix(".json").read_text())
        found.append({"name": weights.stem, "model": card["model"]["name"], "path": str(weights), "card": card})
    return found
