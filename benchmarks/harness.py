"""What the benchmark scripts share: a report as markdown + JSON written atomically, the mean spectral angle of pixel arrays."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from geossr.fileio import atomic_output


def sam_deg(pred: np.ndarray, ref: np.ndarray) -> float:
    """Mean spectral angle (degrees) of (pixels, bands) arrays, pixels with a zero spectrum left out."""
    dot = (pred * ref).sum(axis=1)
    norms = np.linalg.norm(pred, axis=1) * np.linalg.norm(ref, axis=1)
    valid = norms > 0
    return float(np.degrees(np.arccos(np.clip(dot[valid] / norms[valid], -1, 1))).mean())


def write_report(out: Path, markdown: list[str], payload: dict) -> None:
    """``out``.md from the lines, ``out``.json from ``payload``; each replaced whole or not at all."""
    out.parent.mkdir(parents=True, exist_ok=True)
    for path, text in ((out.with_suffix(".md"), "\n".join(markdown) + "\n"),
                       (out.with_suffix(".json"), json.dumps(payload, indent=1))):
        with atomic_output(path) as tmp:
            Path(tmp).write_text(text)
