"""A dask.distributed LocalCluster set up for torch inference on one machine."""

from __future__ import annotations

import contextlib
import os
import signal
import threading

import dask

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
