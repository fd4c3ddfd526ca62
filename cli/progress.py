"""Progress for people (one rich bar per output file) and for programs (JSON lines).

Both follow the output blocks as they are written (the library's ``progress(done, total)``), so a
dask cluster (``--scheduler``) shows the same bar as the local scheduler, and a scene of thousands
of tiles one bar, not one per compute batch.
"""

from __future__ import annotations

import contextlib
import json
import sys

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from geossr_cli.output import err_console


@contextlib.contextmanager
def block_progress(description: str, enabled: bool = True):
    """Yield a ``progress(done, total)`` callback that draws one bar on stderr (None when disabled or
    stderr is not a terminal); the bar goes away when the block ends."""
    if not (enabled and err_console.is_terminal):
        yield None
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("blocks"),
               TimeElapsedColumn())
    with Progress(*columns, console=err_console, transient=True) as bar:
        task = bar.add_task(description, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def print_progress_json(done: int, total: int, **about) -> None:
    """One line per step on stdout, flushed at once so a reading program (the QGIS plugin) sees it live;
    ``about``: fields saying which input the step belongs to (a batch counts each file's steps)."""
    sys.stdout.write(json.dumps({"done": done, "total": total, **about}) + "\n")
    sys.stdout.flush()
