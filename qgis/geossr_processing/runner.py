"""Run the geossr executable as a child process: JSON progress lines in, cancel out.

QGIS's Python is the system's, not the one geossr is installed in, so the plugin never imports
geossr: it runs the command line, reads its ``--progress-json`` lines from stdout and its
one-line ``geossr: error: ...`` from stderr. No QGIS imports here, so this is testable anywhere.
"""

import json
import os
import queue
import shutil
import subprocess
import threading

ERROR_PREFIX = "geossr: error: "
WARNING_PREFIX = "geossr: warning: "
NOTE_PREFIX = "geossr: "
# Set by QGIS for its own Python; the geossr executable runs its own interpreter.
_FOREIGN_PYTHON_VARIABLES = ("PYTHONPATH", "PYTHONHOME")


class GeossrRunError(Exception):
    """geossr failed, could not start, or was cancelled; the message is for the user."""


def find_executable(configured: str | None) -> str:
    """The configured path if given, else GEOSSR_EXECUTABLE, else ``geossr`` on PATH."""
    where = "Settings > Options > Processing > Providers > geossr"
    candidate = configured or os.environ.get("GEOSSR_EXECUTABLE")
    if candidate:
        if not (os.path.isfile(candidate) and os.access(candidate, os.X_OK)):
            raise GeossrRunError(f"geossr executable not found at {candidate}: correct it in {where}")
        return candidate
    found = shutil.which("geossr")
    if not found:
        raise GeossrRunError(f"geossr executable not found on PATH: install geossr (pip) or set its path in {where}")
    return found


def child_environment() -> dict:
    return {k: v for k, v in os.environ.items() if k not in _FOREIGN_PYTHON_VARIABLES}


def sensor_names(executable: str, timeout: float = 60) -> list[str]:
    """The shipped sensors, from ``geossr sensors list --json``."""
    try:
        result = subprocess.run([executable, "sensors", "list", "--json"], capture_output=True, text=True,
                                timeout=timeout, env=child_environment())
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GeossrRunError(f"cannot run {executable}: {exc}") from None
    if result.returncode != 0:
        raise GeossrRunError(error_message(result.stderr, result.returncode))
    return [entry["name"] for entry in json.loads(result.stdout)]


def error_message(stderr: str, returncode: int) -> str:
    """geossr's own one-line error if it printed one, else the last line it wrote."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in reversed(lines):
        if line.startswith(ERROR_PREFIX):
            return line
    tail = f": {lines[-1]}" if lines else ""
    return f"geossr exited with status {returncode}{tail}"


def _pump(stream, lines: queue.Queue) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


def run(arguments: list[str], executable: str, *, on_progress, is_canceled, on_warning, on_output,
        poll_seconds: float = 0.1, terminate_timeout: float = 30) -> None:
    """Run ``executable arguments`` to the end; raise GeossrRunError on failure or cancellation.

    ``on_progress(done, total)`` for each progress line, ``on_warning(text)`` for geossr's
    warnings, ``on_output(line)`` for anything else. When ``is_canceled()`` turns true the child
    gets SIGTERM: geossr removes its temporary output and exits, so no partial file remains.
    """
    try:
        child = subprocess.Popen([executable, *arguments], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True, bufsize=1, env=child_environment())
    except OSError as exc:
        raise GeossrRunError(f"cannot run {executable}: {exc.strerror or exc}") from None
    stdout_lines: queue.Queue = queue.Queue()
    stderr_lines: list[str] = []
    readers = [threading.Thread(target=_pump, args=(child.stdout, stdout_lines), daemon=True),
               threading.Thread(target=lambda: stderr_lines.extend(child.stderr), daemon=True)]
    with child:  # closes the pipes and reaps the child however this block ends
        for reader in readers:
            reader.start()
        while True:
            if is_canceled():
                _stop(child, terminate_timeout)
                _join(readers)
                raise GeossrRunError("cancelled: geossr was stopped and wrote no output")
            try:
                line = stdout_lines.get(timeout=poll_seconds)
            except queue.Empty:
                continue
            if line is None:
                break
            _dispatch(line, on_progress, on_output)
        returncode = child.wait()
        _join(readers)
    stderr = "".join(stderr_lines)
    for line in stderr.splitlines():
        if line.startswith(WARNING_PREFIX):
            on_warning(line[len(WARNING_PREFIX):])
        elif line.startswith(NOTE_PREFIX) and not line.startswith(ERROR_PREFIX):
            on_output(line)  # a note, e.g. which model stood in for the one asked
    if returncode != 0:
        raise GeossrRunError(error_message(stderr, returncode))


def _join(readers, timeout: float = 10) -> None:
    """Let the readers reach the end of the pipes before they are closed (a grandchild could keep
    them open, hence the timeout)."""
    for reader in readers:
        reader.join(timeout)


def _dispatch(line: str, on_progress, on_output) -> None:
    text = line.strip()
    if not text:
        return
    try:
        step = json.loads(text)
    except json.JSONDecodeError:
        step = None
    if isinstance(step, dict) and {"done", "total"} <= step.keys():
        on_progress(int(step["done"]), int(step["total"]))
    else:
        on_output(text)


def _stop(child: subprocess.Popen, timeout: float) -> None:
    child.terminate()
    try:
        child.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
