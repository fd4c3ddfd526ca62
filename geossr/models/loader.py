"""One way from a model name, a shipped weight name or a checkpoint path to a model ready to run.

``load`` is what the command line, the evaluation, the land-use benchmark and the Python API call:

- ``bicubic`` and ``linear`` are closed form (no weights);
- a model name (``ssif``, ``liif``, ``linear-sr``, …) takes the shipped weights of that model trained
  for the input sensor, else that model's shipped weights for any input sensor; ``ssif`` with neither
  falls back to the shipped any-sensor SSIF, and the returned ``note`` says so;
- a shipped weight name (``ssif_rgb_default``) or a checkpoint path (a ``Path`` is always one) loads that checkpoint; a model
  for any input sensor is given ``input_sensor``, any other must have been trained for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


from geossr.errors import GeossrError
from geossr.models.base import SuperResolver
from geossr.models.checkpoint import load_checkpoint
from geossr.models.registry import MODELS, build, closed_form_models, model_class
from geossr.models.weights import installed_weights
from geossr.spectral.bands import Sensor, same_bands
from geossr.spectral.sensors import sensor_from_dict

# The default model, judged on airborne scenes no model trained on (benchmarks/results/remote_fidelity.md):
# from IKONOS / Sentinel-2 / Landsat 8 at p = 4, +1.0 dB over the linear prior and +2.5-3.2 dB over
# bicubic (SAM 0.2-0.27 deg above the prior's), the prior itself at p = 1; the lab-trained SSIF models
# were 3-5 dB behind it there.
DEFAULT_MODEL = "linear-sr"
ANY_SENSOR_SSIF = "ssif-any"


@dataclass
class LoadedModel:
    net: SuperResolver
    card: dict = field(default_factory=dict)
    label: str = "none"  # the weights: a shipped name, a path, or "none"
    note: str | None = None  # set when a model other than the one named stands in


def load(name_or_path: str | Path, input_sensor: Sensor | None, device: str = "cpu") -> LoadedModel:
    """The model ``name_or_path`` stands for, for ``input_sensor``, on ``device`` (see the module doc).

    ``input_sensor`` None takes a checkpoint's own; a model name needs one."""
    name = str(name_or_path)
    if input_sensor is None and name in MODELS:
        raise GeossrError(f"model {name!r} needs an input sensor (e.g. --input-sensor ikonos:blue,green,red,nir)")
    if isinstance(name_or_path, Path):  # always a checkpoint, even one named like a model
        net, card = load_checkpoint(name_or_path, expect_input_sensor=input_sensor, device=device)
        return LoadedModel(net, card, name)
    shipped = installed_weights()
    if name in (closed_form := closed_form_models()):
        return LoadedModel(build(name, input_sensor=input_sensor).to(device), {}, closed_form[name])
    if name in MODELS:
        return _shipped_for(name, input_sensor, device, shipped)
    by_name = {entry["name"]: entry["path"] for entry in shipped}
    if name in by_name:
        net, card = load_checkpoint(by_name[name], expect_input_sensor=input_sensor, device=device)
        return LoadedModel(net, card, name)
    if Path(name).suffix == ".safetensors" or Path(name).exists():
        net, card = load_checkpoint(name, expect_input_sensor=input_sensor, device=device)
        return LoadedModel(net, card, name)
    raise GeossrError(f"unknown model {name!r}: give a model ({', '.join(MODELS)}), a shipped weight name "
                      f"({', '.join(sorted(by_name)) or 'none installed'}) or a .safetensors checkpoint")


def _shipped_for(model: str, input_sensor: Sensor, device: str, shipped: list[dict]) -> LoadedModel:
    own = [entry for entry in shipped if entry["model"] == model]
    if not model_class(model).any_input_sensor:
        for entry in own:
            trained = sensor_from_dict(entry["card"]["model"]["input_sensor"])  # no need to build the network
            if same_bands(trained.centers_nm, input_sensor.centers_nm):
                net, card = load_checkpoint(entry["path"], device=device)
                return LoadedModel(net, card, entry["name"])
        own = []
    if not own and model == "ssif":
        own = [entry for entry in shipped if entry["model"] == ANY_SENSOR_SSIF]
    if own:
        entry = own[0]
        net, card = load_checkpoint(entry["path"], expect_input_sensor=input_sensor, device=device)
        note = None if entry["model"] == model else \
            f"no {model} weights for input sensor {input_sensor.name}: using the any-sensor model {entry['name']}"
        return LoadedModel(net, card, entry["name"], note)
    raise GeossrError(
        f"no shipped {model} weights for input sensor {input_sensor.name} ({len(input_sensor)} bands); "
        "pass --weights FILE (train one with `geossr train configs/...`) or use --model ssif or --model bicubic"
    )
