"""The vendored browser libraries: pinned, complete, licensed, shipped as package data, and the docs pages use them
(no CDN: ``/docs`` and ``/redoc`` work offline)."""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
VENDOR = ROOT / "src" / "skyfence" / "service" / "web" / "static" / "vendor"
STATIC = VENDOR.parent


def _manifest() -> dict:
    return json.loads((VENDOR / "MANIFEST.json").read_text())


def test_every_vendored_file_matches_the_manifest_and_the_pinned_version():
    pins = json.loads((ROOT / "web" / "package.json").read_text())["dependencies"]
    lock = json.loads((ROOT / "web" / "package-lock.json").read_text())["packages"]
    assert all(re.fullmatch(r"\d+\.\d+\.\d+", v) for v in pins.values()), "pin exact versions"
    files = _manifest()["files"]
    listed = {f["file"] for f in files}
    on_disk = {p.name for p in VENDOR.iterdir()} - {"MANIFEST.json"}
    assert listed == on_disk
    for entry in files:
        data = (VENDOR / entry["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], entry["file"]
        assert entry["version"] == pins[entry["package"]] == lock[f"node_modules/{entry['package']}"]["version"]


def test_every_package_ships_its_licence():
    files = _manifest()["files"]
    for package in json.loads((ROOT / "web" / "package.json").read_text())["dependencies"]:
        names = [f["file"] for f in files if f["package"] == package]
        assert any(n.startswith("LICENSE") for n in names), f"{package} has no licence file"
        assert any(n.endswith((".js", ".css")) for n in names), f"{package} ships nothing"


def test_no_source_map_or_remote_reference_in_our_static_files():
    for path in [*STATIC.glob("*.html"), *STATIC.glob("*.js"), *STATIC.glob("layers/*.js"), *STATIC.glob("*.css")]:
        text = path.read_text()
        assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", text), path.name
    for path in VENDOR.glob("*.js"):
        assert "sourceMappingURL=" not in path.read_text(errors="replace")[-300:], path.name


def test_package_data_ships_the_static_files():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["skyfence"]
    base = ROOT / "src" / "skyfence"
    shipped = {p for pattern in patterns for p in base.glob(pattern)}
    for path in STATIC.rglob("*"):
        if path.is_file():
            assert path in shipped, f"{path.relative_to(base)} is not package data"


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    from fastapi.testclient import TestClient

    from skyfence.service import create_app
    from tests.service.conftest import service_settings

    url = f"sqlite:///{tmp_path_factory.mktemp('docs') / 'skyfence.db'}"
    with TestClient(create_app(service_settings(url))) as client:
        yield client


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_api_docs_load_their_assets_from_this_server(client, page):
    response = client.get(page)
    assert response.status_code == 200
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", response.text)
    assets += re.findall(r"""url: ?['"]([^'"]+)['"]""", response.text)
    assert assets, response.text
    assert not [a for a in assets if re.match(r"(https?:)?//", a)], assets
    for asset in assets:
        if asset.startswith("/static/"):
            assert client.get(asset).status_code == 200, asset
    assert "fonts.googleapis" not in response.text and "cdn.jsdelivr" not in response.text


def test_dashboard_page_is_public_and_locks_to_this_server(client):
    response = client.get("/")
    assert response.status_code == 200 and "<title>skyfence dashboard</title>" in response.text
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "connect-src 'self'" in policy
    for src in re.findall(r"""(?:src|href)=["']([^"']+)["']""", response.text):
        if src.startswith("/static/"):
            assert client.get(src).status_code == 200, src
