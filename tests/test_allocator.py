"""geossr.scene.allocator: the decoder's freed temporaries stay in the process instead of being refaulted."""

import platform
import subprocess
import sys

import pytest

# Renders a 128x128 x 31 band output three times and prints the page faults it took.
PROGRAM = """
import resource, sys, torch
from geossr.models import build
from geossr.scene.allocator import keep_freed_memory
if sys.argv[1] == "keep":
    assert keep_freed_memory()
torch.manual_seed(0)
model = build("ssif", input_sensor="nikon_d700", pixel_hidden=[128, 128], pixel_dim=128,
              encoder={"name": "edsr-baseline", "width": 32, "blocks": 2}).eval()
lr = torch.rand(1, 3, 64, 64)
intervals = torch.tensor([[400.0 + 10 * i, 410.0 + 10 * i] for i in range(31)])
faults = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_minflt
with torch.no_grad():
    model(lr, (128, 128), intervals)
    before = faults()
    for _ in range(3):
        model(lr, (128, 128), intervals)
print(faults() - before)
"""


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc's mallopt")
def test_decoder_temporaries_are_reused_not_refaulted():
    def faults(mode):
        done = subprocess.run([sys.executable, "-c", PROGRAM, mode], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        return int(done.stdout)

    default, kept = faults("default"), faults("keep")
    assert default > 3000  # glibc's defaults hand the chunks' temporaries back and fault them in again
    assert kept < default / 10


def test_local_cluster_workers_get_the_same_settings():
    import os

    from geossr.scene.allocator import MALLOC_ENVIRON
    from geossr.scene.cluster import local_cluster

    keys = ["MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "OMP_NUM_THREADS"]
    with local_cluster(2) as client:
        environments = list(client.run(lambda: {key: os.environ.get(key) for key in keys}).values())
    cores = str(max(1, (os.cpu_count() or 1) // 2))
    assert environments == [{**MALLOC_ENVIRON, "OMP_NUM_THREADS": cores}] * 2
