"""Benchmark: the dashboard in Chromium (issue 17) -- first render of the world availability map and the time slider.

Workload (issue 17 acceptance):

* **first render** of the world availability map at H3 res 3 (41,162 cells) on loopback: from the click on the
  layer's checkbox to the first frame deck.gl draws with the cells (fetch, decode, layer build, draw), the server's
  map already computed (its cold compute time is reported separately); target <= 2 s with a cell payload <= 5 MB;
* **slider**: 1,440 coverage steps (one day at 60 s) over Taiwan at res 5 (Starlink catalog of 2026-08-18), each step
  from the slider's ``input`` event to the next frame drawn (``performance.measure('coverage-step')``); target: no
  step over 100 ms.

Baseline, in the same browser and server: the same cells sent as a GeoJSON FeatureCollection of cell polygons
(``/api/v1/map/availability/cells?format=geojson``) and drawn with deck.gl's GeoJsonLayer -- what a dashboard
without the compact encoding sends.  ``speedup`` = baseline first render / ours.

Run: ``python benchmarks/web_dashboard.py`` (needs Chromium, the data mirror and the Python service extras).
The last line is one JSON object.
"""

from __future__ import annotations

import json
import os
import resource
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
POLICY = ROOT / "examples" / "policies" / "control_plane_demo.toml"
COVERAGE = {"region": "TW", "res": "5", "steps": "1440", "step_s": "60"}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
CHROMIUM_ARGS += ["--enable-unsafe-swiftshader"]
SERVICE = [sys.executable, "-m", "skyfence.service"]
KEY_ARGS = ["--name", "bench", "--reason", "benchmark", "--json"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cpu_s() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _wait(page, expression: str, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if page.evaluate(expression):
            return
        time.sleep(0.05)
    raise TimeoutError(expression)


FIRST_RENDER_JS = """async () => {
  const box = document.getElementById('layer-availability');
  delete box.dataset.ready;
  const t0 = performance.now();
  box.click();
  while (box.dataset.ready !== 'true') await new Promise((r) => setTimeout(r, 5));
  const measure = performance.getEntriesByName('layer-availability').pop();
  const resource = performance.getEntriesByType('resource').filter((e) => e.name.includes('/availability/cells')).pop();
  return {ms: measure.duration, click_to_ready_ms: performance.now() - t0,
          wire_bytes: resource.encodedBodySize, bytes: resource.decodedBodySize};
}"""

BASELINE_JS = """async () => {
  const sk = window.skyfence;
  const t0 = performance.now();
  const response = await sk.ctx.request('/api/v1/map/availability/cells?res=3&format=geojson');
  const data = await response.json();
  const colors = sk.colors;
  sk.overlay.setProps({layers: [new deck.GeoJsonLayer({id: 'baseline', data, filled: true, stroked: false,
    getFillColor: (f) => [...(colors[f.properties.availability] || [0, 0, 0]), 190]})]});
  await sk.ctx.nextRender();
  const ms = performance.now() - t0;
  const resource = performance.getEntriesByType('resource').filter((e) => e.name.includes('format=geojson')).pop();
  sk.overlay.setProps({layers: []});
  await sk.render();
  return {ms, wire_bytes: resource.encodedBodySize, bytes: resource.decodedBodySize, features: data.features.length};
}"""

SLIDER_JS = """async () => {
  const slider = document.getElementById('time-slider');
  const steps = Number(slider.max) + 1;
  performance.clearMeasures('coverage-step');
  for (let i = 0; i < steps; i++) {
    slider.value = String(i);
    slider.dispatchEvent(new Event('input'));
    while (performance.getEntriesByName('coverage-step').length < i + 1) await new Promise((r) => setTimeout(r, 0));
  }
  return performance.getEntriesByName('coverage-step').map((m) => m.duration);
}"""


def main() -> None:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        sys.exit("chromium is not installed (apt-get install chromium)")
    wall0, cpu0 = time.monotonic(), _cpu_s()
    workdir = Path(tempfile.mkdtemp(prefix="skyfence-web-bench-"))
    db_url = f"sqlite:///{workdir / 'skyfence.db'}"
    env = {
        **os.environ,
        "SKYFENCE_ENVIRONMENT": "test",
        "SKYFENCE_SECRET_KEY": secrets.token_urlsafe(48),
        "SKYFENCE_RATE_LIMIT_PER_SECOND": "100000",
        "SKYFENCE_RATE_LIMIT_BURST": "100000",
    }
    made = subprocess.run(
        [*SERVICE, "keys", "create", "--db", db_url, "--role", "operator", *KEY_ARGS],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    key = json.loads(made.stdout)["key"]
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = open(workdir / "server.log", "w")
    server = subprocess.Popen(
        [*SERVICE, "serve", "--db", db_url, "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        with httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=1800) as client:
            policy = client.post("/api/v1/policies", json={"source": POLICY.read_text(), "reason": "bench"}).json()
            client.post(f"/api/v1/policies/{policy['version_id']}/activate", json={"reason": "bench"})
            t = time.monotonic()
            client.get("/api/v1/map/availability/cells", params={"res": 3}).raise_for_status()
            cold_map_s = time.monotonic() - t
            t = time.monotonic()
            client.get("/api/v1/map/coverage", params=COVERAGE).raise_for_status()
            cold_coverage_s = time.monotonic() - t
            print(f"server: world map res 3 computed in {cold_map_s:.1f} s, coverage in {cold_coverage_s:.1f} s")

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(f"{base}/")
            _wait(page, "window.skyfence && window.skyfence.mapLoaded === true")
            page.fill("#apikey", key)
            page.click("#signin button[type=submit]")
            _wait(page, "window.skyfence.ready === true")
            ours = page.evaluate(FIRST_RENDER_JS)
            print(
                f"first render, compact encoding: {ours['ms']:.0f} ms, {ours['bytes']:,} bytes "
                f"({ours['wire_bytes']:,} on the wire)"
            )
            page.uncheck("#layer-availability")
            baseline = page.evaluate(BASELINE_JS)
            print(
                f"first render, GeoJSON baseline: {baseline['ms']:.0f} ms, {baseline['bytes']:,} bytes "
                f"({baseline['wire_bytes']:,} on the wire)"
            )
            page.check("#layer-coverage")
            _wait(page, "Number(document.getElementById('time-slider').max) > 0", 600)
            steps = page.evaluate(SLIDER_JS)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
        shutil.rmtree(workdir, ignore_errors=True)
    steps_sorted = sorted(steps)
    p50 = steps_sorted[len(steps) // 2]
    p99 = steps_sorted[int(len(steps) * 0.99) - 1]
    print(f"slider: {len(steps)} steps, p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {max(steps):.1f} ms")
    seconds = ours["ms"] / 1000
    print(
        json.dumps(
            {
                "workload": "dashboard in Chromium: first render of the world availability map at H3 res 3 "
                "(41,162 cells) and 1,440 coverage slider steps over Taiwan (res 5)",
                "seconds": round(seconds, 3),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
                "baseline": "the same cells as a GeoJSON FeatureCollection of polygons drawn with GeoJsonLayer",
                "baseline_seconds": round(baseline["ms"] / 1000, 3),
                "speedup": round(baseline["ms"] / ours["ms"], 2),
                "payload_bytes": ours["bytes"],
                "payload_wire_bytes": ours["wire_bytes"],
                "baseline_payload_bytes": baseline["bytes"],
                "baseline_payload_wire_bytes": baseline["wire_bytes"],
                "slider_steps": len(steps),
                "slider_p50_ms": round(p50, 1),
                "slider_p99_ms": round(p99, 1),
                "slider_max_ms": round(max(steps), 1),
                "slider_steps_over_100_ms": sum(s > 100 for s in steps),
                "server_cold_map_s": round(cold_map_s, 2),
                "server_cold_coverage_s": round(cold_coverage_s, 2),
                "wall_s": round(time.monotonic() - wall0, 1),
                "cpu_s": round(_cpu_s() - cpu0, 1),
                "load_average_1min": round(os.getloadavg()[0], 1),
                "date": time.strftime("%Y-%m-%d"),
            }
        )
    )


if __name__ == "__main__":
    main()
