"""Model registry, in the style of LIIF's ``models.make(spec)``: ``build(name, **config)``.

Models register themselves: ``@register("one-line description")`` on the class, whose ``name`` is
the registry name; ``build`` constructs every model the same way, ``cls.from_config(input_sensor,
**options)``. The command line, the loader, training, evaluation, the land-use benchmark and the
tests' model lists all read ``MODELS``.

Every model is configured by plain, YAML-friendly values; sensors are given as specs
(``nikon_d700``, ``grid:400:700:31``, a file) or sensor dicts, so a config in a checkpoint
rebuilds the model exactly. The config a model was built from is kept as ``model.config``.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

from geossr.errors import GeossrError, SensorError
from geossr.models.base import SuperResolver
from geossr.spectral.bands import Sensor
from geossr.spectral.sensors import load_sensor, sensor_from_dict


class ModelConfigError(GeossrError, ValueError):
    """A model name, variant or config field is wrong."""


def resolve_sensor(spec, field: str) -> Sensor:
    """A sensor from a spec string or a sensor dict (as stored in checkpoints)."""
    if isinstance(spec, Sensor):
        return spec
    if isinstance(spec, dict):
        return sensor_from_dict(spec, where=f"model config field {field!r}: ")
    if isinstance(spec, str):
        return load_sensor(spec)
    raise ModelConfigError(f"model config field {field!r} must be a sensor name, file or grid spec")


@dataclass(frozen=True)
class Registered:
    cls: type[SuperResolver]
    description: str  # one line, for `geossr models list` and help texts
    closed_form: str | None  # a model with no weights: the label its outputs record as their weights


# name -> Registered, in registration order (geossr/models/__init__.py imports every model module)
MODELS: dict[str, Registered] = {}


def register(description: str, closed_form: str | None = None):
    """Class decorator: add a SuperResolver subclass to the registry under its ``name``.

    ``closed_form``: the model needs no weights (``bicubic``, ``linear``); the string is what an output
    records as its weights.
    """

    def add(cls: type[SuperResolver]) -> type[SuperResolver]:
        if not cls.name or cls.name in MODELS:
            raise ValueError(f"model class {cls.__name__} needs a name of its own, got {cls.name!r}")
        MODELS[cls.name] = Registered(cls, description, closed_form)
        return cls

    return add


def closed_form_models() -> dict[str, str]:
    """Models that need no weights: name -> the weights label their outputs record."""
    return {name: entry.closed_form for name, entry in MODELS.items() if entry.closed_form is not None}


def model_class(name: str) -> type[SuperResolver]:
    return MODELS[name].cls


def _accepted_fields(name: str) -> set[str]:
    """What the model's config may hold: ``from_config``'s named parameters and those of every
    ``__init__`` along the class's MRO (where ``**options`` go), less what ``from_config`` derives."""
    target = model_class(name)
    named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    fields = set()
    for function in [target.from_config] + [k.__init__ for k in target.__mro__ if "__init__" in vars(k)]:
        fields |= {p.name for p in inspect.signature(function).parameters.values() if p.kind in named}
    return fields - {"self", "cls", "input_bands", "output_intervals"}


def build(name: str, **config) -> SuperResolver:
    """Build a model by registry name; ``config`` must include ``input_sensor``."""
    if name not in MODELS:
        raise ModelConfigError(f"unknown model {name!r}; choose from {', '.join(MODELS)}")
    if "input_sensor" not in config:
        raise ModelConfigError(f"model config for {name!r} is missing field 'input_sensor'")
    unknown = sorted(set(config) - _accepted_fields(name))
    if unknown:
        raise ModelConfigError(
            f"model config for {name!r} has unknown field {unknown[0]!r} "
            f"(fields: {', '.join(sorted(_accepted_fields(name)))})"
        )
    options = dict(config)
    input_sensor = resolve_sensor(options.pop("input_sensor"), "input_sensor")
    if "output_sensor" in options:
        options["output_sensor"] = resolve_sensor(options["output_sensor"], "output_sensor")
    try:
        model = model_class(name).from_config(input_sensor, **options)
    except SensorError:
        raise
    except (TypeError, ValueError) as exc:
        raise ModelConfigError(f"model config for {name!r}: {exc}") from None
    model.config = {"name": name, "input_sensor": input_sensor.to_dict(), **_plain(options)}
    model.input_sensor = input_sensor
    return model


def _plain(options: dict) -> dict:
    """Config values as JSON data (sensors as dicts, tuples as lists), so a stored card compares equal."""

    def plain(value):
        if isinstance(value, Sensor):
            return value.to_dict()
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        return value

    return plain(options)
