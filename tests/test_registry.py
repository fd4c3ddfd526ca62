"""Adding a model is one file: a class that registers itself (docs/architecture.md, "Add a model").

The example model here, nearest neighbour in space and linear interpolation in wavelength, is
written exactly as the recipe says and then used by name, as the command line and the Python API
use every model.
"""

import numpy as np
import pytest
import torch

import geossr
from geossr.models import MODELS, ModelConfigError, build
from geossr.models.base import SuperResolver
from geossr.models.bicubic import baseline_spectral_matrix
from geossr.models.registry import closed_form_models, register
from geossr.models.spectral_interp import apply_spectral_matrix
from geossr.scene.io import open_raster
from geossr.scene.simulate import integrate_bands
from geossr.spectral.integration import response_matrix
from geossr.spectral.sensors import load_sensor

IKONOS = "ikonos:blue,green,red,nir"
TARGET = "grid:450:850:8"


@pytest.fixture
def nearest_model():
    @register("nearest neighbour in space, linear in wavelength (the recipe's example)", closed_form="none")
    class NearestBands(SuperResolver):
        name = "nearest-example"

        def __init__(self, input_sensor):
            super().__init__(len(input_sensor))
            self.input_sensor = input_sensor

        def halo(self, cell):
            return 1, 0  # the input pixel under each output centre lies within one pixel of the window

        def render(self, lr, rows, cols, intervals, cell):
            self.check_input(lr)
            picked_rows = torch.as_tensor(rows).floor().long().clamp(0, lr.shape[-2] - 1)
            picked_cols = torch.as_tensor(cols).floor().long().clamp(0, lr.shape[-1] - 1)
            nearest = lr[:, :, picked_rows][:, :, :, picked_cols]
            return apply_spectral_matrix(baseline_spectral_matrix(self.input_sensor, intervals).to(lr), nearest)

    yield NearestBands
    del MODELS[NearestBands.name]


@pytest.fixture(scope="module")
def ikonos_scene(rosis_example):
    data = open_raster(rosis_example)
    scene = integrate_bands(data, response_matrix(load_sensor("rosis"), load_sensor(IKONOS)))
    return scene.isel(y=slice(0, 41), x=slice(0, 53))


def test_a_registered_model_is_built_listed_and_run_by_name(nearest_model, ikonos_scene):
    assert "nearest-example" in MODELS and closed_form_models()["nearest-example"] == "none"
    model = build("nearest-example", input_sensor=IKONOS)
    assert isinstance(model, nearest_model) and model.config["name"] == "nearest-example"
    with pytest.raises(ModelConfigError, match="unknown field 'width'"):
        build("nearest-example", input_sensor=IKONOS, width=3)

    out = geossr.upsample(ikonos_scene, 3, TARGET, model="nearest-example", input_sensor=IKONOS, tile=16)
    values = out.values
    # every output pixel is its input pixel's spectrum, interpolated to the target band centres
    matrix = baseline_spectral_matrix(load_sensor(IKONOS), load_sensor(TARGET).intervals_nm).numpy()
    expected = np.einsum("oi,ihw->ohw", matrix, ikonos_scene.values).repeat(3, axis=1).repeat(3, axis=2)
    np.testing.assert_allclose(values, expected, rtol=0, atol=1e-6)


def test_a_model_that_cannot_be_tiled_runs_whole_with_a_warning(ikonos_scene, tmp_path):
    """halo() None: each output pixel depends on the whole input (here: minus the image's mean)."""
    from geossr.scene.engine import UntileableWarning, upsample

    class WholeImage(SuperResolver):
        name = "whole-image-example"

        def __init__(self, input_sensor):
            super().__init__(len(input_sensor))
            self.input_sensor = input_sensor

        def halo(self, cell):
            return None

        def render(self, lr, rows, cols, intervals, cell):
            picked = lr[:, :, torch.as_tensor(rows).floor().long()][:, :, :, torch.as_tensor(cols).floor().long()]
            spread = picked - lr.mean(dim=(2, 3), keepdim=True)
            return apply_spectral_matrix(baseline_spectral_matrix(self.input_sensor, intervals).to(lr), spread)

    model = WholeImage(load_sensor(IKONOS))
    with pytest.warns(UntileableWarning, match="whole-image-example cannot be tiled .* one 159x123 px tile"):
        tiled = upsample(ikonos_scene, 3, load_sensor(TARGET), model, tile=16).values
    whole = model(torch.from_numpy(ikonos_scene.values)[None], (123, 159),
                  torch.as_tensor(load_sensor(TARGET).intervals_nm, dtype=torch.float32))[0].numpy()
    np.testing.assert_allclose(tiled, whole.clip(min=0), rtol=0, atol=1e-5)  # the engine clips at 0


def test_a_model_needs_a_name_of_its_own():
    with pytest.raises(ValueError, match="needs a name of its own"):
        register("a second bicubic")(type("Another", (SuperResolver,), {"name": "bicubic"}))
    assert MODELS["bicubic"].cls.__name__ == "BicubicBaseline"
