"""`geossr upsample` on batches: failures, resuming, kill -9, and dask.distributed (workers dying).

Inputs are small real scenes: IKONOS blue/green/red/NIR simulated from the Pavia ROSIS example
(georeferenced, with wavelength metadata), at a few resolutions. The CLI tests run the installed
console script in a subprocess, as a user would.
"""

import json
import math
import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import rasterio

from cli_runner import command as cli_command
from cli_runner import environment
from cli_runner import geossr as run_cli

IKONOS = "ikonos:blue,green,red,nir"
SCALE = 4
TILE = 32


def cli_env() -> dict:
    # An 80-column "terminal", whatever the caller's: error lines must not wrap anyway.
    return environment(COLUMNS="80")


def geossr(*args, cwd, timeout=120):
    return run_cli(*args, cwd=cwd, timeout=timeout, env=cli_env())


def upsample_args(inputs, out_dir, *extra, scale=SCALE):
    return ["upsample", *inputs, "--out-dir", out_dir, "--scale", scale, "--sensor", IKONOS,
            "--model", "bicubic", "--tile", TILE, *extra]


def output_of(out_dir: Path, source: Path) -> Path:
    return out_dir / f"{source.stem}_geossr.tif"


def hidden(out_dir: Path) -> list[str]:
    return sorted(p.name for p in out_dir.iterdir() if p.name.startswith("."))


def assert_valid_output(path: Path, source: Path, scale: float = SCALE) -> None:
    """A complete GeoTIFF: opens, full size, every block decodes, finite data, georeferenced like the input."""
    with rasterio.open(source) as src, rasterio.open(path) as out:
        assert out.driver == "GTiff"
        assert out.count == 4
        assert (out.height, out.width) == (math.floor(src.height * scale), math.floor(src.width * scale))
        assert out.tags().get("GEOSSR_REQUEST"), f"{path} lacks the request tag"
        assert out.crs == src.crs
        assert np.allclose(out.transform.a, src.transform.a / scale)
        data = out.read()  # raises if any block is missing
        assert np.isfinite(data).all(), f"{path} has non-finite pixels"
        assert data.std() > 0


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("geossr: error:")]


def assert_one_line_messages(stderr: str) -> None:
    """Every stderr line is a whole `geossr: ...` message (no wrapped continuation lines, no stray warnings)."""
    for line in stderr.splitlines():
        if line.strip():
            assert line.startswith("geossr: "), f"stray or wrapped stderr line: {line!r}\n{stderr}"


@pytest.fixture(scope="module")
def scenes(tmp_path_factory, rosis_example):
    """Real IKONOS scenes simulated from ROSIS: name -> path (100x100, 90x90, 80x80, 50x50 px)."""
    from geossr.scene.simulate import simulate

    folder = tmp_path_factory.mktemp("scenes")
    paths = {}
    for name, scale in (("pavia_full", None), ("pavia_s110", 1.1), ("pavia_s125", 1.25), ("pavia_s2", 2.0)):
        paths[name] = folder / f"{name}.tif"
        simulate(rosis_example, IKONOS, paths[name], scale=scale)
    bad = folder / "bad.tif"
    bad.write_text("this is a text file, not a raster\n")
    paths["bad"] = bad
    return paths


@pytest.fixture(scope="module")
def first_batch(tmp_path_factory, scenes):
    """One batch run: two good inputs around a bad one, with --json."""
    out_dir = tmp_path_factory.mktemp("batch")
    inputs = [scenes["pavia_s125"], scenes["bad"], scenes["pavia_s2"]]
    result = geossr(*upsample_args(inputs, out_dir, "--json"), cwd=out_dir)
    return inputs, out_dir, result


def test_batch_with_one_bad_input_writes_the_others_and_exits_1(first_batch):
    (good1, bad, good2), out_dir, result = first_batch
    assert result.returncode == 1, result.stderr
    assert_valid_output(output_of(out_dir, good1), good1)
    assert_valid_output(output_of(out_dir, good2), good2)
    assert not output_of(out_dir, bad).exists()
    errors = error_lines(result.stderr)
    assert len(errors) == 1 and str(bad) in errors[0] and "not a raster" in errors[0], result.stderr
    assert_one_line_messages(result.stderr)
    summary = json.loads(result.stdout)
    assert [entry["input"] for entry in summary] == [str(good1), str(bad), str(good2)]
    assert [entry["status"] for entry in summary][::2] == ["written", "written"]
    assert summary[1]["status"].startswith("failed: ") and str(bad) in summary[1]["status"]
    assert summary[0]["output_size"] == [320, 320] and summary[2]["output_size"] == [200, 200]
    assert hidden(out_dir) == []
    assert sorted(p.name for p in out_dir.iterdir()) == sorted(output_of(out_dir, p).name for p in (good1, good2))


def test_rerun_skips_complete_outputs_refuses_changed_ones_and_redoes_truncated_ones(first_batch, tmp_path):
    inputs, first_out, _ = first_batch
    good1, bad, good2 = inputs
    out_dir = tmp_path / "out"
    shutil.copytree(first_out, out_dir)  # copy2: bytes and mtimes kept
    outputs = [output_of(out_dir, good1), output_of(out_dir, good2)]
    before = [(p.read_bytes(), p.stat().st_mtime_ns) for p in outputs]

    rerun = geossr(*upsample_args(inputs, out_dir, "--json"), cwd=tmp_path)
    assert rerun.returncode == 1, rerun.stderr  # bad.tif still fails
    statuses = [entry["status"] for entry in json.loads(rerun.stdout)]
    assert statuses[0] == statuses[2] == "skipped (already complete)", statuses
    assert statuses[1].startswith("failed: ")
    assert [(p.read_bytes(), p.stat().st_mtime_ns) for p in outputs] == before
    assert len(error_lines(rerun.stderr)) == 1

    changed = geossr(*upsample_args(inputs, out_dir, "--json", scale=3), cwd=tmp_path)
    assert changed.returncode == 1
    statuses = [entry["status"] for entry in json.loads(changed.stdout)]
    assert all(s.startswith("failed: output exists") for s in statuses[::2]), statuses
    assert [(p.read_bytes(), p.stat().st_mtime_ns) for p in outputs] == before
    assert_one_line_messages(changed.stderr)

    # A truncated file under the final name (a copy cut short, a full disk) is not a finished output:
    # its checksum fails and it is redone on its own (tests/test_output_integrity.py has more).
    corrupt = outputs[1]
    corrupt.write_bytes(before[1][0][: len(before[1][0]) // 2])
    with rasterio.open(corrupt) as ds:  # still opens, with the right tag: only its data is missing
        assert ds.tags().get("GEOSSR_REQUEST")
    again = geossr(*upsample_args(inputs, out_dir, "--json"), cwd=tmp_path)
    statuses = [entry["status"] for entry in json.loads(again.stdout)]
    assert statuses[0] == "skipped (already complete)"
    assert statuses[2] == "written", statuses
    assert f"geossr: warning: {corrupt} is damaged (checksum mismatch); redoing it" in again.stderr.splitlines()
    assert_valid_output(corrupt, good2)
    assert outputs[0].stat().st_mtime_ns == before[0][1]
    assert_one_line_messages(again.stderr)

    redone = geossr(*upsample_args([good2], out_dir, "--json", "--overwrite"), cwd=tmp_path)
    assert redone.returncode == 0, redone.stderr
    assert json.loads(redone.stdout)[0]["status"] == "written"
    assert_valid_output(corrupt, good2)
    assert hidden(out_dir) == []


def test_kill_9_mid_batch_leaves_only_complete_outputs_and_the_rerun_finishes(scenes, tmp_path):
    # The small scene first, so the kill (once its output is in place) lands in a larger one.
    inputs = [scenes["pavia_s2"], scenes["pavia_full"], scenes["pavia_s110"], scenes["pavia_s125"]]
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    first = output_of(out_dir, inputs[0])
    command = [*cli_command(), *map(str, upsample_args(inputs, out_dir, "-q"))]
    proc = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=cli_env())
    try:
        deadline = time.monotonic() + 90
        while not first.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        assert first.exists(), f"no output appeared (exit code {proc.poll()})"
        # Then wait for the next file's temporary, so the kill lands in the middle of a write.
        deadline = time.monotonic() + 20
        while not hidden(out_dir) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    finished = [p for p in inputs if output_of(out_dir, p).exists()]
    assert finished and len(finished) < len(inputs), "the kill did not land mid-batch"
    assert hidden(out_dir), "the kill did not land mid-write (no temporary left)"
    for source in finished:
        assert_valid_output(output_of(out_dir, source), source)
    assert sorted(p.name for p in out_dir.iterdir() if not p.name.startswith(".")) == sorted(
        output_of(out_dir, p).name for p in finished)
    kept = {p: output_of(out_dir, p).read_bytes() for p in finished}

    rerun = geossr(*upsample_args(inputs, out_dir, "--json"), cwd=tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    statuses = {entry["input"]: entry["status"] for entry in json.loads(rerun.stdout)}
    for source in inputs:
        expected = "skipped (already complete)" if source in finished else "written"
        assert statuses[str(source)] == expected, statuses
        assert_valid_output(output_of(out_dir, source), source)
    assert all(output_of(out_dir, p).read_bytes() == data for p, data in kept.items())
    assert hidden(out_dir) == []


def read(path: Path) -> np.ndarray:
    with rasterio.open(path) as ds:
        return ds.read()


def assert_same_raster(a: Path, b: Path, atol: float = 1e-5) -> None:
    x, y = read(a), read(b)
    assert x.shape == y.shape
    assert np.array_equal(np.isnan(x), np.isnan(y))
    assert np.nanmax(np.abs(x - y)) <= atol


@pytest.mark.slow
def test_distributed_run_survives_a_killed_worker(scenes, tmp_path):
    import torch
    from distributed import Client, LocalCluster

    from geossr.models import build
    from geossr.models.checkpoint import save_checkpoint
    from geossr.scene.upsample import upsample_file

    torch.manual_seed(0)
    net = build("ssif", input_sensor=IKONOS, encoder={"name": "edsr-baseline", "width": 8, "blocks": 2},
                pixel_hidden=[16], pixel_dim=16)
    weights = save_checkpoint(net, tmp_path / "tiny_ssif.safetensors")
    source = scenes["pavia_s125"]  # 80x80 -> 160x160 at x2: 100 tiles of 16 px, 25 rounds of 4
    options = dict(scale=2, sensor=IKONOS, model="ssif", weights=str(weights), tile=16, device="cpu")
    reference = upsample_file(source, tmp_path / "local.tif", **options)
    assert reference["status"] == "written"

    target = tmp_path / "distributed.tif"
    state = {}
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        pids = client.run(os.getpid)
        assert len(pids) == 2
        victim = next(iter(pids.values()))

        def kill_a_worker():
            deadline = time.monotonic() + 60
            while not hidden(tmp_path) and time.monotonic() < deadline:  # the write has begun
                time.sleep(0.005)
            time.sleep(0.1)
            state["writing"] = bool(hidden(tmp_path))
            os.kill(victim, signal.SIGKILL)
            state["killed"] = True

        killer = threading.Thread(target=kill_a_worker, daemon=True)
        killer.start()
        summary = upsample_file(source, target, **options)
        killer.join(timeout=60)
        assert state.get("killed") and state.get("writing"), f"the worker was not killed mid-computation: {state}"
        assert victim not in client.run(os.getpid).values()
    assert summary["status"] == "written"
    assert summary["output_size"] == [160, 160]
    assert_same_raster(target, tmp_path / "local.tif")
    assert np.isfinite(read(target)).all()
    assert hidden(tmp_path) == []


def test_unreachable_scheduler_is_a_one_line_error(scenes, tmp_path):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    started = time.monotonic()
    result = geossr(*upsample_args([scenes["pavia_s2"]], out_dir, "--scheduler", "tcp://127.0.0.1:9"),
                    cwd=tmp_path, timeout=90)
    elapsed = time.monotonic() - started
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("geossr: error:") and "tcp://127.0.0.1:9" in lines[0], \
        result.stderr
    # ~15 s on an idle machine: the 10 s connect timeout plus start-up (dask's default would be 30 s).
    assert elapsed < 30, f"took {elapsed:.1f} s to give up"
    assert list(out_dir.iterdir()) == []


@pytest.mark.slow
def test_local_cluster_scheduler_matches_the_default_scheduler(first_batch, tmp_path):
    inputs, first_out, _ = first_batch
    source = inputs[2]
    target = tmp_path / "cluster.tif"
    result = geossr("upsample", source, "-o", target, "--scale", SCALE, "--sensor", IKONOS, "--model", "bicubic",
                    "--tile", TILE, "--scheduler", "local:2", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)[0]["status"] == "written"
    assert_valid_output(target, source)
    assert_same_raster(target, output_of(first_out, source))  # the same request without --scheduler
    assert hidden(tmp_path) == []


@pytest.mark.parametrize("scheduler", [None, "local:2"])
def test_ctrl_c_is_one_line_exit_130_and_leaves_nothing(scenes, tmp_path, scheduler):
    """Ctrl-C, as a terminal sends it (SIGINT to the whole process group, cluster workers included),
    once the first output is written and the second is under way."""
    inputs = [scenes["pavia_s2"], scenes["pavia_full"], scenes["pavia_s110"]]
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    extra = ["--scheduler", scheduler] if scheduler else []
    command = [*cli_command(), *map(str, upsample_args(inputs, out_dir, "-q", *extra, scale=6))]
    proc = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env=cli_env(), start_new_session=True,
                            # as from a terminal, even where this runs with SIGINT ignored (a background job)
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        first = output_of(out_dir, inputs[0])
        deadline = time.monotonic() + 120
        while not (first.exists() and hidden(out_dir)) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        assert first.exists() and hidden(out_dir), f"the second output never started (exit code {proc.poll()})"
        os.killpg(proc.pid, signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130
    assert stderr.splitlines() == ["geossr: error: interrupted; no partial output left"]
    assert sorted(p.name for p in out_dir.iterdir()) == [first.name]  # the finished one, no temporaries
    assert_valid_output(first, inputs[0], scale=6)


@pytest.fixture
def full_disk(tmp_path):
    """A 2 MB tmpfs: where the machine lets the test mount one (root, or CAP_SYS_ADMIN)."""
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2M", "tmpfs", str(mount_point)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.strip()}")
    yield mount_point
    subprocess.run(["umount", str(mount_point)], check=True)


def test_a_full_disk_is_one_line_naming_the_output_and_stops_the_batch(scenes, full_disk, tmp_path):
    inputs = [scenes["pavia_full"], scenes["pavia_s2"]]
    result = geossr(*upsample_args(inputs, full_disk, scale=8), cwd=tmp_path)
    assert result.returncode == 1
    first = output_of(full_disk, inputs[0])
    assert error_lines(result.stderr) == [
        f"geossr: error: {inputs[0]}: no space left on device writing {first}; stopping the batch "
        "(outputs finished before it are kept)"], result.stderr
    assert_one_line_messages(result.stderr)  # libtiff's own "_tiffWriteProc: No space left" lines too
    assert list(full_disk.iterdir()) == []  # no partial output, no temporary
