"""Super-resolution models behind one interface (see :mod:`geossr.models.base`).

``build(name, **config)`` makes any registered model; checkpoints are safetensors weights with a
JSON card (:mod:`geossr.models.checkpoint`). ``load(name_or_path, input_sensor, device)`` gives a
model ready to run from a model name, a shipped weight name or a checkpoint (:mod:`geossr.models.loader`).
"""

from geossr.models.base import SuperResolver
from geossr.models.registry import MODELS, ModelConfigError, build

# Each model module registers its class on import; this order is the order of `geossr models list`.
from geossr.models import ssif, ssif_any, liif, fmnet, linear, linear_sr, bicubic  # noqa: F401, E402  isort: skip
from geossr.models.loader import LoadedModel, load  # noqa: E402

__all__ = ["MODELS", "LoadedModel", "ModelConfigError", "SuperResolver", "build", "load"]
