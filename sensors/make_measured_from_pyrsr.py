"""Write measured-response sensor files from the tables in a pyrsr source distribution (run from this folder).

    pip download --no-deps --no-binary :all: pyrsr==0.8.0 -d /tmp && python make_measured_from_pyrsr.py /tmp/pyrsr-0.8.0.tar.gz

pyrsr (Apache-2.0, https://git.gfz-potsdam.de/EnMAP/sensormapgeo/pyrsr) ships the agencies' relative
spectral responses as text tables, one per band, with the agency's source file in a ``reference``
file per instrument. They are converted here into geossr sensor files (a YAML and one CSV per
sensor, 1 nm steps), so that geossr needs no extra package and nothing at run time; the sdist's
version and sha256 are written into every file. Values are kept as published except that negative
ones (noise floors in the Landsat tables) become 0 and every band is scaled to a peak of 1.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import re
import tarfile
from pathlib import Path

import numpy as np
import yaml

HERE = Path(__file__).resolve().parent
S2_BANDS = [("B01", "1", "coastal"), ("B02", "2", "blue"), ("B03", "3", "green"), ("B04", "4", "red"),
            ("B05", "5", "rededge"), ("B06", "6", "rededge"), ("B07", "7", "rededge"), ("B08", "8", "nir"),
            ("B8A", "8A", "nir08"), ("B09", "9", "nir09"), ("B10", "10", "cirrus"), ("B11", "11", "swir16"),
            ("B12", "12", "swir22")]
OLI_BANDS = [("B1", "1", "coastal"), ("B2", "2", "blue"), ("B3", "3", "green"), ("B4", "4", "red"),
             ("B5", "5", "nir08"), ("B6", "6", "swir16"), ("B7", "7", "swir22"), ("B8", "8", "pan"),
             ("B9", "9", "cirrus")]
RAPIDEYE_BANDS = [("B1", "1", "blue"), ("B2", "2", "green"), ("B3", "3", "red"), ("B4", "4", "rededge"),
                  ("B5", "5", "nir")]
# file name -> (pyrsr folder, description, bands, CSV shared with)
SENSORS = {
    "sentinel2a_msi": ("Sentinel-2A/MSI", "Sentinel-2A MSI, 13 bands (measured responses)", S2_BANDS, None),
    "sentinel2b_msi": ("Sentinel-2B/MSI", "Sentinel-2B MSI, 13 bands (measured responses)", S2_BANDS, None),
    "sentinel2_msi": ("Sentinel-2A/MSI", "Sentinel-2 MSI, 13 bands: Sentinel-2A's measured responses (Sentinel-2B: "
                      "sentinel2b_msi; the Gaussian approximation: sentinel2_msi_gaussian)", S2_BANDS, "sentinel2a_msi"),
    "landsat8_oli": ("Landsat-8/OLI_TIRS", "Landsat 8 OLI, 9 reflective bands (B1-B7, B8 pan, B9 cirrus; measured "
                     "responses; the Gaussian approximation: landsat8_oli_gaussian)", OLI_BANDS, None),
    "landsat9_oli": ("Landsat-9/OLI_TIRS", "Landsat 9 OLI-2, 9 reflective bands (B1-B7, B8 pan, B9 cirrus; "
                     "measured responses)", OLI_BANDS, None),
    "rapideye": ("RapidEye/MSI", "RapidEye, 5 bands (measured responses)", RAPIDEYE_BANDS, None),
}


def read_band(members: dict[str, bytes], folder: str, band: str) -> tuple[np.ndarray, np.ndarray]:
    """(wavelength nm, response) of one pyrsr table: a header line, then 'wavelength value' rows in nm or µm."""
    text = members[f"{folder}/band_{band}"].decode().splitlines()[1:]
    table = np.array([[float(v) for v in line.split()[:2]] for line in text if line.strip()])
    wavelength = table[:, 0] * (1000.0 if table[:, 0].max() < 100 else 1.0)  # Landsat's tables are in µm
    return wavelength, np.clip(table[:, 1], 0.0, None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sdist", type=Path, help="pyrsr-VERSION.tar.gz")
    args = parser.parse_args()
    digest = hashlib.sha256(args.sdist.read_bytes()).hexdigest()
    version = re.search(r"pyrsr-([\d.]+)\.tar\.gz$", args.sdist.name).group(1)
    with tarfile.open(args.sdist) as archive:
        members = {re.sub(r"^[^/]+/pyrsr/data/", "", m.name): archive.extractfile(m).read()
                   for m in archive.getmembers() if m.isfile() and "/pyrsr/data/" in m.name}
    for name, (folder, description, bands, shared) in SENSORS.items():
        reference = members[f"{folder}/reference"].decode().strip().replace("\n", "; ")
        curves = {ours: read_band(members, folder, theirs) for ours, theirs, _ in bands}
        table = shared or name
        if shared is None:
            grid = np.arange(np.floor(min(w[0] for w, _ in curves.values())),
                             np.ceil(max(w[-1] for w, _ in curves.values())) + 1)
            columns = {ours: np.interp(grid, w, r / r.max(), left=0.0, right=0.0) for ours, (w, r) in curves.items()}
            out = io.StringIO()
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(["wavelength_nm", *columns])
            for i, nm in enumerate(grid):
                writer.writerow([f"{nm:g}", *(f"{columns[b][i]:.5g}" if columns[b][i] else "0" for b in columns)])
            (HERE / f"{table}_srf.csv").write_text(f"# pyrsr {version} (sdist sha256 {digest}), {folder}; {reference}\n"
                                                   + out.getvalue())
        doc = {"name": name, "description": description,
               "source": f"Measured relative spectral response, {folder.replace('/', ' ')}, from {reference}, as "
                         f"shipped by pyrsr {version} (Apache-2.0; sdist sha256 {digest}); negative values set to "
                         "0, each band scaled to a peak of 1, resampled to 1 nm (sensors/make_measured_from_pyrsr.py).",
               "response": "measured",
               "bands": [{"name": ours, "common_name": common, "response": {"file": f"{table}_srf.csv", "column": ours}}
                         for ours, _, common in bands]}
        header = f"# Generated by make_measured_from_pyrsr.py from pyrsr {version}: do not edit by hand.\n"
        (HERE / f"{name}.yaml").write_text(header + yaml.safe_dump(doc, sort_keys=False, width=110))
        print(f"{name}: {len(bands)} bands from {folder}")


if __name__ == "__main__":
    main()
