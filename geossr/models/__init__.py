"""Super-resolution models behind one interface (see :mod:`geossr.models.base`).

``build(name, **config)`` makes any registered model; checkpoints are safetensors weights with a
JSON card (:mod:`geossr.models.checkpoint`).
"""

from geossr.models.base import SuperResolver
from geossr.models.registry import MODELS, ModelConfigError, build

__all__ = ["MODELS", "ModelConfigError", "SuperResolver", "build"]
