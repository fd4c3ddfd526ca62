"""A dask.distributed LocalCluster set up for torch inference on one machine."""

from __future__ import annotations

import contextlib
import os
import signal
import threading

import dask

from geossr.extras import require
from geossr.scene.io import STREAM_BLOCK_CACHE_BYTES

# distributed starts workers with MALLOC_TRIM_THRESHOLD_ set, which switches off glibc's dynamic
# mmap threshold: every large decoder temporary then becomes a fresh mmap (page faults and
# zeroing on each tile). A fixed 64 MiB threshold restores reuse; measured 1.5x per worker
# (benchmarks/results/engine.md).
MMAP_THRESHOLD_BYTES = 64 * 2**20


@contextlib.contextmanager
def local_cluster(workers: int):
    """Yield a Client of ``workers`` single-task worker processes sharing this machine's cores.

    torch's thread count is set through the environment (OMP_NUM_THREADS), so a worker that the
    nanny restarts after a crash gets the same setting.
    """
    require("distributed", "--scheduler local:N")
    from distributed import Client, LocalCluster

    torch_threads = max(1, (os.cpu_count() or 1) // workers)
    environ = {"distributed.nanny.pre-spawn-environ.MALLOC_MMAP_THRESHOLD_": MMAP_THRESHOLD_BYTES,
               "distributed.nanny.pre-spawn-environ.OMP_NUM_THREADS": torch_threads,
               # a worker's warnings (tasks cancelled when the run stops) are not the user's business
               "distributed.nanny.pre-spawn-environ.DASK_LOGGING__DISTRIBUTED": "error"}
    if "GDAL_CACHEMAX" not in os.environ:  # workers read the input: their GDAL caches stay bounded too
        environ["distributed.nanny.pre-spawn-environ.GDAL_CACHEMAX"] = STREAM_BLOCK_CACHE_BYTES
    with dask.config.set(environ), _workers_ignore_ctrl_c():
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
    with cluster, Client(cluster) as client:
        yield client


@contextlib.contextmanager
def _workers_ignore_ctrl_c():
    """Worker processes started here inherit an ignored SIGINT: a terminal's Ctrl-C reaches the whole
    process group, and workers that die of it print a hundred lines of tracebacks. The calling
    process alone stops, and closes the cluster on its way out."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def prepare_workers(client, inputs: list[str], device: str, precision: str) -> list[str]:
    """Before a run on a dask cluster, on every worker: the same geossr and torch as here, each input
    readable, the device there; and torch's threads, GDAL's block cache and HTTP timeouts set as a
    local run sets them. Raises GeossrError naming the first worker that fails; returns the workers'
    warnings (reduced precision their hardware only emulates), once each.

    Tiles are read and computed on the workers, so an input must be there under the same name: a
    shared filesystem (the same absolute path) or a URL.
    """
    import torch

    import geossr
    from geossr.errors import GeossrError

    from distributed.comm import get_address_host

    tasks_on_host: dict[str, int] = {}
    for address, threads in client.nthreads().items():
        host = get_address_host(address)
        tasks_on_host[host] = tasks_on_host.get(host, 0) + threads
    facts = client.run(_worker_facts, list(inputs), device, precision, tasks_on_host)
    here = {"geossr": geossr.__version__, "torch": torch.__version__}
    warnings = []
    for address, fact in sorted(facts.items()):
        if {key: fact[key] for key in here} != here:
            raise GeossrError(f"dask worker {address} runs geossr {fact['geossr']} with torch {fact['torch']}, this "
                              f"process geossr {here['geossr']} with torch {here['torch']}: install the same "
                              "versions on every worker")
        if fact["unreadable"]:
            path, reason = fact["unreadable"]
            raise GeossrError(f"dask worker {address} cannot read {path} ({reason}): the workers need the input on a "
                              "shared filesystem under the same absolute path, or as a URL")
        if fact["device_error"]:
            raise GeossrError(f"dask worker {address}: {fact['device_error']}")
        if fact["precision_warning"] and fact["precision_warning"] not in warnings:
            warnings.append(fact["precision_warning"])
    return warnings


def _worker_facts(inputs: list[str], device: str, precision: str, tasks_on_host: dict[str, int],
                  dask_worker=None) -> dict:
    """Runs on a worker (``Client.run``): versions, the first unreadable input, the device check; sets
    torch's threads (the machine's cores shared by the task threads of all its workers) unless the
    worker was started with OMP_NUM_THREADS (local_cluster does), and GDAL's defaults."""
    import rasterio
    import torch
    from distributed.comm import get_address_host

    import geossr
    from geossr.device import emulated_precision_warning, resolve_device
    from geossr.errors import GeossrError
    from geossr.scene.io import HTTP_DEFAULTS

    if "OMP_NUM_THREADS" not in os.environ:
        tasks_at_once = tasks_on_host.get(get_address_host(dask_worker.address), 1) if dask_worker else 1
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // max(1, tasks_at_once)))
    # Read by GDAL when it first needs them: a worker that has read no raster yet gets them.
    for key, value in {"GDAL_CACHEMAX": str(STREAM_BLOCK_CACHE_BYTES), **HTTP_DEFAULTS}.items():
        os.environ.setdefault(key, value)
    unreadable = None
    for path in inputs:
        try:
            with rasterio.open(path):
                pass
        except (rasterio.errors.RasterioIOError, OSError) as exc:
            unreadable = (path, str(exc).split("\n")[0])
            break
    device_error, precision_warning = None, None
    try:
        precision_warning = emulated_precision_warning(precision, resolve_device(device))
    except GeossrError as exc:
        device_error = str(exc).replace("this machine", "this worker")
    return {"geossr": geossr.__version__, "torch": torch.__version__, "unreadable": unreadable,
            "device_error": device_error, "precision_warning": precision_warning}
