"""SSIF (every variant, both decoders), LIIF: shapes, gradients, chunking, checkpoints."""

import numpy as np
import pytest
import torch

from geossr.models import ModelConfigError, build
from geossr.models.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from geossr.spectral.sampling import VARIANT_METHODS
from geossr.spectral.sensors import load_sensor

TINY = {"encoder": {"name": "edsr-baseline", "width": 8, "blocks": 1}, "pixel_hidden": [16], "pixel_dim": 16}
CAVE31 = torch.tensor(load_sensor("cave31").intervals_nm, dtype=torch.float32)
# Irregular, overlapping bands of different widths, in no particular order.
IRREGULAR = torch.tensor([[600.0, 640.0], [405.0, 410.0], [500.0, 502.0], [450.0, 520.0]])


def tiny_ssif(variant="RF-UF", decoder="D", **extra):
    return build("ssif", input_sensor="nikon_d700", variant=variant, decoder=decoder, samples=4, **TINY, **extra)


@pytest.mark.parametrize("variant", list(VARIANT_METHODS))
@pytest.mark.parametrize("decoder", ["D", "C"])
def test_every_ssif_variant_runs_forward_and_backward(variant, decoder):
    model = tiny_ssif(variant, decoder)
    lr = torch.rand(2, 3, 7, 9)
    out = model(lr, (17, 22), CAVE31)  # p ≈ 2.43 × 2.44: not an integer
    assert out.shape == (2, 31, 17, 22)
    out.square().mean().backward()
    without_grad = [n for n, p in model.named_parameters() if p.grad is None]
    assert without_grad == []


@pytest.mark.parametrize("bands", [IRREGULAR, torch.tensor(load_sensor("grid:400:700:62").intervals_nm)])
def test_ssif_answers_any_band_set(bands):
    out = tiny_ssif()(torch.rand(1, 3, 6, 6), (6, 6), bands.float())
    assert out.shape == (1, bands.shape[0], 6, 6)


def test_chunked_querying_equals_unchunked():
    torch.manual_seed(0)
    model = tiny_ssif("RF-GS").eval()
    lr = torch.rand(1, 3, 10, 10)
    whole = model(lr, (25, 25), CAVE31)
    model.query_chunk = 37  # 625 queries in 17 uneven chunks
    assert torch.allclose(whole, model(lr, (25, 25), CAVE31), atol=1e-6)


def test_cpu_query_chunk_follows_the_widest_hidden_layer():
    # the chunk's temporaries (4 members x chunk x width) stay the same size whatever the width
    def with_hidden(*widths):
        return build("ssif", input_sensor="nikon_d700", **{**TINY, "pixel_hidden": list(widths)})

    cpu = torch.device("cpu")
    assert with_hidden(128, 64).chunk_size(cpu) == 4096
    assert with_hidden(256, 256).chunk_size(cpu) == 2048
    assert with_hidden(256).chunk_size(torch.device("cuda")) == 16384
    model = with_hidden(256)
    model.query_chunk = 37
    assert model.chunk_size(cpu) == 37


def test_stochastic_variant_is_deterministic_in_eval_mode():
    model = tiny_ssif("RF-US").eval()
    lr = torch.rand(1, 3, 6, 6)
    assert torch.equal(model(lr, (12, 12), CAVE31), model(lr, (12, 12), CAVE31))


def test_liif_has_fixed_bands():
    options = {k: v for k, v in TINY.items() if k != "pixel_dim"}  # LIIF's pixel vector is its C bands
    model = build("liif", input_sensor="nikon_d700", output_sensor="cave31", **options)
    assert model(torch.rand(1, 3, 5, 5), (13, 13), CAVE31).shape == (1, 31, 13, 13)
    with pytest.raises(ValueError, match="31 fixed bands"):
        model(torch.rand(1, 3, 5, 5), (13, 13), IRREGULAR)


def test_wrong_input_band_count_is_refused():
    with pytest.raises(ValueError, match=r"expects input of shape \(B, 3"):
        tiny_ssif()(torch.rand(1, 4, 5, 5), (10, 10), CAVE31)


@pytest.mark.parametrize(
    "name, config, message",
    [
        ("srcnn", {"input_sensor": "nikon_d700"}, "unknown model 'srcnn'"),
        ("ssif", {"input_sensor": "nikon_d700", "variant": "RF-XX"}, "unknown SSIF variant"),
        ("ssif", {"input_sensor": "nikon_d700", "decoder": "Z"}, "unknown SSIF decoder"),
        ("ssif", {"input_sensor": "nikon_d700", "widht": 3}, "unknown field 'widht'"),
        ("ssif", {}, "missing field 'input_sensor'"),
        ("ssif", {"input_sensor": "nikon_d700", "encoder": {"name": "vgg"}}, "unknown encoder"),
    ],
)
def test_bad_model_configs(name, config, message):
    with pytest.raises(ModelConfigError, match=message):
        build(name, **config)


def test_checkpoint_round_trip(tmp_path):
    model = tiny_ssif("RF-GF", "C")
    path = save_checkpoint(model, tmp_path / "m", training={"steps": 3}, metrics={"psnr": 1.0})
    loaded, card = load_checkpoint(path, expect_model="ssif", expect_input_sensor=load_sensor("nikon_d700"))
    assert card["training"]["steps"] == 3 and card["model"]["variant"] == "RF-GF"
    for key, value in model.state_dict().items():
        assert torch.equal(value, loaded.state_dict()[key])
    lr = torch.rand(1, 3, 5, 5)
    assert torch.equal(model.eval()(lr, (9, 9), CAVE31), loaded.eval()(lr, (9, 9), CAVE31))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m.safetensors"]


def test_mismatched_checkpoints_give_clean_errors(tmp_path):
    path = save_checkpoint(tiny_ssif(), tmp_path / "m")
    with pytest.raises(CheckpointError, match="holds a 'ssif' model, not 'liif'"):
        load_checkpoint(path, expect_model="liif")
    with pytest.raises(CheckpointError, match="trained for input sensor nikon_d700"):
        load_checkpoint(path, expect_input_sensor=load_sensor("ikonos:blue,green,red,nir"))
    # Weights of another architecture under this card.
    other = save_checkpoint(tiny_ssif(decoder="C"), tmp_path / "other")
    other.replace(path)
    with pytest.raises(CheckpointError, match="do not fit"):
        load_checkpoint(path)
    path.write_bytes(b"not safetensors")
    with pytest.raises(CheckpointError, match="damaged"):
        load_checkpoint(path)
    with pytest.raises(CheckpointError, match="weights not found"):
        load_checkpoint(tmp_path / "absent.safetensors")


def test_spectral_encoder_follows_eq_9():
    model = tiny_ssif(spectral={"scales": 4, "min_scale_nm": 2.0, "max_scale_nm": 250.0})
    inverse = model.spectral_encoder.inverse_scales
    expected = 1 / (2.0 * (125.0 ** (np.arange(4) / 3)))
    assert np.allclose(inverse.numpy(), expected)


def test_decoder_c_sub_chunks_give_the_same_values(monkeypatch):
    import geossr.models.ssif as ssif_module

    model = tiny_ssif("RF-UF", "C").eval()
    lr = torch.rand(1, 3, 6, 6)
    whole = model(lr, (11, 11), CAVE31)
    monkeypatch.setattr(ssif_module, "_JOINT_ELEMENTS", 5000)  # a few queries per piece
    assert torch.allclose(whole, model(lr, (11, 11), CAVE31), atol=1e-6)


def test_one_band_tolerance_for_fixed_band_models_and_checkpoint_sensors():
    """SAME_BAND_NM (1 nm) decides everywhere whether two band sets are the same bands."""
    from geossr.spectral.bands import SAME_BAND_NM, same_bands

    liif = build("liif", input_sensor="ikonos:blue,green,red,nir", output_sensor="grid:430:860:10",
                 encoder={"name": "edsr-baseline", "width": 8, "blocks": 1}, pixel_hidden=[8])
    trained = torch.as_tensor(liif.fixed_intervals_nm, dtype=torch.float32)
    lr = torch.rand(1, 4, 6, 6)
    assert liif(lr, (12, 12), trained + 0.9 * SAME_BAND_NM).shape == (1, 10, 12, 12)
    with pytest.raises(ValueError, match="cannot produce another band set"):
        liif(lr, (12, 12), trained + 1.5 * SAME_BAND_NM)
    assert same_bands([492.4, 559.8], [492.0, 560.6]) and not same_bands([492.4], [494.0])
    assert not same_bands([492.4, 559.8], [492.4])
