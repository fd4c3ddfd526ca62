"""Classification metrics: confusion matrix with rows = truth, OA, AA (mean per-class recall), kappa.

The public A2S2K code builds its confusion matrix with prediction and truth swapped, so the
"AA" it reports is mean per-class precision. Here rows are the true class (scikit-learn's
convention), per-class accuracy is the row-normalised diagonal (recall) and AA its mean.
"""

from __future__ import annotations

import numpy as np

from geossr.extras import require


def per_class_recall(confusion: np.ndarray) -> np.ndarray:
    """Diagonal / row sums; NaN for a class absent from the truth."""
    totals = confusion.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, np.diag(confusion) / totals, np.nan)


def classification_scores(truth: np.ndarray, predicted: np.ndarray, classes: int) -> dict:
    """OA, AA (over the classes present in ``truth``), kappa, per-class recall and the confusion matrix."""
    metrics = require("sklearn.metrics", "the land-use benchmark")
    confusion = metrics.confusion_matrix(truth, predicted, labels=np.arange(classes))
    recall = per_class_recall(confusion)
    return {
        "oa": float(np.trace(confusion) / confusion.sum()),
        "aa": float(np.nanmean(recall)),
        "kappa": float(metrics.cohen_kappa_score(truth, predicted, labels=np.arange(classes))),
        "per_class": [None if np.isnan(r) else float(r) for r in recall],
        "confusion": confusion.tolist(),
    }


def mean_std(values) -> dict:
    values = np.asarray(values, dtype=float)
    return {"mean": float(values.mean()), "std": float(values.std(ddof=0)), "n": int(values.size)}
