"""Other processes' CPU load: finding busy processes, sampling their load, waiting for the machine to be idle."""

from __future__ import annotations

import os
import statistics
import time


def busy_processes(sample_seconds: float = 2.0, threshold: float = 25.0) -> list[str]:
    """`geossr train` jobs, and any other process using more than ``threshold`` % of a core."""
    import psutil

    mine = {os.getpid()} | {p.pid for p in psutil.Process().children(recursive=True)}
    procs = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        if proc.pid in mine:
            continue
        try:
            proc.cpu_percent(None)
            procs.append(proc)
        except psutil.Error:
            pass
    time.sleep(sample_seconds)
    found = []
    for proc in procs:
        try:
            cmdline = " ".join(proc.info["cmdline"] or [])[:160]
            usage = proc.cpu_percent(None)
        except psutil.Error:
            continue
        if "geossr train" in cmdline or usage > threshold:
            found.append(f"{proc.pid} ({usage:.0f}% CPU): {cmdline}")
    return found


class LoadMonitor:
    """Samples, every ``interval`` s, how many cores processes outside this benchmark use."""

    def __init__(self, interval: float = 2.0):
        import threading

        self.interval, self.samples, self._stop = interval, [], threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        import psutil

        known: dict[int, psutil.Process] = {}
        while not self._stop.wait(self.interval):
            mine = {os.getpid()} | {p.pid for p in psutil.Process().children(recursive=True)}
            total, top = 0.0, ("", 0.0)
            for proc in psutil.process_iter(["pid", "cmdline"]):
                if proc.pid in mine:
                    continue
                proc = known.setdefault(proc.pid, proc)
                try:
                    usage = proc.cpu_percent(None)
                except psutil.Error:
                    continue
                total += usage
                if usage > top[1]:  # (the first reading of a process is 0: no baseline yet)
                    top = (" ".join(proc.info["cmdline"] or [])[:120], usage)
            self.samples.append({"t": time.time(), "other_cores": total / 100, "top": top[0], "top_cores": top[1] / 100})

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def max_between(self, start: float, stop: float) -> float:
        """Largest load of other processes in samples covering [start, stop] (waits for the last one)."""
        deadline = time.time() + 3 * self.interval
        while (not self.samples or self.samples[-1]["t"] < stop) and time.time() < deadline:
            time.sleep(0.2)
        covering = [x["other_cores"] for x in self.samples if start < x["t"] <= stop + self.interval]
        return round(max(covering, default=0.0), 3)

    def summary(self) -> dict:
        cores = [s["other_cores"] for s in self.samples[1:]] or [0.0]  # the first sample has no baseline
        worst = max(self.samples[1:], key=lambda s: s["other_cores"], default=None)
        return {"mean_other_cores": round(statistics.mean(cores), 3), "max_other_cores": round(max(cores), 3),
                "busiest_other": worst["top"] if worst else "", "samples": len(cores)}


def wait_until_idle(limit: float) -> list[str]:
    deadline = time.time() + limit
    while (busy := busy_processes()) and time.time() < deadline:
        print(f"waiting for the machine to be idle: {busy[0]}", flush=True)
        time.sleep(15)
    return busy
