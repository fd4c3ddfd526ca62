"""`--progress-json` and SIGTERM: the protocol the QGIS plugin relies on, tested without QGIS.

The plugin's subprocess runner (shipped as geossr.qgis_plugin.runner, no QGIS imports) is tested
here too, against the real geossr executable.
"""

import json
import os
import pty
import re
import signal
import subprocess
from pathlib import Path

import pytest

from cli_runner import command, environment
from geossr.qgis_plugin import runner

# x8 with 32 px tiles: 625 output tiles, long enough to be stopped midway.
LONG_RUN = ("--scale", "8", "--sensor", "rosis", "--model", "bicubic", "--tile", "32")


def leftovers(folder: Path, name: str) -> list[str]:
    """The output or any temporary geossr would have written beside it."""
    return sorted(p.name for p in folder.iterdir() if p.name == name or p.name.startswith(f".{name}."))


def progress_steps(stdout: str, **about) -> list[tuple[int, int]]:
    steps = [json.loads(line) for line in stdout.splitlines()]
    assert all(step == {"done": step["done"], "total": step["total"], **about} for step in steps)
    return [(step["done"], step["total"]) for step in steps]


def test_upsample_prints_one_json_line_per_step(run_geossr, rosis_example, tmp_path):
    result = run_geossr("upsample", rosis_example, "--scale", "2", "--sensor", "rosis", "--model", "bicubic",
                        "--tile", "64", "-o", tmp_path / "out.tif", "--progress-json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    # 200 x 200 output px in 64 px tiles: 4 x 4 blocks, reported as they are written (4 at a time).
    assert progress_steps(result.stdout, input=str(rosis_example), file=1, files=1) == \
        [(0, 16), (4, 16), (8, 16), (12, 16), (16, 16)]


def test_a_batch_reports_each_files_steps_with_the_file(run_geossr, rosis_example, cave_example, tmp_path):
    result = run_geossr("upsample", rosis_example, cave_example, "--scale", "2", "--sensor", "ikonos",
                        "--model", "bicubic", "--tile", "256", "--out-dir", tmp_path, "--progress-json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    # ROSIS 100 x 100 -> 200 x 200: one 256 px tile; CAVE 256 x 256 -> 512 x 512: 2 x 2 tiles
    assert progress_steps("\n".join(lines[:2]), input=str(rosis_example), file=1, files=2) == [(0, 1), (1, 1)]
    assert progress_steps("\n".join(lines[2:]), input=str(cave_example), file=2, files=2) == [(0, 4), (4, 4)]


def terminal_output(args: list, cwd: Path) -> tuple[int, str]:
    """Run geossr with stderr on a pseudo-terminal, as in a shell: exit code and the text drawn there."""
    controller, terminal = pty.openpty()
    proc = subprocess.Popen([*command(), *map(str, args)], cwd=cwd, stdout=subprocess.DEVNULL, stderr=terminal,
                            env=environment(TERM="xterm", COLUMNS="120"))
    os.close(terminal)
    chunks = []
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(controller)
    code = proc.wait(timeout=300)
    return code, re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", b"".join(chunks).decode(errors="replace"))


@pytest.mark.parametrize("scheduler", [None, "local:2"])
def test_a_terminal_gets_one_bar_counting_the_output_blocks(rosis_example, tmp_path, scheduler):
    """One bar per file whatever the scheduler (it was one per compute batch, and none with --scheduler)."""
    extra = ["--scheduler", scheduler] if scheduler else []
    code, drawn = terminal_output(["upsample", rosis_example, "--scale", "2", "--sensor", "rosis", "--model", "bicubic",
                                   "--tile", "64", "-o", tmp_path / "out.tif", *extra], tmp_path)
    assert code == 0, drawn
    counts = re.findall(r"(\d+)/(\d+) blocks", drawn)
    assert ("16", "16") in counts, drawn
    assert {total for _, total in counts} == {"16"}, drawn


def test_simulate_prints_progress_json(run_geossr, rosis_example, tmp_path):
    result = run_geossr("simulate", rosis_example, "--sensor", "ikonos:blue,green,red,nir", "-o",
                        tmp_path / "ikonos.tif", "--progress-json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    steps = progress_steps(result.stdout)
    assert steps[0] == (0, steps[0][1]) and steps[-1] == (steps[0][1], steps[0][1])


def test_sigterm_exits_143_and_leaves_no_partial_output(geossr_exe, rosis_example, tmp_path):
    output = tmp_path / "big.tif"
    child = subprocess.Popen([geossr_exe, "upsample", str(rosis_example), *LONG_RUN, "-o", str(output),
                              "--progress-json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with child:
        for line in child.stdout:
            if json.loads(line)["done"] > 0:  # blocks are being written into the temporary file
                break
        child.send_signal(signal.SIGTERM)
        assert child.wait(timeout=60) == 128 + signal.SIGTERM
        assert child.stderr.read() == "geossr: error: terminated\n"
    assert leftovers(tmp_path, output.name) == []


def test_plugin_runner_passes_on_geossrs_notes(geossr_exe, tmp_path):
    from geossr.scene.simulate import simulate

    simulate(Path(__file__).parents[1] / "examples/pavia_rosis_100x100.tif", "sentinel2_msi:B02,B03,B04",
             tmp_path / "s2.tif", scale=4)
    outputs = []
    runner.run(["upsample", str(tmp_path / "s2.tif"), "--scale", "2", "--sensor", "rosis", "--model", "ssif",
                "-o", str(tmp_path / "out.tif"), "--progress-json"], geossr_exe, on_progress=lambda done, total: None,
               is_canceled=lambda: False, on_warning=print, on_output=outputs.append)
    assert "geossr: no ssif weights for input sensor sentinel2_msi:B02,B03,B04: using the any-sensor model " \
           "ssif_anysensor_default" in outputs


def test_plugin_runner_turns_geossr_errors_into_one_message(geossr_exe, rosis_example, tmp_path):
    with pytest.raises(runner.GeossrRunError) as error:
        runner.run(["upsample", str(rosis_example), "--scale", "2", "--sensor", "rosis", "--model", "fmnet",
                    "-o", str(tmp_path / "out.tif"), "--progress-json"], geossr_exe,
                   on_progress=None, is_canceled=lambda: False, on_warning=print, on_output=print)
    assert str(error.value).startswith("geossr: error: no shipped fmnet weights for input sensor rosis")
    assert leftovers(tmp_path, "out.tif") == []


def test_plugin_runner_cancels_at_the_first_step(geossr_exe, rosis_example, tmp_path):
    steps = []
    with pytest.raises(runner.GeossrRunError, match="cancelled"):
        runner.run(["upsample", str(rosis_example), *LONG_RUN, "-o", str(tmp_path / "out.tif"), "--progress-json"],
                   geossr_exe, on_progress=lambda done, total: steps.append((done, total)),
                   is_canceled=lambda: any(done > 0 for done, _ in steps), on_warning=print, on_output=print)
    assert steps[0] == (0, 625) and len(steps) < 625
    assert leftovers(tmp_path, "out.tif") == []


def test_plugin_runner_reports_a_missing_executable(geossr_exe, tmp_path):
    with pytest.raises(runner.GeossrRunError, match="geossr executable not found at"):
        runner.find_executable(str(tmp_path / "geossr"))
    assert Path(runner.find_executable(geossr_exe)).name == "geossr"
