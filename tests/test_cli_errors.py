"""Bad input to the real `geossr` console script: one clear line on stderr, nothing left behind.

Every case runs the installed console script in a subprocess, in a directory of its own that
doubles as the output directory, and checks that the command
- exits non-zero (2 for a command-line usage error),
- writes exactly one non-empty line to stderr, starting with ``geossr: error:``, that names the
  problem (the bad path, the sensor file and field, ...), and never a traceback or an
  ``internal error`` (every case here is a user's mistake, not a bug),
- leaves the directory as it found it: no new file (hidden temporaries included), and every file
  that was there, an existing output included, byte-identical.

A geossr process spends most of its time importing dask, xarray and rasterio, so the cases run
a few at a time in a thread pool (one batch per module, only the selected cases), and, where
the environment forbids writing bytecode beside the sources, with a bytecode cache in the temp
directory instead. The whole file stays well under a minute on two cores.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from cli_runner import geossr

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
ROSIS = EXAMPLES / "pavia_rosis_100x100.tif"  # 102 bands, wavelength metadata, sensor rosis
CAVE = EXAMPLES / "cave_peppers_256x256.tif"  # 31 bands, sensor cave31
SHARED_DATA = Path(os.environ.get("GEOSSR_SHARED_DATA", REPO.parent / "shared" / "data"))
# A real Sentinel-2 L2A GeoTIFF (4 bands) that declares no band wavelengths.
S2_NO_WAVELENGTHS = (
    SHARED_DATA / "geotiff" / "s2_l2a_bigearthnet_T29UPU_20180421" / "S2B_MSIL2A_20180421T114349_41_4_10m.tif"
)
# A real Landsat 8 surface-reflectance crop (int16, REFLECTANCE_SCALE tag).
LANDSAT = SHARED_DATA / "geotiff" / "landsat8_sr_LC08_232066_20190727" / "LC08_232066_20190727_SR_B2-B7.tif"

TIMEOUT_S = 120
PREVIOUS_OUTPUT = b"previous output: must survive a failed run byte for byte\n"


# --------------------------------------------------------------------------------------------
# Running the console script
# --------------------------------------------------------------------------------------------


def run_geossr(*args: str | os.PathLike, cwd: str | os.PathLike) -> subprocess.CompletedProcess:
    return geossr(*args, cwd=cwd, timeout=TIMEOUT_S)


def snapshot(directory: Path) -> dict[str, bytes | None]:
    """Every entry under ``directory`` (hidden ones included): file bytes, or None for a folder."""
    return {
        str(p.relative_to(directory)): (None if p.is_dir() else p.read_bytes())
        for p in sorted(directory.rglob("*"))
    }


# --------------------------------------------------------------------------------------------
# The cases
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    id: str
    args: tuple[str, ...]
    # Regular expressions (case-insensitive) the error line must match, each of them.
    expect: tuple[str, ...]
    # Files to create in the case directory first: name -> bytes, or a function that writes the file.
    files: dict[str, bytes | Callable[[Path], None]] = field(default_factory=dict)
    exit_code: int | None = None  # None: any non-zero code
    needs: Path | None = None  # data the case cannot run without

    def __str__(self) -> str:
        return self.id


def _simulate(source: Path | str, sensor: str, *extra: str, output: str = "out.tif") -> tuple[str, ...]:
    return ("simulate", str(source), "--sensor", sensor, "--output", output, *extra)


def _upsample(source: Path | str, *extra: str, sensor: str = "ikonos") -> tuple[str, ...]:
    return ("upsample", str(source), "--scale", "2", "--sensor", sensor, "--model", "bicubic", "-o", "out.tif", *extra)


def _rosis_copy(fill: float | None = None, nodata: float | None = None, tags: dict | None = None):
    """A writer of the ROSIS example (its sensor metadata kept), every value ``fill`` unless None."""
    def write(path: Path) -> None:
        import numpy as np
        import rasterio

        with rasterio.open(ROSIS) as src, rasterio.open(path, "w", **(src.profile | {"nodata": nodata})) as dst:
            dst.write(src.read() if fill is None else np.full((src.count, src.height, src.width), fill, "float32"))
            dst.update_tags(ns="GEOSSR", **src.tags(ns="GEOSSR"))
            dst.update_tags(**(tags or {}))
    return write


def _damaged_rosis(path: Path) -> None:
    """The ROSIS example with 200 kB of its compressed blocks overwritten: the header is intact, a block is not."""
    data = bytearray(ROSIS.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 200_000] = b"\xff" * 200_000
    path.write_bytes(bytes(data))


def _simulated(source: Path, sensor: str, scale: float | None = None):
    """A writer of what ``sensor`` sees of a real example (geossr simulate): a file that declares ``sensor``."""
    def write(path: Path) -> None:
        from geossr.scene.simulate import simulate

        simulate(source, sensor, path, scale=scale)
    return write


def _without_scale(source: Path, dtype: str | None = None):
    """A writer of a real example's pixels with no scale to reflectance (no band scale, no tags), its sensor
    metadata kept; ``dtype`` uint8: stretched to 1-255 as 8-bit imagery is, other dtypes: cast."""
    def write(path: Path) -> None:
        import numpy as np
        import rasterio

        with rasterio.open(source) as src:
            values = src.read().astype(np.float64)
            if dtype == "uint8":
                values = np.clip(np.round(values / np.percentile(values, 99.5) * 255), 1, 255)
            nodata = 0 if dtype == "uint8" else src.nodata  # Landsat's -9999 does not fit in a byte
            with rasterio.open(path, "w", **(src.profile | {"dtype": dtype or src.dtypes[0], "nodata": nodata})) as dst:
                dst.write(values.astype(dtype or src.dtypes[0]))
                dst.update_tags(ns="GEOSSR", **src.tags(ns="GEOSSR"))
    return write


def _zip_of(source: Path):
    def write(path: Path) -> None:
        import zipfile

        with zipfile.ZipFile(path, "w") as archive:
            archive.write(source, source.name)
    return write


def _dead_port() -> int:
    """A port on 127.0.0.1 nothing listens on (it was free a moment ago)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# Malformed sensor files: (id, YAML text, what the message must say besides the file name).
BAD_SENSOR_FILES = [
    (
        "invalid_yaml",
        "name: broken\nbands: [{name: b1, center_wavelength: 0.5\n",
        (r"YAML",),
    ),
    (
        "missing_bands",
        "name: nobands\ndescription: a sensor without any band\n",
        (r"\bbands\b",),
    ),
    (
        "negative_fwhm",
        "name: negfwhm\nbands:\n  - {name: b1, center_wavelength: 0.5, full_width_half_max: -0.02}\n",
        (r"full_width_half_max", r"positive|negative"),
    ),
    (
        "unsorted_wavelengths",
        "name: unsorted\nbands:\n  - name: b1\n"
        "    response: {wavelength_nm: [500, 490, 510, 520], value: [0.1, 0.5, 1.0, 0.2]}\n",
        (r"wavelength", r"increasing|sorted|order"),
    ),
    (
        "negative_response",
        "name: negresp\nbands:\n  - name: b1\n"
        "    response: {wavelength_nm: [490, 500, 510, 520], value: [0.1, -0.5, 1.0, 0.2]}\n",
        (r"negative", r"response"),
    ),
    (
        "duplicate_band_names",
        "name: dup\nbands:\n"
        "  - {name: twin, center_wavelength: 0.50, full_width_half_max: 0.02}\n"
        "  - {name: twin, center_wavelength: 0.60, full_width_half_max: 0.02}\n",
        (r"duplicate", r"twin"),
    ),
    (
        "nan_center",
        "name: nancenter\nbands:\n  - {name: b1, center_wavelength: .nan, full_width_half_max: 0.02}\n",
        (r"center_wavelength", r"\bnan\b"),
    ),
    (
        "zero_response",
        "name: zeros\nbands:\n  - name: b1\n"
        "    response: {wavelength_nm: [490, 500, 510, 520], value: [0, 0, 0, 0]}\n",
        (r"zero area|all zero|zero response|area",),
    ),
]

NOT_FOUND = r"not found|does not exist|no such file"
NOT_A_RASTER = r"not a raster|cannot read|not recogni[sz]ed|unreadable|empty"

CASES = [
    # 1. input that does not exist
    Case("simulate_missing_input", _simulate("missing.tif", "ikonos:blue,green,red,nir"),
         (r"missing\.tif", NOT_FOUND)),
    Case("info_missing_input", ("info", "missing.tif"), (r"missing\.tif", NOT_FOUND)),
    # 2. a text file named like a raster (an existing output given --overwrite must survive it)
    Case("simulate_text_file", _simulate("x.tif", "ikonos:blue", "--overwrite"),
         (r"x\.tif", NOT_A_RASTER),
         files={"x.tif": b"this is not a GeoTIFF\n", "out.tif": PREVIOUS_OUTPUT}),
    Case("info_text_file", ("info", "x.tif"), (r"x\.tif", NOT_A_RASTER),
         files={"x.tif": b"this is not a GeoTIFF\n"}),
    # 3. a zero-byte file
    Case("simulate_empty_file", _simulate("empty.tif", "ikonos:blue"), (r"empty\.tif", NOT_A_RASTER),
         files={"empty.tif": b""}),
    Case("info_empty_file", ("info", "empty.tif"), (r"empty\.tif", NOT_A_RASTER), files={"empty.tif": b""}),
    # 4. misspelt sensor name
    Case("simulate_unknown_sensor", _simulate(ROSIS, "ikonoss"),
         (r"unknown sensor", r"ikonoss", r"did you mean\b.*\bikonos\b")),
    Case("sensors_show_unknown_sensor", ("sensors", "show", "ikonoss"),
         (r"unknown sensor", r"ikonoss", r"did you mean\b.*\bikonos\b")),
    # 5. malformed sensor files, as simulate's target (over an existing output, with
    #    --overwrite) and in `sensors show`
    *[
        Case(f"simulate_bad_sensor_file_{name}", _simulate(ROSIS, f"{name}.yaml", "--overwrite"),
             (re.escape(f"{name}.yaml"), *expect),
             files={f"{name}.yaml": text.encode(), "out.tif": PREVIOUS_OUTPUT})
        for name, text, expect in BAD_SENSOR_FILES
    ],
    *[
        Case(f"sensors_show_bad_sensor_file_{name}", ("sensors", "show", f"{name}.yaml"),
             (re.escape(f"{name}.yaml"), *expect), files={f"{name}.yaml": text.encode()})
        for name, text, expect in BAD_SENSOR_FILES
    ],
    # 6. --input-sensor with another band count than the file
    Case("simulate_input_sensor_band_count", _simulate(ROSIS, "ikonos:blue,green", "--input-sensor", "cave31"),
         (r"\b102\b", r"\b31\b", r"band")),
    Case("simulate_input_sensor_band_count_reversed",
         _simulate(CAVE, "grid:450:650:4", "--input-sensor", "rosis", "--overwrite"),
         (r"\b31\b", r"\b102\b", r"band"), files={"out.tif": PREVIOUS_OUTPUT}),
    # 7. target bands the source does not cover (IKONOS pan: 405-1035 nm; OLI SWIR/cirrus)
    Case("simulate_target_outside_coverage_ikonos", _simulate(ROSIS, "ikonos"),
         (r"outside", r"\bpan\b")),
    Case("simulate_target_outside_coverage_landsat", _simulate(ROSIS, "landsat8_oli", "--overwrite"),
         (r"outside",), files={"out.tif": PREVIOUS_OUTPUT}),
    # 8. bad --scale
    Case("simulate_scale_zero", _simulate(ROSIS, "ikonos:blue", "--scale", "0"), (r"--scale",)),
    Case("simulate_scale_negative", _simulate(ROSIS, "ikonos:blue", "--scale", "-2"), (r"--scale", r"-2")),
    Case("simulate_scale_nan", _simulate(ROSIS, "ikonos:blue", "--scale", "nan"), (r"--scale", r"\bnan\b")),
    # Not a number at all: a usage error, exit code 2 like any other bad option value.
    Case("simulate_scale_not_a_number", _simulate(ROSIS, "ikonos:blue", "--scale", "abc"), (r"--scale",),
         exit_code=2),
    # 9. existing output without --overwrite
    Case("simulate_output_exists", _simulate(ROSIS, "ikonos:blue"), (r"out\.tif", r"exists", r"--overwrite"),
         files={"out.tif": PREVIOUS_OUTPUT}),
    # 10. output directory missing
    Case("simulate_output_directory_missing", _simulate(ROSIS, "ikonos:blue", output="nodir/out.tif"),
         (r"nodir", r"director")),
    # 12. an input scale that is not finite and positive (NaN gave an all-NaN file, 0 an all-zero input)
    *[Case(f"upsample_input_scale_{label}", _upsample(ROSIS, "--input-scale", value),
           (r"--input-scale", re.escape(value))) for label, value in (("nan", "nan"), ("zero", "0"), ("negative", "-1"))],
    Case("upsample_reflectance_scale_tag_zero", _upsample("scaled.tif"),
         (r"REFLECTANCE_SCALE", r"scaled\.tif", r"finite number above 0"),
         files={"scaled.tif": _rosis_copy(tags={"REFLECTANCE_SCALE": "0"})}),
    # 13. an input without a valid pixel: every value the nodata value, or NaN (an earlier output survives)
    Case("upsample_all_nodata", _upsample("blank.tif", "--overwrite", sensor="ikonos:blue"),
         (r"input has no valid pixels", r"blank\.tif"),
         files={"blank.tif": _rosis_copy(-1.0, nodata=-1.0), "out.tif": PREVIOUS_OUTPUT}),
    Case("simulate_all_nan", _simulate("blank.tif", "ikonos:blue", "--overwrite"),
         (r"input has no valid pixels", r"blank\.tif"),
         files={"blank.tif": _rosis_copy(float("nan")), "out.tif": PREVIOUS_OUTPUT}),
    # 14. options checked before any work: scheduler addresses and worker counts, GDAL creation options
    *[Case(f"upsample_scheduler_{label}", _upsample(ROSIS, "--scheduler", spec), (r"--scheduler", re.escape(spec), why))
      for label, spec, why in (("no_address", "foo", r"missing port"),
                               ("no_port", "tcp://127.0.0.1", r"missing port"),
                               ("no_workers", "local:0", r"cores available"),
                               ("too_many_workers", "local:100000", r"cores available"))],
    # 18. GDAL's read failures as one line naming the file (issue 27 item 7)
    *[Case(f"{command}_damaged_block", args, (r"^geossr: error: cannot read damaged\.tif: band \d+: IReadBlock failed",
                                             r"Decoding error"), files={"damaged.tif": _damaged_rosis})
      for command, args in (("upsample", _upsample("damaged.tif")), ("simulate", _simulate("damaged.tif", "ikonos:blue,green,red,nir")))],
    Case("upsample_block_size", _upsample(ROSIS, "--co", "BLOCKXSIZE=7"), (r"BLOCKXSIZE=7", r"multiple of 16")),
    Case("upsample_tile_not_whole_blocks", _upsample(ROSIS, "--tile", "100"), (r"--tile must be a multiple of 16",
                                                                                 r"got 100; try 96")),
    Case("upsample_unknown_creation_option", _upsample(ROSIS, "--co", "FOO=1", "--overwrite"),
         (r"GTiff", r"does not support creation option FOO"), files={"out.tif": PREVIOUS_OUTPUT}),
    Case("upsample_cog_creation_option_value", _upsample(ROSIS, "--cog", "--co", "COMPRESS=BOGUS"),
         (r"COG", r"BOGUS", r"COMPRESS")),
    # 15. input sensor vs metadata (issue 27 item 4): a given --input-sensor that contradicts the
    #     file's declared bands is refused, naming both, unless --override-metadata is added
    Case("upsample_input_sensor_contradicts_metadata",
         _upsample("ikonos.tif", "--input-sensor", "ikonos:nir,red,green,blue", sensor="ikonos:blue,green,red,nir"),
         (r"ikonos\.tif declares ikonos:blue,green,red,nir \(blue 496, green 559, red 666, nir 792 nm\)",
          r"--input-sensor gives ikonos:nir,red,green,blue \(nir 792,", r"--override-metadata"),
         files={"ikonos.tif": _simulated(ROSIS, "ikonos:blue,green,red,nir")}),
    # one band off: CAVE declares 400-700 nm every 10 nm
    Case("simulate_input_sensor_one_band_off", _simulate(CAVE, "nikon_d700", "--input-sensor", "grid:405:715:31",
                                                         "--overwrite"),
         (r"declares cave31 \(31 bands, 400-700 nm\)", r"gives grid:405:715:31",
          r"band 1 is centred at 400 nm, not 410", r"--override-metadata"), files={"out.tif": PREVIOUS_OUTPUT}),
    Case("upsample_override_metadata_without_input_sensor", _upsample(ROSIS, "--override-metadata"),
         (r"--override-metadata needs --input-sensor",)),
    Case("simulate_override_metadata_without_input_sensor", _simulate(ROSIS, "ikonos:blue", "--override-metadata"),
         (r"--override-metadata needs --input-sensor",)),
    # 16. plain messages (issue 27 item 11): --model against the weights' model; sensor files in the wrong unit
    Case("upsample_model_ssif_with_liif_weights",
         ("upsample", "rgb.tif", "--scale", "4", "--sensor", "cave31", "--model", "ssif",
          "--weights", str(REPO / "geossr" / "weights" / "liif_rgb_default.safetensors"), "-o", "out.tif"),
         (r"liif_rgb_default\.safetensors is a LIIF checkpoint", r"--model ssif needs SSIF weights"),
         files={"rgb.tif": _simulated(CAVE, "nikon_d700", scale=4)}),
    Case("upsample_model_bicubic_with_weights",
         _upsample(ROSIS, "--weights", str(REPO / "geossr" / "weights" / "ssif_ikonos_default.safetensors")),
         (r"--model bicubic takes no weights", r"ssif_ikonos_default\.safetensors is an SSIF checkpoint")),
    Case("sensors_show_center_in_nm", ("sensors", "show", "nm.yaml"),
         (r"nm\.yaml", r"center_wavelength 490\b", r"look like nanometres"),
         files={"nm.yaml": b"name: nm\nbands:\n  - {name: b1, center_wavelength: 490, full_width_half_max: 20}\n"}),
    Case("simulate_target_fwhm_in_nm", _simulate(ROSIS, "fwhm.yaml", "--overwrite"),
         (r"fwhm\.yaml", r"full_width_half_max 20\b", r"look like nanometres"),
         files={"fwhm.yaml": b"name: fwhm\nbands:\n  - {name: b1, center_wavelength: 0.49, full_width_half_max: 20}\n",
                "out.tif": PREVIOUS_OUTPUT}),
    Case("sensors_show_wavelength_nm_in_um", ("sensors", "show", "um.yaml"),
         (r"um\.yaml", r"wavelength_nm 0\.47-0\.51", r"look like micrometres"),
         files={"um.yaml": b"name: um\nbands:\n  - name: b1\n"
                           b"    response: {wavelength_nm: [0.47, 0.49, 0.51], value: [0, 1, 0]}\n"}),
    # 17. radiometry and GDAL names (issue 25): integer input with no scale to reflectance (the error
    #     suggests the likely --input-scale); GDAL names that cannot be opened (each named in the message)
    Case("upsample_uint16_without_scale",
         _upsample("dn.tif", "--input-sensor", "sentinel2_msi:B02,B03,B04,B08", sensor="ikonos:blue"),
         (r"dn\.tif holds uint16 values", r"--input-scale 0\.0001 \(1e-4, for reflectance x 10000",
          r"--input-scale auto"),
         files={"dn.tif": _without_scale(S2_NO_WAVELENGTHS)}, needs=S2_NO_WAVELENGTHS),
    Case("upsample_uint8_without_scale",
         _upsample("rgb8.tif", "--input-sensor", "landsat8_oli:B2,B3,B4,B5,B6,B7", sensor="ikonos:blue"),
         (r"rgb8\.tif holds uint8 values", r"--input-scale 0\.00392 \(1/255, for 8-bit imagery"),
         files={"rgb8.tif": _without_scale(LANDSAT, "uint8")}, needs=LANDSAT),
    Case("simulate_uint16_without_scale", _simulate("dn.tif", "nikon_d700", "--overwrite"),
         (r"dn\.tif holds uint16 values", r"--input-scale 0\.0001"),
         files={"dn.tif": _without_scale(CAVE), "out.tif": PREVIOUS_OUTPUT}),
    Case("upsample_input_scale_auto_without_a_rule", _upsample("dn32.tif", "--input-scale", "auto"),
         (r"dn32\.tif holds int32 values", r"--input-scale auto has no rule", r"--input-scale F"),
         files={"dn32.tif": _without_scale(CAVE, "int32")}),
    Case("upsample_input_scale_not_a_number", _upsample(ROSIS, "--input-scale", "abc"),
         (r"--input-scale must be a finite number above 0 or auto", r"'abc'")),
    Case("info_vsizip_missing_member", ("info", "/vsizip/r.zip/missing.tif"),
         (r"cannot open /vsizip/r\.zip/missing\.tif", r"no such file or archive member"),
         files={"r.zip": _zip_of(ROSIS)}),
    Case("upsample_vsizip_missing_member", _upsample("/vsizip/r.zip/missing.tif"),
         (r"cannot open /vsizip/r\.zip/missing\.tif", r"no such file or archive member"),
         files={"r.zip": _zip_of(ROSIS)}),
    Case("info_url_dead_port", ("info", f"http://127.0.0.1:{_dead_port()}/scene.tif"),
         (r"cannot open http://127\.0\.0\.1:\d+/scene\.tif", r"connect")),
    Case("upsample_url_dead_port", _upsample(f"https://127.0.0.1:{_dead_port()}/cogs/scene.tif?sig=x"),
         (r"cannot open https://127\.0\.0\.1:\d+/cogs/scene\.tif\?sig=x", r"connect")),
    Case("simulate_vsicurl_dead_port", _simulate(f"/vsicurl/http://127.0.0.1:{_dead_port()}/scene.tif", "ikonos:blue"),
         (r"cannot open /vsicurl/http://127\.0\.0\.1:\d+/scene\.tif", r"connect")),
    # 11. no wavelength metadata and no --input-sensor
    Case("simulate_no_wavelength_metadata", _simulate(S2_NO_WAVELENGTHS, "ikonos:blue"),
         (re.escape(S2_NO_WAVELENGTHS.name), r"--input-sensor"), needs=S2_NO_WAVELENGTHS),
]
assert len({c.id for c in CASES}) == len(CASES)


@dataclass
class Outcome:
    before: dict[str, bytes | None]
    after: dict[str, bytes | None]
    result: subprocess.CompletedProcess


def _run_case(case: Case, directory: Path) -> Outcome:
    for name, content in case.files.items():
        if callable(content):
            content(directory / name)
        else:
            (directory / name).write_bytes(content)
    before = snapshot(directory)
    result = run_geossr(*case.args, cwd=directory)
    return Outcome(before, snapshot(directory), result)


@pytest.fixture(scope="module")
def outcomes(request, tmp_path_factory) -> dict[str, Outcome]:
    """Run every selected case (those whose data is present) concurrently, once per module."""
    selected = {
        item.callspec.params["case"].id
        for item in request.session.items
        if item.module is request.module and "case" in getattr(getattr(item, "callspec", None), "params", {})
    }
    todo = [c for c in CASES if c.id in selected and (c.needs is None or c.needs.exists())]
    workers = max(2, min(4, os.cpu_count() or 2))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {c.id: pool.submit(_run_case, c, tmp_path_factory.mktemp(c.id)) for c in todo}
        return {case_id: future.result() for case_id, future in futures.items()}


def problems_with(case: Case, outcome: Outcome) -> list[str]:
    """Everything wrong with how the command failed; empty when it failed cleanly."""
    result = outcome.result
    problems = []
    if result.returncode == 0:
        problems.append("exit code 0: the bad input was accepted")
    elif case.exit_code is not None and result.returncode != case.exit_code:
        problems.append(f"exit code {result.returncode}, expected {case.exit_code}")
    if "Traceback" in result.stdout + result.stderr:
        problems.append("a traceback was printed")
    lines = result.stderr.splitlines()
    errors = [line for line in lines if line.startswith("geossr: error:")]
    if not errors:
        problems.append("no 'geossr: error:' line on stderr")
    for line in errors[:1]:
        if not line[len("geossr: error:"):].strip():
            problems.append("the error line is empty")
        if "internal error" in line:
            problems.append("reported as an internal error (a bug), not as bad input")
        for pattern in case.expect:
            if not re.search(pattern, line, re.IGNORECASE):
                problems.append(f"the error line does not match {pattern!r}")
    if len(lines) != 1 or not lines[0].strip():
        problems.append(f"stderr is {len(lines)} lines, expected exactly one non-empty line")
    added = sorted(set(outcome.after) - set(outcome.before))
    if added:
        problems.append(f"left behind: {', '.join(added)}")
    removed = sorted(set(outcome.before) - set(outcome.after))
    if removed:
        problems.append(f"deleted: {', '.join(removed)}")
    changed = sorted(n for n in set(outcome.before) & set(outcome.after) if outcome.before[n] != outcome.after[n])
    if changed:
        problems.append(f"modified: {', '.join(changed)}")
    return problems


@pytest.mark.parametrize("case", CASES, ids=str)
def test_bad_input_fails_with_one_line_and_leaves_nothing(case: Case, outcomes):
    if case.needs is not None and not case.needs.exists():
        pytest.fail(f"real test data not found: {case.needs} (set GEOSSR_SHARED_DATA)")
    outcome = outcomes[case.id]
    problems = problems_with(case, outcome)
    assert not problems, (
        f"`geossr {' '.join(case.args)}` did not fail cleanly:\n  - " + "\n  - ".join(problems)
        + f"\nexit code: {outcome.result.returncode}\nstdout: {outcome.result.stdout!r}"
        + f"\nstderr: {outcome.result.stderr!r}"
    )


# --------------------------------------------------------------------------------------------
# The other side of case 9: --overwrite does replace an existing output
# --------------------------------------------------------------------------------------------


def test_overwrite_replaces_existing_output(tmp_path):
    output = tmp_path / "out.tif"
    output.write_bytes(PREVIOUS_OUTPUT)
    result = run_geossr(*_simulate(ROSIS, "ikonos:blue,green,red,nir", "--overwrite"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.tif"], "temporary files left behind"
    replaced = output.read_bytes()
    assert replaced != PREVIOUS_OUTPUT
    assert replaced[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"), "output is not a TIFF"

    import rasterio

    with rasterio.open(output) as dataset:
        assert dataset.count == 4
        assert (dataset.width, dataset.height) == (100, 100)
