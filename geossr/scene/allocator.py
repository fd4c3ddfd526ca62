"""glibc malloc settings for tile inference: freed decoder temporaries are reused, not refaulted.

Each query chunk of the pixel decoder allocates and frees tens of MiB of temporaries. With glibc's
dynamic thresholds much of that goes back to the kernel (unmapped, or trimmed off the top of the
heap) and the next chunk page-faults and zeroes it again: 11 000-34 000 page faults (44-134 MiB)
per 256 px tile at p = 2 in the main thread, 2 000-11 000 in each of dask's threads. Fixed
thresholds above the temporaries' size keep it in the process: 0 and 0-1 300 faults. Five
interleaved process pairs on a 2-core Xeon: tile median 0.123 s vs 0.161 s alone with 2 threads,
0.130 s vs 0.140 s as the engine runs tiles (two at a time, one thread each). The cost is up to
TRIM_THRESHOLD_BYTES of freed memory kept per heap rather than returned. Worker processes of a
local cluster get the same settings through their environment (geossr.scene.cluster).
"""

from __future__ import annotations

import ctypes
import platform

MMAP_THRESHOLD_BYTES = 64 * 2**20
TRIM_THRESHOLD_BYTES = 64 * 2**20
# The same settings for processes started by others (dask's nanny starts workers with
# MALLOC_TRIM_THRESHOLD_=65536: 15 000-23 000 faults per tile even with the mmap threshold fixed).
MALLOC_ENVIRON = {"MALLOC_MMAP_THRESHOLD_": str(MMAP_THRESHOLD_BYTES), "MALLOC_TRIM_THRESHOLD_": str(TRIM_THRESHOLD_BYTES)}
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameter numbers (malloc.h)


def keep_freed_memory() -> bool:
    """Set this process's glibc mmap and trim thresholds (a process-wide setting: the command-line
    tool calls it; programs that embed geossr may). Returns False where the C library is not glibc."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    libc = ctypes.CDLL("libc.so.6")
    return bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and \
        bool(libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES))
