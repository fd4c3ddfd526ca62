"""Training batches and evaluation pairs following the SSIF protocol (paper, Appendix A.3 and A.5).

Each training batch draws a spatial scale p ~ U(scale_range) and a band count
C ~ U{bands_range} (both shared by the batch, so its tensors stack), then for every item a random
H x W crop (H = W = round(lr_size · p)) of a random cube, and makes:

- ``hr``: the crop integrated over C contiguous equal wavelength intervals spanning the
  spectral range, each with a uniform response (the target the model must predict);
- ``lr``: the crop as the input sensor would see it (spectral response integration), then
  spatially downsampled to lr_size x lr_size with the scene resampler's anti-aliasing.

The reported scale is H / lr_size, the ratio actually used (p rounded to whole pixels).

With an :class:`InputSensorDraw` instead of one input sensor, every batch also draws its input
sensor (shared by the batch) and returns it as ``batch["input_sensor"]``: how a band-agnostic
model (``ssif-any``) learns to read any sensor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from geossr.data.cubes import HyperspectralCube
from geossr.forward.degrade import contiguous_intervals, spatial_downsample, spectral_matrix, target_sensor_from_intervals
from geossr.errors import GeossrError
from geossr.spectral.bands import Band, Sensor
from geossr.spectral.integration import DEFAULT_COVERAGE_TOLERANCE, source_coverage_nm, uncovered_fraction
from geossr.spectral.sensors import load_sensor


@dataclass(frozen=True)
class Crop:
    cube: int  # index into the sampler's cubes
    top: int
    left: int
    turns: int = 0  # quarter turns, then
    flip: bool = False  # a left-right mirror: the 8 orientations an overhead scene can be seen in
    gain: float = 1.0  # brightness factor on the whole crop


@dataclass(frozen=True)
class BatchPlan:
    """The random draws behind one batch: crop side H (= W), band count C and the crops."""

    index: int
    size: int
    bands: int
    crops: tuple[Crop, ...]
    group: int = 0  # index into the sampler's scene groups


def common_coverage_nm(cubes: list[HyperspectralCube]) -> tuple[float, float]:
    """The wavelengths every cube's sensor covers (intersection of their source coverages)."""
    ranges = np.array([source_coverage_nm(cube.sensor) for cube in cubes])
    lo, hi = float(ranges[:, 0].max()), float(ranges[:, 1].min())
    if not lo < hi:
        raise GeossrError("the cubes' sensors share no wavelength range; give spectral_range_nm or fewer cubes")
    return lo, hi


def _spectral_range(cubes, spectral_range_nm) -> tuple[float, float]:
    common = common_coverage_nm(cubes)
    if spectral_range_nm is None:
        return common
    lo, hi = (float(v) for v in spectral_range_nm)
    slack = 1e-6  # coverage edges are computed in floating point (ROSIS: 859.9999999 for 860)
    if not (common[0] - slack <= lo < hi <= common[1] + slack):
        raise GeossrError(
            f"spectral range {lo:g}-{hi:g} nm is not inside the cubes' common coverage "
            f"{common[0]:.1f}-{common[1]:.1f} nm"
        )
    return lo, hi


def _group_range(cubes, spectral_range_nm) -> tuple[float, float]:
    """A scene group's range when groups differ: its common coverage, clipped to ``spectral_range_nm``."""
    lo, hi = common_coverage_nm(cubes)
    if spectral_range_nm is not None:
        lo, hi = max(lo, float(spectral_range_nm[0])), min(hi, float(spectral_range_nm[1]))
    if not lo < hi:
        names = ", ".join(cube.name for cube in cubes)
        raise GeossrError(f"scene group [{names}] covers nothing of the spectral range "
                          f"{spectral_range_nm[0]:g}-{spectral_range_nm[1]:g} nm")
    return lo, hi


def _as_sensor(sensor: str | Sensor) -> Sensor:
    return sensor if isinstance(sensor, Sensor) else load_sensor(sensor)


class InputSensorDraw:
    """A random input sensor per batch: one of ``shipped`` or, with probability ``random_share``,
    a random one of ``random_bands`` Gaussian or uniform bands (shape drawn per band), FWHM drawn
    in ``random_fwhm_nm`` and centre such that the band lies inside the training range
    (Gaussians: centre ± FWHM, < 1 % of the response outside; boxes: the box itself).

    ``coverage_tolerance`` is the share of a band's response allowed outside a cube's coverage
    when simulating it (Sentinel-2 B08 reaches 10 % past SAMSON's 889 nm).
    """

    def __init__(self, shipped: list[str], random_share: float = 0.5, random_bands: tuple[int, int] = (3, 8),
                 random_fwhm_nm: tuple[float, float] = (10.0, 120.0), coverage_tolerance: float = 0.15):
        self.shipped = [_as_sensor(s) for s in shipped]
        if not self.shipped and random_share < 1:
            raise GeossrError("input_sensors: give shipped sensors or random_share 1")
        if not (0 <= random_share <= 1 and 2 <= random_bands[0] <= random_bands[1]
                and 0 < random_fwhm_nm[0] <= random_fwhm_nm[1]):
            raise GeossrError("input_sensors: need 0 <= random_share <= 1, 2 <= random_bands min <= max, "
                              "0 < random_fwhm_nm min <= max")
        self.random_share = float(random_share)
        self.random_bands = (int(random_bands[0]), int(random_bands[1]))
        self.random_fwhm_nm = (float(random_fwhm_nm[0]), float(random_fwhm_nm[1]))
        self.coverage_tolerance = float(coverage_tolerance)

    def covered_shipped(self, cubes: list[HyperspectralCube]) -> list[Sensor]:
        """The shipped sensors as ``cubes`` can simulate them: each keeps the bands every cube covers
        (within ``coverage_tolerance``; IKONOS over 400-700 nm scenes is its blue, green and red),
        and is dropped when fewer than 2 remain."""
        covered = []
        for sensor in self.shipped:
            outside = np.max([uncovered_fraction(cube.sensor, sensor) for cube in cubes], axis=0)
            names = [band.name for band, share in zip(sensor.bands, outside) if share <= self.coverage_tolerance]
            if len(names) == len(sensor):
                covered.append(sensor)
            elif len(names) >= 2:  # named as the file's sensor with these bands: ikonos:blue,green,red
                covered.append(sensor.select(names))
        return covered

    def draw(self, rng: np.random.Generator, range_nm: tuple[float, float], shipped: list[Sensor] | None = None) -> Sensor:
        """A shipped sensor (from ``shipped``, default all; none given: always random) or a random one."""
        shipped = self.shipped if shipped is None else shipped
        if rng.uniform() >= self.random_share and shipped:
            return shipped[int(rng.integers(len(shipped)))]
        lo, hi = range_nm
        count = int(rng.integers(self.random_bands[0], self.random_bands[1] + 1))
        bands = []
        for i in range(count):
            fwhm = min(rng.uniform(*self.random_fwhm_nm), (hi - lo) / 2)
            if rng.uniform() < 0.5:
                centre = rng.uniform(lo + fwhm, hi - fwhm)
                bands.append(Band.gaussian(f"r{i + 1}", centre, fwhm))
            else:
                centre = rng.uniform(lo + fwhm / 2, hi - fwhm / 2)
                bands.append(Band.uniform(f"r{i + 1}", centre - fwhm / 2, centre + fwhm / 2))
        return Sensor(f"random{count}", tuple(bands), "random training sensor", response_kind="approximation")


class TrainingSampler:
    """Endless iterator of SSIF training batches; batch n depends only on (seed, n).

    A batch is ``{"lr": (B, c, lr_size, lr_size), "hr": (B, C, H, W), "intervals": (C, 2) nm,
    "scale": H / lr_size}`` (float32 tensors, a float). Crops need cubes at least H pixels on each
    side: H is capped at the largest cube, and each item picks among the cubes large enough for
    this batch's H, so mixing small and large cubes keeps the scale distribution intact (small
    cubes only serve the smaller scales). Cubes may have different sensors; each is integrated
    with its own response matrices.

    ``augment``: every crop is also turned and mirrored at random (one of 8 orientations), as
    LIIF's training wrappers do; an overhead scene has no up or left, and with one or two small
    training scenes this is 8x the views. ``gain_range``: every crop is also scaled by a gain drawn
    log-uniformly from it, for scenes whose brightness scale is arbitrary (the airborne cubes here
    are each divided by their own maximum: median values 0.04-0.16) while the input a model meets
    is another scale again (surface reflectance).

    ``groups``: lists of cube indices (default: one group of all cubes). Each batch draws a group
    (uniformly) and takes its crops from that group's cubes, its target bands over that group's
    range and, with a sensor draw, an input sensor the group covers. With one group the range is
    the cubes' common coverage (or ``spectral_range_nm``, which must lie inside it); with several,
    each group's is its own cubes' common coverage clipped to ``spectral_range_nm``. So scenes of
    different ranges train one model without cutting every scene down to the shared part (CAVE's
    400-700 nm beside the airborne 400-890 nm). ``spectral_range_nm`` is then the groups' hull.
    """

    def __init__(
        self,
        cubes: list[HyperspectralCube],
        input_sensor: str | Sensor | InputSensorDraw,
        lr_size: int,
        scale_range: tuple[float, float] = (1.0, 4.0),
        bands_range: tuple[int, int] = (8, 31),
        batch_size: int = 4,
        seed: int = 0,
        spectral_range_nm: tuple[float, float] | None = None,
        augment: bool = False,
        gain_range: tuple[float, float] | None = None,
        groups: list[list[int]] | None = None,
    ):
        if not cubes:
            raise GeossrError("no cubes to sample from")
        if lr_size < 1 or batch_size < 1:
            raise GeossrError(f"lr_size and batch_size must be >= 1, got {lr_size} and {batch_size}")
        if not 1.0 <= scale_range[0] <= scale_range[1]:
            raise GeossrError(f"scale_range must satisfy 1 <= min <= max, got {scale_range}")
        if seed < 0:
            raise GeossrError(f"seed must be >= 0, got {seed}")
        if not 1 <= bands_range[0] <= bands_range[1]:
            raise GeossrError(f"bands_range must satisfy 1 <= min <= max, got {bands_range}")
        self.cubes = list(cubes)
        self.sensor_draw = input_sensor if isinstance(input_sensor, InputSensorDraw) else None
        self.input_sensor = None if self.sensor_draw else _as_sensor(input_sensor)
        self.lr_size = int(lr_size)
        self.scale_range = (float(scale_range[0]), float(scale_range[1]))
        self.bands_range = (int(bands_range[0]), int(bands_range[1]))
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.augment = bool(augment)
        if gain_range is not None and not 0 < gain_range[0] <= gain_range[1]:
            raise GeossrError(f"gain_range must satisfy 0 < min <= max, got {gain_range}")
        self.gain_range = None if gain_range is None else (float(gain_range[0]), float(gain_range[1]))
        self.groups = [list(range(len(self.cubes)))] if groups is None else [[int(i) for i in g] for g in groups]
        members = sorted(i for group in self.groups for i in group)
        if members != list(range(len(self.cubes))) or not all(self.groups):
            raise GeossrError("groups must be non-empty and hold every cube index exactly once")
        if len(self.groups) == 1:
            self.group_ranges = [_spectral_range(self.cubes, spectral_range_nm)]
        else:
            self.group_ranges = [_group_range([self.cubes[i] for i in g], spectral_range_nm) for g in self.groups]
        self.spectral_range_nm = (min(lo for lo, _ in self.group_ranges), max(hi for _, hi in self.group_ranges))
        self._sides = [min(cube.data.shape[1:]) for cube in self.cubes]
        for group in self.groups:
            if max(self._sides[i] for i in group) < self.lr_size:
                names = ", ".join(self.cubes[i].name for i in group)
                raise GeossrError(f"every cube of [{names}] is smaller than lr_size {self.lr_size}")
        self._pixels = [torch.from_numpy(cube.data) for cube in self.cubes]
        self._input_matrices = None if self.sensor_draw else self._matrices_for(self.input_sensor, members)
        self._group_shipped = None if self.sensor_draw is None or len(self.groups) == 1 else [
            self.sensor_draw.covered_shipped([self.cubes[i] for i in group]) for group in self.groups]
        self._targets: dict[tuple[int, int], tuple[torch.Tensor, dict[int, torch.Tensor]]] = {}
        self._next_index = 0

    def plan(self, index: int) -> BatchPlan:
        """The draws of batch ``index``, from a generator seeded with (seed, index)."""
        rng = np.random.default_rng([self.seed, index])
        scale = rng.uniform(*self.scale_range)
        bands = int(rng.integers(self.bands_range[0], self.bands_range[1] + 1))
        group = int(rng.integers(len(self.groups))) if len(self.groups) > 1 else 0  # one group: no draw
        members = self.groups[group]
        size = min(max(round(self.lr_size * scale), self.lr_size), max(self._sides[i] for i in members))
        fitting = [i for i in members if self._sides[i] >= size]
        crops = []
        for _ in range(self.batch_size):
            cube = fitting[int(rng.integers(len(fitting)))]
            _, height, width = self.cubes[cube].data.shape
            top, left = int(rng.integers(height - size + 1)), int(rng.integers(width - size + 1))
            orientation = (int(rng.integers(4)), bool(rng.integers(2))) if self.augment else (0, False)
            gain = math.exp(rng.uniform(*np.log(self.gain_range))) if self.gain_range else 1.0
            crops.append(Crop(cube, top, left, *orientation, gain))
        return BatchPlan(index, size, bands, tuple(crops), group)

    def batch(self, index: int) -> dict:
        """Batch ``index`` (random access; iteration yields batches 0, 1, 2, … from the saved state)."""
        plan = self.plan(index)
        intervals, target_matrices = self._target(plan.bands, plan.group)
        sensor, input_matrices = self.input_sensor, self._input_matrices
        if self.sensor_draw is not None:
            # Its own stream, so the crops and band counts are those of a fixed-sensor run.
            shipped = None if self._group_shipped is None else self._group_shipped[plan.group]
            sensor = self.sensor_draw.draw(np.random.default_rng([self.seed, index, 1]),
                                           self.group_ranges[plan.group], shipped)
            input_matrices = self._matrices_for(sensor, self.groups[plan.group])
        size = plan.size
        hr, lr = [], []
        for crop in plan.crops:
            pixels = self._pixels[crop.cube][:, crop.top : crop.top + size, crop.left : crop.left + size]
            if crop.turns:
                pixels = torch.rot90(pixels, crop.turns, dims=(1, 2))
            if crop.flip:
                pixels = pixels.flip(2)
            if crop.gain != 1.0:
                pixels = pixels * crop.gain
            hr.append(torch.tensordot(target_matrices[crop.cube], pixels, dims=1))
            lr.append(torch.tensordot(input_matrices[crop.cube], pixels, dims=1))
        batch = {
            "lr": spatial_downsample(torch.stack(lr), (self.lr_size, self.lr_size)),
            "hr": torch.stack(hr),
            "intervals": intervals.clone(),
            "scale": size / self.lr_size,
        }
        if self.sensor_draw is not None:
            batch["input_sensor"] = sensor
        return batch

    def _matrices_for(self, sensor: Sensor, cubes: list[int]) -> dict[int, torch.Tensor]:
        tolerance = self.sensor_draw.coverage_tolerance if self.sensor_draw else DEFAULT_COVERAGE_TOLERANCE
        return {i: spectral_matrix(self.cubes[i].sensor, sensor, tolerance) for i in cubes}

    def _target(self, bands: int, group: int) -> tuple[torch.Tensor, dict[int, torch.Tensor]]:
        """Intervals for C bands over the group's range and, per cube of the group, the matrix
        integrating its bands over them."""
        if (bands, group) not in self._targets:
            intervals = contiguous_intervals(*self.group_ranges[group], bands)
            target = target_sensor_from_intervals(intervals)
            matrices = {i: spectral_matrix(self.cubes[i].sensor, target) for i in self.groups[group]}
            self._targets[bands, group] = (intervals, matrices)
        return self._targets[bands, group]

    def __iter__(self):
        return self

    def __next__(self) -> dict:
        batch = self.batch(self._next_index)
        self._next_index += 1
        return batch

    def state_dict(self) -> dict:
        return {"seed": self.seed, "next_index": self._next_index}

    def load_state_dict(self, state: dict) -> None:
        """Resume: the next batch is the one an uninterrupted run would have drawn next."""
        try:
            self.seed, self._next_index = int(state["seed"]), int(state["next_index"])
        except (KeyError, TypeError, ValueError):
            raise GeossrError("sampler state must hold integer 'seed' and 'next_index'") from None


def evaluation_pairs(
    cubes: list[HyperspectralCube],
    input_sensor: str | Sensor,
    scale: float,
    bands: int,
    spectral_range_nm: tuple[float, float] | None = None,
    crop: int | None = None,
    coverage_tolerance: float = DEFAULT_COVERAGE_TOLERANCE,
) -> list[dict]:
    """One deterministic full-scene pair per cube, each a batch of one.

    ``crop`` limits each scene to its centred ``crop`` x ``crop`` high-resolution pixels first
    (quick validation during training).

    The low-resolution size is h = floor(H / scale); the cube is centre-cropped to
    round(h · scale) rows (likewise columns) so the crop is exactly h input pixels at that scale
    (512 at scale 2.5 → 510 → 204). When h · scale is not a whole number the rounding changes
    the scale slightly; the pair's ``scale`` is the one used, Hc / h. Targets are C contiguous
    uniform bands over the spectral range (default: the cubes' common coverage), as in training.
    Returns ``{"name", "lr" (1, c, h, w), "hr" (1, C, Hc, Wc), "intervals" (C, 2), "scale"}``.
    """
    if not scale >= 1:
        raise GeossrError(f"evaluation scale must be >= 1, got {scale}")
    input_sensor = _as_sensor(input_sensor)
    intervals = contiguous_intervals(*_spectral_range(cubes, spectral_range_nm), bands)
    target = target_sensor_from_intervals(intervals)
    pairs = []
    for cube in cubes:
        _, height, width = cube.data.shape
        if crop is not None:
            height, width = min(height, crop), min(width, crop)
        low = (math.floor(height / scale), math.floor(width / scale))
        if min(low) < 1:
            raise GeossrError(f"scale {scale:g} leaves no pixel of {cube.name} ({height}x{width})")
        crop_h, crop_w = round(low[0] * scale), round(low[1] * scale)
        top, left = (cube.data.shape[1] - crop_h) // 2, (cube.data.shape[2] - crop_w) // 2
        pixels = torch.from_numpy(cube.data[:, top : top + crop_h, left : left + crop_w])
        simulated = torch.tensordot(spectral_matrix(cube.sensor, input_sensor, coverage_tolerance), pixels, dims=1)
        pairs.append({
            "name": cube.name,
            "lr": spatial_downsample(simulated[None], low),
            "hr": torch.tensordot(spectral_matrix(cube.sensor, target), pixels, dims=1)[None],
            "intervals": intervals.clone(),
            "scale": crop_h / low[0],
        })
    return pairs
