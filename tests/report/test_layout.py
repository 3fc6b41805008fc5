"""The example reports in headless Chromium: no horizontal overflow at 1,400 and 800 px, no absolute paths,
alt text on every image, and a clean print to PDF."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

WIDTHS = (1400, 800)
#: A4 in PDF points (210 x 297 mm).
A4_PT = (595.3, 841.9)


def _chromium() -> str:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed (required when CI=true)")
        pytest.skip("chromium is not installed")
    return chromium


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=_chromium(),
            args=["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
        )
        yield browser
        browser.close()


def _absolute_paths(text: str) -> list[str]:
    """Machine paths in ``text`` (a leading slash and a usual top-level folder, or this checkout's folders)."""
    text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", text)
    found = re.findall(r"(?<![\w.:/])/(?:home|root|tmp|work|Users|var|usr|opt|mnt|srv)/[^\s\"'<>]*", text)
    for own in (Path.cwd(), Path(__file__).resolve().parents[2]):
        if str(own) in text:
            found.append(str(own))
    return found


@pytest.mark.parametrize("name", ["taiwan", "ukraine"])
def test_no_absolute_path_in_html_or_json(example_reports, name):
    folder = example_reports[name]["dir"]
    for file in ("report.html", "summary.json"):
        assert _absolute_paths((folder / file).read_text()) == [], file


@pytest.mark.parametrize("name", ["taiwan", "ukraine"])
@pytest.mark.parametrize("width", WIDTHS)
def test_report_fits_the_window_and_every_image_has_alt_text(example_reports, browser, name, width, tmp_path):
    folder = example_reports[name]["dir"]
    page = browser.new_page(viewport={"width": width, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("request", lambda r: errors.append(r.url) if not r.url.startswith(("file:", "data:")) else None)
    page.goto((folder / "report.html").as_uri())
    shot = tmp_path / f"{name}-{width}.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    scroll_width, inner_width = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
    assert scroll_width <= inner_width, f"horizontal overflow: {scroll_width} px in a {inner_width} px window"
    wide = page.evaluate(
        """Array.from(document.querySelectorAll('section > *, .scroll, figure'))
             .filter(e => e.getBoundingClientRect().right > innerWidth + 0.5).map(e => e.tagName + '.' + e.className)"""
    )
    assert wide == []
    alts = page.evaluate("Array.from(document.images).map(i => [i.alt, i.complete && i.naturalWidth > 0])")
    assert alts and all(alt.strip() and loaded for alt, loaded in alts)
    assert errors == []
    page.close()


@pytest.mark.parametrize("name", ["taiwan", "ukraine"])
def test_report_prints_to_pdf(example_reports, browser, name, tmp_path):
    folder = example_reports[name]["dir"]
    page = browser.new_page()
    page.goto((folder / "report.html").as_uri())
    page.emulate_media(media="print")
    pdf = tmp_path / f"{name}.pdf"
    page.pdf(path=str(pdf), format="A4", print_background=True)
    data = pdf.read_bytes()
    pages = len(re.findall(rb"/Type\s*/Page(?!s)", data))
    assert 2 <= pages <= 30, pages
    sizes = [(float(w), float(h)) for w, h in re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", data)]
    assert len(sizes) == pages and all(abs(w - A4_PT[0]) < 2 and abs(h - A4_PT[1]) < 2 for w, h in sizes), sizes
    # Nothing wider than the printed page: lay the page out at the printable width and look for overflow.
    page.set_viewport_size({"width": 718, "height": 1000})
    scroll_width, inner_width = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
    assert scroll_width <= inner_width
    page.close()
