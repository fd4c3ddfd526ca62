"""Data loaders, SSIF degradations and the training sampler, on the real data sets."""

import numpy as np
import pytest
import rasterio
import scipy.io
import torch
import xarray as xr

from geossr.data import (
    CAVE_SCENES,
    CAVE_SPLIT,
    TrainingSampler,
    contiguous_intervals,
    evaluation_pairs,
    load_cave_scene,
    load_dataset,
    load_geotiff_cube,
    load_jasper_ridge,
    load_rosis_crop,
    load_samson,
    spatial_downsample,
    target_sensor_from_intervals,
)
from geossr.errors import GeossrError
from geossr.forward.resample import downsample
from geossr.spectral.integration import response_matrix, uncovered_fraction
from geossr.spectral.sensors import load_sensor

S2_10M = "geotiff/s2_l2a_bigearthnet_T29UPU_20180421/S2B_MSIL2A_20180421T114349_41_4_10m.tif"


@pytest.fixture(scope="module")
def cave_pair(shared_data):
    return [load_cave_scene(shared_data / f"cave/{scene}_ms") for scene in ("balloons", "cd")]


@pytest.fixture(scope="module")
def jasper(shared_data):
    return load_jasper_ridge(shared_data / "jasper_ridge/JasperRidge2_R198.mat")


def sampler(cubes, **kwargs):
    return TrainingSampler(cubes, "nikon_d700", lr_size=16, **kwargs)


def column_major(array_2d, rows, cols):
    """MATLAB's (channels, pixels) → (channels, rows, cols), written independently of the loader."""
    return np.stack([np.reshape(channel, (rows, cols), order="F") for channel in array_2d])


# ---------------------------------------------------------------- loaders


def test_cave_scene_is_the_16_bit_pngs_over_65535(cave_pair, shared_data):
    cube = cave_pair[0]
    assert cube.name == "balloons" and cube.shape == (31, 512, 512) and cube.data.dtype == np.float32
    assert cube.sensor.name == "cave31"
    assert np.allclose(cube.sensor.centers_nm, 400 + 10 * np.arange(31))
    with rasterio.open(shared_data / "cave/balloons_ms/balloons_ms_05.png") as band5:
        assert np.array_equal(cube.data[4], band5.read(1) / np.float32(65535))
    assert 0.0 <= cube.data.min() and cube.data.max() <= 1.0


def test_cave_split_is_a_disjoint_cover_of_the_scenes_present(shared_data):
    train, test = set(CAVE_SPLIT["train"]), set(CAVE_SPLIT["test"])
    assert len(train) == 9 and len(test) == 3 and not train & test
    assert train | test == set(CAVE_SCENES)
    assert {p.name.removesuffix("_ms") for p in (shared_data / "cave").iterdir() if p.is_dir()} == set(CAVE_SCENES)
    assert "fake_and_real_peppers" in test  # the bundled example stays unseen in training


def test_rosis_crop(shared_data):
    cube = load_rosis_crop(shared_data / "pavia_centre/abu-beach-4.mat")
    original = scipy.io.loadmat(shared_data / "pavia_centre/abu-beach-4.mat")["data"]
    assert cube.shape == (102, 100, 100) and cube.sensor.name == "rosis"
    assert np.allclose(cube.data, np.transpose(original, (2, 0, 1)), atol=1e-7)


def test_jasper_ridge_bands_and_scaling(jasper, shared_data):
    mat = scipy.io.loadmat(shared_data / "jasper_ridge/JasperRidge2_R198.mat")
    assert jasper.shape == (198, 100, 100) and len(jasper.sensor) == 198
    assert jasper.data.min() >= 0 and jasper.data.max() == 1.0
    spacing = 2120 / 223
    channels = mat["SlectBands"].ravel().astype(float)
    assert np.allclose(jasper.sensor.centers_nm, 380 + (channels - 1) * spacing)
    assert np.allclose(jasper.sensor.fwhms_nm, spacing)
    assert jasper.sensor.centers_nm[0] == pytest.approx(380 + 3 * spacing)  # bands 1-3 removed
    # Pixel k is row k % 100, column k // 100; k = 1 (row 1, col 0) and k = 100 (row 0, col 1)
    # are exactly the pixels a row-major reading swaps.
    for k in (1, 100, 4321):
        assert np.allclose(jasper.data[:, k % 100, k // 100], mat["Y"][:, k] / mat["Y"].max(), atol=1e-6)


@pytest.mark.parametrize(
    "name, loader, mat, end_mat, water, size",
    [
        ("jasper", load_jasper_ridge, "jasper_ridge/JasperRidge2_R198.mat", "jasper_ridge/_EndJasperRidge2_R198.mat", 1, 100),
        ("samson", load_samson, "samson/Samson.mat", "samson/_EndSamson.mat", 2, 95),
    ],
)
def test_unmixing_cube_layout_matches_its_abundance_ground_truth(shared_data, name, loader, mat, end_mat, water, size):
    """Both layouts are spatially smooth (they differ by a transpose), so smoothness cannot tell
    them apart; the abundance maps can: water is dark in the NIR. With the right layout the
    ~860 nm band and the water abundance correlate at -0.95 (Jasper) / -0.83 (Samson); a
    transposed cube gives +0.20 / -0.28."""
    cube = loader(shared_data / mat)
    abundance = column_major(scipy.io.loadmat(shared_data / end_mat)["A"], size, size)
    nir = cube.data[np.argmin(np.abs(cube.sensor.centers_nm - 860))]
    assert np.corrcoef(nir.ravel(), abundance[water].ravel())[0, 1] < -0.75
    assert np.corrcoef(nir.T.ravel(), abundance[water].ravel())[0, 1] > -0.5
    labels = abundance.argmax(axis=0)
    assert nir[labels == water].mean() < 0.3 * nir[labels != water].mean()


def test_samson_bands(shared_data):
    cube = load_samson(shared_data / "samson/Samson.mat")
    assert cube.shape == (156, 95, 95) and cube.data.min() >= 0 and cube.data.max() == 1.0
    assert cube.sensor.centers_nm[[0, -1]] == pytest.approx([401, 889])
    assert np.allclose(cube.sensor.fwhms_nm, 488 / 155)


def test_geotiff_cube_from_metadata_or_given_sensor(shared_data, rosis_example):
    example = load_geotiff_cube(rosis_example)
    assert example.shape == (102, 100, 100) and example.sensor.name == "rosis"
    with pytest.raises(GeossrError, match="declares no band wavelengths"):
        load_geotiff_cube(shared_data / S2_10M)
    s2 = load_geotiff_cube(shared_data / S2_10M, "sentinel2_msi:B02,B03,B04,B08", scale=1e-4)
    assert s2.shape == (4, 120, 120) and 0 < s2.data.max() < 1
    assert load_dataset(str(rosis_example))[0].shape == example.shape


def test_loaders_fail_with_one_line_errors(shared_data, tmp_path):
    failures = [
        (lambda: load_cave_scene(tmp_path / "nothing_ms"), "not found"),
        (lambda: load_rosis_crop(tmp_path / "missing.mat"), "not found"),
        (lambda: load_rosis_crop(shared_data / "samson/Samson.mat"), "'data' missing"),
        (lambda: load_samson(shared_data / "jasper_ridge/JasperRidge2_R198.mat"), "156 bands"),
        (lambda: load_jasper_ridge(shared_data / "cave/cave_wavelengths_31.csv"), "not a MATLAB file"),
        (lambda: load_dataset("rosis", shared_data, "train"), "single scene"),
        (lambda: load_dataset("pavia", shared_data), "unknown data set"),
        (lambda: load_dataset("cave", shared_data, "holdout"), "unknown split"),
    ]
    scene = tmp_path / "toy_ms"
    scene.mkdir()
    with rasterio.open(scene / "toy_ms_01.png", "w", driver="PNG", width=4, height=4, count=1, dtype="uint8") as png:
        png.write(np.zeros((1, 4, 4), np.uint8))
    failures.append((lambda: load_cave_scene(scene), "expected one 16-bit band"))
    for call, message in failures:
        with pytest.raises(GeossrError, match=message) as info:
            call()
        assert "\n" not in str(info.value)


# ---------------------------------------------------------------- degradations


@pytest.mark.parametrize("scale, shape", [(2, (120, 120)), (3, (120, 120)), (2.5, (120, 120)), (1.0, (40, 40)),
                                          (1.5, (90, 60))])
def test_spatial_downsample_equals_the_scene_resampler(cave_pair, scale, shape):
    crop = cave_pair[0].data[:, 200 : 200 + shape[0], 150 : 150 + shape[1]]
    reference = downsample(xr.DataArray(crop, dims=("band", "y", "x")).rio.write_transform(), scale).values
    ours = spatial_downsample(torch.from_numpy(crop)[None], reference.shape[-2:])[0].numpy()
    assert ours.shape == reference.shape
    assert np.abs(ours - reference).max() < 1e-5  # every pixel, borders included


def test_contiguous_intervals_and_their_sensor():
    intervals = contiguous_intervals(400, 700, 12)
    assert intervals.shape == (12, 2) and intervals.dtype == torch.float32
    assert torch.equal(intervals[1:, 0], intervals[:-1, 1])
    assert intervals[0, 0] == 400 and intervals[-1, 1] == 700
    sensor = target_sensor_from_intervals(intervals)
    assert {b.shape for b in sensor.bands} == {"uniform"}
    assert np.allclose(sensor.intervals_nm, intervals.numpy())


# ---------------------------------------------------------------- sampler


def test_batches_follow_the_ssif_protocol(cave_pair):
    draws = sampler(cave_pair, batch_size=3)
    for _ in range(8):
        batch = next(draws)
        size = batch["hr"].shape[-1]
        bands = batch["hr"].shape[1]
        assert batch["lr"].shape == (3, 3, 16, 16)
        assert batch["hr"].shape == (3, bands, size, size) and 8 <= bands <= 31
        assert 16 <= size <= 64 and batch["scale"] == size / 16
        assert batch["intervals"].shape == (bands, 2)
        assert batch["intervals"][0, 0] == pytest.approx(395) and batch["intervals"][-1, 1] == pytest.approx(705)
        for key in ("lr", "hr"):
            assert batch[key].dtype == torch.float32
            assert batch[key].min() >= 0 and batch[key].max() <= 1 + 1e-6


def test_same_seed_same_batches_and_resume_continues_the_run(cave_pair):
    run = sampler(cave_pair, seed=7)
    uninterrupted = [next(run) for _ in range(5)]
    twin = sampler(cave_pair, seed=7)
    for expected in uninterrupted[:2]:
        assert_batches_equal(next(twin), expected)
    resumed = sampler(cave_pair, seed=123)
    resumed.load_state_dict(twin.state_dict())
    for expected in uninterrupted[2:]:
        assert_batches_equal(next(resumed), expected)
    assert sampler(cave_pair, seed=8).plan(0) != run.plan(0)


def assert_batches_equal(a, b):
    assert a.keys() == b.keys() and a["scale"] == b["scale"]
    for key in ("lr", "hr", "intervals"):
        assert torch.equal(a[key], b[key])


def test_hr_is_the_crop_integrated_over_the_intervals(cave_pair):
    draws = sampler(cave_pair, seed=3)
    plan, batch = draws.plan(0), draws.batch(0)
    crop_spec = plan.crops[0]
    cube = cave_pair[crop_spec.cube]
    crop = cube.data[:, crop_spec.top : crop_spec.top + plan.size, crop_spec.left : crop_spec.left + plan.size]
    # Independent integration: the spectrum is linear between band centres and flat out to the
    # coverage edges; each target is its mean over the interval (a uniform response).
    centers = cube.sensor.centers_nm
    expected = []
    for lo, hi in batch["intervals"].double().numpy():
        grid = np.linspace(lo, hi, 2001)
        hats = np.stack([np.interp(grid, centers, np.eye(len(centers))[j]) for j in range(len(centers))])
        weights = np.trapezoid(hats, grid, axis=1) / (hi - lo)
        expected.append(np.tensordot(weights, crop.astype(np.float64), axes=1))
    # response_matrix samples box responses on a 0.1 nm grid, so each edge is placed to within
    # 0.05 nm: up to ~6e-4 on [0, 1] data over 40 CAVE batches.
    assert np.abs(batch["hr"][0].numpy() - np.stack(expected)).max() < 1e-3
    assert len(expected) == plan.bands


def test_lr_is_the_simulated_crop_downsampled_by_the_scene_code(cave_pair):
    draws = sampler(cave_pair, seed=5, scale_range=(2.5, 2.5))
    plan, batch = draws.plan(0), draws.batch(0)
    assert plan.size == 40
    for item, crop_spec in enumerate(plan.crops):
        cube = cave_pair[crop_spec.cube]
        crop = cube.data[:, crop_spec.top : crop_spec.top + 40, crop_spec.left : crop_spec.left + 40]
        simulated = np.tensordot(response_matrix(cube.sensor, load_sensor("nikon_d700")), crop, axes=1)
        expected = downsample(xr.DataArray(simulated, dims=("band", "y", "x")).rio.write_transform(), 2.5).values
        assert np.abs(batch["lr"][item].numpy() - expected).max() < 1e-5


def test_augmented_crops_are_turned_mirrored_and_scaled_views_of_the_scene(cave_pair):
    draws = sampler(cave_pair, seed=5, scale_range=(2.5, 2.5), batch_size=8, augment=True, gain_range=(0.5, 2.0))
    orientations, gains = set(), []
    for index in range(4):
        plan, batch = draws.plan(index), draws.batch(index)
        for item, crop_spec in enumerate(plan.crops):
            cube = cave_pair[crop_spec.cube]
            crop = cube.data[:, crop_spec.top : crop_spec.top + 40, crop_spec.left : crop_spec.left + 40]
            # np.rot90 turns counter-clockwise as torch.rot90 does; the mirror swaps left and right.
            view = np.rot90(crop, crop_spec.turns, axes=(1, 2))
            view = crop_spec.gain * (view[:, :, ::-1] if crop_spec.flip else view)
            simulated = np.tensordot(response_matrix(cube.sensor, load_sensor("nikon_d700")), view, axes=1)
            expected = downsample(xr.DataArray(simulated, dims=("band", "y", "x")).rio.write_transform(), 2.5)
            assert np.abs(batch["lr"][item].numpy() - expected.values).max() < 1e-5
            orientations.add((crop_spec.turns, crop_spec.flip))
            gains.append(crop_spec.gain)
    assert len(orientations) == 8
    assert 0.5 <= min(gains) < 0.8 and 1.4 < max(gains) <= 2.0


def test_mixed_sensors_and_sizes(cave_pair, jasper):
    draws = TrainingSampler([cave_pair[0], jasper], "nikon_d700", lr_size=16, scale_range=(1, 12),
                            bands_range=(4, 12), batch_size=6, seed=1)
    lo, hi = draws.spectral_range_nm
    assert lo == pytest.approx(380 + 3 * 2120 / 223 - 1060 / 223) and hi == pytest.approx(705)
    used_jasper = too_large_for_jasper = False
    for index in range(12):
        plan = draws.plan(index)
        if plan.size > 100:  # Jasper is 100 x 100: only CAVE fits
            assert {crop.cube for crop in plan.crops} == {0}
            too_large_for_jasper = True
        used_jasper |= any(crop.cube == 1 for crop in plan.crops)
        batch = draws.batch(index)
        assert batch["hr"].shape[-1] == plan.size <= 192
    assert used_jasper and too_large_for_jasper


def test_scene_groups_keep_their_own_spectral_ranges(cave_pair, jasper):
    from geossr.data.sampler import InputSensorDraw

    draw = InputSensorDraw(["ikonos:blue,green,red,nir", "sentinel2_msi:B02,B03,B04,B08"], random_share=0.3)
    draws = TrainingSampler([cave_pair[0], jasper, cave_pair[1]], draw, lr_size=16, scale_range=(1, 3),
                            bands_range=(4, 12), batch_size=3, seed=2, spectral_range_nm=(400, 890),
                            groups=[[1], [0, 2]])
    jasper_lo = 380 + 3 * 2120 / 223 - 1060 / 223  # Jasper's first band edge, above 400 nm
    assert draws.group_ranges == [(pytest.approx(jasper_lo), 890), (400, 705)]
    assert draws.spectral_range_nm == (400, 890)
    seen = {0: set(), 1: set()}
    for index in range(24):
        plan, batch = draws.plan(index), draws.batch(index)
        lo, hi = draws.group_ranges[plan.group]
        assert {crop.cube for crop in plan.crops} <= set(draws.groups[plan.group])
        assert batch["intervals"][0, 0] == pytest.approx(lo) and batch["intervals"][-1, 1] == pytest.approx(hi)
        sensor = batch["input_sensor"]
        # the group's scenes cover every input band: over CAVE, IKONOS and Sentinel-2 lose their NIR band
        for cube in plan.crops:
            assert uncovered_fraction(draws.cubes[cube.cube].sensor, sensor).max() <= draw.coverage_tolerance
        seen[plan.group].add(sensor.name)
        assert batch["lr"].shape[1] == len(sensor) and batch["hr"].shape[1] == plan.bands
    assert {"ikonos:blue,green,red", "sentinel2_msi:B02,B03,B04"} <= seen[1]
    assert {"ikonos:blue,green,red,nir", "sentinel2_msi:B02,B03,B04,B08"} <= seen[0]
    # one group is the plain sampler: same draws as without groups
    plain = TrainingSampler(cave_pair, "nikon_d700", lr_size=16, seed=4)
    grouped = TrainingSampler(cave_pair, "nikon_d700", lr_size=16, seed=4, groups=[[0, 1]])
    assert plain.plan(3) == grouped.plan(3)
    with pytest.raises(GeossrError, match="every cube index exactly once"):
        TrainingSampler(cave_pair, "nikon_d700", lr_size=16, groups=[[0]])


def test_evaluation_pairs_are_centre_crops_at_the_scale(cave_pair):
    pairs = evaluation_pairs(cave_pair[:1], "nikon_d700", 2.5, 31)
    (pair,) = pairs
    assert pair["name"] == "balloons" and pair["scale"] == 2.5
    assert pair["lr"].shape == (1, 3, 204, 204) and pair["hr"].shape == (1, 31, 510, 510)
    again = evaluation_pairs(cave_pair[:1], "nikon_d700", 2.5, 31)[0]
    assert torch.equal(again["lr"], pair["lr"]) and torch.equal(again["hr"], pair["hr"])
    # Uniform bands over the whole coverage preserve the band-averaged brightness.
    assert pair["hr"].mean().item() == pytest.approx(cave_pair[0].data[:, 1:511, 1:511].mean(), rel=0.02)
    four = evaluation_pairs(cave_pair[:1], "nikon_d700", 4, 10)[0]
    assert four["lr"].shape == (1, 3, 128, 128) and four["hr"].shape == (1, 10, 512, 512)
