"""The control-plane API end to end (in process): bad input, idempotency, policies, licences, alerts, roles,
rate limits, tokens, metrics and the OpenAPI document."""

from __future__ import annotations

import hashlib
import json
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from skyfence.service.core.migrate import head_revision
from skyfence.service.models import ApiKey, Fix, TelemetryBatch
from tests.service.conftest import (
    KYIV,
    PARIS,
    POLICY_TOML,
    TAIPEI,
    World,
    auth,
    fix,
    operator_key,
    populate,
    service_settings,
)

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def api(tmp_path_factory, service_data):
    """A populated app on SQLite shared by the tests of this module (each uses its own keys and terminals)."""
    from skyfence.service import create_app

    url = f"sqlite:///{tmp_path_factory.mktemp('api') / 'skyfence.db'}"
    key = operator_key(url)
    app = create_app(service_settings(url))
    with TestClient(app, headers=auth(key)) as client:
        world = populate(client)
        yield app, client, world


def _new_key() -> str:
    return f"test-{uuid.uuid4().hex}"


def _count(app, model) -> int:
    with app.state.db.read() as session:
        return session.scalar(select(func.count()).select_from(model))


def _problem(response, status: int, field: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status and body["title"] and body["instance"].startswith("/")
    if field is not None:
        assert field in body["detail"], body
        assert any(e["field"] == field for e in body.get("errors", [])), body
    return body


# --------------------------------------------------------------------------- bad input


def test_out_of_range_latitude_names_the_field_and_stores_nothing(api):
    app, client, world = api
    before = _count(app, Fix)
    fixes = [fix(world.terminals["tw"]) for _ in range(3)]
    fixes[2]["lat_deg"] = 91.0
    response = client.post("/api/v1/telemetry/batches", json={"fixes": fixes}, headers={"Idempotency-Key": _new_key()})
    _problem(response, 422, "body.fixes[2].lat_deg")
    assert _count(app, Fix) == before


def test_unknown_terminal_names_the_field_and_stores_nothing(api):
    _app, client, world = api
    key = _new_key()
    fixes = [fix(world.terminals["tw"]), fix(999_999)]
    response = client.post("/api/v1/telemetry/batches", json={"fixes": fixes}, headers={"Idempotency-Key": key})
    body = _problem(response, 422, "body.fixes[1].terminal_id")
    assert "unknown terminal 999999" in body["detail"]
    assert client.get(f"/api/v1/telemetry/batches/{key}").status_code == 404


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"lon_deg": 180.5}, "body.fixes[0].lon_deg"),
        ({"speed_kmh": -1}, "body.fixes[0].speed_kmh"),
        ({"time": "2026-08-22T10:00:00"}, "body.fixes[0].time"),  # no time zone
        ({"time": "1900-01-01T00:00:00Z"}, "body.fixes[0].time"),
        ({"lat": 25.0}, "body.fixes[0].lat"),  # a typo is not silently dropped
    ],
)
def test_invalid_fix_fields_are_named(api, changes, field):
    _, client, world = api
    body = fix(world.terminals["tw"])
    body.update(changes)
    response = client.post("/api/v1/telemetry/batches", json={"fixes": [body]}, headers={"Idempotency-Key": _new_key()})
    _problem(response, 422, field)


def test_nan_and_malformed_json_are_4xx(api):
    _, client, world = api
    text = json.dumps({"fixes": [fix(world.terminals["tw"])]}).replace("25.03", "NaN")
    headers = {"Idempotency-Key": _new_key(), "Content-Type": "application/json"}
    _problem(client.post("/api/v1/telemetry/batches", content=text, headers=headers), 422, "body.fixes[0].lat_deg")
    broken = client.post("/api/v1/telemetry/batches", content=b'{"fixes": [', headers=headers)
    assert _problem(broken, 422)["errors"][0]["message"].startswith("invalid JSON")


def test_wrong_content_type_is_415(api):
    _, client, world = api
    body = json.dumps({"fixes": [fix(world.terminals["tw"])]})
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "application/xml"):
        response = client.post(
            "/api/v1/telemetry/batches",
            content=body,
            headers={"Idempotency-Key": _new_key(), "Content-Type": content_type},
        )
        assert "application/json" in _problem(response, 415)["detail"]
    token = client.post("/api/v1/login/access-token", json={"grant_type": "client_credentials"})
    _problem(token, 415)


def test_missing_idempotency_key_is_named(api):
    _, client, world = api
    response = client.post("/api/v1/telemetry/batches", json={"fixes": [fix(world.terminals["tw"])]})
    _problem(response, 422, "header.Idempotency-Key")


def test_oversized_payloads_are_413_with_and_without_content_length(tmp_path, service_data):
    from skyfence.service import create_app

    url = f"sqlite:///{tmp_path / 'small.db'}"
    key = operator_key(url)
    app = create_app(service_settings(url, max_body_bytes=4096))
    with TestClient(app, headers=auth(key)) as client:
        body = json.dumps({"fixes": [fix(1) for _ in range(100)]}).encode()
        headers = {"Idempotency-Key": _new_key(), "Content-Type": "application/json"}
        assert (
            "4096 bytes"
            in _problem(client.post("/api/v1/telemetry/batches", content=body, headers=headers), 413)["detail"]
        )

        def chunks():
            for start in range(0, len(body), 1000):
                yield body[start : start + 1000]

        _problem(client.post("/api/v1/telemetry/batches", content=chunks(), headers=headers), 413)
        # the advice fits the endpoint (a policy upload was told to send fewer fixes per batch)
        policy = json.dumps({"source": "x" * 5000, "reason": "big"}).encode()
        detail = _problem(client.post("/api/v1/policies", content=policy, headers=headers), 413)["detail"]
        assert "fixes" not in detail and "policy directory" in detail, detail
        enrol = client.post("/api/v1/whitelists/TW/enrolments", content=policy, headers=headers)
        assert "fewer terminals" in _problem(enrol, 413)["detail"]


def test_every_problem_has_one_type_scheme(api):
    """Trial report #26: 403/404/405 and some 422s had type about:blank, the rest urn:skyfence:problem:*."""
    _, client, world = api
    answers = {
        "forbidden": client.post("/api/v1/operators", json={}, headers=auth(world.keys["analyst"])),
        "not-found": client.get("/api/v1/no-such-thing"),
        "method-not-allowed": client.delete("/api/v1/keys"),
        "validation-error": client.get("/api/v1/licences", params={"limit": "-1"}),
        "unauthorised": client.get("/api/v1/keys/me", headers={"X-API-Key": "nope"}),
    }
    for kind, response in answers.items():
        body = _problem(response, response.status_code)
        assert body["type"] == f"urn:skyfence:problem:{kind}", (kind, body)


def test_whitelist_csv_errors_name_the_query_parameter_and_the_accepted_types(api):
    _, client, world = api
    regulator = auth(world.keys["regulator"])
    csv_body = "terminal_id,evidence_ref\n" + f"{world.terminals['tw']},NCC-1\n"
    path = "/api/v1/whitelists/TW/enrolments"
    missing = client.post(path, content=csv_body, headers={**regulator, "Content-Type": "text/csv"})
    _problem(missing, 422, "query.reason")
    wrong = client.post(path, content=csv_body, headers={**regulator, "Content-Type": "text/plain"})
    detail = _problem(wrong, 415)["detail"]
    assert "application/json" in detail and "text/csv" in detail, detail


def test_a_terminal_repeated_in_one_enrolment_request_is_422_naming_both_rows(api):
    """Trial 2 #11: a serial twice in one CSV kept the second evidence reference only, while the audit entry listed
    both and the receipt counted one.  Now: 422 naming both rows, nothing enrolled, nothing audited."""
    app, client, world = api
    from skyfence.service.models import AuditRow, Enrolment

    regulator = auth(world.keys["regulator"])
    path = "/api/v1/whitelists/TW/enrolments"
    before = (_count(app, Enrolment), _count(app, AuditRow))
    csv_body = "serial,evidence_ref\nUT-PL-0001,EV-0\nUT-TW-0001,EV-1\nUT-TW-0001,EV-2\n"
    twice = client.post(
        path, content=csv_body, params={"reason": "x"}, headers={**regulator, "Content-Type": "text/csv"}
    )
    body = _problem(twice, 422, "body.items[2].serial")
    assert "row 1 (body.items[1].serial)" in body["detail"] and "nothing was enrolled" in body["detail"]
    assert [e["field"] for e in body["errors"]] == ["body.items[1].serial", "body.items[2].serial"]
    # the same terminal by serial and by id, in JSON
    items = [
        {"serial": "UT-TW-0001", "evidence_ref": "EV-1"},
        {"terminal_id": world.terminals["pl"], "evidence_ref": "EV-3"},
        {"terminal_id": world.terminals["tw"], "evidence_ref": "EV-2"},
    ]
    mixed = client.post(path, json={"items": items, "reason": "x"}, headers=regulator)
    body = _problem(mixed, 422, "body.items[2].terminal_id")
    assert [e["field"] for e in body["errors"]] == ["body.items[0].serial", "body.items[2].terminal_id"]
    assert (_count(app, Enrolment), _count(app, AuditRow)) == before


@pytest.mark.parametrize("control", ["\u202e", "\u2067", "\u200f", "\u061c"])
def test_bidirectional_controls_are_refused_in_every_stored_text(api, control):
    """Trial 2 #15: a policy named "test hole\\u202egnp.exe" was stored and shown as "test holeexe.png".  Names,
    reasons and policy sources carrying a bidirectional control are a 422 naming the field; nothing is stored."""
    app, client, _world = api
    from skyfence.service.models import Account, AuditRow, Policy

    before = (_count(app, Account), _count(app, Policy), _count(app, AuditRow))
    source = POLICY_TOML.replace('default = "deny"', f'default = "deny"\ndescription = "test hole{control}gnp.exe"')
    policy = client.post("/api/v1/policies", json={"source": source, "reason": "x"})
    assert f"U+{ord(control):04X}" in _problem(policy, 422, "body.source")["detail"]
    account = {"operator_id": "starlink", "owner_name": f"Eve{control}", "country": "TW", "type": "consumer"}
    _problem(client.post("/api/v1/accounts", json={**account, "reason": "x"}), 422, "body.owner_name")
    reason = client.post("/api/v1/accounts", json={**account, "owner_name": "Eve", "reason": f"ok{control}"})
    _problem(reason, 422, "body.reason")
    assert (_count(app, Account), _count(app, Policy), _count(app, AuditRow)) == before


def test_too_many_fixes_is_422(api):
    _, client, world = api
    fixes = [fix(world.terminals["tw"])] * 10_001
    response = client.post("/api/v1/telemetry/batches", json={"fixes": fixes}, headers={"Idempotency-Key": _new_key()})
    _problem(response, 422, "body.fixes")


def test_a_batch_is_all_or_nothing_when_storing_fails(api, monkeypatch):
    app, client, world = api
    from skyfence.service import ingest

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    key = _new_key()
    fixes = [fix(world.terminals["tw"]), fix(world.terminals["pl"], PARIS)]
    before = (_count(app, Fix), _count(app, TelemetryBatch))
    monkeypatch.setattr(ingest, "_alerts", broken)  # fails after the batch and its fixes were inserted
    with TestClient(app, headers=client.headers, raise_server_exceptions=False) as failing:
        answer = failing.post("/api/v1/telemetry/batches", json={"fixes": fixes}, headers={"Idempotency-Key": key})
    assert answer.status_code == 500 and answer.headers["content-type"].startswith(PROBLEM)
    assert (_count(app, Fix), _count(app, TelemetryBatch)) == before
    monkeypatch.undo()
    retried = client.post("/api/v1/telemetry/batches", json={"fixes": fixes}, headers={"Idempotency-Key": key})
    assert retried.status_code == 201 and retried.json()["n_fixes"] == 2


# --------------------------------------------------------------------------- idempotency


def test_a_retry_is_a_replay_and_a_reused_key_with_other_data_is_refused(api):
    app, client, world = api
    key = _new_key()
    fixes = [fix(world.terminals["tw"]), fix(world.terminals["tw"], TAIPEI, speed_kmh=10)]
    first = client.post("/api/v1/telemetry/batches", json={"fixes": fixes}, headers={"Idempotency-Key": key})
    assert first.status_code == 201 and first.json()["replayed"] is False
    before = _count(app, Fix)
    again = client.post("/api/v1/telemetry/batches", json={"fixes": fixes}, headers={"Idempotency-Key": key})
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert {**again.json(), "replayed": False} == first.json()
    assert _count(app, Fix) == before
    fixes[1]["speed_kmh"] = 11
    other = client.post("/api/v1/telemetry/batches", json={"fixes": fixes}, headers={"Idempotency-Key": key})
    assert _problem(other, 422)["type"].endswith("idempotency-key-reused")
    assert client.get(f"/api/v1/telemetry/batches/{key}").json() == {**first.json(), "replayed": True}


def test_no_active_policy_is_409(tmp_path, service_data):
    from skyfence.service import create_app

    url = f"sqlite:///{tmp_path / 'nopolicy.db'}"
    key = operator_key(url)
    app = create_app(service_settings(url))
    with TestClient(app, headers=auth(key)) as client:
        client.post("/api/v1/operators", json={"id": "starlink", "name": "S", "reason": "x"})
        client.post(
            "/api/v1/accounts",
            json={"operator_id": "starlink", "owner_name": "A", "country": "TW", "type": "consumer", "reason": "x"},
        )
        client.post(
            "/api/v1/terminals",
            json={
                "serial": "UT-0000",
                "account_id": 1,
                "registration_country": "TW",
                "plan": "residential",
                "reason": "x",
            },
        )
        response = client.post("/api/v1/telemetry/fixes", json=fix(1))
        assert "activate" in _problem(response, 409)["detail"]


# --------------------------------------------------------------------------- decisions and alerts


def test_decisions_carry_rule_and_reason(api):
    _, client, world = api
    fixes = [
        fix(world.terminals["tw"], TAIPEI),
        fix(world.terminals["pl"], PARIS),
        fix(world.terminals["pl"], KYIV, speed_kmh=120),
        fix(world.terminals["ua"], KYIV),
    ]
    receipt = client.post(
        "/api/v1/telemetry/batches", json={"fixes": fixes}, headers={"Idempotency-Key": _new_key()}
    ).json()
    got = [(d["decision"], d["rule"]) for d in receipt["decisions"]]
    assert got == [("allow", "serve-taiwan"), ("deny", "default"), ("deny", "land-speed"), ("allow", "serve-ukraine")]
    assert "120 km/h" in receipt["decisions"][2]["reason"]
    stored = client.get(f"/api/v1/decisions/{receipt['decisions'][2]['fix_id']}").json()
    assert stored["rule_kind"] == "motion" and stored["policy_version"] == world.policy_version


def test_alerts_for_denials_repeated_denials_and_suspicious_hits(tmp_path, service_data):
    from skyfence.service import create_app

    url = f"sqlite:///{tmp_path / 'alerts.db'}"
    key = operator_key(url)
    app = create_app(service_settings(url))
    with TestClient(app, headers=auth(key)) as client:
        world = populate(client)
        pl = world.terminals["pl"]
        for n in range(3):  # an unregistered Polish roam dish in the Ukrainian whitelist zone, three times
            client.post("/api/v1/telemetry/fixes", json=fix(pl, KYIV, time=f"2026-08-22T10:0{n}:00Z"))
        alerts = client.get("/api/v1/alerts", params={"terminal_id": pl}).json()["items"]
        kinds = sorted(a["kind"] for a in alerts)
        assert kinds == ["denial", "repeated_denial", "suspicious_rule"], alerts
        assert all(a["rule"] == "ua-whitelist" for a in alerts)
        suspicious = next(a for a in alerts if a["kind"] == "suspicious_rule")
        assert client.post(f"/api/v1/alerts/{suspicious['id']}/acknowledge", json={"reason": "seen"}).status_code == 200
        client.post("/api/v1/telemetry/fixes", json=fix(pl, KYIV, time="2026-08-22T10:05:00Z"))
        after = client.get("/api/v1/alerts", params={"terminal_id": pl, "open_only": True}).json()["items"]
        assert sorted(a["kind"] for a in after) == ["denial", "repeated_denial", "suspicious_rule"]  # a new one
        assert len(client.get("/api/v1/alerts", params={"terminal_id": pl}).json()["items"]) == 4


def test_a_suspended_terminal_is_denied_by_the_operator(api):
    _, client, world = api
    created = client.post(
        "/api/v1/terminals",
        json={
            "serial": f"UT-{uuid.uuid4().hex[:8]}",
            "account_id": world.accounts["tw"],
            "registration_country": "TW",
            "plan": "residential",
            "status": "suspended",
            "reason": "unpaid",
        },
    ).json()
    receipt = client.post("/api/v1/telemetry/fixes", json=fix(created["id"], TAIPEI)).json()
    assert receipt["decisions"][0]["decision"] == "deny"
    assert receipt["decisions"][0]["rule"] == "service:terminal-status"


# --------------------------------------------------------------------------- policies and licences


def test_policy_upload_validates_and_versions(api):
    _, client, world = api
    again = client.post("/api/v1/policies", json={"source": POLICY_TOML, "reason": "same again"})
    assert again.status_code == 200 and again.json()["version_id"] == world.policy_version
    bad = POLICY_TOML.replace('action = "allow"', 'action = "permit"', 1)
    problem = _problem(client.post("/api/v1/policies", json={"source": bad, "reason": "typo"}), 422)
    assert "rules[0].action" in problem["detail"]
    # two problems: errors[] lists both, and the misspelt key is named (with a suggestion only where one is close)
    two = POLICY_TOML.replace('action = "allow"', 'acton = "allow"', 1).replace(
        'zone = "ukraine"\naction = "allow"', 'zone = "ukraine"\naction = "allow"\ngeojson = "x.geojson"', 1
    )
    problem = _problem(client.post("/api/v1/policies", json={"source": two, "reason": "typos"}), 422)
    assert "(also: rules[0].acton" in problem["detail"] and "rules[1].geojson" in problem["detail"]
    listed = {e["field"]: e["message"] for e in problem["errors"]}
    assert "unknown key 'acton'" in listed["rules[0].acton"] and "did you mean action?" in listed["rules[0].acton"]
    assert "unknown key 'geojson'" in listed["rules[1].geojson"] and "did you mean" not in listed["rules[1].geojson"]
    assert "rules[0].action" in listed  # the required key the typo left out
    sneaky = 'include = ["../../etc/passwd"]\n' + POLICY_TOML
    assert "server" in _problem(client.post("/api/v1/policies", json={"source": sneaky, "reason": "x"}), 422)["detail"]
    assert client.get("/api/v1/policies/active").json()["version_id"] == world.policy_version


def test_activating_a_version_switches_ingestion_to_it(tmp_path, service_data):
    from skyfence.service import create_app

    url = f"sqlite:///{tmp_path / 'switch.db'}"
    key = operator_key(url)
    app = create_app(service_settings(url))
    with TestClient(app, headers=auth(key)) as client:
        world = populate(client)
        closed = POLICY_TOML.replace('zone = "taiwan"\naction = "allow"', 'zone = "taiwan"\naction = "deny"')
        version = client.post("/api/v1/policies", json={"source": closed, "reason": "order"}).json()["version_id"]
        assert client.post(f"/api/v1/policies/{version}/activate", json={"reason": "order"}).status_code == 200
        receipt = client.post("/api/v1/telemetry/fixes", json=fix(world.terminals["tw"], TAIPEI)).json()
        assert receipt["policy_version"] == version and receipt["decisions"][0]["decision"] == "deny"
        versions = client.get("/api/v1/policies").json()["items"]
        assert [v["active"] for v in versions].count(True) == 1
        actions = [row["action"] for row in client.get("/api/v1/audit", params={"limit": 1000}).json()["items"]]
        assert actions.count("policy.activate") == 2 and actions.count("policy.upload") == 2


def test_licence_states_follow_the_transitions(api):
    _, client, world = api
    regulator = auth(world.keys["regulator"])
    licence = world.licences["tw"]
    skip = client.patch(f"/api/v1/licences/{licence}", json={"state": "granted", "reason": "x"}, headers=regulator)
    assert "allowed next: pending_regulatory, denied" in _problem(skip, 409)["detail"]
    ok = client.patch(
        f"/api/v1/licences/{licence}", json={"state": "pending_regulatory", "reason": "NCC review"}, headers=regulator
    )
    assert ok.status_code == 200 and ok.json()["state"] == "pending_regulatory"
    other = client.patch(
        f"/api/v1/licences/{world.licences['ua']}", json={"note": "x", "reason": "x"}, headers=regulator
    )
    assert _problem(other, 404)["detail"] == f"no licence {world.licences['ua']!r}"  # not there for it (api/scope.py)


# --------------------------------------------------------------------------- roles and keys


def test_analysts_see_no_personal_data(api):
    _, client, world = api
    account = world.accounts["tw"]
    full = client.get(f"/api/v1/accounts/{account}").json()
    assert full["owner_name"] == "Owner tw" and full["contact_email"] == "tw@example.org"
    analyst = auth(world.keys["analyst"])
    redacted = client.get(f"/api/v1/accounts/{account}", headers=analyst).json()
    assert "owner_name" not in redacted and "contact_email" not in redacted and redacted["country"] == "TW"
    listed = client.get("/api/v1/accounts", headers=analyst).json()["items"]
    assert listed and all("owner_name" not in a for a in listed)


def test_keys_are_stored_hashed(api):
    app, client, _world = api
    created = client.post("/api/v1/keys", json={"name": "h", "role": "analyst", "reason": "x"}).json()
    _, key_id, secret = created["key"].split("_", 2)
    with app.state.db.read() as session:
        row = session.get(ApiKey, key_id)
        assert row.secret_sha256 == hashlib.sha256(secret.encode()).hexdigest()
        assert all(secret not in str(v) for v in vars(row).values())
    assert "key" not in client.get("/api/v1/keys").json()["items"][0]


def test_bearer_tokens_work_until_the_key_is_revoked(api):
    _, client, _world = api
    created = client.post("/api/v1/keys", json={"name": "t", "role": "analyst", "reason": "x"}).json()
    _, key_id, secret = created["key"].split("_", 2)
    anonymous = TestClient(client.app)
    token = anonymous.post(
        "/api/v1/login/access-token", auth=(key_id, secret), data={"grant_type": "client_credentials"}
    )
    assert token.status_code == 200, token.text
    bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
    assert anonymous.get("/api/v1/keys/me", headers=bearer).json()["id"] == key_id
    client.post(f"/api/v1/keys/{key_id}/revoke", json={"reason": "leaked"})
    assert "revoked" in _problem(anonymous.get("/api/v1/keys/me", headers=bearer), 401)["detail"]
    wrong = anonymous.post("/api/v1/login/access-token", data={"client_id": key_id, "client_secret": "x" * 43})
    assert wrong.headers["www-authenticate"]
    _problem(wrong, 401)
    forged = {"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIwIn0.c2lnbmF0dXJl"}
    _problem(anonymous.get("/api/v1/keys/me", headers=forged), 401)


def test_rotation_keeps_the_old_key_for_the_grace_period(api):
    _, client, _world = api
    created = client.post("/api/v1/keys", json={"name": "r", "role": "analyst", "reason": "x"}).json()
    rotated = client.post(f"/api/v1/keys/{created['id']}/rotate", json={"reason": "90 days", "grace_seconds": 3600})
    assert rotated.status_code == 201
    new = rotated.json()
    assert (new["role"], new["name"]) == ("analyst", "r")
    assert client.get("/api/v1/keys/me", headers=auth(created["key"])).status_code == 200  # still in grace
    assert client.get("/api/v1/keys/me", headers=auth(new["key"])).json()["id"] == new["id"]
    old = next(k for k in client.get("/api/v1/keys").json()["items"] if k["id"] == created["id"])
    assert old["replaced_by"] == new["id"] and old["expires_at"] is not None


def test_a_key_that_expired_before_it_was_made_is_422(api):
    """Trial report #11: expires_at in the past used to give 201 and a key that never worked."""
    _, client, _world = api
    body = {"name": "stale", "role": "analyst", "expires_at": "2000-01-01T00:00:00Z", "reason": "x"}
    problem = _problem(client.post("/api/v1/keys", json=body), 422, "body.expires_at")
    assert "not in the future" in problem["detail"]
    later = client.post("/api/v1/keys", json={**body, "expires_at": "2199-01-01T00:00:00Z"})
    assert later.status_code == 201, later.text


def test_the_last_operator_key_cannot_be_revoked(tmp_path, service_data):
    """Trial report #11: the only operator key revoking itself locked every operator action out."""
    from skyfence.service import create_app

    url = f"sqlite:///{tmp_path / 'last.db'}"
    key = operator_key(url)
    key_id = key.split("_")[1]
    with TestClient(create_app(service_settings(url)), headers=auth(key)) as client:
        refused = _problem(client.post(f"/api/v1/keys/{key_id}/revoke", json={"reason": "oops"}), 409)
        assert "last active operator key" in refused["detail"] and "create another operator key" in refused["detail"]
        assert client.get("/api/v1/keys/me").status_code == 200  # still works
        # A rotation successor is the same credential: revoking the chain would still leave nobody.
        rotated = client.post(f"/api/v1/keys/{key_id}/rotate", json={"reason": "r", "grace_seconds": 60}).json()
        _problem(client.post(f"/api/v1/keys/{rotated['id']}/revoke", json={"reason": "oops"}), 409)
        second = client.post("/api/v1/keys", json={"name": "second", "role": "operator", "reason": "x"}).json()
        assert client.post(f"/api/v1/keys/{key_id}/revoke", json={"reason": "handover"}).status_code == 200
        assert client.get("/api/v1/keys/me", headers=auth(second["key"])).status_code == 200
        _problem(
            client.post(f"/api/v1/keys/{second['id']}/revoke", json={"reason": "x"}, headers=auth(second["key"])), 409
        )


def test_rate_limit_answers_429_with_retry_after(tmp_path, service_data):
    from skyfence.service import create_app

    url = f"sqlite:///{tmp_path / 'rate.db'}"
    key = operator_key(url)
    # 0.01 requests/s: a token refills in 100 s, so a slow machine (2 s between the first and the fifth request
    # refilled one at 0.5/s) cannot let the fourth request through
    app = create_app(service_settings(url, rate_limit_per_second=0.01, rate_limit_burst=3))
    with TestClient(app, headers=auth(key)) as client:
        statuses = [client.get("/api/v1/keys/me").status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        limited = client.get("/api/v1/keys/me")
        assert int(limited.headers["Retry-After"]) >= 1
        _problem(limited, 429)
        other = operator_key(url)  # limits are per key
        assert client.get("/api/v1/keys/me", headers=auth(other)).status_code == 200


# --------------------------------------------------------------------------- health, metrics, OpenAPI


def test_health_and_metrics(api):
    _, client, world = api
    client.post("/api/v1/telemetry/fixes", json=fix(world.terminals["tw"]))
    client.get(f"/api/v1/terminals/{world.terminals['tw']}")
    health = client.get("/health").json()  # the operator key: the detail
    assert health["status"] == "ok" and health["schema_revision"] == head_revision() and health["active_policy"]
    assert health["database"] == "sqlite"
    # Without credentials (or with a key that is not a reader's, or a wrong one): alive, and which version, only.
    for headers in ({"X-API-Key": ""}, auth(world.keys["terminal"]), {"X-API-Key": "sfk_0123456789abcdef_" + "x" * 43}):
        bare = client.get("/health", headers=headers)
        assert bare.status_code == 200 and set(bare.json()) == {"status", "version"}, bare.text
    metrics = client.get("/metrics")
    assert metrics.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = metrics.text
    assert "# TYPE skyfence_http_requests_total counter" in text
    assert 'route="/api/v1/terminals/{terminal_id}"' in text  # route templates, not raw paths
    assert f'route="/api/v1/terminals/{world.terminals["tw"]}"' not in text
    assert "skyfence_http_request_duration_seconds_bucket" in text and 'le="+Inf"' in text
    assert "skyfence_fixes_ingested_total" in text


def test_openapi_has_operation_ids_examples_and_problem_errors(api):
    _app, client, _ = api
    spec = client.get("/openapi.json").json()
    operation_ids = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            operation_ids.append(operation["operationId"])
            assert operation.get("summary") or operation.get("description"), (method, path)
            for code, response in operation["responses"].items():
                if int(code) >= 400 and path.startswith("/api/"):
                    assert list(response["content"]) == [PROBLEM], (method, path, code)
            if "requestBody" in operation:
                content = operation["requestBody"]["content"]
                schema = next(iter(content.values()))["schema"]
                if "$ref" in schema:
                    name = schema["$ref"].rsplit("/", 1)[1]
                    assert spec["components"]["schemas"][name].get("examples"), name
    assert len(operation_ids) == len(set(operation_ids))
    assert {"ApiKey", "Bearer"} <= set(spec["components"]["securitySchemes"])
    assert "HTTPValidationError" not in spec["components"]["schemas"]


def test_world_fixture_shape(api):
    assert isinstance(api[2], World)
