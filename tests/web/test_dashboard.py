"""The dashboard in a real browser (Debian's Chromium driven by Playwright) against a real server process.

One walk through the page, as a user would: bad keys, sign-in, every layer toggled, the time slider moved, a bad
policy (its key path shown), an oversized file, a good policy (diff drawn, activated), the audit chain verified,
telemetry posted through the API (the alert appears within 5 s), an expired token, a terminal key seeing only its
own terminal; then axe-core (vendored) finds no serious or critical violation.  Every request is intercepted: any
host other than the server fails the test, as does any console error.  Screenshots go to the test's ``tmp_path``
and are attached to the JUnit output (``record_property``).
"""

from __future__ import annotations

import os
import re
import shutil
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import jwt
import pytest

from tests.conftest import _require
from tests.service.conftest import PARIS, POLICY_TOML, TAIPEI, operator_key, populate
from tests.service.server import ServerProcess
from tests.web.test_map_api import _fake_report

AXE = Path(__file__).parents[2] / "src" / "skyfence" / "service" / "web" / "static" / "vendor" / "axe.min.js"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--enable-unsafe-swiftshader",  # WebGL in software: headless, no GPU
]


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        _require("chromium is not installed (apt-get install chromium)")
    return str(found)


@pytest.fixture(scope="module")
def server(tmp_path_factory, data_dir):
    folder = tmp_path_factory.mktemp("dashboard")
    _fake_report(folder / "reports" / "taiwan")
    url = f"sqlite:///{folder / 'skyfence.db'}"
    process = ServerProcess(
        url,
        folder / "server.log",
        dashboard_constellation="oneweb_omm_20260818",  # 651 satellites: the coverage layer computes in seconds
        reports_dir=str(folder / "reports"),
    )
    process.start()
    try:
        client = httpx.Client(base_url=process.base_url, headers={"X-API-Key": operator_key(url)}, timeout=60)
        world = populate(client, db_url=url)
        yield process, client, world
        client.close()
    finally:
        process.stop()


def _wait(page, expression: str, timeout_s: float = 30.0) -> None:
    """Poll a JavaScript expression (Playwright's wait_for_function evaluates strings, which the page's CSP
    forbids -- as it should)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if page.evaluate(expression):
            return
        page.wait_for_timeout(100)
    shown = page.inner_text("#message")  # the page's own error line says why, when it has one
    raise AssertionError(f"timed out after {timeout_s} s waiting for {expression} (the page says: {shown!r})")


def _provoked(text: str) -> bool:
    """Chromium logs every 4xx answer as a console error; the 401s (bad key, expired token) and 422 (bad policy)
    this test provokes on purpose are answers, not errors of the page."""
    return bool(re.fullmatch(r"Failed to load resource: the server responded with a status of (401|422) \(.*\)", text))


def _shot(page, tmp_path: Path, record_property, name: str) -> None:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path))
    record_property(f"screenshot-{name}", str(path))


def _sign_in(page, key: str) -> None:
    page.fill("#apikey", key)
    page.click("#signin button[type=submit]")
    try:
        _wait(page, "window.skyfence.ready === true", 90)
    except AssertionError:
        state = page.evaluate(
            "[document.getElementById('message').textContent, document.getElementById('layers').innerHTML]"
        )
        raise AssertionError(f"sign-in did not finish: {state}") from None


def _toggle_every_layer(page) -> list[str]:
    ids = page.eval_on_selector_all("#layers input[type=checkbox]", "boxes => boxes.map(b => b.id.slice(6))")
    for layer in ids:
        box = f"#layer-{layer}"
        if layer == "report":
            page.select_option("#report-layer", index=1)  # checks the report layer
        elif page.is_checked(box):
            page.uncheck(box)
            page.check(box)
        else:
            page.check(box)
        page.wait_for_selector(f"{box}[data-ready=true]", timeout=90_000)
        assert page.is_checked(box), f"layer {layer} did not load: {page.inner_text('#message')}"
    return ids


def test_dashboard_end_to_end(server, tmp_path, record_property):
    from playwright.sync_api import sync_playwright

    process, client, world = server
    base = process.base_url
    host = urlsplit(base).netloc
    foreign: list[str] = []
    errors: list[str] = []

    def route(r):
        parts = urlsplit(r.request.url)
        if parts.scheme in ("http", "https", "ws", "wss") and parts.netloc != host:
            foreign.append(r.request.url)
            r.abort()
        else:
            r.continue_()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(120_000)  # a loaded 2-core CI machine draws WebGL in software
        page.route("**/*", route)
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" and not _provoked(m.text) else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{base}/")
        _wait(page, "window.skyfence && window.skyfence.mapLoaded === true")

        # Bad keys: clear messages, no blank page.
        page.fill("#apikey", "not-a-key")
        page.click("#signin button[type=submit]")
        assert "not a skyfence API key" in page.inner_text("#message")
        page.fill("#apikey", f"sfk_{'0' * 16}_{'A' * 43}")
        page.click("#signin button[type=submit]")
        page.wait_for_selector("#message:has-text('Invalid key')")
        assert "unknown API key" in page.inner_text("#message")

        _sign_in(page, world.keys["operator"])
        assert "operator" in page.inner_text("#who-text")
        layers = _toggle_every_layer(page)
        assert set(layers) >= {"availability", "countries", "diff", "coverage", "report", "ground", "satellites"}
        assert set(layers) >= {"terminals", "alerts"}
        _shot(page, tmp_path, record_property, "all-layers")

        # The slider walks the coverage steps; the keyboard moves it.
        # (enabled once the coverage layer's steps have arrived, which a loaded machine may take a while to send)
        page.wait_for_selector("#time-slider:enabled", timeout=120_000)
        slider = page.locator("#time-slider")
        assert slider.is_enabled() and int(slider.get_attribute("max")) == 1439
        first = page.inner_text("#time-label")
        slider.focus()
        for _ in range(5):
            page.keyboard.press("ArrowRight")
        page.keyboard.press("End")
        _wait(page, "performance.getEntriesByName('coverage-step').length >= 6")
        assert page.inner_text("#time-label") != first and "step 1440 of 1440" in page.inner_text("#time-label")

        # A bad policy: the key path is shown.  An oversized file: refused with its size.
        page.fill("#policy-text", POLICY_TOML.replace('action = "allow"', 'action = "allw"', 1))
        page.click("#policy-check")
        page.wait_for_selector("#policy-result .field")
        assert page.inner_text("#policy-result .field") == "rules[0].action"
        assert "allw" in page.inner_text("#policy-result")
        page.set_input_files(
            "#policy-file", files=[{"name": "huge.toml", "mimeType": "text/plain", "buffer": b"#" * 1_200_000}]
        )
        page.wait_for_selector("#policy-result:has-text('at most 1,000,000 bytes')")

        # A good policy: diff on the map, then activation.
        good = POLICY_TOML.replace('countries = ["TW"]', 'countries = ["TW", "JP"]')
        page.fill("#policy-text", good)
        page.click("#policy-check")
        page.wait_for_selector("#policy-result:has-text('cells (H3 res 3) change')", timeout=90_000)
        assert "Japan" in page.inner_text("#diff-countries")
        assert page.is_checked("#layer-diff")
        _shot(page, tmp_path, record_property, "policy-diff")
        page.click("#policy-activate")
        page.wait_for_selector("#policy-result:has-text('Activated')", timeout=60_000)
        active = client.get("/api/v1/policies/active").json()
        assert "JP" in active["source"]
        # The page redraws the availability layers under the new policy (the server computes its world map); the
        # layer's version is the policy's and the registry's ('file': this policy keeps its own licences).
        _wait(page, f"window.skyfence.state.modules.availability.version === '{active['version_id']}-file'", 180)

        # The audit view: entries and a verified chain.
        page.click("#audit-load")
        page.wait_for_selector("#audit-table tbody tr")
        actions = page.inner_text("#audit-table")
        assert "policy.activate" in actions and "policy.diff" in actions and "policy.upload" in actions
        page.click("#audit-verify")
        page.wait_for_selector("#audit-verdict.ok")

        # Telemetry through the API: the alert shows in the open page within 5 s of the post.  A first, allowed fix
        # has ingestion compile the new policy, so the timed post is an ordinary one.
        terminal = world.terminals["pl"]

        def post(terminal_id: int, where: tuple[float, float]) -> httpx.Response:
            fixes = [
                {"terminal_id": terminal_id, "time": "2026-08-22T12:00:00Z", "lat_deg": where[0], "lon_deg": where[1]}
            ]
            headers = {"Idempotency-Key": uuid.uuid4().hex}
            response = client.post("/api/v1/telemetry/batches", json={"fixes": fixes}, headers=headers)
            assert response.status_code == 201, response.text
            return response

        post(world.terminals["tw"], TAIPEI)
        before_ms = page.evaluate("performance.now()")
        posted = post(terminal, PARIS)
        assert posted.json()["counts"]["deny"] == 1
        items = "[...document.querySelectorAll('#alerts-list li')]"
        alert_id = (
            f"{items}.filter(li => li.textContent.includes('terminal {terminal}:')).map(li => li.dataset.alertId)[0]"
        )
        _wait(page, f"{alert_id} !== undefined", 30.0)  # polling from here is slow; the page's own clock decides
        shown_ms = page.evaluate(f"performance.getEntriesByName('alert-' + {alert_id} + '-shown')[0].startTime")
        assert shown_ms - before_ms < 5_000, f"the alert took {shown_ms - before_ms:.0f} ms to show"
        _shot(page, tmp_path, record_property, "alert")

        # axe-core (vendored, loaded from this server): no serious or critical violations.
        page.add_script_tag(url="/static/vendor/axe.min.js")
        result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
        bad = [
            (v["id"], v["impact"], len(v["nodes"]))
            for v in result["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        assert bad == [], bad

        # An expired token: the server answers 401 and the page says so (and returns to sign-in).
        expired = jwt.encode(
            {"sub": world.key_ids["operator"], "aud": "skyfence-api", "iat": 1, "exp": 2},
            process.env["SKYFENCE_SECRET_KEY"],
            algorithm="HS256",
        )

        def expire(r):
            r.continue_(headers={**r.request.headers, "authorization": f"Bearer {expired}"})

        page.route("**/api/v1/audit/verify", expire)
        page.click("#audit-verify")
        page.wait_for_selector("#message:has-text('session has expired')")
        assert page.is_visible("#signin") and not page.is_visible("#policy-section")
        _shot(page, tmp_path, record_property, "expired")
        page.unroute("**/api/v1/audit/verify", expire)

        # A terminal key: only its own terminal, no policy or audit tools.
        _sign_in(page, world.keys["terminal"])
        ids = page.eval_on_selector_all("#layers input[type=checkbox]", "boxes => boxes.map(b => b.id.slice(6))")
        assert set(ids) == {"satellites", "terminals"}
        page.wait_for_selector("#layer-terminals[data-ready=true]")
        own = page.evaluate("window.skyfence.state.modules.terminals.doc.terminals.map(t => t.terminal_id)")
        assert own == [world.terminals["tw"]]
        assert not page.is_visible("#policy-section") and not page.is_visible("#audit-section")
        _shot(page, tmp_path, record_property, "terminal")
        browser.close()

    assert foreign == [], f"requests to other hosts: {foreign}"
    assert errors == [], f"console errors: {errors}"
    assert os.path.getsize(tmp_path / "all-layers.png") > 10_000
