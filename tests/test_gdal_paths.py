"""GDAL dataset names as inputs: /vsizip/, /vsicurl/ and plain http URLs, against a local HTTP server.

The server (with HTTP Range requests, as cloud storage and web servers answer them) runs in a
thread of this process on 127.0.0.1 and serves a copy of the bundled ROSIS example and a zip of
it; every geossr run is the installed console script in a subprocess. Nothing leaves the machine.
The bad names GDAL cannot open without a server (a missing zip member, a dead port) are cases of
tests/test_cli_errors.py.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shutil
import socket
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import rasterio

from cli_runner import environment, geossr
from geossr.scene.io import dataset_basename, dataset_stem

UPSAMPLE = ("--scale", "2", "--sensor", "ikonos", "--model", "bicubic", "-q")
ENV = environment(NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")


class RangeHandler(http.server.SimpleHTTPRequestHandler):
    """Python's file server, answering ``Range: bytes=A-B`` with 206 and those bytes (it does not by itself)."""

    def log_message(self, *args):
        pass

    def send_head(self):
        self.range_left = None
        wanted = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
        path = self.translate_path(self.path)
        if not wanted or not os.path.isfile(path):
            return super().send_head()
        size = os.path.getsize(path)
        start, end = int(wanted[1]), min(int(wanted[2] or size - 1), size - 1)
        file = open(path, "rb")
        file.seek(start)
        self.send_response(206)
        self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Content-Length", str(end - start + 1))
        self.end_headers()
        self.range_left = end - start + 1
        return file

    def copyfile(self, source, outputfile):
        if self.range_left is None:
            return super().copyfile(source, outputfile)
        outputfile.write(source.read(self.range_left))


@pytest.fixture(scope="module")
def served(rosis_example, tmp_path_factory):
    """(folder, base URL): r.tif (the ROSIS example) and r.zip (holding r.tif), served on 127.0.0.1."""
    folder = tmp_path_factory.mktemp("served")
    shutil.copy(rosis_example, folder / "r.tif")
    with zipfile.ZipFile(folder / "r.zip", "w") as archive:
        archive.write(folder / "r.tif", "r.tif")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(RangeHandler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def names(folder: Path, url: str) -> dict[str, str]:
    return {
        "vsizip": f"/vsizip/{folder / 'r.zip'}/r.tif",
        "vsicurl": f"/vsicurl/{url}/r.tif",
        "http": f"{url}/r.tif?token=abc",  # a query, as signed cloud URLs carry
        "vsizip_over_vsicurl": f"/vsizip//vsicurl/{url}/r.zip/r.tif",
    }


def test_info_reads_gdal_names_unmangled(served, tmp_path):
    folder, url = served
    local = geossr("info", folder / "r.tif", "--json", cwd=tmp_path, env=ENV)
    assert local.returncode == 0, local.stderr
    expected = json.loads(local.stdout)
    for label, name in names(folder, url).items():
        result = geossr("info", name, "--json", cwd=tmp_path, env=ENV)
        assert result.returncode == 0, f"{label}: {result.stderr}"
        details = json.loads(result.stdout)
        assert details["path"] == name  # as given: no "https:/" from pathlib
        assert {k: v for k, v in details.items() if k != "path"} == {k: v for k, v in expected.items() if k != "path"}


def test_upsample_through_gdal_names_equals_the_local_run(served, tmp_path):
    folder, url = served
    local = geossr("upsample", folder / "r.tif", *UPSAMPLE, "-o", tmp_path / "local.tif", cwd=tmp_path, env=ENV)
    assert local.returncode == 0, local.stderr
    with rasterio.open(tmp_path / "local.tif") as ds:
        expected, descriptions, profile = ds.read(), ds.descriptions, ds.profile | {"nodata": "nan"}  # NaN != NaN
    for label, name in names(folder, url).items():
        out_dir = tmp_path / label
        out_dir.mkdir()
        result = geossr("upsample", name, *UPSAMPLE, "--out-dir", out_dir, cwd=tmp_path, env=ENV)
        assert result.returncode == 0, f"{label}: {result.stderr}"
        assert [p.name for p in out_dir.iterdir()] == ["r_geossr.tif"]  # the last path component's stem
        with rasterio.open(out_dir / "r_geossr.tif") as ds:
            assert np.array_equal(ds.read(), expected, equal_nan=True), label
            assert ds.descriptions == descriptions and ds.profile | {"nodata": str(ds.nodata)} == profile
            assert ds.tags()["GEOSSR_SOURCE"] == "r.tif"


def test_bad_urls_on_a_live_server_fail_in_one_line(served, tmp_path):
    folder, url = served
    silent = socket.socket()  # accepts connections (the kernel's backlog) and never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)
    try:
        cases = {
            f"{url}/missing.tif": r"HTTP response code: 404",
            f"http://127.0.0.1:{silent.getsockname()[1]}/r.tif": r"too slow|timed out",
        }
        # The user's GDAL setting wins over geossr's default of 10 s, which keeps the test short.
        env = {**ENV, "GDAL_HTTP_LOW_SPEED_TIME": "2"}
        for name, why in cases.items():
            for args in (("info", name), ("upsample", name, *UPSAMPLE, "-o", "out.tif")):
                started = time.monotonic()
                result = geossr(*args, cwd=tmp_path, env=env, timeout=120)
                assert time.monotonic() - started < 60
                lines = result.stderr.splitlines()
                assert result.returncode == 1 and len(lines) == 1, result.stderr
                assert lines[0].startswith(f"geossr: error: cannot open {name}: ") and re.search(why, lines[0])
                assert list(tmp_path.iterdir()) == []
    finally:
        silent.close()


@pytest.mark.parametrize("name, basename, stem", [
    ("scenes/s2.tif", "s2.tif", "s2"),
    ("/vsizip/s2.zip/a/s2_64.tif", "s2_64.tif", "s2_64"),
    ("https://example.com/cogs/B04.TIF?X-Amz-Signature=ab/cd", "B04.TIF", "B04"),
    ("/vsicurl/https://example.com/a.b.tif", "a.b.tif", "a.b"),
    ('NETCDF:"/data/sst.nc":analysed_sst', "sst.nc:analysed_sst", "sst_analysed_sst"),
])
def test_output_names_from_gdal_names(name, basename, stem):
    assert dataset_basename(name) == basename and dataset_stem(name) == stem
