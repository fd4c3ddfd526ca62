"""Checkpoints: weights as safetensors, and beside them a JSON card with everything else.

``NAME.safetensors`` holds the tensors; ``NAME.json`` records the model config (sensors
included, so the model can be rebuilt), the input sensor, the training data, steps and metrics.
Both are written to temporary names and renamed, so a crash never leaves a torn checkpoint.
"""

from __future__ import annotations

import json
from pathlib import Path

from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from geossr import __version__
from geossr.errors import GeossrError
from geossr.fileio import atomic_output
from geossr.models.base import SuperResolver
from geossr.models.registry import build


class CheckpointError(GeossrError):
    """A checkpoint is missing, damaged, or does not fit the requested model or sensor."""


def card_path(weights: str | Path) -> Path:
    return Path(weights).with_suffix(".json")


def save_checkpoint(model: SuperResolver, path: str | Path, **card) -> Path:
    """Write ``path`` (.safetensors) and its JSON card; ``card`` adds training data, steps, metrics…"""
    path = Path(path).with_suffix(".safetensors")
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    document = {"geossr_version": __version__, "model": model.config, **card}
    with atomic_output(path) as tmp:
        save_file(tensors, tmp)
    with atomic_output(card_path(path)) as tmp:
        Path(tmp).write_text(json.dumps(document, indent=2))
    return path


def read_card(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"weights not found: {path}")
    card = card_path(path)
    if not card.is_file():
        raise CheckpointError(f"checkpoint card not found beside the weights: {card}")
    try:
        document = json.loads(card.read_text())
        document["model"]["name"]
    except (json.JSONDecodeError, KeyError, TypeError):
        raise CheckpointError(f"checkpoint card is damaged: {card}") from None
    return document


def load_checkpoint(
    path: str | Path, *, expect_model: str | None = None, expect_input_sensor=None, device="cpu"
) -> tuple[SuperResolver, dict]:
    """Rebuild the model from the card and load its weights; refuse a mismatched checkpoint.

    A band-agnostic model (``ssif-any``) takes ``expect_input_sensor`` as its input sensor instead.
    """
    document = read_card(path)
    config = dict(document["model"])
    name = config.pop("name")
    if expect_model is not None and name != expect_model:
        raise CheckpointError(f"{path} holds a {name!r} model, not {expect_model!r}")
    model = build(name, **config)
    if expect_input_sensor is not None and model.any_input_sensor:
        model.use_input_sensor(expect_input_sensor)
    elif expect_input_sensor is not None:
        trained = model.input_sensor
        if (len(trained) != len(expect_input_sensor)
                or abs(trained.centers_nm - expect_input_sensor.centers_nm).max() > 1.0):
            raise CheckpointError(
                f"{path} was trained for input sensor {trained.name} ({len(trained)} bands), "
                f"not {expect_input_sensor.name} ({len(expect_input_sensor)} bands)"
            )
    try:
        tensors = load_file(str(path), device=str(device))
    except (SafetensorError, OSError) as exc:
        raise CheckpointError(f"weights file is damaged or not safetensors: {path} ({exc})") from None
    missing, unexpected = _compare_keys(model.state_dict(), tensors)
    if missing or unexpected:
        raise CheckpointError(
            f"weights in {path} do not fit a {name} model built from its card "
            f"(missing {missing[:3]}, unexpected {unexpected[:3]})"
        )
    try:
        model.load_state_dict(tensors)
    except RuntimeError:
        raise CheckpointError(f"weights in {path} have the wrong shapes for its {name} config") from None
    return model.to(device), document


def _compare_keys(expected: dict, found: dict) -> tuple[list[str], list[str]]:
    return sorted(set(expected) - set(found)), sorted(set(found) - set(expected))

