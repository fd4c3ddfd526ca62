"""Optional dependencies. The core (upsample, simulate, info, train, evaluate) runs without them; a
feature that needs one says which extra installs it."""

from __future__ import annotations

import importlib

from geossr.errors import GeossrError

# top-level module -> (distribution, extra of geossr that installs it)
OPTIONAL = {"sklearn": ("scikit-learn", "landuse"), "matplotlib": ("matplotlib", "plots"),
            "distributed": ("distributed", "cluster")}


def require(module: str, purpose: str):
    """Import ``module`` or raise a one-line GeossrError naming the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        package, extra = OPTIONAL[module.split(".")[0]]
        raise GeossrError(f"{purpose} needs {package}, which is not installed: pip install 'geossr[{extra}]'") from None


def pyplot(purpose: str):
    """matplotlib.pyplot on the Agg backend (files only, no display needed)."""
    require("matplotlib", purpose).use("Agg")
    return require("matplotlib.pyplot", purpose)
