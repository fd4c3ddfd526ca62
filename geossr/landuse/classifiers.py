"""The classifiers: A2S2K-ResNet on patches (trained with early stopping on validation) and
per-pixel-spectrum baselines, SVM (RBF) and random forest from scikit-learn.

Every classifier is fitted once per seed on the real cube's training area and then predicts
pixels of any image with the same bands (the real test area, or a generated one).
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from geossr.extras import require
from geossr.landuse.a2s2k import A2S2KResNet
from geossr.landuse.sampling import PatchSource

CLASSIFIERS = ("a2s2k", "svm", "rf")
SVM_C_GRID = (1.0, 10.0, 100.0, 1000.0)


class SpectrumClassifier:
    """SVM (RBF, C picked on the validation pixels) or random forest on standardised per-pixel spectra."""

    def __init__(self, kind: str, seed: int):
        self.kind, self.seed = kind, seed

    def _make(self, c: float | None = None):
        require("sklearn", f"the land-use benchmark's {self.kind.upper()} classifier")
        from sklearn.ensemble import RandomForestClassifier
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
        from sklearn.svm import SVC

        if self.kind == "svm":
            return make_pipeline(StandardScaler(), SVC(C=c, kernel="rbf", gamma="scale", class_weight="balanced"))
        return make_pipeline(StandardScaler(), RandomForestClassifier(
            n_estimators=200, class_weight="balanced", random_state=self.seed, n_jobs=1))

    def fit(self, train_x, train_y, val_x, val_y) -> dict:
        if self.kind == "rf":
            self.model = self._make().fit(train_x, train_y)
            return {"val_oa": float((self.model.predict(val_x) == val_y).mean())}
        best = None
        for c in SVM_C_GRID:
            model = self._make(c).fit(train_x, train_y)
            score = float((model.predict(val_x) == val_y).mean())
            if best is None or score > best[0]:
                best = (score, c, model)
        self.model = best[2]
        return {"val_oa": best[0], "svm_c": best[1]}

    def predict(self, spectra: np.ndarray) -> np.ndarray:
        return self.model.predict(spectra)


class A2S2KClassifier:
    """Adam (lr 1e-3), class-weighted cross-entropy, batch 64; keeps the weights of the epoch with
    the lowest validation loss and stops after ``patience`` epochs without improvement."""

    def __init__(self, bands: int, classes: int, seed: int, epochs: int, device: str = "cpu",
                 batch_size: int = 64, patience: int = 10, lr: float = 1e-3):
        torch.manual_seed(seed)
        self.rng = np.random.default_rng(seed)
        self.net = A2S2KResNet(bands, classes).to(device)
        self.classes, self.epochs, self.device = classes, epochs, device
        self.batch_size, self.patience, self.lr = batch_size, patience, lr

    def fit(self, train: PatchSource, train_px, val: PatchSource, val_px, progress=None) -> dict:
        """``train_px`` / ``val_px`` are (rows, cols, targets) inside their areas' images."""
        counts = np.bincount(train_px[2], minlength=self.classes).astype(np.float64)
        weights = torch.tensor(counts.sum() / np.maximum(counts, 1) / self.classes, dtype=torch.float32)
        loss_fn = nn.CrossEntropyLoss(weight=weights.to(self.device))
        optimiser = torch.optim.Adam(self.net.parameters(), lr=self.lr)
        val_targets = torch.as_tensor(val_px[2])
        best = (float("inf"), None, -1)
        history = []
        for epoch in range(self.epochs):
            self.net.train()
            order = self.rng.permutation(train_px[2].size)
            for start in range(0, order.size, self.batch_size):
                batch = order[start:start + self.batch_size]
                if batch.size < 2:  # BatchNorm needs two samples
                    continue
                x = torch.from_numpy(train(train_px[0][batch], train_px[1][batch])).to(self.device)
                y = torch.as_tensor(train_px[2][batch]).to(self.device)
                optimiser.zero_grad()
                loss_fn(self.net(x), y).backward()
                optimiser.step()
            logits = self._logits(val, val_px[0], val_px[1])
            val_loss = float(nn.functional.cross_entropy(logits, val_targets, weight=weights))
            val_oa = float((logits.argmax(1) == val_targets).float().mean())
            history.append({"epoch": epoch + 1, "val_loss": val_loss, "val_oa": val_oa})
            if progress:
                progress(epoch + 1, self.epochs, val_oa)
            if val_loss < best[0]:
                best = (val_loss, copy.deepcopy(self.net.state_dict()), epoch + 1)
            elif epoch + 1 - best[2] >= self.patience:
                break
        self.net.load_state_dict(best[1])
        chosen = history[best[2] - 1]
        return {"best_epoch": best[2], "epochs_run": len(history), "val_loss": chosen["val_loss"],
                "val_oa": chosen["val_oa"]}

    @torch.no_grad()
    def _logits(self, source: PatchSource, rows, cols) -> torch.Tensor:
        self.net.eval()
        out = []
        for start in range(0, rows.size, 256):
            x = torch.from_numpy(source(rows[start:start + 256], cols[start:start + 256])).to(self.device)
            out.append(self.net(x).float().cpu())
        return torch.cat(out)

    def predict(self, source: PatchSource, rows, cols) -> np.ndarray:
        return self._logits(source, rows, cols).argmax(1).numpy()
