"""The package's layers (docs/architecture.md): a module imports only from its own layer or below.

Function-level (lazy) imports count too. The command line (``geossr_cli``, typer) sits above all
of it and is never imported by the library.
"""

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# bottom to top; a module is in the layer of its first name under geossr/
LAYERS = [
    {"errors", "fileio", "device", "extras", "metrics"},
    {"spectral"},
    {"forward"},  # spectral integration, spatial degradation, consistency projection
    {"models"},
    {"scene"},  # raster I/O and the tiled engine
    {"data"},  # training and evaluation datasets, read with scene.io
    {"train", "evaluate", "landuse", "api", "qgis_install", "weights"},
    {"__init__", "__main__"},  # the package's front door: python -m geossr runs the command line
]


def layer_of(name: str) -> int:
    for level, names in enumerate(LAYERS):
        if name in names:
            return level
    raise AssertionError(f"geossr.{name} is in no layer of tests/test_layers.py: add it")


def imported(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_no_module_imports_from_a_layer_above_it():
    upward = []
    for path in sorted((REPO / "geossr").rglob("*.py")):
        own = path.relative_to(REPO / "geossr").parts[0].removesuffix(".py")
        for module in imported(ast.parse(path.read_text())):
            parts = module.split(".")
            if parts[0] == "geossr_cli" and own != "__main__":
                upward.append(f"{path.relative_to(REPO)} imports {module} (the command line)")
            if parts[0] != "geossr" or len(parts) == 1:
                continue
            if layer_of(parts[1]) > layer_of(own):
                upward.append(f"{path.relative_to(REPO)} imports {module}")
    assert upward == []
