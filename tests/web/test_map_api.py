"""The server half of the dashboard's layers (``/api/v1/map/...``), with TestClient on a populated SQLite world."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from tests.service.conftest import KYIV, PARIS, POLICY_TOML, TAIPEI, auth, fix, operator_key, populate, service_settings


@pytest.fixture(scope="module")
def api(tmp_path_factory, data_dir):
    from skyfence.service import create_app

    folder = tmp_path_factory.mktemp("map")
    reports = folder / "reports"
    _fake_report(reports / "taiwan")
    url = f"sqlite:///{folder / 'skyfence.db'}"
    key = operator_key(url)
    settings = service_settings(url, reports_dir=reports, dashboard_constellation="oneweb_omm_20260818")
    with TestClient(create_app(settings), headers=auth(key)) as client:
        world = populate(client)
        yield client, world


def _fake_report(folder):
    (folder / "maps").mkdir(parents=True)
    (folder / "report.html").write_text("<html><title>report</title></html>")
    (folder / "summary.json").write_text(
        json.dumps({"scenario": {"title": "Taiwan"}, "time": "2026-08-18", "variants": [{"name": "today"}]})
    )
    import h3

    cells = sorted(h3.cell_to_children("8431001ffffffff", 5))[:5]
    layer = {
        "title": "sats in view (mean)",
        "units": "satellites",
        "cells": cells,
        "values": [1.0, 2.0, None, 4.0, 5.0],
    }
    (folder / "maps" / "starlink__TW__sats_in_view_mean.cells.json").write_text(json.dumps(layer))


def _post_fixes(client, fixes):
    return client.post(
        "/api/v1/telemetry/batches", json={"fixes": fixes}, headers={"Idempotency-Key": uuid.uuid4().hex}
    )


def test_encoding_round_trip():
    from skyfence.service.web.encoding import decode_cells, encode_cells

    cells = np.array([0x830000FFFFFFFFF, 0x830001FFFFFFFFF], dtype=np.uint64)
    values = np.array([[1, 2], [3, 255]], dtype=np.uint8)
    back_cells, back_values = decode_cells(encode_cells(cells, values))
    assert back_cells.tolist() == cells.tolist() and back_values.tolist() == values.tolist()
    with pytest.raises(ValueError):
        encode_cells(cells, np.array([1, 300]))


def test_layers_depend_on_the_role(api):
    client, world = api
    operator = client.get("/api/v1/map/layers").json()
    assert {"availability", "diff", "coverage", "ground", "satellites", "terminals", "alerts", "report"} <= {
        layer["id"] for layer in operator["layers"]
    }
    terminal = client.get("/api/v1/map/layers", headers=auth(world.keys["terminal"])).json()
    assert terminal["role"] == "terminal" and {layer["id"] for layer in terminal["layers"]} == {
        "satellites",
        "terminals",
    }
    assert client.get("/api/v1/map/layers", headers={"X-API-Key": "sfk_nope"}).status_code == 401


def test_world_availability_at_res_3_is_compact_and_matches_the_policy_engine(api):
    from skyfence.policy.availability import AVAILABILITY
    from skyfence.service.web.encoding import decode_cells

    client, _ = api
    meta = client.get("/api/v1/map/availability?res=3").json()
    response = client.get("/api/v1/map/availability/cells?res=3")
    cells, values = decode_cells(response.content)
    assert meta["cells"] == len(cells) == 41_162  # every res-3 cell of the globe (H3: 2 + 120 x 7^3)
    assert len(response.content) <= 5_000_000
    names = np.asarray(meta["categories"])[values[0]]
    assert meta["categories"] == list(AVAILABILITY)
    # Taipei and Kyiv lie in cells the demo policy serves / serves to whitelisted terminals; Paris in none.
    import h3

    for (lat, lon), expected in ((TAIPEI, "served"), (KYIV, "registered_only"), (PARIS, "no_rule")):
        cell = h3.str_to_int(h3.latlng_to_cell(lat, lon, 3))
        assert names[np.flatnonzero(cells == cell)[0]] == expected
    by_code = {c["iso_a2"]: c for c in meta["countries"]}
    assert by_code["TW"]["availability"] == "served" and by_code["FR"]["availability"] == "no_rule"


def test_policy_diff_names_the_key_path_of_an_error(api):
    client, _ = api
    bad = POLICY_TOML.replace('action = "allow"', 'action = "allw"', 1)
    response = client.post("/api/v1/map/policy-diff", json={"source": bad})
    assert response.status_code == 422
    body = response.json()
    assert body["errors"][0]["field"] == "rules[0].action" and "allw" in body["detail"]


def test_policy_diff_counts_cells_and_people_and_is_audited(api):
    client, _ = api
    good = POLICY_TOML.replace('countries = ["TW"]', 'countries = ["TW", "JP"]')
    response = client.post("/api/v1/map/policy-diff", json={"source": good, "reason": "what if Japan"})
    assert response.status_code == 200, response.text
    diff = response.json()
    assert diff["cells"]["changed"] == len(diff["cells"]["ids"]) > 20
    assert set(diff["cells"]["to"]) == {"served"} and {c["iso_a2"] for c in diff["countries"]} == {"JP"}
    assert diff["population"]["people"] > 30_000_000  # Tokyo alone is listed with ~8 million
    rows = client.get("/api/v1/audit?limit=1000").json()["items"]
    assert rows[-1]["action"] == "policy.diff" and rows[-1]["resource_id"] == diff["candidate"]["version_id"]


def test_terminals_show_last_decision_and_a_terminal_key_sees_only_its_own(api):
    client, world = api
    for label, where in (("tw", TAIPEI), ("pl", PARIS)):
        response = _post_fixes(client, [fix(world.terminals[label], where)])
        assert response.status_code == 201, response.text
    rows = {t["terminal_id"]: t for t in client.get("/api/v1/map/terminals").json()["terminals"]}
    assert rows[world.terminals["tw"]]["decision"] == "allow"
    assert rows[world.terminals["pl"]]["decision"] == "deny"
    own = client.get("/api/v1/map/terminals", headers=auth(world.keys["terminal"])).json()["terminals"]
    assert [t["terminal_id"] for t in own] == [world.terminals["tw"]]


def test_alert_stream_sends_alerts_as_server_sent_events(api):
    client, world = api
    _post_fixes(client, [fix(world.terminals["pl"], PARIS, time="2026-08-22T11:00:00Z")])
    response = client.get("/api/v1/map/alerts/stream?recent=50&timeout_s=0.5")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    events = [json.loads(line[5:]) for line in response.text.splitlines() if line.startswith("data:")]
    assert events and all(e["terminal_id"] for e in events)
    assert any(e["terminal_id"] == world.terminals["pl"] and e["lat_deg"] == pytest.approx(PARIS[0]) for e in events)
    assert client.get("/api/v1/map/alerts/stream", headers=auth(world.keys["terminal"])).status_code == 403


def test_satellites_ground_coverage_and_basemap(api):
    from skyfence.service.web.encoding import decode_cells

    client, _ = api
    sats = client.get("/api/v1/map/satellites?tracks=3&time=2026-08-18T12:00Z").json()
    assert sats["satellites"] > 600 and len(sats["lat"]) == len(sats["norad_id"]) and len(sats["tracks"]) == 3
    assert all(abs(a - 1200) < 100 for a in sats["alt_km"][:50])  # OneWeb's shell is at about 1,200 km
    far = client.get("/api/v1/map/satellites?tracks=0&time=3000-01-01T00:00Z")  # SGP4 974 years from epoch
    assert far.status_code == 422 and far.json()["errors"][0]["field"] == "query.time"
    assert "more than the 14-day limit" in far.json()["detail"]
    far_start = client.get("/api/v1/map/coverage?region=TW&res=4&steps=1&start=2030-01-01T00:00Z")
    assert far_start.status_code == 422 and far_start.json()["errors"][0]["field"] == "query.start"
    sites = client.get("/api/v1/map/ground").json()["sites"]
    assert {"gateway", "pop"} <= {s["kind"] for s in sites}
    response = client.get("/api/v1/map/coverage?region=TW&res=4&steps=5&step_s=60&start=2026-08-18T12:00Z")
    cells, values = decode_cells(response.content)
    assert values.shape == (5, len(cells)) and response.headers["x-skyfence-start"] == "2026-08-18T12:00:00Z"
    assert 0 < values.mean() < 40
    too_big = client.get("/api/v1/map/coverage?region=RU&res=6&steps=2880")
    assert too_big.status_code == 422 and "2,000,000" in too_big.json()["detail"]
    basemap = client.get("/api/v1/map/basemap", headers={"X-API-Key": ""}).json()
    assert len(basemap["features"]) > 150 and "Natural Earth" in basemap["attribution"]


def test_an_unknown_region_never_reveals_where_the_server_runs(api):
    """Trial report #10: an absolute path under the working directory came back relative to it (and one outside as
    its bare name), so probing told where the server runs.  Now no region error carries a path at all."""
    client, _ = api
    here = Path.cwd()
    probes = [
        str(here / "examples" / "regions" / "taiwan_strait.geojson"),  # under the working directory
        "/etc/skyfence/taiwan_strait.geojson",  # outside it
        "examples/regions/taiwan_strait.geojson",  # relative
        "..\\..\\x.geojson",
    ]
    details = []
    for probe in probes:
        response = client.get("/api/v1/map/coverage", params={"region": probe, "res": "2", "steps": "1"})
        assert response.status_code == 422, response.text
        body = response.json()
        assert body["errors"] == [{"field": "query.region", "message": "unknown region"}]
        assert "taiwan_strait" not in body["detail"] and str(here) not in body["detail"]
        assert "known: ISO codes" in body["detail"]
        details.append(body["detail"])
    assert len(set(details)) == 1  # the same answer wherever the file is: nothing to compare
    typo = client.get("/api/v1/map/coverage", params={"region": "Taiwn", "res": "2", "steps": "1"}).json()
    assert typo["detail"].startswith("query.region: unknown region 'Taiwn'; did you mean Taiwan"), typo


def test_reports_are_listed_and_open_as_layers(api):
    from skyfence.service.web.encoding import decode_cells

    client, _ = api
    (report,) = client.get("/api/v1/map/reports").json()["reports"]
    assert report["name"] == "taiwan" and report["title"] == "Taiwan" and report["variants"] == ["today"]
    layer = report["layers"][0]["id"]
    response = client.get(f"/api/v1/map/reports/taiwan/layers/{layer}")
    _, values = decode_cells(response.content)
    assert values[0].tolist() == [0, 64, 255, 190, 254] and float(response.headers["x-skyfence-max"]) == 5.0
    assert client.get("/api/v1/map/reports/taiwan/report.html").text.startswith("<html>")
    for bad in ("..", "../..", "taiwan/../../etc"):
        assert client.get(f"/api/v1/map/reports/{bad}/report.html").status_code == 404
    # a backslash comes back as one backslash (repr doubled it, JSON doubled that again)
    for url in (
        "/api/v1/map/reports/..%5C..%5Csummary.json/report.html",
        "/api/v1/map/reports/taiwan/layers/..%5C..%5Csummary.json",
    ):
        detail = client.get(url).json()["detail"]
        assert "'..\\..\\summary.json'" in detail, detail


def test_nested_reports_open_and_traversal_stays_404_without_server_paths(tmp_path, data_dir):
    """A report two levels down (``ex/asat_debris``) is listed and opens, plain or %2F-encoded; ``..``, absolute
    names, encoded slashes and a symlink out of the reports folder stay 404 and never echo a server path."""
    from skyfence.service import create_app

    reports = tmp_path / "reports"
    _fake_report(reports / "ex" / "asat_debris")
    outside = tmp_path / "secret"
    _fake_report(outside)
    (outside / "report.html").write_text("<html>secret</html>")
    (reports / "ex" / "escape").symlink_to(outside, target_is_directory=True)
    url = f"sqlite:///{tmp_path / 'skyfence.db'}"
    key = operator_key(url)
    app = create_app(service_settings(url, reports_dir=reports))
    with TestClient(app, headers=auth(key)) as client:
        names = [r["name"] for r in client.get("/api/v1/map/reports").json()["reports"]]
        assert names == ["ex/asat_debris"]
        for name in ("ex/asat_debris", "ex%2Fasat_debris"):
            page = client.get(f"/api/v1/map/reports/{name}/report.html")
            assert page.status_code == 200 and page.text.startswith("<html>"), (name, page.text)
        layer = client.get("/api/v1/map/reports").json()["reports"][0]["layers"][0]["id"]
        assert client.get(f"/api/v1/map/reports/ex%2Fasat_debris/layers/{layer}").status_code == 200
        attempts = (
            "ex/escape",
            "ex%2Fescape",
            "ex/../../secret",
            "ex%2F..%2F..%2Fsecret",
            "..%2Fsecret",
            "%2E%2E/secret",
            "%2F" + str(outside).lstrip("/").replace("/", "%2F"),
            str(outside).lstrip("/"),
            "ex\\..\\..\\secret",
            "ex/asat_debris%00",
        )
        for bad in attempts:
            for tail in ("report.html", f"layers/{layer}"):
                response = client.get(f"/api/v1/map/reports/{bad}/{tail}")
                assert 400 <= response.status_code < 500, (bad, tail, response.status_code)
                assert "secret</html>" not in response.text, bad
                # the reports folder's own location is never revealed (an absolute name is only echoed back)
                assert str(reports) not in response.text and (str(tmp_path) not in response.text or "tmp" in bad)
    app.state.db.dispose()
