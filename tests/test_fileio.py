"""atomic_output: the output appears whole or not at all, and no temporary is left, however the block ends."""

import os
import stat

import pytest

from geossr import fileio
from geossr.fileio import atomic_output


def test_success_replaces_the_output_with_the_usual_permissions(tmp_path):
    target = tmp_path / "out.tif"
    target.write_text("old")
    with atomic_output(target, suffix=".tmp.tif") as tmp:
        assert os.path.basename(tmp).startswith(".out.tif.") and tmp.endswith(".tmp.tif")
        with open(tmp, "w") as file:
            file.write("new")
    assert target.read_text() == "new"
    assert os.listdir(tmp_path) == ["out.tif"]
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~mask


def test_failure_keeps_the_old_output_and_removes_the_temporary(tmp_path):
    target = tmp_path / "out.tif"
    target.write_text("old")
    with pytest.raises(KeyboardInterrupt):
        with atomic_output(target) as tmp:
            with open(tmp, "w") as file:
                file.write("half")
            raise KeyboardInterrupt
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["out.tif"]


def test_interrupt_right_after_the_temporary_is_made_leaves_nothing(tmp_path, monkeypatch):
    """Ctrl-C arriving while the file is being created is raised as soon as the call returns."""
    real_open = os.open

    def open_then_interrupted(path, flags, mode=0o777, **kwargs):
        fd = real_open(path, flags, mode, **kwargs)
        os.close(fd)
        raise KeyboardInterrupt

    monkeypatch.setattr(fileio.os, "open", open_then_interrupted)
    with pytest.raises(KeyboardInterrupt):
        with atomic_output(tmp_path / "out.tif"):
            pytest.fail("the block must not run")
    monkeypatch.undo()
    assert os.listdir(tmp_path) == []
