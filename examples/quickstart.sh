#!/usr/bin/env bash
# The bundled real scenes through geossr: sensors -> simulate -> info.
# Run from anywhere after installing geossr; outputs go to examples/output/.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/output"
mkdir -p "$out"

geossr --version
geossr sensors list
geossr sensors show ikonos --plot "$out/ikonos_srf.png"

# ROSIS (102 bands, 1.3 m) -> IKONOS multispectral at 4x coarser pixels (5.2 m).
geossr simulate "$here/pavia_rosis_100x100.tif" --sensor ikonos:blue,green,red,nir --scale 4 \
    -o "$out/pavia_ikonos_p4.tif" --overwrite
geossr info "$out/pavia_ikonos_p4.tif"

# CAVE (31 bands) -> Nikon D700 RGB, and -> a custom 15-band Gaussian grid.
geossr simulate "$here/cave_peppers_256x256.tif" --sensor nikon_d700 -o "$out/peppers_d700.tif" --overwrite
geossr simulate "$here/cave_peppers_256x256.tif" --sensor grid:400:700:15:gaussian \
    -o "$out/peppers_grid15.tif" --overwrite
geossr info "$out/peppers_d700.tif"
echo "quickstart outputs in $out"
