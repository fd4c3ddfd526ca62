"""Outputs verified, not trusted, on a rerun; one writer per output (issue 27, items 5 and 6).

A rerun of a batch checks the block checksum of each finished output it would skip: a damaged one
(bytes overwritten, truncated) is redone on its own, with a warning. A second writer of an output
is refused at start; temporaries are removed only when their writer is gone. Every run is the real
CLI on copies of the Pavia ROSIS example, bicubic x4 to IKONOS (a few seconds each).
"""

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import rasterio

from cli_runner import command as cli_command
from cli_runner import environment
from cli_runner import geossr as run_cli

ARGS = ["--model", "bicubic", "--scale", 4, "--sensor", "ikonos", "--tile", 32]
NAMES = ["a", "b", "c"]


def geossr(*args, cwd):
    return run_cli(*args, cwd=cwd, timeout=180, env=environment(COLUMNS="80"))


def batch(inputs: Path, out_dir: Path):
    return geossr("upsample", *(inputs / f"{name}.tif" for name in NAMES), "--out-dir", out_dir, *ARGS, "--json",
                  cwd=out_dir.parent)


def output(out_dir: Path, name: str) -> Path:
    return out_dir / f"{name}_geossr.tif"


def hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def read(path: Path) -> np.ndarray:
    with rasterio.open(path) as ds:
        return ds.read()  # raises on a missing or undecodable block


def assert_same_pixels(path: Path, expected: np.ndarray) -> None:
    data = read(path)
    assert data.shape == expected.shape == (5, 400, 400)
    assert np.array_equal(data, expected, equal_nan=True)
    assert np.isfinite(data).all() and data.std() > 0


def warnings_in(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("geossr: warning:")]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, rosis_example):
    """A folder with three copies of the example, a.tif, b.tif and c.tif."""
    folder = tmp_path_factory.mktemp("inputs")
    for name in NAMES:
        shutil.copy2(rosis_example, folder / f"{name}.tif")
    return folder


@pytest.fixture(scope="module")
def finished(inputs, tmp_path_factory):
    """The output folder of a finished batch of the three inputs."""
    out_dir = tmp_path_factory.mktemp("finished")
    result = batch(inputs, out_dir)
    assert result.returncode == 0, result.stderr
    assert [entry["status"] for entry in json.loads(result.stdout)] == ["written"] * 3
    return out_dir


@pytest.fixture
def rerun_dir(finished, tmp_path):
    out_dir = tmp_path / "out"
    shutil.copytree(finished, out_dir)  # copy2: bytes and mtimes kept
    return out_dir


def test_damaged_outputs_are_redone_on_their_own_and_intact_ones_skipped(inputs, rerun_dir):
    intact, zeroed, truncated = (output(rerun_dir, name) for name in NAMES)
    pixels = {path: read(path) for path in (intact, zeroed, truncated)}
    kept = (intact.read_bytes(), intact.stat().st_mtime_ns)

    size = zeroed.stat().st_size
    assert size > 2 * 2**20
    with open(zeroed, "r+b") as file:  # 1 MB of zeros in the middle, the size unchanged
        file.seek(size // 2 - 2**19)
        file.write(bytes(2**20))
    assert zeroed.stat().st_size == size
    with rasterio.open(zeroed) as ds:  # the header survives: it opens, with the request's tag
        assert ds.tags().get("GEOSSR_REQUEST")
    with pytest.raises(rasterio.errors.RasterioIOError):
        read(zeroed)
    os.truncate(truncated, truncated.stat().st_size * 6 // 10)

    rerun = batch(inputs, rerun_dir)
    assert rerun.returncode == 0, rerun.stderr
    assert [entry["status"] for entry in json.loads(rerun.stdout)] == [
        "skipped (already complete)", "written", "written"]
    assert warnings_in(rerun.stderr) == [
        f"geossr: warning: {zeroed} is damaged (checksum mismatch); redoing it",
        f"geossr: warning: {truncated} is damaged (checksum mismatch); redoing it",
    ], rerun.stderr
    assert (intact.read_bytes(), intact.stat().st_mtime_ns) == kept
    for path in (intact, zeroed, truncated):
        assert_same_pixels(path, pixels[path])
    assert hidden(rerun_dir) == []

    # The redone files carry a checksum that verifies: the next rerun skips all three.
    again = batch(inputs, rerun_dir)
    assert again.returncode == 0, again.stderr
    assert [entry["status"] for entry in json.loads(again.stdout)] == ["skipped (already complete)"] * 3
    assert warnings_in(again.stderr) == []


def test_metadata_edited_in_place_is_not_damage(inputs, rerun_dir):
    edited = output(rerun_dir, "a")
    with rasterio.open(edited, "r+") as ds:  # as gdal_edit would: GDAL rewrites the file's directory
        ds.update_tags(NOTE="checked by hand")
    mtime = edited.stat().st_mtime_ns
    rerun = batch(inputs, rerun_dir)
    assert rerun.returncode == 0, rerun.stderr
    assert [entry["status"] for entry in json.loads(rerun.stdout)] == ["skipped (already complete)"] * 3
    assert edited.stat().st_mtime_ns == mtime
    with rasterio.open(edited) as ds:
        assert ds.tags()["NOTE"] == "checked by hand"


def test_damaged_cog_is_redone(inputs, tmp_path):
    shutil.copy2(inputs / "a.tif", tmp_path / "a.tif")
    args = ["upsample", "a.tif", "-o", "cog.tif", *ARGS, "--cog", "--json"]
    first = geossr(*args, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    cog = tmp_path / "cog.tif"
    pixels = read(cog)
    size = cog.stat().st_size
    with open(cog, "r+b") as file:
        file.seek(size // 2)
        file.write(bytes(2**16))
    rerun = geossr(*args, cwd=tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    assert json.loads(rerun.stdout)[0]["status"] == "written"
    assert warnings_in(rerun.stderr) == ["geossr: warning: cog.tif is damaged (checksum mismatch); redoing it"]
    assert_same_pixels(cog, pixels)
    assert hidden(tmp_path) == []


def start_writer(folder: Path, target: str) -> subprocess.Popen:
    """A first `-o TARGET` run, returned once its temporary exists (it is then in its write: ~2 s of blocks)."""
    proc = subprocess.Popen([*cli_command(), "upsample", "a.tif", "-o", target, *map(str, ARGS), "-q"], cwd=folder,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env=environment(COLUMNS="80"))
    deadline = time.monotonic() + 120
    while not any(n.endswith(".tmp.tif") for n in hidden(folder)) and proc.poll() is None:
        assert time.monotonic() < deadline, "the first run wrote no temporary in 120 s"
        time.sleep(0.001)
    assert proc.poll() is None, f"the first run ended before it could be caught writing: {proc.communicate()[1]}"
    return proc


def test_second_writer_is_refused_at_start_and_the_first_completes(inputs, finished, tmp_path):
    shutil.copy2(inputs / "a.tif", tmp_path / "a.tif")
    first = start_writer(tmp_path, "out.tif")
    try:
        os.kill(first.pid, signal.SIGSTOP)  # keeps it mid-write, whatever the second run's start-up takes
        leftovers = hidden(tmp_path)
        assert ".out.tif.lock" in leftovers and any(n.endswith(".tmp.tif") for n in leftovers), leftovers
        second = geossr("upsample", "a.tif", "-o", "out.tif", *ARGS, cwd=tmp_path)
        assert second.returncode == 1
        assert second.stderr.splitlines() == [
            f"geossr: error: out.tif is being written by another geossr process (pid {first.pid})"], second.stderr
        assert hidden(tmp_path) == leftovers  # its temporary and lock untouched
        assert not (tmp_path / "out.tif").exists()
        os.kill(first.pid, signal.SIGCONT)
        _, stderr = first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            os.kill(first.pid, signal.SIGCONT)
            first.kill()
            first.wait()
    assert first.returncode == 0, stderr
    assert_same_pixels(tmp_path / "out.tif", read(output(finished, "a")))
    assert hidden(tmp_path) == []


def test_an_output_locked_by_another_process_fails_alone_in_a_batch(inputs, finished, tmp_path):
    from geossr.fileio import output_lock

    for name in NAMES[:2]:
        shutil.copy2(inputs / f"{name}.tif", tmp_path / f"{name}.tif")
    (tmp_path / "out").mkdir()
    locked = output(tmp_path / "out", "b")
    live = locked.with_name(f".{locked.name}.abcd1234.tmp.tif")  # named as the holder's temporary would be
    with output_lock(locked, ".tmp.tif"):
        live.write_bytes(b"being written")
        result = geossr("upsample", "a.tif", "b.tif", "--out-dir", "out", *ARGS, "--json", cwd=tmp_path)
        assert live.read_bytes() == b"being written"
    assert result.returncode == 1
    statuses = [entry["status"] for entry in json.loads(result.stdout)]
    assert statuses[0] == "written"
    message = f"{Path('out') / locked.name} is being written by another geossr process (pid {os.getpid()})"
    assert statuses[1] == f"failed: {message}"
    assert [line for line in result.stderr.splitlines() if line.startswith("geossr: error:")] == [
        f"geossr: error: b.tif: {message}"]
    assert_same_pixels(output(tmp_path / "out", "a"), read(output(finished, "a")))
    assert not locked.exists()
    assert hidden(tmp_path / "out") == [live.name]  # the holder's lock file went with it


def test_temporaries_of_a_killed_writer_are_removed_and_only_those(inputs, finished, tmp_path):
    from geossr.fileio import output_lock

    shutil.copy2(inputs / "a.tif", tmp_path / "a.tif")
    first = start_writer(tmp_path, "out.tif")
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=30)
    left = hidden(tmp_path)
    assert ".out.tif.lock" in left and any(n.endswith(".tmp.tif") for n in left), left
    # A live writer of another output whose name starts alike ("out.tif" + ".tif"): its temporary stays.
    other = tmp_path / "out.tif.tif"
    live = tmp_path / ".out.tif.tif.abcd1234.tmp.tif"
    with output_lock(other, ".tmp.tif"):
        live.write_bytes(b"being written")
        rerun = geossr("upsample", "a.tif", "-o", "out.tif", *ARGS, cwd=tmp_path)
        assert rerun.returncode == 0, rerun.stderr
        assert hidden(tmp_path) == sorted([live.name, ".out.tif.tif.lock"])
    assert_same_pixels(tmp_path / "out.tif", read(output(finished, "a")))


@pytest.mark.parametrize("tile", [64, 96, 128])
def test_tiles_write_whole_blocks_so_the_file_does_not_grow(rosis_example, tmp_path, tile):
    """A block written in parts is appended by GDAL (the old bytes left dead): with 192 px blocks and
    128 px tiles this output was 1.8x the size. Blocks now divide the tile."""
    from geossr.scene.simulate import simulate
    from geossr.scene.upsample import upsample_file

    simulate(rosis_example, "ikonos:blue,green,red,nir", tmp_path / "ikonos.tif", scale=4)  # 25 x 25 px
    sizes = {}
    for t in (256, tile):
        out = tmp_path / f"t{t}.tif"
        upsample_file(tmp_path / "ikonos.tif", out, scale=8, sensor="rosis", model="bicubic", tile=t)
        with rasterio.open(out) as ds:
            block = ds.block_shapes[0]
        sizes[t] = out.stat().st_size
    assert block == (tile, tile)
    assert sizes[tile] < 1.05 * sizes[256], sizes
