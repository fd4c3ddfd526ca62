"""geossr on a real dask.distributed cluster: a `dask scheduler` and two `dask worker` processes started
here, each worker in a folder of its own (as on another machine that shares the filesystem)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import rasterio

from cli_runner import command, environment

IKONOS = "ikonos:blue,green,red,nir"
START_TIMEOUT_S = 60


def dask_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "dask", *args]


def start(args: list[str], cwd: Path, log: Path) -> subprocess.Popen:
    with open(log, "w") as out:
        return subprocess.Popen(args, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                env=environment(OMP_NUM_THREADS="1"))


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """(scheduler address, [worker processes]); the workers run in folders other than the client's."""
    root = tmp_path_factory.mktemp("cluster")
    scheduler_file = root / "scheduler.json"
    procs = [start(dask_command("scheduler", "--scheduler-file", str(scheduler_file), "--port", "0",
                                "--no-dashboard", "--host", "127.0.0.1"), root, root / "scheduler.log")]
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not scheduler_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        address = json.loads(scheduler_file.read_text())["address"]
        for name in ("a", "b"):
            (root / name).mkdir()
            procs.append(start(dask_command("worker", address, "--nthreads", "1", "--no-dashboard",
                                            "--name", name), root / name, root / f"worker_{name}.log"))
        from distributed import Client

        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=START_TIMEOUT_S)
        yield address, procs[1:]
    finally:
        for proc in procs:
            stop(proc)


@pytest.fixture(scope="module")
def ikonos_scene(tmp_path_factory, rosis_example):
    from geossr.scene.simulate import simulate

    folder = tmp_path_factory.mktemp("client")
    simulate(rosis_example, IKONOS, folder / "pavia_ikonos.tif")
    return folder / "pavia_ikonos.tif"


def geossr_run(*args, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([*command(), *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=environment())


def read(path: Path) -> np.ndarray:
    with rasterio.open(path) as ds:
        return ds.read()


def test_device_is_checked_on_the_workers(cluster, ikonos_scene):
    address, _ = cluster
    result = geossr_run("upsample", ikonos_scene.name, "--scale", "2", "--sensor", "rosis", "--device", "cuda",
                        "--scheduler", address, "-o", "out.tif", cwd=ikonos_scene.parent)
    assert result.returncode == 1
    assert result.stderr.startswith("geossr: error: dask worker tcp://127.0.0.1:")
    assert result.stderr.rstrip().endswith("--device cuda: no CUDA GPU is available on this worker")
    assert len(result.stderr.splitlines()) == 1
    assert not (ikonos_scene.parent / "out.tif").exists()


def test_workers_that_cannot_read_the_input_or_run_other_versions_are_refused(cluster, ikonos_scene, monkeypatch):
    from distributed import Client

    import geossr
    from geossr.errors import GeossrError
    from geossr.scene.cluster import prepare_workers

    address, _ = cluster
    with Client(address, timeout="30s") as client:
        assert prepare_workers(client, [str(ikonos_scene)], "auto", "fp32") == []
        missing = str(ikonos_scene.with_name("only_on_the_client.tif"))
        with pytest.raises(GeossrError, match=r"dask worker tcp://\S+ cannot read .*only_on_the_client.tif .*shared "
                                              r"filesystem under the same absolute path, or as a URL"):
            prepare_workers(client, [missing], "auto", "fp32")
        monkeypatch.setattr(geossr, "__version__", "0.0.0-client")
        with pytest.raises(GeossrError, match=rf"runs geossr {geossr_version()} with torch .*, this process geossr "
                                              r"0.0.0-client .*install the same versions on every worker"):
            prepare_workers(client, [str(ikonos_scene)], "auto", "fp32")


def geossr_version() -> str:
    from importlib.metadata import version

    return version("geossr").replace(".", r"\.").replace("+", r"\+")


def test_a_relative_input_and_a_worker_killed_midway_still_give_the_local_result(cluster, ikonos_scene):
    """Last in this file: it kills a worker. The input is named relative to the client's folder."""
    address, workers = cluster
    folder = ikonos_scene.parent
    args = ("upsample", ikonos_scene.name, "--scale", "4", "--sensor", "rosis", "--tile", "64")
    local = geossr_run(*args, "-o", "local.tif", cwd=folder)
    assert local.returncode == 0, local.stderr
    proc = subprocess.Popen([*command(), *args, "--scheduler", address, "-o", "cluster.tif", "--progress-json"],
                            cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment(),
                            start_new_session=True)
    try:
        for line in proc.stdout:
            step = json.loads(line)
            if step["done"] >= step["total"] // 4 > 0:
                os.killpg(workers[0].pid, signal.SIGKILL)
                break
        remaining, stderr = proc.communicate(timeout=300)
    finally:
        stop(proc)
    assert workers[0].poll() is not None, "the run ended before a worker could be killed"
    assert proc.returncode == 0, stderr
    assert json.loads(remaining.splitlines()[-1])["done"] == step["total"]
    np.testing.assert_allclose(read(folder / "cluster.tif"), read(folder / "local.tif"), rtol=0, atol=1e-5)
