"""The airborne hyperspectral crops under ``airborne/`` (AVIRIS, HYDICE), with band positions checked on the data.

Most of these crops ship without wavelengths: they are AVIRIS cubes from which an unpublished set
of channels was removed. Their band positions are fitted here on the data itself. At-sensor
radiance carries the atmosphere's absorptions at fixed wavelengths; a channel offset k (scene band i,
0-based, is AVIRIS channel i + 1 + k of the nominal 224-channel table) is chosen so that the scene's
absorption dips fall on the AVIRIS channels of O2-A (760 nm) and the 720 / 940 nm water-vapour
bands. k < 0 means the flight's calibration sits about one channel (10 nm) below the nominal table.
:func:`band_position_report` states each scene's k and where its O2-A and 940 nm dips then fall.

Only the bands up to :data:`AVIRIS_LAST_VERIFIED_NM` are loaded from the fitted scenes: between the
O2-A and 940 nm dips no channel is missing (their distance is the nominal one), past 1000 nm the
scenes differ in removed water-absorption channels that nothing here pins down (the 1140 nm dip
falls 1-3 channels early under the fit).

Values: the ABU crops are raw at-sensor radiance (DN), the San Diego, Jasper Ridge and Moffett cubes
surface reflectance (x 1e4 for San Diego). Radiance carries the sun's spectrum and the atmosphere's
absorptions, which no reflectance input has; the loader turns it into relative reflectance by the two
standard scene-based corrections: dark-object subtraction (each band's 0.1th percentile, the path
radiance of the darkest pixels) and a flat field (division by the mean spectrum of the brightest 1 %
of pixels by their 450-650 nm mean: roofs, concrete, sand, taken as spectrally flat). Measured on the
reflectance scenes (benchmarks/results/linear_prior.md): a prior from these converted crops plus
Jasper Ridge estimates San Diego's reflectance from IKONOS at 1.7° SAM against 5.0° from Jasper Ridge
alone; from the unconverted radiance 5.2°. ``radiance=True`` keeps the radiance. Each cube is then
divided by its 99.9th percentile over the loaded bands and clipped to [0, 1].

Sites: crops of the same ground or flight are one site (``SITES``), so a split by site never puts the
same ground on both sides (``abu-airport-2`` and ``abu-urban-5`` share 1,807 pixel spectra).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from geossr.errors import GeossrError
from geossr.spectral.bands import Band, Sensor

AIRBORNE_DIR = "airborne"
AVIRIS_TABLE = "airborne/sandiego/wavelengths_224_nominal_AVIRIS.txt"
SANDIEGO_189 = "airborne/sandiego/bands_189_subset.txt"
AVIRIS_FWHM_NM = 10.0
AVIRIS_LAST_VERIFIED_NM = 1050.0
# Absorption features of at-sensor radiance and their nominal AVIRIS channels (1-based).
O2A_NM, H2O_940_NM = 760.0, 940.0
FEATURE_CHANNELS = {"O2-A 760 nm": (43,), "H2O 720 nm": (39,), "H2O 940 nm": (61, 62)}
OFFSET_RANGE = range(-3, 13)
REFERENCE_PERCENTILE = 99.9
DARK_QUANTILE, BRIGHT_SHARE, BRIGHT_RANGE_NM = 0.001, 0.01, (450.0, 650.0)


@dataclass(frozen=True)
class SceneInfo:
    """One airborne crop: its file, site, instrument, measured quantity and how its bands are known."""

    path: str
    site: str
    instrument: str
    quantity: str  # radiance | reflectance
    bands: str  # fitted | table | nominal
    confidence: str  # high | medium | low


SCENES = {
    **{f"abu-airport-{i}": SceneInfo(f"abu-airport-{i}/abu-airport-{i}.mat", "los_angeles", "AVIRIS", "radiance",
                                     "fitted", "high") for i in (1, 2, 3)},
    "abu-airport-4": SceneInfo("abu-airport-4/abu-airport-4.mat", "gulfport", "AVIRIS", "radiance", "fitted", "high"),
    "abu-beach-1": SceneInfo("abu-beach-1/abu-beach-1.mat", "cat_island", "AVIRIS", "radiance", "fitted", "high"),
    "abu-beach-2": SceneInfo("abu-beach-2/abu-beach-2.mat", "san_diego", "AVIRIS", "radiance", "fitted", "high"),
    "abu-beach-3": SceneInfo("abu-beach-3/abu-beach-3.mat", "bay_champagne", "AVIRIS", "radiance", "fitted", "high"),
    **{f"abu-urban-{i}": SceneInfo(f"abu-urban-{i}/abu-urban-{i}.mat", "texas_coast", "AVIRIS", "radiance",
                                   "fitted", "high") for i in (1, 2)},
    **{f"abu-urban-{i}": SceneInfo(f"abu-urban-{i}/abu-urban-{i}.mat", "los_angeles", "AVIRIS", "radiance",
                                   "fitted", "high") for i in (4, 5)},
    "sandiego": SceneInfo("sandiego/Sandiego.mat", "san_diego", "AVIRIS", "reflectance", "table", "high"),
    # Its fine structure matches Sandiego's 189-channel subset at zero shift (correlation 0.99).
    "sandiego_plane": SceneInfo("sandiego_plane/sandiego_plane.mat", "san_diego", "AVIRIS", "reflectance",
                                "table", "high"),
    "hydice": SceneInfo("hydice/hydice.mat", "urban_copperas_cove", "HYDICE", "reflectance", "nominal", "low"),
    "moffett": SceneInfo("moffett_vca/Moffett_vca.mat", "moffett_field", "AVIRIS", "reflectance", "nominal", "low"),
}
# The fixed split by site for the shipped remote-sensing models. Test sites cover both quantities:
# San Diego (two reflectance cubes and a radiance crop), the Texas Coast (radiance) and SAMSON
# (reflectance, 401-889 nm). Gulfport is the validation site (training curves, when to stop). The
# low-confidence scenes (band positions unknown) are in none.
AIRBORNE_SPLIT = {
    "train": ["jasper-aviris", "abu-airport-1", "abu-airport-2", "abu-airport-3", "abu-urban-4", "abu-urban-5",
              "abu-beach-1", "abu-beach-3"],
    "validation": ["abu-airport-4"],
    "test": ["sandiego", "sandiego_plane", "abu-beach-2", "abu-urban-1", "abu-urban-2", "samson"],
}
# Sites of the scenes loaded through geossr.data.cubes (not airborne/ files) that the split uses.
OTHER_SITES = {"jasper-aviris": "jasper_ridge", "jasper": "jasper_ridge", "jasper_ridge": "jasper_ridge", "samson": "samson", "rosis": "pavia", "abu-beach-4": "pavia"}


def site_of(scene: str) -> str:
    return SCENES[scene].site if scene in SCENES else OTHER_SITES.get(scene, scene)


def aviris_nominal_nm(root: str | Path) -> np.ndarray:
    """The nominal 224-channel AVIRIS centres (nm), index c - 1 for channel c."""
    return _aviris_table(str(Path(root) / AVIRIS_TABLE))


@lru_cache(maxsize=4)
def _aviris_table(path: str) -> np.ndarray:
    if not Path(path).is_file():
        raise GeossrError(f"AVIRIS wavelength table not found: {path}")
    table = np.loadtxt(path, comments="#")
    if table.shape != (224, 2):
        raise GeossrError(f"{path}: expected 224 rows of 'channel wavelength_nm', got shape {table.shape}")
    return table[:, 1].copy()


def channel_nm(table: np.ndarray, channels) -> np.ndarray:
    """Nominal centres of 1-based ``channels``; below channel 1 extrapolated at the first spacing."""
    channels = np.asarray(channels, dtype=float)
    step = table[1] - table[0]
    inside = np.clip(channels, 1, len(table)).astype(int) - 1
    return np.where(channels < 1, table[0] + (channels - 1) * step, table[inside])


def absorption_depth(spectrum: np.ndarray) -> np.ndarray:
    """Per band, how far log(value) dips below the mean of its 4 neighbours (NaN at the 2 bands of each end)."""
    log = np.log(np.maximum(np.asarray(spectrum, dtype=float), 1e-6))
    depth = np.full(log.size, np.nan)
    depth[2:-2] = (log[:-4] + log[1:-3] + log[3:-1] + log[4:]) / 4 - log[2:-2]
    return depth


def fit_channel_offset(mean_spectrum: np.ndarray) -> int:
    """The channel offset k whose predicted O2-A and water-vapour bands dip deepest in ``mean_spectrum``."""
    depth = np.nan_to_num(absorption_depth(mean_spectrum), nan=-1.0)

    def score(k: int) -> float:
        total = 0.0
        for channels in FEATURE_CHANNELS.values():
            indices = [c - 1 - k for c in channels if 0 <= c - 1 - k < depth.size]
            total += max((depth[i] for i in indices), default=-1.0)
        return total

    return max(OFFSET_RANGE, key=score)


def dip_nm(spectrum: np.ndarray, centres_nm: np.ndarray, near_nm: float, window: int = 2) -> float:
    """The wavelength of the deepest absorption dip within ``window`` bands of ``near_nm`` (parabolic vertex)."""
    depth = np.nan_to_num(absorption_depth(spectrum), nan=-np.inf)
    near = int(np.argmin(np.abs(centres_nm - near_nm)))
    lo, hi = max(near - window, 1), min(near + window, len(depth) - 2)
    best = lo + int(np.argmax(depth[lo:hi + 1]))
    left, mid, right = depth[best - 1], depth[best], depth[best + 1]
    curvature = left - 2 * mid + right
    shift = 0.0 if not np.isfinite(curvature) or curvature >= 0 else 0.5 * (left - right) / curvature
    step = (centres_nm[best + 1] - centres_nm[best - 1]) / 2
    return float(centres_nm[best] + np.clip(shift, -0.5, 0.5) * step)


def _raw(root: Path, scene: str) -> np.ndarray:
    """The scene's values as stored, (H, W, B) float64."""
    import scipy.io

    path = root / AIRBORNE_DIR / SCENES[scene].path
    if not path.is_file():
        raise GeossrError(f"airborne scene {scene!r}: file not found: {path}")
    try:
        mat = scipy.io.loadmat(path)
    except (ValueError, TypeError, OSError, NotImplementedError):
        raise GeossrError(f"airborne scene {scene!r}: not a MATLAB file scipy can read: {path}") from None
    if scene == "moffett":  # Y is (bands, 2500): a 50 x 50 scene in lexicographic (row-major) order
        values = mat.get("Y")
        if values is None or values.ndim != 2 or values.shape[1] != 2500:
            raise GeossrError(f"{path}: 'Y' should be (bands, 2500)")
        return values.T.reshape(50, 50, -1).astype(np.float64)
    values = mat.get("data")
    if values is None or values.ndim != 3:
        raise GeossrError(f"{path}: variable 'data' (rows, cols, bands) missing")
    return values.astype(np.float64)


def _sandiego_channels(root: Path, bands: int) -> np.ndarray:
    if bands == 224:
        return np.arange(1, 225)
    path = root / SANDIEGO_189
    channels = np.array([int(v) for line in path.read_text().splitlines() if not line.startswith("#")
                         for v in line.split()])
    if bands != channels.size:
        raise GeossrError(f"San Diego cube has {bands} bands; {path} lists {channels.size}")
    return channels


def scene_channels(root: str | Path, scene: str, raw: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(AVIRIS channel per band (float; HYDICE: its own band numbers), centre nm per band) of ``scene``."""
    root = Path(root)
    info = SCENES[scene]
    raw = _raw(root, scene) if raw is None else raw
    bands = raw.shape[2]
    if info.instrument == "HYDICE":
        # The usual 162-band Urban subset of HYDICE's 210 bands over 400-2500 nm (nominal linear grid).
        removed = {*range(1, 5), 76, 87, *range(101, 112), *range(136, 154), *range(198, 211)}
        channels = np.array([c for c in range(1, 211) if c not in removed], dtype=float)
        if channels.size != bands:
            raise GeossrError(f"HYDICE crop has {bands} bands; the Urban subset has {channels.size}")
        return channels, 400.0 + (channels - 1) * (2100.0 / 209)
    table = aviris_nominal_nm(root)
    if info.bands == "table":
        channels = _sandiego_channels(root, bands).astype(float)
    elif info.bands == "nominal":  # Moffett: 'selected_bands' of a 203-band set of unknown offset; taken as 1-based
        channels = np.arange(1, bands + 1, dtype=float)
    else:
        offset = fit_channel_offset(raw.reshape(-1, bands).mean(axis=0))
        channels = np.arange(bands, dtype=float) + 1 + offset
    return channels, channel_nm(table, channels)


def relative_reflectance(radiance: np.ndarray, centres_nm: np.ndarray) -> np.ndarray:
    """(H, W, B) radiance -> dark-object subtracted, flat-fielded to the brightest pixels (see the module docstring)."""
    flat = radiance.reshape(-1, radiance.shape[2])
    dark = np.quantile(flat, DARK_QUANTILE, axis=0)
    visible = (centres_nm > BRIGHT_RANGE_NM[0]) & (centres_nm < BRIGHT_RANGE_NM[1])
    brightness = flat[:, visible].mean(axis=1)
    bright = flat[brightness >= np.quantile(brightness, 1 - BRIGHT_SHARE)].mean(axis=0)
    return np.clip((radiance - dark) / np.maximum(bright - dark, 1e-9), 0.0, None)


def load_airborne_scene(root: str | Path, scene: str, radiance: bool = False):
    """One airborne crop as a :class:`HyperspectralCube` (C, H, W) in [0, 1], bands up to 1050 nm.

    Radiance crops come as relative reflectance unless ``radiance`` (see the module docstring)."""
    from geossr.data.cubes import HyperspectralCube

    if scene not in SCENES:
        raise GeossrError(f"unknown airborne scene {scene!r} (known: {', '.join(SCENES)})")
    root = Path(root)
    info = SCENES[scene]
    raw = _raw(root, scene)
    channels, centres = scene_channels(root, scene, raw)
    keep = (centres >= 0) & (centres <= AVIRIS_LAST_VERIFIED_NM)
    if info.instrument == "AVIRIS" and info.bands == "table":
        # San Diego's reflectance: channels 1-3 (below 395 nm) are noise (their pixels correlate 0.74-0.89
        # with channel 10, channels 4-6 0.96-0.99); 33-35 repeat 664-683 nm from the second spectrometer.
        keep &= ~np.isin(channels, [1, 2, 3, 33, 34, 35])
    values = np.clip(raw[..., keep], 0.0, None)  # negative DN / reflectance: sensor noise, not signal
    converted = info.quantity == "radiance" and not radiance
    if converted:
        values = relative_reflectance(values, centres[keep])
    reference = np.percentile(values, REFERENCE_PERCENTILE)
    if not reference > 0:
        raise GeossrError(f"airborne scene {scene!r} has no positive values")
    cube = np.clip(values / reference, 0.0, 1.0).transpose(2, 0, 1).astype(np.float32)
    fwhm = AVIRIS_FWHM_NM if info.instrument == "AVIRIS" else 2100.0 / 209
    sensor = Sensor(
        f"{scene}_{info.instrument.lower()}",
        tuple(Band.gaussian(f"c{int(c):03d}", nm, fwhm) for c, nm in zip(channels[keep], centres[keep])),
        description=f"{info.instrument} channels of the {scene} crop up to {AVIRIS_LAST_VERIFIED_NM:.0f} nm",
        source=f"band positions: {info.bands} (confidence {info.confidence}); geossr.data.airborne",
        response_kind="nominal",
    )
    quantity = "relative reflectance from radiance" if converted else info.quantity
    return HyperspectralCube(scene, np.ascontiguousarray(cube), sensor,
                             f"{info.instrument} {info.site} ({quantity}) {root / AIRBORNE_DIR / info.path}")


def band_position_report(root: str | Path) -> list[dict]:
    """Per fitted AVIRIS scene: offset k, where O2-A and the 940 nm water band dip under the fit (nm), residuals."""
    rows = []
    for scene, info in SCENES.items():
        if info.bands != "fitted":
            continue
        raw = _raw(Path(root), scene)
        mean = raw.reshape(-1, raw.shape[2]).mean(axis=0)
        channels, centres = scene_channels(root, scene, raw)
        o2, h2o = dip_nm(mean, centres, O2A_NM), dip_nm(mean, centres, H2O_940_NM)
        rows.append({"scene": scene, "site": info.site, "bands": raw.shape[2], "offset": int(channels[0] - 1),
                     "o2a_nm": o2, "o2a_residual_nm": o2 - O2A_NM, "h2o_nm": h2o, "h2o_residual_nm": h2o - H2O_940_NM})
    return rows
