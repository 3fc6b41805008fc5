"""The exported CZML opens in CesiumJS: the pinned npm ``cesium`` package (tests/report/cesium/package-lock.json),
installed with ``npm ci`` and served from 127.0.0.1, loads it with ``Cesium.CzmlDataSource.load`` in headless
Chromium (no Viewer, so no WebGL is needed).  Cesium's entity count equals satellites + sites (+ links), and the
position Cesium interpolates between two samples agrees with skyfield's ITRS position at that time."""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import os
import shutil
import subprocess
import threading
from pathlib import Path

import numpy as np
import pytest

PACKAGE = Path(__file__).parent / "cesium"
TLE = "tle/oneweb_20250923.tle"
START = "2025-09-23T12:00:00Z"
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>skyfence CZML in Cesium</title>
<link rel="icon" href="data:,">
<script>window.CESIUM_BASE_URL = "cesium/";</script>
<script src="cesium/Cesium.js"></script>
</head><body></body></html>
"""


def _require(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (required when CI=true)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def cesium_build() -> Path:
    """``Build/Cesium`` of the pinned package, installed by ``npm ci`` when missing or not the pinned version."""
    npm = shutil.which("npm")
    if npm is None:
        _require("npm is not installed")
    pinned = json.loads((PACKAGE / "package-lock.json").read_text())["packages"]["node_modules/cesium"]["version"]
    installed = PACKAGE / "node_modules" / "cesium" / "package.json"
    if not installed.exists() or json.loads(installed.read_text())["version"] != pinned:
        proc = subprocess.run(
            [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=PACKAGE,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if proc.returncode != 0:
            _require(f"npm ci failed: {proc.stderr.strip()[-500:]}")
    build = PACKAGE / "node_modules" / "cesium" / "Build" / "Cesium"
    assert (build / "Cesium.js").exists()
    return build


@pytest.fixture(scope="module")
def browser():
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        _require("chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium,
            args=["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
        )
        yield browser
        browser.close()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@contextlib.contextmanager
def _serve(root: Path):
    """Serve ``root`` on 127.0.0.1 (a port the OS chooses) for the block; yields the base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(scope="module")
def site(cesium_build, data_dir, tmp_path_factory):
    """A folder with the page, Cesium (a link to the npm build) and two exports: plain and with links."""
    from skyfence.report.czml import export_czml

    root = tmp_path_factory.mktemp("cesium-site")
    (root / "cesium").symlink_to(cesium_build, target_is_directory=True)
    (root / "index.html").write_text(PAGE)
    exports = {
        "plain": export_czml(
            str(data_dir / TLE),
            root / "plain.czml",
            start=START,
            duration="10m",
            step="60s",
            sites="starlink_ground_stations",  # on purpose: OneWeb's gateways are not in the data
        ),
        "links": export_czml(
            str(data_dir / TLE),
            root / "links.czml",
            start=START,
            duration="10m",
            step="60s",
            sites="starlink_ground_stations",  # on purpose: OneWeb's gateways are not in the data
            gsl=True,
            isl=True,
            lasers="all",
        ),
    }
    with _serve(root) as url:
        yield {"root": root, "url": url, "exports": exports}


LOAD = """async ([file, id, seconds]) => {
  const ds = await Cesium.CzmlDataSource.load(file);
  const at = Cesium.JulianDate.addSeconds(ds.clock.startTime, seconds, new Cesium.JulianDate());
  const p = ds.entities.getById(id).position.getValue(at, new Cesium.Cartesian3());
  const frame = ds.entities.getById(id).position.referenceFrame;
  const available = ds.entities.values.filter(e => e.isAvailable(at)).length;
  const links = ds.entities.values.filter(e => e.polyline && e.isAvailable(at))
    .map(e => e.polyline.positions.getValue(at)).filter(q => q && q.length === 2).length;
  return {
    entities: ds.entities.values.length,
    start: Cesium.JulianDate.toIso8601(ds.clock.startTime, 0),
    stop: Cesium.JulianDate.toIso8601(ds.clock.stopTime, 0),
    name: ds.name, xyz: [p.x, p.y, p.z], fixed: frame === Cesium.ReferenceFrame.FIXED, available, links,
  };
}"""


def _load(browser, site, file: str, satellite: str, seconds: float) -> dict:
    page = browser.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("request", lambda r: None if r.url.startswith((site["url"], "data:")) else problems.append(r.url))
    page.goto(f"{site['url']}/index.html")
    result = page.evaluate(LOAD, [file, satellite, seconds])
    page.close()
    assert problems == []  # no script error, no request to any host but the local server
    return result


def test_cesium_counts_satellites_plus_sites(browser, site):
    export = site["exports"]["plain"]
    result = _load(browser, site, "plain.czml", "satellite/44057", 0.0)
    assert export.satellites == 651 and export.sites > 200
    assert result["entities"] == export.satellites + export.sites
    assert (result["start"], result["stop"]) == ("2025-09-23T12:00:00Z", "2025-09-23T12:10:00Z")
    assert result["name"] == "oneweb_20250923"


def test_cesium_loads_the_links_and_draws_them_between_two_points(browser, site):
    export = site["exports"]["links"]
    result = _load(browser, site, "links.czml", "satellite/44057", 300.0)
    assert export.gsl_links > 100 and export.isl_links > 500
    assert result["entities"] == export.satellites + export.sites + export.gsl_links + export.isl_links
    # at 12:05 every ISL and the GSL of every satellite with a gateway in view resolve to two positions
    assert export.isl_links < result["links"] <= export.isl_links + export.gsl_links


def test_cesium_interpolates_between_samples_onto_skyfields_orbit(browser, site, data_dir):
    """Halfway between two 60 s samples Cesium's Lagrange interpolation in its FIXED frame lands on skyfield's
    ITRS position: the frame and the time tags are read as written."""
    from skyfield.api import load
    from skyfield.framelib import itrs

    result = _load(browser, site, "plain.czml", "satellite/44057", 270.0)
    ts = load.timescale(builtin=True)
    satellite = next(s for s in load.tle_file(str(data_dir / TLE), ts=ts) if s.model.satnum == 44057)
    expected_m = satellite.at(ts.utc(2025, 9, 23, 12, 4, 30)).frame_xyz(itrs).m
    assert result["fixed"]
    assert np.linalg.norm(np.array(result["xyz"]) - expected_m) < 0.5  # measured 0.035 m at a 60 s step
