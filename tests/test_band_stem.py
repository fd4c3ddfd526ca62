"""The band-agnostic stem and the ssif-any model: band order, band count, shapes; per-batch input sensors."""

import numpy as np
import pytest
import torch

from geossr.data import load_dataset
from geossr.data.sampler import InputSensorDraw, TrainingSampler
from geossr.models import build
from geossr.models.band_stem import BandStem, response_samples
from geossr.models.checkpoint import load_checkpoint, save_checkpoint
from geossr.models.limits import inside_input_span
from geossr.spectral.bands import Sensor
from geossr.spectral.sensors import load_sensor

S2 = "sentinel2_msi:B02,B03,B04,B08"
TINY = {"encoder": {"name": "edsr-baseline", "width": 8, "blocks": 1}, "pixel_hidden": [16], "pixel_dim": 16,
        "stem_channels": 8, "stem_embed_dim": 16, "stem_hidden": 16, "stem_spectral": {"scales": 8, "hidden": [16]}}


def tiny_model(sensor=S2):
    """A small ssif-any whose residual is not zero (a fresh one starts at the baseline: see below)."""
    torch.manual_seed(0)
    model = build("ssif-any", input_sensor=sensor, **TINY).eval()
    torch.nn.init.normal_(model.spectral_encoder.mlp.layers[-1].weight, std=0.5)
    return model


def same_start(sensor, option: str, kinds) -> dict:
    """One fresh ssif-any per value of ``option``, all from the same initial weights."""
    models = {}
    for kind in kinds:
        torch.manual_seed(0)
        models[kind] = build("ssif-any", input_sensor=sensor, **{option: kind}, **TINY).eval()
    return models


def test_untrained_model_is_the_bicubic_baseline_and_learns_a_residual():
    sensor = load_sensor(S2)
    lr = torch.rand(1, 4, 9, 11)
    intervals = torch.tensor(load_sensor("grid:430:860:12").intervals_nm, dtype=torch.float32)
    torch.manual_seed(0)
    fresh = build("ssif-any", input_sensor=sensor, **TINY).eval()
    with torch.no_grad():
        baseline = build("bicubic", input_sensor=sensor)(lr, (20, 25), intervals)
        assert torch.allclose(fresh(lr, (20, 25), intervals), baseline, atol=1e-6)
        assert (tiny_model()(lr, (20, 25), intervals) - baseline).abs().max() > 1e-3


def test_outside_the_input_span_the_correction_is_a_bounded_factor():
    sensor = load_sensor(S2)  # B02-B08 span 460-885 nm
    lr = torch.rand(1, 4, 9, 11)
    intervals = torch.tensor(load_sensor("grid:400:880:12").intervals_nm, dtype=torch.float32)
    outside = torch.from_numpy(~inside_input_span(sensor, intervals.numpy()))
    assert 0 < int(outside.sum()) < len(outside)
    models = same_start(sensor, "outside_input", ("offset", "factor"))
    with torch.no_grad():
        baseline = build("bicubic", input_sensor=sensor)(lr, (20, 25), intervals)
        assert torch.allclose(models["factor"](lr, (20, 25), intervals), baseline, atol=1e-6)  # fresh: factor 1
        for model in models.values():
            torch.manual_seed(1)
            torch.nn.init.normal_(model.spectral_encoder.mlp.layers[-1].weight, std=5.0)
        offset, factor = (models[kind](lr, (20, 25), intervals) for kind in ("offset", "factor"))
    assert torch.allclose(offset[:, ~outside], factor[:, ~outside])  # inside the span: the same offset
    assert (offset[:, outside] < 0).any() and (factor[:, outside] >= 0).all()
    lit = baseline[:, outside] > 1e-3
    ratio = factor[:, outside][lit] / baseline[:, outside][lit]
    assert ratio.min() >= np.exp(-4) * (1 - 1e-5) and ratio.max() <= np.exp(4) * (1 + 1e-5)


def test_anchored_factor_is_continuous_at_the_span_edge():
    sensor = load_sensor(S2)  # B02's lower edge: 459.4 nm
    low = float(np.min(sensor.centers_nm - sensor.fwhms_nm / 2))
    torch.manual_seed(2)
    lr = 0.3 + 0.4 * torch.rand(1, 4, 9, 11)
    # Requested: far below the edge, just below it, just above it (inside), and the rest inside.
    intervals = torch.tensor([[400.0, 410.0], [low - 2.05, low - 0.05], [low, low + 5.0], [low + 20, low + 30],
                              [600.0, 610.0], [840.0, 850.0]])
    models = same_start(sensor, "outside_input", ("offset", "factor", "anchored"))
    with torch.no_grad():
        baseline = build("bicubic", input_sensor=sensor)(lr, (20, 25), intervals)
        assert torch.allclose(models["anchored"](lr, (20, 25), intervals), baseline, atol=1e-6)  # fresh: the baseline
        for model in models.values():
            torch.manual_seed(1)  # a residual of about -0.2 to -0.3 near the edge, the edge still above 0
            torch.nn.init.normal_(model.spectral_encoder.mlp.layers[-1].weight, std=0.05)
        out = {kind: model(lr, (20, 25), intervals) for kind, model in models.items()}
    assert torch.allclose(out["anchored"][:, 2:], out["offset"][:, 2:], atol=1e-6)  # inside the span: the offset
    assert (out["anchored"][:, :2] >= 0).all()
    edge = out["offset"][:, 2]
    lit = edge > 0.05
    assert lit.float().mean() > 0.5
    # 1 nm past the edge the anchored factor's log is 1/20 of the residual (|r| < 0.3): within e^±0.02 of the
    # edge; an unramped factor on the edge would be e^r away, the flat-baseline factor further still.
    ratio = out["anchored"][:, 1][lit] / edge[lit]
    assert ratio.min() >= np.exp(-0.02) and ratio.max() <= np.exp(0.02)
    step = {kind: (out[kind][:, 1] - edge)[lit].abs().max() for kind in ("factor", "anchored")}
    assert step["factor"] > 10 * step["anchored"]


def test_positive_inside_correction_never_goes_below_zero():
    sensor = load_sensor(S2)
    torch.manual_seed(2)
    lr = torch.rand(1, 4, 9, 11, requires_grad=True)
    intervals = torch.tensor(load_sensor("grid:460:880:12").intervals_nm, dtype=torch.float32)  # all inside
    models = same_start(sensor, "inside_input", ("offset", "positive"))
    baseline = build("bicubic", input_sensor=sensor)(lr, (20, 25), intervals).detach()
    with torch.no_grad():
        assert torch.allclose(models["positive"](lr, (20, 25), intervals), baseline, atol=1e-6)  # fresh: the baseline
    for model in models.values():  # a residual of either sign: about 2/3 of the values raised, 1/5 below 0
        torch.manual_seed(3)
        torch.nn.init.normal_(model.spectral_encoder.mlp.layers[-1].weight, std=0.2)
        torch.nn.init.normal_(model.spectral_encoder.mlp.layers[-1].bias, std=0.2)
    offset = models["offset"](lr, (20, 25), intervals).detach()
    positive = models["positive"](lr, (20, 25), intervals)
    positive.sum().backward()  # the dropped branch must not leak NaN gradients
    assert torch.isfinite(lr.grad).all()
    positive = positive.detach()
    raised = offset >= baseline
    assert raised.any() and (offset < 0).any()
    assert torch.allclose(positive[raised], offset[raised])  # a positive correction: the same offset
    assert (positive >= 0).all() and (positive[~raised] <= baseline[~raised] + 1e-6).all()


def test_unknown_outside_input_refused():
    with pytest.raises(ValueError, match="outside_input must be one of offset, factor, anchored"):
        build("ssif-any", input_sensor=S2, outside_input="relative", **TINY)
    with pytest.raises(ValueError, match="inside_input must be one of offset, positive"):
        build("ssif-any", input_sensor=S2, inside_input="factor", **TINY)


def permuted(sensor: Sensor, order) -> Sensor:
    return Sensor(f"{sensor.name}-permuted", tuple(sensor.bands[i] for i in order))


def test_output_does_not_depend_on_band_order():
    model = tiny_model()
    sensor = load_sensor(S2)
    lr = torch.rand(2, 4, 9, 11)
    intervals = torch.tensor(load_sensor("grid:430:860:12").intervals_nm, dtype=torch.float32)
    with torch.no_grad():
        reference = model(lr, (18, 22), intervals)
        order = [3, 1, 0, 2]
        shuffled = model.use_input_sensor(permuted(sensor, order))(lr[:, order], (18, 22), intervals)
        # Same bands, same values, but each value read as another band: the output must change.
        mislabelled = model.use_input_sensor(sensor)(lr[:, order], (18, 22), intervals)
    assert torch.allclose(reference, shuffled, atol=1e-5)
    assert (reference - mislabelled).abs().max() > 1e-3


@pytest.mark.parametrize("count", range(2, 9))
def test_any_band_count_from_2_to_8(count):
    model = tiny_model(f"grid:420:880:{count}:gaussian")
    assert model.input_bands == count and model.input_sensor.name == f"grid:420:880:{count}:gaussian"
    with torch.no_grad():
        out = model(torch.rand(1, count, 7, 5), (21, 15), torch.tensor([[450.0, 460.0], [700.0, 760.0]]))
    assert out.shape == (1, 2, 21, 15) and torch.isfinite(out).all()


def test_stem_shapes_and_wrong_band_count():
    stem = BandStem(out_channels=12, embed_dim=16, hidden=24)
    stem.use_sensor(load_sensor("nikon_d700"))
    assert stem.band_embeddings().shape == (3, 16)
    assert stem(torch.rand(2, 3, 10, 6)).shape == (2, 12, 10, 6)
    with pytest.raises(ValueError, match="set for 3 bands"):
        stem(torch.rand(2, 4, 10, 6))
    model = tiny_model()
    with pytest.raises(ValueError, match=r"\(B, 4, h, w\)"):
        model(torch.rand(1, 3, 8, 8), (8, 8), torch.tensor([[450.0, 460.0]]))


def test_band_embedding_follows_the_response_curve():
    # The measured IKONOS curves are sampled with their shape: weights differ from a flat box.
    wavelengths, weights = response_samples(load_sensor("ikonos:blue,green,red,nir"))
    assert wavelengths.shape == weights.shape == (4, 16)
    assert np.allclose(weights.sum(axis=1), 1) and weights.std(axis=1).min() > 0.005
    _, box = response_samples(load_sensor("grid:400:500:1"))
    assert np.allclose(box, 1 / 16)


def test_checkpoint_round_trip_keeps_weights_not_sensor(tmp_path):
    model = tiny_model()
    path = save_checkpoint(model, tmp_path / "any")
    loaded, card = load_checkpoint(path, expect_input_sensor=load_sensor("nikon_d700"))  # any sensor is accepted
    assert card["model"]["name"] == "ssif-any"
    lr = torch.rand(1, 3, 8, 8)
    intervals = torch.tensor([[500.0, 520.0]])
    with torch.no_grad():
        a = model.use_input_sensor(load_sensor("nikon_d700"))(lr, (16, 16), intervals)
        b = loaded.eval().use_input_sensor(load_sensor("nikon_d700"))(lr, (16, 16), intervals)
    assert torch.equal(a, b)


def test_sampler_draws_an_input_sensor_per_batch(shared_data):
    cubes = load_dataset("remote", shared_data, "train")
    draw = InputSensorDraw(["ikonos:blue,green,red,nir", S2, "nikon_d700"], random_share=0.5)
    sampler = TrainingSampler(cubes, draw, lr_size=8, scale_range=(1, 2), bands_range=(5, 9), batch_size=2, seed=4)
    names = set()
    lo, hi = sampler.spectral_range_nm
    for index in range(40):
        batch = sampler.batch(index)
        sensor = batch["input_sensor"]
        names.add(sensor.name)
        assert batch["lr"].shape[:2] == (2, len(sensor)) and torch.isfinite(batch["lr"]).all()
        if sensor.name.startswith("random"):
            assert 3 <= len(sensor) <= 8
            assert all(lo - 1e-6 <= b.center_nm - b.fwhm_nm / 2 and b.center_nm + b.fwhm_nm / 2 <= hi + 1e-6
                       for b in sensor.bands)
    assert {"ikonos:blue,green,red,nir", S2, "nikon_d700"} <= names and any(n.startswith("random") for n in names)
    assert not any("landsat" in n for n in names)
    again = sampler.batch(7)
    assert again["input_sensor"].fingerprint == sampler.batch(7)["input_sensor"].fingerprint
    assert torch.equal(again["lr"], sampler.batch(7)["lr"])


def tiny_training_config(shared_data, model: dict, input_sensors) -> dict:
    return {
        "name": "tiny-any", "seed": 1, "model": model,
        "data": {"dataset": "remote", "root": str(shared_data), "lr_size": 8, "scale_range": [1.0, 2.0],
                 "bands_range": [4, 8], "batch_size": 2, "sample_q": 32, "input_sensors": input_sensors},
        "train": {"steps": 3, "validate_every": 3, "checkpoint_every": 3, "validation_scale": 2,
                  "validation_bands": 6, "validation_crop": 16},
    }


def test_trainer_draws_sensors_and_validates_on_the_configured_one(shared_data, tmp_path):
    from geossr.train import ConfigError, TrainConfig, Trainer

    draw = {"shipped": [S2, "nikon_d700"], "random_share": 0.5}
    ikonos = "ikonos:blue,green,red,nir"  # validation on ROSIS (430-860 nm): S2 B08 reaches too far past it
    config = TrainConfig.from_dict(tiny_training_config(shared_data, {"name": "ssif-any", "input_sensor": ikonos,
                                                                      **TINY}, draw))
    trainer = Trainer(config, tmp_path / "run", device="cpu")
    card = trainer.run()
    assert card["training"]["steps"] == 3 and np.isfinite(card["metrics"]["val_psnr"])
    assert trainer.model.input_sensor.name == ikonos  # validation reads the config's sensor
    loaded, saved = load_checkpoint(trainer.weights_path)
    assert saved["model"]["name"] == "ssif-any" and saved["training"]["data"]["input_sensors"] == draw
    fixed = tiny_training_config(shared_data, {"name": "ssif", "input_sensor": S2, "pixel_dim": 16,
                                               "encoder": TINY["encoder"], "pixel_hidden": [16]}, draw)
    with pytest.raises(ConfigError, match="needs a band-agnostic model"):
        Trainer(TrainConfig.from_dict(fixed), tmp_path / "fixed", device="cpu")


def test_input_bands_judged_against_the_trained_range():
    import warnings

    from geossr.models.limits import OutOfRangeError, usable_input_bands

    trained = (403.8, 890.6)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert usable_input_bands(load_sensor("sentinel2_msi:B02,B03,B04,B08"), trained, "m") == [0, 1, 2, 3]
        assert usable_input_bands(load_sensor("landsat8_oli:B2,B3,B6,B4"), trained, "m") == [0, 1, 3]
        # 860-900 nm: a quarter of the box lies past 890.6 nm -> read, with a warning
        assert usable_input_bands(load_sensor("grid:780:900:3"), trained, "m") == [0, 1, 2]
    messages = [str(w.message) for w in caught]
    assert len(messages) == 2
    assert "input bands B6 of landsat8_oli:B2,B3,B6,B4 lie outside the trained range 404-891 nm of m: ignored" \
        == messages[0]
    assert "input bands b003 of grid:780:900:3 reach past the trained range" in messages[1]
    with pytest.raises(OutOfRangeError, match="bands B6, B7 lie outside .* leaving 1 band"):
        usable_input_bands(load_sensor("landsat8_oli:B6,B7,B4"), trained, "m")
    with pytest.raises(OutOfRangeError, match="at least 2 input bands"):
        usable_input_bands(load_sensor("sentinel2_msi:B04"), trained, "m")
