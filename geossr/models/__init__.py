"""Super-resolution models behind one interface (see :mod:`geossr.models.base`).

``build(name, **config)`` makes any registered model; checkpoints are safetensors weights with a
JSON card (:mod:`geossr.models.checkpoint`). ``load(name_or_path, input_sensor, device)`` gives a
model ready to run from a model name, a shipped weight name or a checkpoint (:mod:`geossr.models.loader`).
"""

from geossr.models.base import SuperResolver
from geossr.models.registry import MODELS, ModelConfigError, build

from geossr.models.loader import LoadedModel, load

__all__ = ["MODELS", "LoadedModel", "ModelConfigError", "SuperResolver", "build", "load"]
