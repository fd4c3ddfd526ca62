"""Which shipped sensor a raster without wavelength metadata most likely comes from.

Sentinel-2 L2A and Landsat Collection-2 GeoTIFFs, as exported by the usual tools, carry band names
(``B02``, ``SR_B4``) and often the platform (a ``SENSOR`` / ``SPACECRAFT_NAME`` tag, or the product
name in the file name: ``S2B_MSIL2A_…``, ``LC08_…``), not wavelengths. From those this names the
``--input-sensor`` to pass; it never decides for the user.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

from geossr.spectral.sensors import available_sensors, load_sensor

# (pattern on tags and file name, shipped sensor); the first that matches wins
PLATFORMS = [
    (re.compile(r"sentinel-?2a|(^|[^a-z0-9])s2a[_ ]", re.IGNORECASE), "sentinel2a_msi"),
    (re.compile(r"sentinel-?2b|(^|[^a-z0-9])s2b[_ ]", re.IGNORECASE), "sentinel2b_msi"),
    (re.compile(r"sentinel-?2|(^|[^a-z0-9])s2[abcd]?_msil", re.IGNORECASE), "sentinel2_msi"),
    (re.compile(r"landsat[-_ ]?9|(^|[^a-z0-9])lc0?9[_ ]", re.IGNORECASE), "landsat9_oli"),
    (re.compile(r"landsat[-_ ]?8|(^|[^a-z0-9])lc0?8[_ ]", re.IGNORECASE), "landsat8_oli"),
    (re.compile(r"superdove|psb\.sd", re.IGNORECASE), "planetscope_superdove"),
    (re.compile(r"worldview-?3|(^|[^a-z0-9])wv0?3[_ ]", re.IGNORECASE), "worldview3"),
    (re.compile(r"worldview-?2|(^|[^a-z0-9])wv0?2[_ ]", re.IGNORECASE), "worldview2"),
]
PLATFORM_TAGS = ("SENSOR", "SPACECRAFT_NAME", "SPACECRAFT", "PLATFORM", "SATELLITE", "PRODUCT")


class LikelySensor(NamedTuple):
    spec: str  # for --input-sensor
    evidence: str  # what it was read from, for the message


def _band_name(description: str, sensor_bands: list[str]) -> str | None:
    """A band description as the sensor's band name: B2 / B02 / SR_B2 / "B8A" -> the sensor's spelling."""
    text = re.sub(r"^(SR|ST|TOA|BOA)_", "", description.strip(), flags=re.IGNORECASE).upper()
    for name in sensor_bands:
        if name.upper() == text:
            return name
    match = re.fullmatch(r"B(AND)?[ _]?0*(\d+)(A?)", text)
    if not match:
        return None
    for name in sensor_bands:
        own = re.fullmatch(r"B0*(\d+)(A?)", name.upper())
        if own and own.groups() == (match.group(2), match.group(3)):
            return name
    return None


def likely_sensor(dataset) -> LikelySensor | None:
    """The shipped sensor and bands an open rasterio dataset most likely holds, or None."""
    descriptions = [d or "" for d in dataset.descriptions]
    if not all(descriptions):
        return None
    tags = dataset.tags()
    texts = [(f"{key} tag {tags[key]!r}", tags[key]) for key in PLATFORM_TAGS if tags.get(key)]
    texts.append((f"file name {Path(dataset.name).name}", Path(dataset.name).name))
    for pattern, sensor in PLATFORMS:
        for where, text in texts:
            if pattern.search(text):
                own = load_sensor(sensor).band_names
                names = [_band_name(d, own) for d in descriptions]
                if None in names or len(set(names)) < len(names):
                    return None  # the platform is known, these are not its bands
                return LikelySensor(f"{sensor}:{','.join(names)}",
                                    f"{where} and band names {', '.join(descriptions)}")
    # No platform named: shipped sensors with exactly these band names, if they are of one family
    # (sentinel2*, landsat*, ...); the shortest name, the generic one, is suggested.
    exact = [name for name in available_sensors() if not name.endswith("_gaussian")
             and set(descriptions) <= set(load_sensor(name).band_names)]
    if not exact or len({re.match(r"[a-z]+", name).group(0) for name in exact}) > 1:
        return None
    best = min(exact, key=lambda name: (len(name), name))
    return LikelySensor(f"{best}:{','.join(descriptions)}", f"band names {', '.join(descriptions)}")
