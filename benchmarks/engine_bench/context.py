"""What a run ran on: the machine and the geossr code."""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
from pathlib import Path


def code_version() -> dict:
    """The commit of the geossr checkout and a hash of its sources (others may edit them meanwhile)."""
    import hashlib

    import geossr

    package = Path(geossr.__file__).parent
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(str(path.relative_to(package)).encode() + path.read_bytes())
    try:
        commit = subprocess.run(["git", "-C", str(package.parent), "rev-parse", "HEAD"], capture_output=True,
                                text=True, timeout=10).stdout.strip() or "unknown"
        dirty = subprocess.run(["git", "-C", str(package.parent), "status", "--porcelain", "--", "geossr"],
                               capture_output=True, text=True, timeout=10).stdout.strip() != ""
    except (OSError, subprocess.SubprocessError):
        commit, dirty = "unknown", None
    return {"commit": commit, "geossr_sources_modified": dirty, "sources_sha256": digest.hexdigest()[:16]}


def machine() -> dict:
    import psutil
    import torch

    cpu = "unknown"
    flags = set()
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name") and cpu == "unknown":
                cpu = line.split(":", 1)[1].strip()
            if line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
    simd = [f for f in ("avx2", "avx512f", "avx512_bf16", "avx512_fp16", "amx_bf16", "amx_tile") if f in flags]
    return {"cpu": cpu, "cores": os.cpu_count(), "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
            "simd": simd, "torch": torch.__version__, "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "torch_threads": torch.get_num_threads(), "python": platform.python_version(),
            "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
            "os": f"{platform.system()} {platform.release()}",
            "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds")}
