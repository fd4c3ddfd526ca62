"""A dask.distributed LocalCluster set up for torch inference on one machine."""

from __future__ import annotations

import contextlib
import os

import dask

from geossr.scene.allocator import MALLOC_ENVIRON

# distributed starts workers with MALLOC_TRIM_THRESHOLD_=65536, which switches off glibc's dynamic
# thresholds: the decoder's large temporaries are then unmapped or trimmed on free and faulted in
# again on each tile. geossr.scene.allocator's thresholds restore reuse (benchmarks/results/engine.md).


@contextlib.contextmanager
def local_cluster(workers: int):
    """Yield a Client of ``workers`` single-task worker processes sharing this machine's cores.

    torch's thread count is set through the environment (OMP_NUM_THREADS), so a worker that the
    nanny restarts after a crash gets the same setting.
    """
    from distributed import Client, LocalCluster

    torch_threads = max(1, (os.cpu_count() or 1) // workers)
    environ = {f"distributed.nanny.pre-spawn-environ.{key}": value
               for key, value in {**MALLOC_ENVIRON, "OMP_NUM_THREADS": torch_threads}.items()}
    with dask.config.set(environ), \
            LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        yield client
