"""Training and evaluation data: hyperspectral cubes, SSIF degradations and batch sampling."""

from geossr.data.cubes import (
    CAVE_SCENES,
    CAVE_SPLIT,
    HyperspectralCube,
    load_cave,
    load_cave_scene,
    load_dataset,
    load_geotiff_cube,
    load_jasper_ridge,
    load_rosis_crop,
    load_samson,
)
from geossr.forward.degrade import contiguous_intervals, spatial_downsample, spectral_matrix, target_sensor_from_intervals
from geossr.data.sampler import TrainingSampler, common_coverage_nm, evaluation_pairs

__all__ = [
    "CAVE_SCENES",
    "CAVE_SPLIT",
    "HyperspectralCube",
    "TrainingSampler",
    "common_coverage_nm",
    "contiguous_intervals",
    "evaluation_pairs",
    "load_cave",
    "load_cave_scene",
    "load_dataset",
    "load_geotiff_cube",
    "load_jasper_ridge",
    "load_rosis_crop",
    "load_samson",
    "spatial_downsample",
    "spectral_matrix",
    "target_sensor_from_intervals",
]
