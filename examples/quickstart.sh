#!/usr/bin/env bash
# The bundled real scenes through geossr: sensors -> simulate -> upsample (the main job) -> info.
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

# The main job: super-resolution with the shipped weights.
# IKONOS at 5.2 m -> the 102 ROSIS bands at 1.3 m (x4), with an RGB quicklook and a pixel's spectra, by the
# default model (linear-sr, trained on airborne scenes; Pavia is not one of them).
geossr upsample "$out/pavia_ikonos_p4.tif" --scale 4 --sensor rosis -o "$out/pavia_rosis_x4.tif" --overwrite \
    --quicklook "$out/pavia_rosis_x4.png" --spectrum 12,12 "$out/pavia_spectrum.png"
# Nikon D700 RGB at half resolution -> 30 bands 400-700 nm (x2) on a CAVE scene the model never saw:
# a lab photo, so the SSIF trained on CAVE (--model ssif) rather than the airborne default.
geossr simulate "$here/cave_peppers_256x256.tif" --sensor nikon_d700 --scale 2 -o "$out/peppers_d700_half.tif" --overwrite
geossr upsample "$out/peppers_d700_half.tif" --scale 2 --sensor grid:400:700:30 --model ssif -o "$out/peppers_x2.tif" --overwrite \
    --quicklook "$out/peppers_x2.png"
geossr info "$out/pavia_rosis_x4.tif"
echo "quickstart outputs in $out"
