"""Atomic file output: write to a temporary name beside the target, rename at the end; one writer per output."""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import secrets
import shutil
from pathlib import Path

from geossr.errors import RasterError


TEMPORARY_CREATE_TRIES = 100


@contextlib.contextmanager
def atomic_output(path: str | Path, suffix: str = ".tmp"):
    """Yield a temporary path in ``path``'s directory; it replaces ``path`` only if the block succeeds.

    A failure or an interrupt removes the temporary file and leaves any existing ``path`` untouched.
    The name is chosen before the file is made, inside the ``try``: with ``tempfile.mkstemp`` a Ctrl-C
    landing between its ``open`` and the ``try`` left the file behind.
    """
    path = Path(path)
    tmp = None
    try:
        for _ in range(TEMPORARY_CREATE_TRIES):
            # ".NAME." + 8 characters + suffix: the shape _remove_stale_temporaries recognises
            tmp = str(path.parent / f".{path.name}.{secrets.token_hex(4)}{suffix}")
            try:
                os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))  # the umask applies
                break
            except FileExistsError:
                tmp = None
        else:
            raise FileExistsError(f"no free temporary name beside {path}")
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.remove(tmp)
        raise


def lock_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.lock")


def _busy(path: Path, fd: int) -> RasterError:
    pid = os.pread(fd, 32, 0).decode(errors="replace").strip()  # empty in the instant before the holder writes it
    return RasterError(f"{path} is being written by another geossr process{f' (pid {pid})' if pid else ''}")


def check_no_other_writer(path: str | Path) -> None:
    """Refuse at once when another process holds ``output_lock(path)``, before any work rather than after it."""
    path = Path(path)
    try:
        fd = os.open(lock_path(path), os.O_RDONLY)
    except FileNotFoundError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released by the close below
    except BlockingIOError:
        raise _busy(path, fd) from None
    finally:
        os.close(fd)


@contextlib.contextmanager
def output_lock(path: str | Path, temp_suffix: str):
    """Be the only writer of ``path`` while the block runs, after removing the temporaries of writers that are gone.

    The lock is flock(2) on ``.NAME.lock`` beside the output, which holds the writer's pid for the
    message a second writer gets. The kernel releases it when its holder dies, kill -9 included, so
    a lock nobody holds means a writer that is gone, whatever the file says; a pid could have been
    reused. (Not fcntl/lockf locks: closing any descriptor of the file, in any thread, drops those.)
    A second writer is refused with RasterError.
    """
    path = Path(path)
    lock = lock_path(path)
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            error = _busy(path, fd)
            os.close(fd)
            raise error from None
        # A holder unlinks the file as it lets go: if it did so since our open, lock the file now there.
        with contextlib.suppress(FileNotFoundError):
            if os.path.samestat(os.fstat(fd), os.stat(lock)):
                break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        _remove_stale_temporaries(path, temp_suffix)
        yield
    finally:
        with contextlib.suppress(OSError):
            os.unlink(lock)
        os.close(fd)


def _remove_stale_temporaries(path: Path, suffix: str) -> None:
    """Remove the temporaries of ``path`` (``atomic_output`` files, scratch folders); call it holding
    ``path``'s lock, so their writers are gone.

    Only names exactly as mkstemp and TemporaryDirectory make them, prefix ".NAME." and 8 random
    characters (and GDAL's .aux.xml beside one): a looser ".NAME.*" also matches the live
    temporaries of another output, "NAME.tif".
    """
    pattern = re.compile(rf"\.{re.escape(path.name)}\.[a-z0-9_]{{8}}(?:{re.escape(suffix)}(?:\.aux\.xml)?)?")
    with os.scandir(path.parent) as entries:
        stale = [entry for entry in entries if pattern.fullmatch(entry.name)]
    for entry in stale:
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.path)
