"""Balanced per-class pixel sampling inside one area, and patches cut from that area alone.

Per class, up to ``per_class`` labelled pixels are drawn at random (without replacement) from
the area; a class with fewer takes all of them (the A2S2K protocol's 2000 train / 500 validation
per class needs a larger scene than the 100 x 100 ones here: see the result notes). Classes with
fewer than ``min_pixels`` in the training or validation area are left out, and the benchmark says so.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from geossr.errors import GeossrError
from geossr.landuse.datasets import AREAS, LabelledScene


def usable_classes(scene: LabelledScene, min_pixels: int) -> tuple[list[int], dict[str, dict[int, int]]]:
    """Classes (1-based) with at least ``min_pixels`` labelled pixels in the training and validation
    areas, and every area's counts. A class may be absent from the test area (Pavia Centre's test
    block holds 4 of its 9 classes): it is still learnt, and scored only where present."""
    counts = {}
    for name in AREAS:
        labels = scene.labels[scene.areas[name].slices]
        counts[name] = {k: int((labels == k).sum()) for k in range(1, len(scene.class_names) + 1)}
    usable = [k for k in range(1, len(scene.class_names) + 1)
              if counts["train"][k] >= min_pixels and counts["validation"][k] >= min_pixels]
    if len(usable) < 2:
        raise GeossrError(
            f"{scene.name}: fewer than 2 classes have {min_pixels} labelled pixels in both the training and "
            f"validation areas (train {counts['train']}, validation {counts['validation']})")
    if not any(counts["test"][k] for k in usable):
        raise GeossrError(f"{scene.name}: the test area holds no labelled pixel of the usable classes")
    return usable, counts


def balanced_sample(labels: np.ndarray, classes: list[int], per_class: int, rng: np.random.Generator):
    """(rows, cols, targets) of up to ``per_class`` random pixels of each class; targets are 0..len(classes)-1."""
    rows, cols, targets = [], [], []
    for target, k in enumerate(classes):
        r, c = np.nonzero(labels == k)
        take = rng.permutation(r.size)[:per_class]
        rows.append(r[take])
        cols.append(c[take])
        targets.append(np.full(take.size, target))
    return np.concatenate(rows), np.concatenate(cols), np.concatenate(targets)


class PatchSource:
    """``patch`` x ``patch`` windows around pixels of one area image (C, h, w), edges reflected."""

    def __init__(self, image: np.ndarray, patch: int):
        if patch < 1 or patch % 2 == 0:
            raise GeossrError(f"--patch must be an odd number >= 1, got {patch}")
        radius = patch // 2
        padded = np.pad(image, ((0, 0), (radius, radius), (radius, radius)), mode="reflect")
        self.windows = sliding_window_view(padded, (patch, patch), axis=(1, 2))  # (C, h, w, p, p), a view

    def __call__(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """(N, 1, p, p, C) float32: the A2S2K input layout (bands last)."""
        return np.ascontiguousarray(self.windows[:, rows, cols].transpose(1, 2, 3, 0)[:, None], dtype=np.float32)
