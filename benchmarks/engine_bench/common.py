"""What the parent and its child processes share: the marker of a child's result line, the names of a tile's stages."""

from __future__ import annotations

import json

RESULT_MARK = "GEOSSR_BENCH_RESULT "
# stages of one tile's pixel decoder (ImplicitSuperResolver.encode / pixel_features)
CODE_STAGE = "pixel decoder: first layer as 3x3 conv (in encode)"
QUERY_STAGE = "pixel decoder: per query (gather, rest of the MLP, blend)"
GEMM_STAGE = "  of which the MLP's GEMMs after the first layer"


def emit(result: dict) -> None:
    print(RESULT_MARK + json.dumps(result), flush=True)
