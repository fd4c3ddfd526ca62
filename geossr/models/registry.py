"""Model registry, in the style of LIIF's ``models.make(spec)``: ``build(name, **config)``.

Every model is configured by plain, YAML-friendly values; sensors are given as specs
(``nikon_d700``, ``grid:400:700:31``, a file) or sensor dicts, so a config in a checkpoint
rebuilds the model exactly. The config a model was built from is kept as ``model.config``.
"""

from __future__ import annotations

import inspect

from geossr.errors import GeossrError, SensorError
from geossr.models.base import SuperResolver
from geossr.spectral.bands import Sensor
from geossr.spectral.sampling import VARIANT_METHODS
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


def _ssif(input_sensor, **options):
    from geossr.models.ssif import SSIF

    return SSIF(len(input_sensor), **options)


def _ssif_any(input_sensor, **options):
    from geossr.models.ssif_any import AnySensorSSIF

    return AnySensorSSIF(input_sensor, **options)


def _liif(input_sensor, output_sensor, **options):
    from geossr.models.liif import LIIF

    output = resolve_sensor(output_sensor, "output_sensor")
    return LIIF(len(input_sensor), output.intervals_nm.tolist(), **options)


def _fmnet(input_sensor, output_sensor, **options):
    from geossr.models.fmnet import FMNet

    return FMNet(input_sensor, resolve_sensor(output_sensor, "output_sensor"), **options)


def _linear(input_sensor, **options):
    from geossr.models.linear import LinearPrior

    return LinearPrior(input_sensor, **options)


def _linear_sr(input_sensor, **options):
    from geossr.models.linear_sr import PriorSR

    return PriorSR(input_sensor, **options)


def _bicubic(input_sensor):
    from geossr.models.bicubic import BicubicBaseline

    return BicubicBaseline(input_sensor)


MODELS = {
    "ssif": (_ssif, "SSIF: any scale, any band set; variants " + ", ".join(VARIANT_METHODS) + "; decoders D, C"),
    "ssif-any": (_ssif_any, "SSIF for any input sensor (bands given by their responses): any scale, any band set"),
    "liif": (_liif, "LIIF with C outputs: any scale, the band set it was trained for"),
    "fmnet": (_fmnet, "FMNet: spectral SR for fixed sensors; p > 1 on a bicubically upsampled input"),
    "linear": (_linear, "linear MMSE spectral prior from airborne spectra, bicubic spatial (closed form, any sensor)"),
    "linear-sr": (_linear_sr, "the default: learnt spatial SR of each input band (any sensor), then the linear prior"),
    "bicubic": (_bicubic, "bicubic spatial + linear spectral interpolation (no training)"),
}
# What each constructor accepts beyond the factory's own arguments, for one-line config errors.
_CLASS_OF = {"ssif": "geossr.models.ssif:SSIF", "ssif-any": "geossr.models.ssif_any:AnySensorSSIF",
             "liif": "geossr.models.liif:LIIF",
             "fmnet": "geossr.models.fmnet:FMNet", "linear": "geossr.models.linear:LinearPrior",
             "linear-sr": "geossr.models.linear_sr:PriorSR", "bicubic": "geossr.models.bicubic:BicubicBaseline"}


def model_class(name: str) -> type[SuperResolver]:
    module, cls = _CLASS_OF[name].split(":")
    return getattr(__import__(module, fromlist=[cls]), cls)


def _accepted_fields(name: str) -> set[str]:
    target = model_class(name)
    named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    fields = set()
    for function in [MODELS[name][0]] + [k.__init__ for k in target.__mro__ if "__init__" in vars(k)]:
        fields |= {p.name for p in inspect.signature(function).parameters.values() if p.kind in named}
    return fields - {"self", "input_bands"}


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
        model = MODELS[name][0](input_sensor, **options)
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
