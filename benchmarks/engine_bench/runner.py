"""Taking one measurement in a fresh process, again when other processes loaded the CPU meanwhile."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .common import RESULT_MARK
from .load import LoadMonitor, wait_until_idle

OTHER_LOAD_LIMIT = 0.25  # cores other processes may use during a measurement before it is taken again
ATTEMPTS = 4
# Children start as `engine.py --child KIND PARAMS`: the entry script dispatches them.
SCRIPT = Path(__file__).resolve().parents[1] / "engine.py"


@dataclass(frozen=True)
class RunSettings:
    """How every measurement of a run guards against other CPU load."""

    wait_idle: float  # seconds to wait, before each measurement, for other CPU load to end
    monitor: LoadMonitor  # samples the CPU other processes use while the run goes on


def run_child(kind: str, settings: RunSettings, timeout: float = 1800, **params) -> dict:
    """Run one measurement in a fresh process; take it again when other processes loaded the CPU meanwhile."""
    for attempt in range(1, ATTEMPTS + 1):
        wait_until_idle(settings.wait_idle)
        started = time.time()
        command = [sys.executable, str(SCRIPT), "--child", kind, json.dumps(params)]
        proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        for line in reversed(proc.stdout.splitlines()):
            if line.startswith(RESULT_MARK):
                result = json.loads(line[len(RESULT_MARK):])
                break
        else:
            raise RuntimeError(f"{kind} measurement failed (exit {proc.returncode}):\n"
                               f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        other = settings.monitor.max_between(started, time.time())
        result.update(other_cores_during=other, attempts=attempt)
        if other <= OTHER_LOAD_LIMIT or attempt == ATTEMPTS:
            return result
        print(f"   other processes used up to {other:.2f} cores during it: measuring again", flush=True)


def count_attempts(res: dict) -> dict:
    """How many measurements were taken again because other processes loaded the CPU."""
    found = []
    if "flops" in res:
        found.append(res["flops"])
    for row in res.get("throughput", []):
        found += row["tiled"]["runs"] + row["reference"]["runs"]
    for runs in res.get("scaling", {}).get("runs", {}).values():
        found += runs
    if "precision" in res:
        found.append(res["precision"])
    repeated = [r for r in found if r.get("attempts", 1) > 1]
    return {"measurements": len(found), "taken_again": len(repeated),
            "still_loaded": sum(r.get("other_cores_during", 0) > OTHER_LOAD_LIMIT for r in found)}
