"""``skyfence assess``: report content equals summary.json, the cache, bad scenario files, the page in Chromium."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

SMALL = Path(__file__).parents[1] / "data" / "scenarios" / "small.toml"


def _policies_absolute(text: str) -> str:
    """The scenario with its policy paths absolute, so that a copy elsewhere passes every other check."""
    return text.replace("../../../examples/", (Path(__file__).parents[2] / "examples").as_posix() + "/")


class _Cells(HTMLParser):
    """Collects table cells that carry a ``data-key`` (every number in the report's tables)."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[dict] = []
        self._open: dict | None = None
        self.tables = 0

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables += 1
        if tag == "td" and any(k == "data-key" for k, _ in attrs):
            self._open = {**dict(attrs), "text": ""}

    def handle_data(self, data):
        if self._open is not None:
            self._open["text"] += data

    def handle_endtag(self, tag):
        if tag == "td" and self._open is not None:
            self.cells.append(self._open)
            self._open = None


def _lookup(summary: dict, key: str):
    node = summary
    for part in key.split("."):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def _assess(scenario: Path, out: Path, cache: Path) -> subprocess.CompletedProcess:
    env = {**__import__("os").environ, "SKYFENCE_CACHE_DIR": str(cache)}
    return subprocess.run(
        [sys.executable, "-m", "skyfence", "assess", str(scenario), "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
    )


@pytest.fixture(scope="module")
def report(data_dir, tmp_path_factory):
    """Run the small scenario twice (second run from the cache)."""
    root = tmp_path_factory.mktemp("assess")
    first = _assess(SMALL, root / "out", root / "cache")
    assert first.returncode == 0, first.stderr
    second = _assess(SMALL, root / "out2", root / "cache")
    assert second.returncode == 0, second.stderr
    return {"dir": root / "out", "dir2": root / "out2", "stdout2": second.stdout}


def test_every_table_number_equals_summary_json(report):
    from skyfence.report.html import format_number

    summary = json.loads((report["dir"] / "summary.json").read_text())
    parser = _Cells()
    parser.feed((report["dir"] / "report.html").read_text())
    assert parser.tables >= 4
    assert len(parser.cells) > 20
    for cell in parser.cells:
        value = _lookup(summary, cell["data-key"])
        if value is None:
            assert cell["data-value"] == "" and cell["text"] == "–", cell
        else:
            assert float(cell["data-value"]) == float(value), cell
            assert cell["text"] == format_number(value, cell["data-kind"]), cell


def test_report_content(report):
    summary = json.loads((report["dir"] / "summary.json").read_text())
    names = [v["name"] for v in summary["variants"]]
    assert names == ["baseline", "taipei_gateway"]
    baseline, gateway = summary["variants"]
    assert [u["constellation"] for u in baseline["coverage"]] == ["starlink-550", "oneweb"]
    assert all(u["region_code"] == "TW" for u in baseline["coverage"])
    taipei_foreign = baseline["latency"][0]["terminals"][0]
    taipei_local = gateway["latency"][0]["terminals"][0]
    assert {g["country"] for g in taipei_foreign["gateways"]} <= {"JP", "PH", "GU"}
    assert taipei_local["gateways"][0]["name"] == "Taipei gateway"
    assert taipei_local["median_rtt_ms"] < taipei_foreign["median_rtt_ms"]
    latency_diff = [d for d in summary["diff"] if d["kind"] == "latency"]
    assert latency_diff and latency_diff[0]["delta_median_rtt_ms"] < 0
    assert {d["name"] for d in summary["datasets"]} >= {"ne_admin0_50m", "starlink_ground_stations"}
    # the data appendix flags copies: Natural Earth's zip was read from a GitHub repository, not naturalearthdata.com
    (natural_earth,) = [d for d in summary["datasets"] if d["name"] == "ne_admin0_50m"]
    assert natural_earth["copy_host"] == "GitHub, geree24/lego_world-map_maker"
    html = (report["dir"] / "report.html").read_text()
    assert "copy (GitHub, geree24/lego_world-map_maker), not the original publisher" in html
    assert "first published by Natural Earth (naturalearthdata.com)" in html
    assert baseline["policy"][0]["area_share"]["coming_soon"] == 1.0  # Taiwan: "coming soon" on the 2026 map
    assert gateway["policy"][0]["served_share"] == 1.0
    (change,) = summary["policy_diff"]
    assert change["cells_changed"] == change["cells_total"] > 0
    assert change["countries"][0]["iso_a2"] == "TW" and change["people_gaining_service"] > 1_000_000
    maps = sorted(p.name for p in (report["dir"] / "maps").iterdir())
    assert any(m.startswith("coverage__TW__") for m in maps) and "latency_distribution.png" in maps
    assert "availability__TW.png" in maps and "policy_change__TW__0.png" in maps


def test_second_run_uses_the_cache(report):
    assert "0 unit(s) computed" in report["stdout2"]
    assert (report["dir2"] / "summary.json").read_text().count('"cache_misses": 0') == 1


def test_page_renders_in_headless_chromium(report):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        if __import__("os").environ.get("CI") == "true":
            pytest.fail("chromium is not installed (required when CI=true)")
        pytest.skip("chromium is not installed")
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        page = browser.new_page()
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on(
            "request",
            lambda req: (
                errors.append(f"network request: {req.url}") if not req.url.startswith(("file:", "data:")) else None
            ),
        )
        page.goto((report["dir"] / "report.html").as_uri())
        for section in ("summary", "maps", "latency", "policy", "diff", "appendix"):
            assert page.locator(f"section#{section}").is_visible(), section
        assert page.locator("section#summary table tbody tr").count() == 3
        images = page.locator("img")
        assert images.count() >= 4  # coverage (small multiples), latency, availability, policy change
        loaded = page.evaluate("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
        assert loaded
        browser.close()
    assert errors == []


@pytest.mark.parametrize(
    ("edit", "needle"),
    [
        (lambda t: t.replace('step = "60s"', 'step = "60s"\nstepp = "1s"', 1), "time.stepp: unknown key"),
        (lambda t: t.replace("res = 4", 'res = "four"'), "coverage.res"),
        (lambda t: t.replace('source = "oneweb"', 'source = "onewebb"'), "constellations[1].source"),
        (lambda t: t.replace('spec = "TW"', 'spec = "Taiwn"'), "regions[0].spec"),
        (lambda t: t.replace('duration = "2h"', 'end = "2025-12-31T00:00:00Z"'), "before start"),
        (lambda t: t.replace("min_elevation_deg = 25.0", "min_elevation_deg = 95.0"), "coverage.min_elevation_deg"),
        (
            lambda t: t.replace(
                'constellations = ["starlink-550"]\n\n[variants', 'constellations = ["starlnk"]\n\n[variants'
            ),
            "unknown constellation 'starlnk'",
        ),
        # a bad country code is caught with the file, before any unit runs (it used to fail mid-run, unnamed)
        (
            lambda t: _policies_absolute(t) + '\n[ground]\nexclude_gateways_in = ["TWN"]\n',
            "field ground.exclude_gateways_in: unknown country code 'TWN' (did you mean TW?)",
        ),
        (
            lambda t: _policies_absolute(t).replace(
                "[variants.ground]\n", '[variants.ground]\nexclude_gateways_in = ["QQ"]\n'
            ),
            "field variants[1].ground.exclude_gateways_in: unknown country code 'QQ'",
        ),
    ],
)
def test_bad_scenario_is_one_line_with_key_path_and_writes_nothing(data_dir, tmp_path, skyfence_cli, edit, needle):
    bad = tmp_path / "bad.toml"
    bad.write_text(edit(SMALL.read_text()))
    out = tmp_path / "out"
    proc = skyfence_cli("assess", bad, "--out", out, env={"SKYFENCE_CACHE_DIR": str(tmp_path / "cache")})
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert needle in lines[0] and "bad.toml" in lines[0]
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml"]


def test_example_scenarios_title_every_variant():
    """A variant without a title gets one made from its name, which cannot know proper nouns ("Blockade and japan",
    issue #27): every example scenario titles its variants itself."""
    from skyfence.scenario.schema import load_scenario

    examples = Path(__file__).parents[2] / "examples"
    untitled = []
    for path in sorted(examples.rglob("*.toml")):
        text = path.read_text()
        if "[[variants]]" not in text:
            continue
        scenario, _ = load_scenario(path)
        untitled += [f"{path.name}: {v.name}" for v in scenario.variants if not v.title]
    assert untitled == []
