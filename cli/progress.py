"""Progress for people (a rich bar driven by dask's scheduler callbacks) and for programs (JSON lines)."""

from __future__ import annotations

import contextlib
import json
import sys

from dask.callbacks import Callback
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from geossr_cli.output import err_console


class _RichDaskProgress(Callback):
    def __init__(self, progress: Progress, description: str):
        super().__init__()
        self.progress = progress
        self.description = description
        self.task = None

    def _start_state(self, dsk, state):
        total = sum(len(state[key]) for key in ("ready", "waiting", "running", "finished"))
        self.task = self.progress.add_task(self.description, total=total)

    def _posttask(self, key, result, dsk, state, worker_id):
        self.progress.advance(self.task)


@contextlib.contextmanager
def dask_progress(description: str, enabled: bool = True):
    """Show progress of every dask computation inside the block (on stderr, if it is a terminal)."""
    if not (enabled and err_console.is_terminal):
        yield
        return
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
               TimeElapsedColumn())
    with Progress(*columns, console=err_console, transient=True) as progress:
        with _RichDaskProgress(progress, description):
            yield


def print_progress_json(done: int, total: int, **about) -> None:
    """One line per step on stdout, flushed at once so a reading program (the QGIS plugin) sees it live;
    ``about``: fields saying which input the step belongs to (a batch counts each file's steps)."""
    sys.stdout.write(json.dumps({"done": done, "total": total, **about}) + "\n")
    sys.stdout.flush()
