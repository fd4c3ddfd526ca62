"""Training: a YAML config in, a checkpoint (safetensors + JSON card) out, resumable.

Config (see ``configs/``)::

    name: ssif-rfuf-cave-cpu
    seed: 0
    model: {name: ssif, input_sensor: nikon_d700, variant: RF-UF, ...}   # registry config
    data:  {dataset: cave, root: ../shared/data, lr_size: 16, scale_range: [1, 4],
            bands_range: [8, 31], batch_size: 4, sample_q: 1024}
    train: {steps: 300, lr: 1.0e-4, lr_halve_every: null, validate_every: 100,
            checkpoint_every: 100, validation_scale: 4, validation_bands: 31}

SSIF protocol (paper A.3, A.5, A.6): random crops, p ~ U(p_min, p_max), C ~ U{C_min..C_max} bands
integrated over C contiguous intervals, L1 loss (optionally plus a spectral-angle term), Adam with lr 1e-4. Implicit models (SSIF, LIIF)
are supervised on ``sample_q`` random high-resolution pixels per crop, as in LIIF; the others on
the whole crop. LIIF and FMNet have a fixed band set, so for them C is pinned to their output
bands. ``lr_halve_every`` halves the learning rate every N steps (FMNet's schedule).

Resuming restores weights, optimiser, learning-rate schedule, sampler position and the torch
random state, so an interrupted run continues exactly as if it had not stopped.
"""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import yaml

from geossr import __version__
from geossr.device import resolve_device
from geossr.errors import GeossrError
from geossr.fileio import atomic_output
from geossr.models import build
from geossr.models.base import SuperResolver, grid_centres
from geossr.models.checkpoint import save_checkpoint


class ConfigError(GeossrError, ValueError):
    """A training config is missing a field or has one of the wrong type."""


REQUIRED = object()
# field: (accepted types, default or REQUIRED)
_SCHEMA = {
    "name": (str, REQUIRED),
    "seed": (int, 0),
    "model": (dict, REQUIRED),
    "data": (dict, REQUIRED),
    "train": (dict, {}),
    "limits": (list, []),  # plain statements for the model card (what the model cannot do)
}
_DATA_FIELDS = {
    "dataset": (str, REQUIRED),
    "root": (str, "../shared/data"),
    "lr_size": ((int, list), 16),  # a list: one sampler per input size, used in turn (SSIF A.6)
    "scale_range": (list, [1.0, 4.0]),
    "bands_range": (list, [8, 31]),
    "batch_size": (int, 4),
    "sample_q": (int, 1024),
    # Target bands are contiguous intervals over this range (default: the scenes' common coverage).
    "spectral_range_nm": ((list, type(None)), None),
    # A band-agnostic model (ssif-any): draw the input sensor per batch (``InputSensorDraw`` fields:
    # shipped, random_share, random_bands, random_fwhm_nm, coverage_tolerance). Validation keeps
    # the model config's input_sensor.
    "input_sensors": ((dict, type(None)), None),
    # Random quarter turns and mirrors of every crop (TrainingSampler's augment).
    "augment": (bool, False),
    # [min, max]: a random brightness gain per crop, log-uniform (TrainingSampler's gain_range).
    "gain_range": ((list, type(None)), None),
    # Scene names (``load_dataset`` names: jasper, samson, rosis, …; ``cave:train`` for a data set's
    # split) instead of the dataset's own split, e.g. to hold one scene out; the two lists must not
    # share a scene. train_scenes may be a list of groups (lists of names) whose spectral ranges
    # differ: each batch draws one group (TrainingSampler's groups).
    "train_scenes": ((list, type(None)), None),
    "validation_scenes": ((list, type(None)), None),
}
_TRAIN_FIELDS = {
    "steps": (int, 300),
    "lr": (float, 1e-4),
    "lr_halve_every": ((int, type(None)), None),
    "validate_every": (int, 100),
    "checkpoint_every": (int, 100),
    "validation_scale": ((int, float), 4),
    "validation_bands": (int, 31),
    "validation_crop": (int, 128),
    # bf16: the training step under torch.autocast (bfloat16 matmuls and convolutions, fp32 weights and
    # optimizer); pays only where the hardware has native bf16 (AVX512-BF16 / AMX, recent GPUs).
    "precision": (str, "fp32"),
    # Weight of the mean spectral angle (radians) added to the L1 loss. L1 is ruled by bright pixels
    # and bands; the angle weighs every pixel's spectral shape alike, dark water and shadow included.
    "sam_weight": (float, 0.0),
    # A checkpoint of the same model and architecture whose weights the run starts from (fine-tuning);
    # the optimizer, schedule and step count start afresh.
    "init_weights": ((str, type(None)), None),
}
PRECISIONS = ("fp32", "bf16")


def _check_fields(section: dict, schema: dict, where: str) -> dict:
    unknown = sorted(set(section) - set(schema))
    if unknown:
        raise ConfigError(f"{where}: unknown field {unknown[0]!r} (fields: {', '.join(schema)})")
    out = {}
    for key, (types, default) in schema.items():
        if key not in section:
            if default is REQUIRED:
                raise ConfigError(f"{where}: field {key!r} is missing")
            out[key] = default
            continue
        value = section[key]
        accepted = types if isinstance(types, tuple) else (types,)
        if float in accepted and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if (isinstance(value, bool) and bool not in accepted) or not isinstance(value, accepted):
            names = " or ".join(t.__name__ for t in accepted)
            raise ConfigError(f"{where}: field {key!r} must be {names}, got {type(value).__name__}")
        out[key] = value
    return out


@dataclass
class TrainConfig:
    name: str
    seed: int
    model: dict
    data: dict
    train: dict
    limits: list = field(default_factory=list)
    path: str | None = None
    raw: dict = field(default_factory=dict, repr=False)

    @classmethod
    def from_dict(cls, document, where: str = "config") -> TrainConfig:
        if not isinstance(document, dict):
            raise ConfigError(f"{where}: a training config must be a mapping")
        top = _check_fields(document, _SCHEMA, where)
        if "name" not in top["model"]:
            raise ConfigError(f"{where}: field 'model.name' is missing")
        data = _check_fields(top["data"], _DATA_FIELDS, f"{where}: data")
        train = _check_fields(top["train"], _TRAIN_FIELDS, f"{where}: train")
        if train["precision"] not in PRECISIONS:
            raise ConfigError(f"{where}: train field 'precision' must be one of {', '.join(PRECISIONS)}, "
                              f"got {train['precision']!r}")
        for key in ("scale_range", "bands_range", "spectral_range_nm", "gain_range"):
            value = data[key]
            if value is not None and (len(value) != 2 or not all(isinstance(v, (int, float)) for v in value)):
                raise ConfigError(f"{where}: data field {key!r} must be [min, max]")
        if not 1 <= data["scale_range"][0] <= data["scale_range"][1]:
            raise ConfigError(f"{where}: data field 'scale_range' must satisfy 1 <= min <= max")
        for key in ("train_scenes", "validation_scenes"):
            names = data[key]
            if key == "train_scenes" and names and all(isinstance(v, list) for v in names):
                names = [name for group in names for name in (group or [None])]  # an empty group fails below
            if names is not None and (not names or not all(isinstance(v, str) for v in names)):
                raise ConfigError(f"{where}: data field {key!r} must be a non-empty list of scene names"
                                  + (" or of non-empty lists of them" if key == "train_scenes" else ""))
        shared = set(_scene_names(data["train_scenes"])) & set(data["validation_scenes"] or ())
        if shared:
            raise ConfigError(f"{where}: scene {sorted(shared)[0]!r} is in both train_scenes and validation_scenes")
        return cls(top["name"], top["seed"], dict(top["model"]), data, train, limits=top["limits"], raw=document)

    @classmethod
    def load(cls, path: str | Path) -> TrainConfig:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"config not found: {path}")
        try:
            document = yaml.safe_load(path.read_text())
        except yaml.YAMLError:
            raise ConfigError(f"{path}: not valid YAML") from None
        config = cls.from_dict(document, where=str(path))
        config.path = str(path)
        return config


def _sample_points(lr: torch.Tensor, hr: torch.Tensor, count: int):
    """LIIF's training queries: ``count`` random HR pixels per item, as input-pixel positions."""
    b, c, height, width = hr.shape
    rows = grid_centres(height, lr.shape[-2], hr.device)
    cols = grid_centres(width, lr.shape[-1], hr.device)
    pos = torch.stack(torch.meshgrid(rows, cols, indexing="ij"), dim=-1).reshape(-1, 2)
    values = hr.reshape(b, c, -1).permute(0, 2, 1)
    if count < pos.shape[0]:
        picks = torch.stack([torch.randperm(pos.shape[0])[:count] for _ in range(b)]).to(hr.device)
        positions = pos[picks]
        values = torch.gather(values, 1, picks.unsqueeze(-1).expand(-1, -1, c))
    else:
        positions = pos.unsqueeze(0).expand(b, -1, -1)
    cell = torch.tensor([lr.shape[-2] / height, lr.shape[-1] / width], dtype=torch.float64, device=hr.device)
    return positions, cell.expand_as(positions), values


def spectral_angle(pred: torch.Tensor, ref: torch.Tensor, dim: int) -> torch.Tensor:
    """Mean angle (radians) between spectra along ``dim``, in fp32; the cosine is kept off ±1, where
    arccos has an infinite gradient."""
    pred, ref = pred.float(), ref.float()
    cos = torch.nn.functional.cosine_similarity(pred, ref, dim=dim, eps=1e-8)
    return torch.arccos(cos.clamp(-1 + 1e-6, 1 - 1e-6)).mean()


def training_loss(model: SuperResolver, batch: dict, sample_q: int, sam_weight: float = 0.0) -> torch.Tensor:
    """L1, plus ``sam_weight`` times the mean spectral angle."""
    lr, hr, intervals = batch["lr"], batch["hr"], batch["intervals"]
    if "input_sensor" in batch:  # drawn per batch for a band-agnostic model
        model.use_input_sensor(batch["input_sensor"])
    if model.implicit:  # (batch, points, bands)
        positions, cells, ref = _sample_points(lr, hr, sample_q)
        pred = model.query(model.encode(lr), positions, cells, model.prepare_bands(intervals))
        band_dim = -1
    else:  # (batch, bands, y, x)
        pred, ref, band_dim = model(lr, hr.shape[-2:], intervals), hr, 1
    loss = torch.nn.functional.l1_loss(pred, ref)
    if sam_weight:
        loss = loss + sam_weight * spectral_angle(pred, ref, band_dim)
    return loss


def _training_settings(raw: dict) -> dict:
    """A config without its ``limits``: card text, which may be edited after (or during) a run."""
    return {key: value for key, value in raw.items() if key != "limits"}


def _scene_names(scenes: list | None) -> list[str]:
    """train_scenes' names, flat, whether given as one list or as groups."""
    return [name for item in scenes or () for name in (item if isinstance(item, list) else [item])]


def _load_scenes(data: dict, split: str) -> tuple[list, list[list[int]] | None]:
    """The cubes for ``split`` and, when train_scenes gives groups, each group's cube indices."""
    from geossr.data import load_dataset

    def load(name: str) -> list:
        dataset, _, scene_split = name.partition(":")  # cave:train -> the CAVE training split
        return load_dataset(dataset, data["root"], scene_split or "all")

    names = data["train_scenes" if split == "train" else "validation_scenes"]
    if names is None:
        return load_dataset(data["dataset"], data["root"], split), None
    grouped = all(isinstance(item, list) for item in names)
    cubes, groups = [], []
    for group in names if grouped else [names]:
        group_cubes = [cube for name in group for cube in load(name)]
        groups.append(list(range(len(cubes), len(cubes) + len(group_cubes))))
        cubes += group_cubes
    return cubes, groups if grouped else None


def _sensor_draw(fields: dict):
    from geossr.data.sampler import InputSensorDraw

    try:
        return InputSensorDraw(**fields)
    except TypeError:
        raise ConfigError(f"data field 'input_sensors' takes shipped, random_share, random_bands, random_fwhm_nm, "
                          f"coverage_tolerance; got {', '.join(fields)}") from None


class Trainer:
    """Runs a :class:`TrainConfig`; ``on_step(step, loss, lr)`` and ``on_validate(step, metrics)`` report."""

    def __init__(self, config: TrainConfig, out_dir: str | Path, device: str = "auto"):
        from geossr.data import TrainingSampler

        self.config = config
        self.out_dir = Path(out_dir)
        self.device = torch.device(resolve_device(device))
        torch.manual_seed(config.seed)
        self.model = build(**config.model).to(self.device)
        if config.train["init_weights"] is not None:
            self._start_from(config.train["init_weights"])
        self.validation_sensor = self.model.input_sensor
        data = config.data
        input_sensor = self.validation_sensor
        if data["input_sensors"] is not None:
            if not self.model.any_input_sensor:
                raise ConfigError(f"data field 'input_sensors' needs a band-agnostic model (ssif-any), "
                                  f"not {config.model['name']!r}")
            input_sensor = _sensor_draw(data["input_sensors"])
        self.train_cubes, groups = _load_scenes(data, "train")
        self.val_cubes, _ = _load_scenes(data, "test")
        bands_range = data["bands_range"]
        if self.model.fixed_intervals_nm is not None:  # LIIF, FMNet: always their own bands
            bands_range = [len(self.model.fixed_intervals_nm)] * 2
        sizes = data["lr_size"] if isinstance(data["lr_size"], list) else [data["lr_size"]]
        self.samplers = [
            TrainingSampler(self.train_cubes, input_sensor, size, tuple(data["scale_range"]),
                            tuple(bands_range), data["batch_size"], seed=config.seed + i,
                            spectral_range_nm=data["spectral_range_nm"], augment=data["augment"],
                            gain_range=data["gain_range"], groups=groups)
            for i, size in enumerate(sizes)
        ]
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=config.train["lr"]) \
            if any(p.requires_grad for p in self.model.parameters()) else None
        self.step = 0
        self.history: list[dict] = []
        self.elapsed_s = 0.0

    @property
    def weights_path(self) -> Path:
        return self.out_dir / "model.safetensors"

    def _start_from(self, weights: str) -> None:
        from geossr.models.checkpoint import load_checkpoint

        start, _ = load_checkpoint(weights, expect_model=self.config.model["name"])
        try:
            self.model.load_state_dict(start.state_dict())
        except RuntimeError:
            raise ConfigError(f"train field 'init_weights': {weights} does not fit this config's architecture") from None

    @property
    def state_path(self) -> Path:
        return self.out_dir / "train_state.pt"

    def current_lr(self) -> float:
        halve = self.config.train["lr_halve_every"]
        return self.config.train["lr"] * (0.5 ** (self.step // halve) if halve else 1.0)

    def resume(self) -> bool:
        """Continue from ``out_dir`` if it holds a run of this config; False if there is none."""
        if not self.state_path.is_file():
            return False
        from geossr.models.checkpoint import load_checkpoint

        state = torch.load(self.state_path, map_location="cpu", weights_only=True)
        if _training_settings(state["config"]) != _training_settings(self.config.raw):
            raise GeossrError(f"{self.out_dir} holds a run of a different config; use another --out")
        model, _ = load_checkpoint(self.weights_path, device=self.device)
        self.model.load_state_dict(model.state_dict())
        if self.optimizer is not None:
            self.optimizer.load_state_dict(state["optimizer"])
        for sampler, sampler_state in zip(self.samplers, state["samplers"]):
            sampler.load_state_dict(sampler_state)
        torch.set_rng_state(state["torch_rng"])
        self.step, self.history, self.elapsed_s = state["step"], state["history"], state["elapsed_s"]
        return True

    def validate(self) -> dict:
        from geossr.data import evaluation_pairs
        from geossr.metrics import psnr, sam

        train = self.config.train
        bands = train["validation_bands"]
        if self.model.fixed_intervals_nm is not None:
            bands = len(self.model.fixed_intervals_nm)
        if self.model.any_input_sensor:
            self.model.use_input_sensor(self.validation_sensor)
        pairs = evaluation_pairs(self.val_cubes, self.validation_sensor, train["validation_scale"], bands,
                                 spectral_range_nm=self.config.data["spectral_range_nm"],
                                 crop=train["validation_crop"])
        self.model.eval()
        scores, losses, angles = [], [], []
        with torch.no_grad():
            for pair in pairs:
                hr = pair["hr"][0]
                pred = self.model(pair["lr"].to(self.device), hr.shape[-2:], pair["intervals"])
                pred = pred.clamp(0, 1)[0].cpu()
                losses.append(torch.nn.functional.l1_loss(pred, hr).item())
                scores.append(psnr(pred.numpy(), hr.numpy()))
                angles.append(sam(pred.numpy(), hr.numpy()))
        self.model.train()
        return {"step": self.step, "val_l1": float(np.mean(losses)), "val_psnr": float(np.mean(scores)),
                "val_sam": float(np.mean(angles))}

    def save(self) -> None:
        """Weights + card, then the training state (each atomically)."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        save_checkpoint(self.model, self.weights_path, **self.card())
        state = {
            "config": self.config.raw,
            "step": self.step,
            "optimizer": self.optimizer.state_dict() if self.optimizer is not None else None,
            "samplers": [sampler.state_dict() for sampler in self.samplers],
            "torch_rng": torch.get_rng_state(),
            "history": self.history,
            "elapsed_s": self.elapsed_s,
        }
        with atomic_output(self.state_path) as tmp:
            torch.save(state, tmp)

    def card(self) -> dict:
        data = self.config.data
        return {
            "name": self.config.name,
            "training": {
                "dataset": data["dataset"],
                "train_scenes": [c.name for c in self.train_cubes],
                "validation_scenes": [c.name for c in self.val_cubes],
                "steps": self.step,
                "seed": self.config.seed,
                "data": data,
                "train": self.config.train,
                "spectral_range_nm": list(self.samplers[0].spectral_range_nm),
                "scene_groups": [{"scenes": [self.train_cubes[i].name for i in group], "spectral_range_nm": list(lo_hi)}
                                 for group, lo_hi in zip(self.samplers[0].groups, self.samplers[0].group_ranges)],
                "scale_range": data["scale_range"],
                "device": str(self.device),
                "hardware": f"{platform.machine()} {platform.processor() or ''} torch {torch.__version__}".strip(),
                "elapsed_s": round(self.elapsed_s, 1),
                "config_file": self.config.path,
            },
            "metrics": self.history[-1] if self.history else {},
            "limits": self.config.limits,
            "geossr_version": __version__,
        }

    def run(self, steps: int | None = None, on_step=None, on_validate=None) -> dict:
        total = steps if steps is not None else self.config.train["steps"]
        train = self.config.train
        sample_q = self.config.data["sample_q"]
        self.model.train()
        while self.step < total:
            started = time.perf_counter()
            sampler = self.samplers[self.step % len(self.samplers)]
            batch = {k: v.to(self.device) if torch.is_tensor(v) else v for k, v in next(sampler).items()}
            with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=train["precision"] == "bf16"):
                loss = training_loss(self.model, batch, sample_q, train["sam_weight"])
            if self.optimizer is not None:
                for group in self.optimizer.param_groups:
                    group["lr"] = self.current_lr()
                self.optimizer.zero_grad()
                loss.backward()
                self.optimizer.step()
            self.step += 1
            self.elapsed_s += time.perf_counter() - started
            if on_step:
                on_step(self.step, loss.item(), self.current_lr())
            if self.step % train["validate_every"] == 0 or self.step == total:
                metrics = self.validate()
                self.history.append(metrics)
                if on_validate:
                    on_validate(self.step, metrics)
            if self.step % train["checkpoint_every"] == 0 or self.step == total:
                self.save()
        return self.card()
