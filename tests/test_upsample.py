"""The scene engine and `geossr upsample`: seam-free tiles, geometry, metadata, nodata, bad input."""

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch
from affine import Affine

from geossr.errors import GeossrError
from geossr.models import build
from geossr.models.checkpoint import save_checkpoint
from geossr.scene.engine import upsample
from geossr.scene.io import open_raster
from geossr.scene.upsample import upsample_file
from geossr.scene.simulate import integrate_bands, simulate
from geossr.spectral.integration import response_matrix
from geossr.spectral.sensors import load_sensor

from cli_runner import geossr

IKONOS = "ikonos:blue,green,red,nir"
TINY = {"encoder": {"name": "edsr-baseline", "width": 8, "blocks": 2}, "pixel_hidden": [16]}


@pytest.fixture(scope="module")
def ikonos_scene(rosis_example):
    """Real ROSIS spectra seen by IKONOS, cut to 61 x 77 so that no size is round."""
    data = open_raster(rosis_example)
    ms = integrate_bands(data, response_matrix(load_sensor("rosis"), load_sensor(IKONOS)))
    return ms.isel(y=slice(0, 61), x=slice(0, 77))


def _linear_sr():
    """linear-sr with its residual head moved off zero (as built, it is the prior and nothing else)."""
    model = build("linear-sr", input_sensor=IKONOS, native_identity="fade", **TINY)
    with torch.no_grad():
        for parameter in model.pixel_mlp.layers[-1].parameters():
            parameter.normal_(0.0, 0.05)
    return model


MODELS = {
    "bicubic": lambda: build("bicubic", input_sensor=IKONOS),
    "linear-sr": _linear_sr,
    "linear": lambda: build("linear", input_sensor=IKONOS),
    "ssif": lambda: build("ssif", input_sensor=IKONOS, variant="RF-GS", pixel_dim=16, **TINY),
    "ssif-any": lambda: build("ssif-any", input_sensor=IKONOS, pixel_dim=16, stem_channels=8, **TINY),
    "liif": lambda: build("liif", input_sensor=IKONOS, output_sensor="grid:430:860:20", **TINY),
    "fmnet": lambda: build("fmnet", input_sensor=IKONOS, output_sensor="grid:430:860:20", filters=8),
}


def test_every_registered_model_is_in_the_tile_test():
    from geossr.models.registry import MODELS as REGISTERED

    assert sorted(MODELS) == sorted(REGISTERED)


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("scale", [2.5, 3.0])
def test_tiles_equal_whole_scene_inference(ikonos_scene, name, scale):
    torch.manual_seed(0)
    model = MODELS[name]()
    target = load_sensor("grid:430:860:20")
    whole = upsample(ikonos_scene, scale, target, model, tile=10_000).values
    tiled = upsample(ikonos_scene, scale, target, model, tile=37).values  # 37 cuts through odd places
    assert whole.shape == (20, int(61 * scale), int(77 * scale))
    assert np.abs(whole - tiled).max() < 1e-5


def test_whole_scene_path_equals_the_model_on_the_full_image(ikonos_scene):
    # At an integer scale the engine's grid is the model's own grid over the whole input.
    model = MODELS["ssif"]()
    target = load_sensor("grid:430:860:20")
    engine = upsample(ikonos_scene, 3, target, model, tile=48).values
    with torch.no_grad():
        lr = torch.from_numpy(ikonos_scene.values)[None]
        direct = model.eval()(lr, (183, 231), torch.tensor(target.intervals_nm, dtype=torch.float32))[0]
    assert np.abs(engine - direct.clamp(min=0).numpy()).max() < 1e-5  # the engine clips at 0


def test_output_geometry_keeps_the_upper_left_corner(ikonos_scene):
    out = upsample(ikonos_scene, 2.5, load_sensor("rosis"), MODELS["bicubic"]())
    assert out.rio.transform() == ikonos_scene.rio.transform() @ Affine.scale(1 / 2.5)
    assert out.rio.crs == ikonos_scene.rio.crs
    assert out["wavelength_nm"].values == pytest.approx(load_sensor("rosis").centers_nm)


def test_nodata_is_kept_and_does_not_spread(ikonos_scene):
    data = ikonos_scene.copy(data=ikonos_scene.values.copy())
    data.values[:, 20:30, 40:50] = np.nan
    out = upsample(data, 2, load_sensor("grid:430:860:8"), MODELS["bicubic"]()).values
    assert np.all(np.isnan(out[:, 40:60, 80:100]))
    assert np.all(np.isfinite(out[:, :40])) and np.all(np.isfinite(out[:, 60:]))
    assert np.all(np.isfinite(out[:, 40:60, :80])) and np.all(np.isfinite(out[:, 40:60, 100:]))


@pytest.fixture(scope="module")
def ms_file(rosis_example, tmp_path_factory):
    folder = tmp_path_factory.mktemp("ms")
    simulate(rosis_example, IKONOS, folder / "ms.tif", scale=2)
    return folder / "ms.tif"


def test_cli_runs_the_closed_form_prior_and_matches_the_python_api(ms_file, tmp_path):
    """--model linear has no weights and no card (it failed on the card's missing trained range)."""
    result = geossr("upsample", ms_file, "--scale", "2", "--sensor", "rosis", "--model", "linear", "-o", "sr.tif",
                    cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    from geossr.api import open_raster as open_with_wavelengths, upsample as upsample_api

    expected = upsample_api(open_with_wavelengths(ms_file), 2, "rosis", model="linear").values
    with rasterio.open(tmp_path / "sr.tif") as out:
        assert out.tags()["GEOSSR_MODEL"] == "linear" and "GEOSSR_POSTERIOR_STD" in out.tags()
        np.testing.assert_allclose(out.read(), expected, rtol=0, atol=1e-6)


def test_cli_writes_georeferenced_cog_with_wavelengths(ms_file, tmp_path):
    result = geossr("upsample", ms_file, "--scale", "2", "--sensor", "rosis", "--model", "bicubic", "-o", "sr.tif",
                    "--cog", "--co", "BLOCKSIZE=128", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (summary,) = json.loads(result.stdout)
    assert summary["status"] == "written" and summary["output_size"] == [100, 100]
    with rasterio.open(ms_file) as src, rasterio.open(tmp_path / "sr.tif") as out:
        assert out.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        assert out.block_shapes[0] == (128, 128)
        assert out.crs == src.crs and out.transform == src.transform @ Affine.scale(0.5)
        assert out.count == 102 and out.descriptions[11].startswith("rosis b012")
        assert "CENTRAL_WAVELENGTH_UM" in out.tags(12, ns="IMAGERY")
        tags = out.tags()
        assert tags["GEOSSR_MODEL"] == "bicubic" and tags["GEOSSR_SCALE"] == "2" and "GEOSSR_VERSION" in tags
        assert np.isnan(out.nodata)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sr.tif"]


def test_cli_uint16_output_and_weights(ms_file, tmp_path):
    weights = save_checkpoint(build("ssif", input_sensor=IKONOS, pixel_dim=16, **TINY), tmp_path / "w")
    result = geossr("upsample", ms_file, "-p", "1.5", "-s", "grid:430:860:10", "--weights", weights, "-o", "sr.tif",
                    "--dtype", "uint16", "--tile", "32", "-q", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    with rasterio.open(tmp_path / "sr.tif") as out:
        assert out.dtypes[0] == "uint16" and out.nodata == 65535 and out.shape == (75, 75)
        assert out.tags()["REFLECTANCE_SCALE"] == "0.0001" and out.tags()["GEOSSR_WEIGHTS"] == str(weights)


@pytest.mark.parametrize(
    "args, message",
    [
        (["absent.tif", "-p", "2", "-s", "rosis", "-o", "o.tif"], "input not found"),
        (["{ms}", "-p", "0", "-s", "rosis", "-o", "o.tif"], "scale must be a number in [1, 16]"),
        (["{ms}", "-p", "17", "-s", "rosis", "-o", "o.tif"], "scale must be a number in [1, 16]"),
        (["{ms}", "-p", "2", "-s", "rosiss", "-o", "o.tif"], "did you mean rosis"),
        (["{ms}", "-p", "2", "-s", "rosis", "-o", "o.tif", "--input-sensor", "nikon_d700"], "has 4 bands"),
        (["{ms}", "-p", "2", "-s", "rosis", "-o", "nodir/o.tif", "--model", "bicubic"], "does not exist"),
        (["{ms}", "-p", "2", "-s", "rosis", "-o", "o.tif", "--input-sensor", "sentinel2_msi:B02,B03,B04,B08",
          "--model", "liif"], "no shipped liif weights for input sensor sentinel2_msi"),
        (["{ms}", "-p", "2", "-s", "rosis", "-o", "o.tif", "--input-sensor", "sentinel2_msi:B02,B03,B04,B08",
          "--model", "fmnet"], "no shipped fmnet weights for input sensor sentinel2_msi"),
        (["{ms}", "-p", "2", "-s", "rosis", "-o", "o.tif", "--weights", "w.safetensors"], "weights not found"),
        (["{ms}", "-p", "2", "-s", "rosis", "-o", "o.tif", "--model", "bicubic", "--device", "cuda"], "no CUDA"),
        (["{ms}", "-p", "2", "-s", "rosis", "-o", "o.tif", "--model", "bicubic", "--dtype", "int8"], "--dtype"),
        (["{ms}", "{ms}", "-p", "2", "-s", "rosis", "-o", "o.tif"], "-o takes one input"),
    ],
)
def test_cli_bad_input(ms_file, tmp_path, args, message):
    if torch.cuda.is_available() and "cuda" in args:
        pytest.skip("this machine has a GPU")
    args = [a.format(ms=ms_file) for a in args]
    result = geossr("upsample", *args, cwd=tmp_path)
    lines = result.stderr.strip().splitlines()
    assert result.returncode != 0 and len(lines) == 1 and message in lines[0], result.stderr
    assert list(tmp_path.iterdir()) == []


def test_cli_refuses_weights_for_another_sensor(ms_file, tmp_path):
    weights = save_checkpoint(build("ssif", input_sensor="nikon_d700", pixel_dim=16, **TINY), tmp_path / "rgb")
    result = geossr("upsample", ms_file, "-p", "2", "-s", "rosis", "--weights", weights, "-o", "o.tif", cwd=tmp_path)
    assert result.returncode != 0 and "trained for input sensor nikon_d700" in result.stderr
    assert not (tmp_path / "o.tif").exists()


def test_implausible_values_are_nodata_like_masked_pixels(ms_file, tmp_path):
    """A finite fill value no mask declares (1e30 in one band, -1e4 in all) is nodata: the output (the shipped
    IKONOS SSIF) equals that of the scene with those pixels masked, NaN only where their centres fall, and a
    warning counts them."""
    with rasterio.open(ms_file) as src:
        profile, values, sensor_tags = src.profile, src.read(), src.tags(ns="GEOSSR")
    extreme, masked = values.copy(), values.copy()
    extreme[1, 10, 20], extreme[:, 30, 5] = 1e30, -1e4
    masked[:, 10, 20] = masked[:, 30, 5] = np.nan
    for name, data in (("extreme", extreme), ("masked", masked)):
        with rasterio.open(tmp_path / f"{name}.tif", "w", **profile) as dst:
            dst.write(data)
            dst.update_tags(ns="GEOSSR", **sensor_tags)

    def run(name):
        return geossr("upsample", f"{name}.tif", "-p", "2", "-s", "grid:430:860:5", "-o", f"{name}_sr.tif", "-q",
                      cwd=tmp_path)

    with ThreadPoolExecutor(2) as pool:
        with_extremes, with_mask = pool.map(run, ("extreme", "masked"))
    assert with_extremes.returncode == 0 and with_mask.returncode == 0, with_extremes.stderr + with_mask.stderr
    assert with_extremes.stderr.splitlines() == [
        "geossr: warning: 2 input pixels with values beyond ±10 after input scaling (reflectance lies in [0, 1]): "
        "treated as nodata"]
    with rasterio.open(tmp_path / "extreme_sr.tif") as a, rasterio.open(tmp_path / "masked_sr.tif") as b:
        out = a.read()
        assert np.array_equal(out, b.read(), equal_nan=True)
    expected = np.zeros(out.shape[1:], bool)
    expected[20:22, 40:42] = expected[60:62, 10:12] = True
    assert np.array_equal(np.isnan(out).any(axis=0), expected) and np.isnan(out[:, expected]).all()
    assert np.nanmax(out) < 2


def test_python_api_is_lazy_and_georeferenced(ikonos_scene):
    import geossr

    out = geossr.upsample(ikonos_scene, 2, "grid:430:860:6", MODELS["bicubic"]())
    assert out.chunks is not None  # nothing computed yet
    assert out.sizes == {"band": 6, "y": 122, "x": 154}
    assert out["wavelength_nm"].values == pytest.approx(load_sensor("grid:430:860:6").centers_nm)
    assert np.isfinite(out.isel(y=slice(0, 5), x=slice(0, 5)).values).all()


def test_shipped_weights_work_out_of_the_box(ms_file, tmp_path):
    listed = json.loads(geossr("models", "list", "--json", cwd=tmp_path).stdout)
    ssif = next(row for row in listed if row["model"] == "ssif")
    assert {"ssif_rgb_default", "ssif_ikonos_default"} <= set(ssif["weights"])
    card = json.loads(geossr("models", "show", "ssif_ikonos_default", "--json", cwd=tmp_path).stdout)
    assert card["training"]["dataset"] == "remote" and card["limits"]
    # No --model/--weights: the default model's shipped weights (any input sensor).
    default = geossr("upsample", ms_file, "-p", "2", "-s", "grid:450:850:12", "-o", "default.tif", "--json",
                     cwd=tmp_path)
    assert default.returncode == 0, default.stderr
    assert json.loads(default.stdout)[0]["weights"] == "linear_sr_airborne"
    # --model ssif: the shipped SSIF for the file's IKONOS bands.
    result = geossr("upsample", ms_file, "-p", "2", "-s", "grid:450:850:12", "-m", "ssif", "-o", "sr.tif", "--json",
                    cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (summary,) = json.loads(result.stdout)
    assert summary["weights"] == "ssif_ikonos_default" and summary["output_size"] == [100, 100]
    with rasterio.open(tmp_path / "sr.tif") as out:
        values = out.read()
        assert out.count == 12 and np.isfinite(values).all() and 0 <= values.min() and values.max() < 1.5
    # `geossr info` says what made the file.
    shown = geossr("info", "sr.tif", cwd=tmp_path).stdout
    assert "model ssif, weights ssif_ikonos_default, scale 2" in " ".join(shown.split())
    provenance = json.loads(geossr("info", "sr.tif", "--json", cwd=tmp_path).stdout)["provenance"]
    assert provenance["input_bands"] == "blue,green,red,nir" and provenance["source"] == Path(ms_file).name


@pytest.mark.parametrize("scale, models", [(2, ("ssif", "liif")), (1, ("ssif", "fmnet"))])
def test_shipped_rgb_models_beat_bicubic_on_a_held_out_scene(cave_example, tmp_path, scale, models):
    # peppers is a CAVE test scene: no shipped RGB model saw it. FMNet is the p = 1 (spectral SR) model.
    from geossr.metrics import psnr

    simulate(cave_example, "nikon_d700", tmp_path / "rgb.tif", scale=scale)
    with rasterio.open(cave_example) as src:
        cube = src.read().astype(np.float64) * src.scales[0]
    target = load_sensor("grid:395:705:31")
    reference = np.tensordot(response_matrix(load_sensor("cave31"), target), cube, axes=1)
    scores = {}
    for model in (*models, "bicubic"):
        result = geossr("upsample", "rgb.tif", "-p", str(scale), "-s", "grid:395:705:31", "-m", model,
                        "-o", f"{model}.tif", "-q", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        with rasterio.open(tmp_path / f"{model}.tif") as out:
            scores[model] = psnr(np.clip(out.read(), 0, 1), reference)
    # Measured at p = 2: SSIF 33.3 dB, bicubic 26.8 dB.
    for model in models:
        assert scores[model] > scores["bicubic"] + 2, scores


def test_quicklook_and_spectrum_pictures(ms_file, tmp_path):
    result = geossr("upsample", ms_file, "-p", "2", "-s", "rosis", "-m", "bicubic", "-o", "sr.tif", "-q",
                    "--quicklook", "rgb.png", "--spectrum", "10,20", "spectrum.png", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for name in ("rgb.png", "spectrum.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    import matplotlib.image

    rgb = matplotlib.image.imread(tmp_path / "rgb.png")
    assert rgb.shape[:2] == (100, 100) and rgb[..., :3].std() > 0.05  # a picture, not a blank
    bad = geossr("upsample", ms_file, "-p", "2", "-s", "rosis", "-m", "bicubic", "-o", "sr2.tif", "-q",
                 "--spectrum", "500,20", "s.png", cwd=tmp_path)
    assert bad.returncode != 0 and "outside" in bad.stderr


def test_every_tile_hands_its_freed_memory_back(cave_example, monkeypatch):
    # glibc held freed memory across tiles (RSS peaks of the engine benchmark): each tile trims it.
    import sys

    import geossr.scene.engine as engine

    if sys.platform.startswith("linux"):
        assert engine._MALLOC_TRIM is not None  # glibc's malloc_trim was found
    trims = []
    monkeypatch.setattr(engine, "_MALLOC_TRIM", lambda pad: trims.append(pad))
    data = open_raster(cave_example).isel(band=slice(0, 3)).clip(0, 1)
    out = upsample(data, 2, "grid:400:700:8", build("bicubic", input_sensor="nikon_d700"), tile=128)
    out.compute(scheduler="threads")
    assert trims == [0] * 16  # a 512² output in 128 px tiles


@pytest.mark.parametrize("native", [False, True])
def test_reduced_precision_the_cpu_only_emulates_is_warned_about(ms_file, tmp_path, monkeypatch, native):
    # On an AVX2 CPU bf16 / fp16 inference ran 7-9x slower than fp32 (benchmarks/results/engine.md).
    import geossr.device

    monkeypatch.setattr(geossr.device, "native_cpu_precisions", lambda: {"bf16": native, "fp16": native})
    summary = upsample_file(ms_file, tmp_path / "sr.tif", scale=2, sensor="grid:450:850:5", model="bicubic",
                            device="cpu", precision="bf16")
    slow = [w for w in summary["warnings"] if "--precision bf16" in w]
    assert summary["status"] == "written"
    assert len(slow) == (0 if native else 1)
    assert native or "no native bf16 kernels" in slow[0] and "slower than fp32" in slow[0]


def test_python_api_warns_about_emulated_precision(ms_file, monkeypatch):
    import warnings

    import geossr.device

    monkeypatch.setattr(geossr.device, "native_cpu_precisions", lambda: {"bf16": False, "fp16": False})
    data, model = open_raster(ms_file), build("bicubic", input_sensor=IKONOS)
    with pytest.warns(UserWarning, match="--precision fp16: .* no native fp16 kernels"):
        upsample(data, 2, "grid:450:850:5", model, precision="fp16")
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        upsample(data, 2, "grid:450:850:5", model, precision="fp32")


def test_no_precision_warning_where_torch_cannot_tell(monkeypatch):
    import geossr.device

    monkeypatch.setattr(geossr.device, "native_cpu_precisions", lambda: {})
    assert geossr.device.emulated_precision_warning("bf16", "cpu") is None
    monkeypatch.setattr(geossr.device, "native_cpu_precisions", lambda: {"bf16": False})
    assert "no native bf16" in geossr.device.emulated_precision_warning("bf16", "cpu")
    assert geossr.device.emulated_precision_warning("fp32", "cpu") is None


def test_bf16_on_a_gpu_that_only_emulates_it_is_warned_about(monkeypatch):
    # torch.cuda.is_bf16_supported() says yes by default also where the GPU (before Ampere) emulates bf16
    import geossr.device

    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: including_emulation)
    assert "this GPU has no native bf16" in geossr.device.emulated_precision_warning("bf16", "cuda")
    assert geossr.device.emulated_precision_warning("fp16", "cuda:0") is None


# Input sensor against the file's metadata (issue 27 item 4); refusals are in test_cli_errors.py.


def test_input_sensor_that_agrees_with_the_metadata_is_used_as_given(cave_example, tmp_path):
    # 10 nm boxes at CAVE's own centres: the same bands as its 10 nm Gaussians, described otherwise
    summary = simulate(cave_example, "nikon_d700", tmp_path / "rgb.tif", input_sensor="grid:395:705:31")
    assert summary["input_sensor"] == "grid:395:705:31"


def test_override_metadata_puts_right_a_file_that_declares_the_wrong_bands(ms_file, tmp_path):
    # ms_file cut to W x H = 50 x 30 (the summaries must print W x H, as info does), as it is and with its
    # bands in reverse under the same metadata (blue,green,red,nir): a file that says the wrong thing
    with rasterio.open(ms_file) as src:
        bands = src.read(window=rasterio.windows.Window(0, 0, 50, 30))
        for name, order in (("right.tif", slice(None)), ("reversed.tif", slice(None, None, -1))):
            with rasterio.open(tmp_path / name, "w", **(src.profile | {"width": 50, "height": 30})) as dst:
                dst.write(bands[order])
                dst.update_tags(ns="GEOSSR", **src.tags(ns="GEOSSR"))
    given = ["--input-sensor", "ikonos:nir,red,green,blue", "--override-metadata"]
    upsampled = geossr("upsample", "reversed.tif", "-p", "2", "-s", IKONOS, "-m", "bicubic", "-o", "sr.tif", *given,
                       cwd=tmp_path)
    simulated = geossr("simulate", "reversed.tif", "-s", "grid:500:800:3", "-o", "sim.tif", *given, cwd=tmp_path)
    assert upsampled.returncode == 0 and simulated.returncode == 0, upsampled.stderr + simulated.stderr
    assert "│ 100x60 │" in upsampled.stdout
    assert "50x30 px (from ikonos:nir,red,green,blue, 50x30 px)" in " ".join(simulated.stdout.split())
    upsample_file(tmp_path / "right.tif", tmp_path / "sr_ref.tif", scale=2, sensor=IKONOS, model="bicubic")
    simulate(tmp_path / "right.tif", "grid:500:800:3", tmp_path / "sim_ref.tif")
    for name in ("sr", "sim"):
        with rasterio.open(tmp_path / f"{name}.tif") as out, rasterio.open(tmp_path / f"{name}_ref.tif") as ref:
            assert out.tags()["GEOSSR_SOURCE_SENSOR"] == "ikonos:nir,red,green,blue"
            assert np.allclose(out.read(), ref.read(), atol=1e-6)


# Weights, extrapolation warnings (issue 27 item 11); refusals are in test_cli_errors.py.


def test_weights_run_as_their_own_model_unless_model_names_another():
    from geossr.models.weights import WEIGHTS_DIR
    from geossr.scene.upsample import choose_model

    rgb, ikonos = load_sensor("nikon_d700"), load_sensor(IKONOS)
    assert choose_model(None, str(WEIGHTS_DIR / "liif_rgb_default.safetensors"), rgb)[0].name == "liif"
    # --model ssif falls back to the any-sensor SSIF, so it takes its checkpoints too
    assert choose_model("ssif", str(WEIGHTS_DIR / "ssif_anysensor_default.safetensors"), ikonos)[0].name == "ssif-any"


def test_shipped_cave31_is_inside_the_rgb_models_range_and_beyond_it_warns(cave_example, tmp_path):
    simulate(cave_example, "nikon_d700", tmp_path / "rgb.tif", scale=8)  # 32 x 32 px
    # CAVE's own bands: 10 nm Gaussians at 400-700 nm, the data the shipped RGB models were trained on
    inside = upsample_file(tmp_path / "rgb.tif", tmp_path / "cave31.tif", scale=2, sensor="cave31", model="ssif")
    assert inside["weights"] == "ssif_rgb_default" and inside["warnings"] == []
    beyond = upsample_file(tmp_path / "rgb.tif", tmp_path / "beyond.tif", scale=2, sensor="grid:385:715:33",
                           model="ssif")
    assert beyond["warnings"] == ["requested bands 385-715 nm extend past the trained range 395-705 nm: extrapolating"]
    # The default linear-sr: its prior's grid starts at 400 nm, so cave31's first band is refused before any work.
    with pytest.raises(GeossrError, match="--model linear-sr cannot make the bands of cave31: .*387-413 nm"):
        upsample_file(tmp_path / "rgb.tif", tmp_path / "default.tif", scale=2, sensor="cave31")
    assert not (tmp_path / "default.tif").exists()
