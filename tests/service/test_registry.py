"""Licences and whitelists that drive live decisions (issue 19), on SQLite and PostgreSQL.

* The Taiwan flow: apply → a Taipei fix is denied "licence applied, not granted"; grant with
  ``local_gateway_required`` → "condition unmet: no operational gateway in TW"; a Taipei gateway → allowed;
  suspend → denied.  Every step is in the audit log and ``skyfence audit verify`` passes.
* The Ukraine flow: 10,000 terminals enrolled in one request; enrolled terminals in Ukraine are allowed, the others
  denied by the whitelist rule; a revocation takes effect on the terminal's next fix.
* The registry exported after each Taiwan step (``skyfence policy export``) and run through ``assess`` reproduces
  that step's availability for Taiwan; ``skyfence policy import`` loads a snapshot back, audited.
* Bad input: unknown condition, percentage outside 0-100, unknown terminal in a bulk enrolment (its row index), a
  gateway outside every country → 4xx problem naming the field, and nothing stored.

Every change happens between two batches: the next batch sees it (the registry version is read per batch).
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, insert, text

from skyfence.service.core.db import normalise_url
from tests.service.conftest import KYIV, TAIPEI, auth, fix, operator_key, regulator_key, service_settings

REGISTRY_POLICY = (Path(__file__).parents[2] / "examples" / "policies" / "registry_driven.toml").read_text()
PROBLEM = "application/problem+json"
TAIPEI_GATEWAY = {"name": "Taipei gateway", "kind": "gateway", "lat_deg": 25.05, "lon_deg": 121.53}


def _ok(response, expected: int = 201) -> Any:
    assert response.status_code == expected, (response.status_code, response.text)
    return response.json() if response.content else None


def _problem(response, status: int, field: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert any(e["field"] == field for e in body.get("errors") or []), body
    assert "/tmp" not in body["detail"] and "/work" not in body["detail"]
    return body


class Registry:
    """An app on a fresh database with the registry-driven policy active, an operator and a regulator per country."""

    def __init__(self, client: TestClient, db_url: str) -> None:
        self.client = client
        self.db_url = db_url
        _ok(client.post("/api/v1/operators", json={"id": "starlink", "name": "Starlink", "reason": "set-up"}))
        self.keys: dict[str, str] = {}
        for code in ("TW", "UA", "PL"):
            self.keys[code] = regulator_key(db_url, code)
        self.accounts: dict[str, int] = {}
        for code in ("TW", "UA"):
            body = {
                "operator_id": "starlink",
                "owner_name": f"Owner {code}",
                "country": code,
                "type": "consumer",
                "reason": "set-up",
            }
            self.accounts[code] = _ok(client.post("/api/v1/accounts", json=body))["id"]
        policy = _ok(client.post("/api/v1/policies", json={"source": REGISTRY_POLICY, "reason": "set-up"}))
        _ok(client.post(f"/api/v1/policies/{policy['version_id']}/activate", json={"reason": "set-up"}), 200)

    def terminal(self, code: str, serial: str, plan: str = "residential") -> int:
        body = {
            "serial": serial,
            "account_id": self.accounts[code],
            "registration_country": code,
            "plan": plan,
            "reason": "set-up",
        }
        return _ok(self.client.post("/api/v1/terminals", json=body))["id"]

    def regulator(self, code: str) -> dict[str, str]:
        return auth(self.keys[code])

    def decide(self, *fixes: dict[str, Any]) -> list[dict[str, Any]]:
        """Post one batch (a new idempotency key) and return its decisions, in order."""
        receipt = _ok(
            self.client.post(
                "/api/v1/telemetry/batches",
                json={"fixes": list(fixes)},
                headers={"Idempotency-Key": f"registry-{uuid.uuid4().hex}"},
            )
        )
        return receipt["decisions"]

    def licence(self, licence_id: int, body: dict[str, Any], code: str = "TW") -> dict[str, Any]:
        return _ok(self.client.patch(f"/api/v1/licences/{licence_id}", json=body, headers=self.regulator(code)), 200)


@pytest.fixture
def registry(db_url, service_data):
    from skyfence.service import create_app

    key = operator_key(db_url)
    app = create_app(service_settings(db_url))
    with TestClient(app, headers=auth(key)) as client:
        yield Registry(client, db_url)
    app.state.db.dispose()


def _audit_verify(db_url: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "skyfence", "audit", "verify", "--db", db_url],
        capture_output=True,
        text=True,
        timeout=180,
    )


# --------------------------------------------------------------------------- Taiwan


def test_taiwan_flow_apply_grant_with_a_condition_gateway_suspend(registry, tmp_path):
    from skyfence.service.snapshot import export_snapshot

    r, client = registry, registry.client
    snapshots = tmp_path / "snapshots"
    snapshots.mkdir()

    def export(step: str) -> Path:
        return export_snapshot(r.db_url, snapshots / f"{step}.toml").policy

    taipei = r.terminal("TW", "UT-TW-0001")

    # 1. The operator applies: the Taipei fix is denied, naming the licence's state.
    licence = _ok(
        client.post("/api/v1/licences", json={"operator_id": "starlink", "jurisdiction": "TW", "reason": "filed"})
    )
    assert licence["state"] == "applied" and licence["allowed_next"] == ["pending_regulatory", "denied"]
    (first,) = r.decide(fix(taipei, TAIPEI))
    assert first["decision"] == "deny" and first["rule"] == "licensed", first
    assert "licence applied, not granted" in first["reason"]
    assert first["licence_id"] == licence["id"]
    export("applied")

    # Only the regulator of TW decides; the operator cannot grant its own licence, nor skip a state.
    forbidden = client.patch(f"/api/v1/licences/{licence['id']}", json={"state": "pending_regulatory", "reason": "x"})
    assert forbidden.status_code == 403
    skip = client.patch(
        f"/api/v1/licences/{licence['id']}", json={"state": "granted", "reason": "x"}, headers=r.regulator("TW")
    )
    assert skip.status_code == 409 and "allowed next: pending_regulatory, denied" in skip.json()["detail"]

    # 2. The regulator grants with local_gateway_required: still denied, naming the unmet condition.
    r.licence(licence["id"], {"state": "pending_regulatory", "reason": "MODA review"})
    granted = r.licence(
        licence["id"],
        {"state": "granted", "conditions": {"local_gateway_required": True}, "reason": "MODA decision 2026/17"},
    )
    assert granted["conditions"]["local_gateway_required"] is True
    (second,) = r.decide(fix(taipei, TAIPEI))
    assert second["decision"] == "deny", second
    assert "condition unmet: no operational gateway in TW" in second["reason"]
    export("no_gateway")

    # A planned gateway does not meet it; an operational one in Taipei does.
    planned = {**TAIPEI_GATEWAY, "name": "Taoyuan gateway (planned)", "lat_deg": 25.0, "lon_deg": 121.3}
    _ok(
        client.post(
            "/api/v1/ground-sites", json={"operator_id": "starlink", "status": "planned", **planned, "reason": "plan"}
        )
    )
    assert r.decide(fix(taipei, TAIPEI))[0]["decision"] == "deny"

    # 3. The operator adds a Taipei gateway: the fix is allowed.
    site = _ok(
        client.post("/api/v1/ground-sites", json={"operator_id": "starlink", **TAIPEI_GATEWAY, "reason": "built"})
    )
    assert site["country"] == "TW"
    (third,) = r.decide(fix(taipei, TAIPEI))
    assert third["decision"] == "allow", third
    assert third["licence_id"] == licence["id"] and "Taipei gateway" in third["reason"]
    export("gateway")

    view = _ok(client.get("/api/v1/jurisdictions/TW/service", headers=r.regulator("TW")), 200)
    assert view["terminals_served"] == 1 and view["licences"][0]["in_force"] is True
    assert client.get("/api/v1/jurisdictions/TW/service", headers=r.regulator("UA")).status_code == 403

    # 4. The regulator suspends: denied again.
    r.licence(licence["id"], {"state": "suspended", "reason": "MODA order 2026/31"})
    (fourth,) = r.decide(fix(taipei, TAIPEI))
    assert fourth["decision"] == "deny" and "licence suspended, not granted" in fourth["reason"], fourth
    cli = _skyfence("policy", "export", "--db", r.db_url, "--out", str(snapshots / "suspended.toml"))
    assert cli.returncode == 0 and "1 licences" in cli.stdout, cli.stderr

    # Every step is audited, and the chain verifies.
    rows = _ok(client.get("/api/v1/audit", params={"limit": 1000}), 200)["items"]
    actions = [row["action"] for row in rows if row["resource_type"] in ("licence", "ground_site")]
    for action in ("licence.apply", "licence.pending_regulatory", "licence.granted", "ground_site.create"):
        assert action in actions, actions
    assert actions[-1] == "licence.suspended"
    verified = _audit_verify(r.db_url)
    assert verified.returncode == 0, verified.stderr
    assert "audit log ok" in verified.stdout

    # What the control plane did at each step, as assess computes it from the exported snapshots.
    from skyfence.network.ground import load_ground_segment

    gateways = load_ground_segment(snapshots / "gateway.ground.json").gateways
    assert list(gateways["country"]) == ["TW"] and list(gateways["name"]) == ["Taipei gateway"]
    served = _assess_served_share(snapshots, ["applied", "no_gateway", "gateway", "suspended"])
    assert served == {"applied": 0.0, "no_gateway": 0.0, "gateway": pytest.approx(1.0), "suspended": 0.0}, served


ASSESS = """\
name = "registry-snapshots"
title = "Taiwan under each exported registry state"

[time]
start = "2026-08-22T10:00:00Z"
duration = "10m"
step = "5m"

[coverage]
res = 3

[[constellations]]
name = "oneweb"
source = "oneweb"

[[regions]]
spec = "TW"

[ground]
sites = "gateway.ground.json"

[policy]
file = "applied.toml"

[outputs]
maps = false
"""


def _skyfence(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "skyfence", *args], capture_output=True, text=True, timeout=600, cwd=cwd
    )


def _assess_served_share(folder: Path, steps: list[str]) -> dict[str, float]:
    """Run one assess with a variant per exported snapshot; Taiwan's served share of each."""
    import json

    variants = "".join(
        f'\n[[variants]]\nname = "{step}"\n\n[variants.policy]\nfile = "{step}.toml"\noperator = "starlink"\n'
        for step in steps
    )
    (folder / "scenario.toml").write_text(ASSESS + variants)
    run = _skyfence("assess", "scenario.toml", "--out", "out", cwd=folder)
    assert run.returncode == 0, run.stderr[-2000:]
    summary = json.loads((folder / "out" / "summary.json").read_text())
    shares = {}
    for variant in summary["variants"]:
        (availability,) = [a for a in variant["policy"] if a["region_spec"] == "TW"]
        shares[variant["name"]] = availability["served_share"]
    return shares


def _map_tw(client: TestClient) -> dict[str, Any]:
    """Taiwan's row of the dashboard's availability map (res 2: a few cells, quick) and the registry version."""
    document = _ok(client.get("/api/v1/map/availability", params={"res": 2}), 200)
    (row,) = [c for c in document["countries"] if c["iso_a2"] == "TW"]
    return {**row, "registry_version": document["registry_version"]}


#: Why the live decision denies Taipei at each step of the Taiwan flow; the map must say the same (trial defect: a
#: licence-denied Taiwan was drawn "no_rule", the policy default, while the decision named the licence state).
WHY_NOT = {
    "no licence": "deny by the policy default",
    "applied": "licence applied, not granted",
    "granted, no gateway": "condition unmet: no operational gateway in TW",
    "suspended": "licence suspended, not granted",
}


def test_the_map_shows_the_registry_licences_the_decisions_use_at_every_taiwan_step(registry):
    """Trial defect: with licences from the registry, the map said TW "no_rule" while Taipei fixes were allowed."""
    r, client = registry, registry.client
    taipei = r.terminal("TW", "UT-TW-MAP1")
    seen: list[tuple[str, str, str, float]] = []
    versions: list[int] = []

    def step(name: str) -> None:
        (decision,) = r.decide(fix(taipei, TAIPEI))
        tw = _map_tw(client)  # the very next map request after the change
        seen.append((name, decision["decision"], tw["availability"], tw["served_fraction"]))
        versions.append(tw["registry_version"])
        served = tw["availability"] in ("served", "degraded")
        assert served == (decision["decision"] == "allow"), seen
        assert (tw["served_fraction"] > 0.5) == (decision["decision"] == "allow"), seen
        # the label and reason: a licence that is not in force is "denied" by the licence rule, naming why
        why = WHY_NOT.get(name)
        if why is not None:
            assert why in decision["reason"], decision
            assert why in tw["reason"], (name, tw)
            if name != "no licence":
                assert tw["availability"] == "denied", (name, tw)
                assert (
                    tw["reason"].startswith("deny by rule 'licensed' (licence")
                    and "licence not in force" in tw["reason"]
                )
            else:
                assert tw["availability"] == "no_rule", (name, tw)
        else:
            assert "holds a licence in state granted" in tw["reason"], (name, tw)

    step("no licence")
    licence = _ok(
        client.post("/api/v1/licences", json={"operator_id": "starlink", "jurisdiction": "TW", "reason": "filed"})
    )
    step("applied")
    r.licence(licence["id"], {"state": "pending_regulatory", "reason": "MODA review"})
    r.licence(
        licence["id"],
        {"state": "granted", "conditions": {"local_gateway_required": True}, "reason": "MODA decision 2026/17"},
    )
    step("granted, no gateway")
    _ok(client.post("/api/v1/ground-sites", json={"operator_id": "starlink", **TAIPEI_GATEWAY, "reason": "built"}))
    step("gateway")
    assert seen[-1][1:] == ("allow", "served", 1.0), seen

    # offline, `policy check` decides the same with --db, and says so when the registry is not consulted
    policy_file = str(Path(__file__).parents[2] / "examples" / "policies" / "registry_driven.toml")
    where = ("--lat", str(TAIPEI[0]), "--lon", str(TAIPEI[1]), "--time", "2026-08-22T10:00Z")
    online = _skyfence("policy", "check", policy_file, *where, "--db", r.db_url)
    assert online.returncode == 0 and online.stdout.startswith("ALLOW  rule licensed"), online.stdout + online.stderr
    assert "licences and whitelists from the registry at version" in online.stdout and not online.stderr
    offline = _skyfence("policy", "check", policy_file, *where)
    assert offline.returncode == 0 and offline.stdout.startswith("DENY  rule default"), offline.stdout
    assert "registry, which was not consulted" in offline.stderr and "--db" in offline.stderr, offline.stderr

    # the policy diff against a policy that serves Taiwan by jurisdiction: Taiwan does not change while licensed
    demo = (Path(__file__).parents[2] / "examples" / "policies" / "control_plane_demo.toml").read_text()
    diff = _ok(client.post("/api/v1/map/policy-diff", json={"source": demo, "res": 2}), 200)
    assert "TW" not in {c["iso_a2"] for c in diff["countries"]}, diff["countries"]

    r.licence(licence["id"], {"state": "suspended", "reason": "MODA order 2026/31"})
    step("suspended")
    assert [s[1] for s in seen] == ["deny", "deny", "deny", "allow", "deny"], seen
    assert versions == sorted(versions) and len(set(versions)) == 5, versions  # read afresh at every step
    diff = _ok(client.post("/api/v1/map/policy-diff", json={"source": demo, "res": 2}), 200)
    (tw,) = [c for c in diff["countries"] if c["iso_a2"] == "TW"]
    assert tw["to"] == "served" and tw["served_fraction_from"] == 0.0, tw
    assert tw["from"] == "denied" and "licence not in force (licence suspended, not granted)" in tw["reason_from"], tw


def test_removing_the_gateway_ends_service_and_ownership_conditions_are_checked(registry):
    r, client = registry, registry.client
    taipei = r.terminal("TW", "UT-TW-0002")
    licence = _ok(
        client.post("/api/v1/licences", json={"operator_id": "starlink", "jurisdiction": "TW", "reason": "filed"})
    )
    r.licence(licence["id"], {"state": "pending_regulatory", "reason": "review"})
    conditions = {"local_gateway_required": True, "foreign_ownership_max_pct": 49, "local_ownership_min_pct": 51}
    r.licence(licence["id"], {"state": "granted", "conditions": conditions, "reason": "granted"})
    site = _ok(
        client.post("/api/v1/ground-sites", json={"operator_id": "starlink", **TAIPEI_GATEWAY, "reason": "built"})
    )
    denied = r.decide(fix(taipei, TAIPEI))[0]
    assert denied["decision"] == "deny" and "no ownership record of starlink in TW" in denied["reason"], denied

    # The licence was granted with ownership bounds: the operator can no longer meet them by declaring; the
    # regulator of TW records the ownership it verified (trial report #1).
    owner = {"entity": "Starlink Taiwan", "local_pct": 51, "foreign_pct": 49, "reason": "filing"}
    self_served = client.put("/api/v1/operators/starlink/ownership/TW", json=owner)
    assert self_served.status_code == 403 and "regulator of TW" in self_served.json()["detail"], self_served.text
    assert "no ownership record of starlink in TW" in r.decide(fix(taipei, TAIPEI))[0]["reason"]
    tw, ua = r.regulator("TW"), r.regulator("UA")
    path = "/api/v1/operators/starlink/ownership/TW"
    assert client.put(path, json=owner, headers=ua).status_code == 403  # another jurisdiction's regulator: never
    _ok(client.put(path, json={**owner, "local_pct": 40, "foreign_pct": 60}, headers=tw), 200)
    reason = r.decide(fix(taipei, TAIPEI))[0]["reason"]
    assert "foreign ownership 60% is not <= 49% in TW" in reason and "local ownership 40% is not >= 51%" in reason

    _ok(client.put(path, json=owner, headers=tw), 200)
    assert r.decide(fix(taipei, TAIPEI))[0]["decision"] == "allow"
    trail = _ok(client.get("/api/v1/audit", params={"limit": 1000}), 200)["items"]
    ownership_actors = [row["actor_role"] for row in trail if row["resource_type"] == "ownership"]
    assert ownership_actors == ["regulator", "regulator"], trail

    _ok(client.delete(f"/api/v1/ground-sites/{site['id']}", params={"reason": "gateway destroyed"}), 204)
    after = r.decide(fix(taipei, TAIPEI))[0]
    assert after["decision"] == "deny" and "no operational gateway in TW" in after["reason"]

    # An expiry in the past ends it too (checked against the fix's time).
    _ok(client.post("/api/v1/ground-sites", json={"operator_id": "starlink", **TAIPEI_GATEWAY, "reason": "rebuilt"}))
    r.licence(licence["id"], {"conditions": {**conditions, "expires": "2026-08-21"}, "reason": "term"})
    expired = r.decide(fix(taipei, TAIPEI))[0]
    assert expired["decision"] == "deny" and "licence expired on 2026-08-21" in expired["reason"]


def test_a_change_written_by_another_worker_is_seen_at_the_next_batch(registry):
    """Another worker (here: another connection) changes a licence and bumps the registry version in one
    transaction, as every registry write does; this worker's cached snapshot is not served again."""
    r, client = registry, registry.client
    taipei = r.terminal("TW", "UT-TW-0003")
    licence = _ok(
        client.post("/api/v1/licences", json={"operator_id": "starlink", "jurisdiction": "TW", "reason": "x"})
    )
    r.licence(licence["id"], {"state": "pending_regulatory", "reason": "review"})
    r.licence(licence["id"], {"state": "granted", "reason": "granted"})
    assert r.decide(fix(taipei, TAIPEI))[0]["decision"] == "allow"  # the snapshot is cached now
    engine = create_engine(normalise_url(r.db_url))
    with engine.begin() as connection:
        connection.execute(text("UPDATE licences SET state = 'suspended' WHERE id = :id"), {"id": licence["id"]})
        connection.execute(text("UPDATE registry_version SET version = version + 1 WHERE id = 1"))
    engine.dispose()
    after = r.decide(fix(taipei, TAIPEI))[0]
    assert after["decision"] == "deny" and "licence suspended, not granted" in after["reason"]


def test_two_databases_at_the_same_registry_version_do_not_share_a_snapshot(sqlite_url, service_data, tmp_path):
    from skyfence.service import create_app

    urls = [sqlite_url, f"sqlite:///{tmp_path / 'second.db'}"]
    answers = []
    for k, url in enumerate(urls):
        app = create_app(service_settings(url))
        with TestClient(app, headers=auth(operator_key(url))) as client:
            r = Registry(client, url)
            taipei = r.terminal("TW", f"UT-TW-01{k}0")
            body = {"operator_id": "starlink", "jurisdiction": "TW", "reason": "filed"}
            licence = _ok(client.post("/api/v1/licences", json=body))  # registry version 1 in both
            if k == 1:  # the second database's licence is granted (written as another worker would, version kept)
                engine = create_engine(normalise_url(url))
                with engine.begin() as connection:
                    connection.execute(
                        text("UPDATE licences SET state = 'granted' WHERE id = :id"), {"id": licence["id"]}
                    )
                engine.dispose()
            answers.append(r.decide(fix(taipei, TAIPEI))[0]["decision"])
        app.state.db.dispose()
    assert answers == ["deny", "allow"]


def test_two_workers_decide_with_a_licence_change_from_the_next_batch_on(tmp_path, service_data):
    """``skyfence serve --workers 2``: each worker caches the registry; a regulator's decision, written through
    one worker, is applied by every worker from the next batch on (the registry version is read per batch).
    Every request opens a new connection, so the kernel spreads them over both workers."""
    import httpx

    from tests.service.server import ServerProcess

    url = f"sqlite:///{tmp_path / 'workers.db'}"
    key = operator_key(url)
    server = ServerProcess(url, tmp_path / "server.log", workers=2)
    server.start()
    try:
        fresh = httpx.Limits(max_keepalive_connections=0)
        with httpx.Client(base_url=server.base_url, headers=auth(key), timeout=120, limits=fresh) as client:
            r = Registry(client, url)  # type: ignore[arg-type]  # same calls as a TestClient
            taipei = r.terminal("TW", "UT-TW-0200")
            body = {"operator_id": "starlink", "jurisdiction": "TW", "reason": "filed"}
            licence = _ok(client.post("/api/v1/licences", json=body))
            before = [r.decide(fix(taipei, TAIPEI))[0]["decision"] for _ in range(8)]  # both workers cache it
            r.licence(licence["id"], {"state": "pending_regulatory", "reason": "review"})
            r.licence(licence["id"], {"state": "granted", "reason": "granted"})
            after = [r.decide(fix(taipei, TAIPEI))[0]["decision"] for _ in range(8)]
    finally:
        server.stop()
    assert before == ["deny"] * 8 and after == ["allow"] * 8


# --------------------------------------------------------------------------- Ukraine


def _bulk_terminals(db_url: str, account_id: int, n: int, prefix: str) -> None:
    """Insert ``n`` terminals straight into the database (set-up only: the subject is enrolment, not creation)."""
    from skyfence.service.models import Terminal, utcnow

    engine = create_engine(normalise_url(db_url))
    now = utcnow()
    rows = [
        {
            "serial": f"{prefix}-{k:05d}",
            "account_id": account_id,
            "registration_country": "UA",
            "plan": "residential",
            "sale_channel": "donation",
            "status": "active",
            "whitelisted": False,
            "created_at": now,
            "updated_at": now,
        }
        for k in range(n)
    ]
    with engine.begin() as connection:
        connection.execute(insert(Terminal), rows)
    engine.dispose()


def test_ukraine_flow_bulk_enrolment_whitelist_and_revocation(registry):
    r, client = registry, registry.client
    ua = r.regulator("UA")
    licence = _ok(
        client.post("/api/v1/licences", json={"operator_id": "starlink", "jurisdiction": "UA", "reason": "x"})
    )
    r.licence(licence["id"], {"state": "pending_regulatory", "reason": "review"}, "UA")
    r.licence(licence["id"], {"state": "granted", "reason": "granted"}, "UA")
    _bulk_terminals(r.db_url, r.accounts["UA"], 10_050, "UA")
    ids = {serial: tid for tid, serial in _terminal_ids(r.db_url)}

    # 10,000 terminals in one request, as CSV; the last 50 stay off the whitelist.
    lines = ["serial,evidence_ref"] + [f"UA-{k:05d},MDT-2026-{k:06d}" for k in range(10_000)]
    receipt = _ok(
        client.post(
            "/api/v1/whitelists/UA/enrolments",
            content="\n".join(lines).encode(),
            params={"reason": "MDT verification batch 17"},
            headers={"Content-Type": "text/csv", **ua},
        )
    )
    assert receipt["enrolled"] == 10_000 and receipt["whitelist_size"] == 10_000

    enrolled = [ids[f"UA-{k:05d}"] for k in range(0, 10_000, 500)]
    others = [ids[f"UA-{k:05d}"] for k in range(10_000, 10_050, 5)]
    decisions = r.decide(*(fix(t, KYIV) for t in enrolled + others))
    for brief in decisions[: len(enrolled)]:
        assert brief["decision"] == "allow" and brief["rule"] == "licensed" and brief["enrolment_id"], brief
    for brief in decisions[len(enrolled) :]:
        assert brief["decision"] == "deny" and brief["rule"] == "ua-whitelist", brief
        assert "not enrolled in the UA whitelist" in brief["reason"]

    # Revoking one takes effect on its next fix; the others stay served.
    revoked = _ok(
        client.post(
            "/api/v1/whitelists/UA/revocations",
            json={"serials": ["UA-00500"], "reason": "terminal reported captured"},
            headers=ua,
        ),
        200,
    )
    assert revoked["revoked"] == 1 and revoked["whitelist_size"] == 9_999
    again = r.decide(fix(ids["UA-00500"], KYIV), fix(ids["UA-01000"], KYIV))
    assert [b["decision"] for b in again] == ["deny", "allow"]
    assert again[0]["rule"] == "ua-whitelist"

    # The whitelist and its actions are the UA regulator's: the TW regulator gets 403 on each.
    tw = r.regulator("TW")
    assert client.get("/api/v1/whitelists/UA/enrolments", headers=tw).status_code == 403
    one = {"items": [{"serial": "UA-10001", "evidence_ref": "x"}], "reason": "x"}
    assert client.post("/api/v1/whitelists/UA/enrolments", json=one, headers=tw).status_code == 403
    assert (
        client.post(
            "/api/v1/whitelists/UA/revocations", json={"serials": ["UA-00001"], "reason": "x"}, headers=tw
        ).status_code
        == 403
    )

    # A delegate of the UA regulator may enrol; the delegation is audited.
    office = _ok(client.post("/api/v1/keys", json={"name": "MDT office", "role": "analyst", "reason": "x"}))
    _ok(client.post("/api/v1/whitelists/UA/delegates", json={"key_id": office["id"], "reason": "MDT"}, headers=ua))
    assert client.post("/api/v1/whitelists/UA/enrolments", json=one, headers=auth(office["key"])).status_code == 201
    view = _ok(client.get("/api/v1/jurisdictions/UA/service", headers=ua), 200)
    assert view["whitelist_size"] == 10_000 and view["terminals_denied"] >= 11

    verified = _audit_verify(r.db_url)
    assert verified.returncode == 0, verified.stderr


def _terminal_ids(db_url: str) -> list[tuple[int, str]]:
    engine = create_engine(normalise_url(db_url))
    with engine.connect() as connection:
        rows = [(int(a), str(b)) for a, b in connection.execute(text("SELECT id, serial FROM terminals"))]
    engine.dispose()
    return rows


# --------------------------------------------------------------------------- bad input


def test_bad_registry_input_is_a_problem_naming_the_field_and_stores_nothing(registry):
    r, client = registry, registry.client
    tw = r.regulator("TW")
    licence = _ok(
        client.post("/api/v1/licences", json={"operator_id": "starlink", "jurisdiction": "TW", "reason": "x"})
    )
    r.licence(licence["id"], {"state": "pending_regulatory", "reason": "review"})
    path = f"/api/v1/licences/{licence['id']}"

    unknown = client.patch(
        path, json={"state": "granted", "conditions": {"chinese_shareholders": 0}, "reason": "x"}, headers=tw
    )
    _problem(unknown, 422, "body.conditions.chinese_shareholders")
    too_much = client.patch(
        path, json={"state": "granted", "conditions": {"foreign_ownership_max_pct": 149}, "reason": "x"}, headers=tw
    )
    _problem(too_much, 422, "body.conditions.foreign_ownership_max_pct")
    negative = client.put(
        "/api/v1/operators/starlink/ownership/TW", json={"local_pct": -1, "foreign_pct": 20, "reason": "x"}
    )
    _problem(negative, 422, "body.local_pct")
    assert client.get(path).json()["state"] == "pending_regulatory"  # nothing stored
    assert client.get("/api/v1/operators/starlink/ownership/TW").status_code == 404

    at_sea = {"operator_id": "starlink", "name": "Strait gateway", "kind": "gateway", "lat_deg": 24.0, "lon_deg": 119.6}
    _problem(client.post("/api/v1/ground-sites", json={**at_sea, "reason": "x"}), 422, "body.lat_deg")
    assert client.get("/api/v1/ground-sites").json()["items"] == []

    for k in (1, 2, 3):
        r.terminal("UA", f"UT-UA-000{k}")
    items = [{"serial": f"UT-UA-000{k}", "evidence_ref": f"MDT-{k}"} for k in (1, 2, 3)] + [
        {"serial": "UT-UA-9999", "evidence_ref": "MDT-4"}
    ]
    ua = r.regulator("UA")
    missing = client.post("/api/v1/whitelists/UA/enrolments", json={"items": items, "reason": "x"}, headers=ua)
    body = _problem(missing, 422, "body.items[3].serial")
    assert "row 3" in body["detail"]
    csv_missing = client.post(
        "/api/v1/whitelists/UA/enrolments",
        content=b"serial,evidence_ref\nUT-UA-0001,MDT-1\nUT-UA-0404,MDT-2\n",
        params={"reason": "x"},
        headers={"Content-Type": "text/csv", **ua},
    )
    _problem(csv_missing, 422, "body.items[1].serial")
    no_evidence = client.post(
        "/api/v1/whitelists/UA/enrolments", json={"items": [{"serial": "UT-UA-0001"}], "reason": "x"}, headers=ua
    )
    _problem(no_evidence, 422, "body.items[0].evidence_ref")
    assert client.get("/api/v1/whitelists/UA/enrolments", headers=ua).json()["items"] == []


# --------------------------------------------------------------------------- import


IMPORTED = """\
[policy]
name = "A regulator's register, to import"
operator = "starlink"
default = "deny"

[zones.ukraine]
countries = ["UA"]

[operators.starlink]
gateways_in = ["TW"]

[[licences]]
countries = ["TW"]
state = "granted"
authority = "MODA"
conditions = { local_gateway = true, expires = 2027-12-31 }

[[rules]]
id = "licensed"
kind = "licence"
action = "allow"

[[rules]]
id = "ua-whitelist"
kind = "whitelist"
zone = "ukraine"
priority = 5
terminals_file = "enrolled.txt"
"""


def test_policy_import_loads_licences_sites_and_whitelist_audited(sqlite_url, service_data, tmp_path):
    from skyfence.service import create_app

    key = operator_key(sqlite_url)
    app = create_app(service_settings(sqlite_url))
    with TestClient(app, headers=auth(key)) as client:
        r = Registry(client, sqlite_url)
        taipei = r.terminal("TW", "UT-TW-0100")
        kyiv = r.terminal("UA", "UT-UA-0100")
        (tmp_path / "register.toml").write_text(IMPORTED)
        (tmp_path / "enrolled.txt").write_text("# verified by MDT\nUT-UA-0100\n")
        stations = '{"stations": [{"name": "Taipei gateway", "type": "gateway", "lat": 25.05, "lon": 121.53}]}'
        (tmp_path / "ground.json").write_text(stations)
        run = _skyfence(
            "policy",
            "import",
            str(tmp_path / "register.toml"),
            "--db",
            sqlite_url,
            "--ground",
            str(tmp_path / "ground.json"),
            "--reason",
            "MODA register of 2026-08-22",
        )
        assert run.returncode == 0, run.stderr
        assert "imported 1 licences, 1 ground sites, 1 enrolments" in run.stdout
        (licence,) = client.get("/api/v1/licences").json()["items"]
        assert licence["state"] == "granted" and licence["jurisdiction"] == "TW"
        assert licence["conditions"] == {
            "local_gateway_required": True,
            "local_ownership_min_pct": None,
            "foreign_ownership_max_pct": None,
            "lawful_intercept": False,
            "expires": "2027-12-31",
        }
        decided = r.decide(fix(taipei, TAIPEI), fix(kyiv, KYIV))
        assert decided[0]["decision"] == "allow" and decided[0]["licence_id"] == licence["id"]
        # Ukraine has no registry licence, so the enrolled terminal passes the whitelist and meets the default.
        assert decided[1]["decision"] == "deny" and decided[1]["rule"] == "default" and decided[1]["enrolment_id"]
        actions = [row["action"] for row in client.get("/api/v1/audit", params={"limit": 1000}).json()["items"]]
        assert {"licence.import", "ground_site.import", "whitelist.import"} <= set(actions)
        assert all(
            row["actor"] == "cli:policy-import"
            for row in client.get("/api/v1/audit", params={"limit": 1000}).json()["items"]
            if row["action"].endswith(".import")
        )
    app.state.db.dispose()
    assert _audit_verify(sqlite_url).returncode == 0


@pytest.mark.parametrize("example", ["real_world_2026", "operator_serves_taiwan"])
def test_the_example_policies_import_one_licence_per_country_and_round_trip(registry, tmp_path, example):
    """A licence for several countries (the FCC's in-motion grant) becomes one registry licence per country, with
    the same state, conditions and dates, each audited; the exported snapshot imports back to the same registry."""
    from skyfence.policy import load_policy
    from skyfence.service.snapshot import export_snapshot

    source = Path(__file__).parents[2] / "examples" / "policies" / f"{example}.toml"
    spec = load_policy(source).spec
    wanted = {}
    for licence in spec.licences:
        if (licence.operator or "starlink") == "starlink":
            for code in licence.countries:
                wanted[code] = (licence.state, licence.conditions.local_gateway, licence.conditions.expires)
    assert any(len(licence.countries) > 1 for licence in spec.licences)  # the case that used to be refused
    ran = _skyfence("policy", "import", str(source), "--db", registry.db_url, "--reason", "example")
    assert ran.returncode == 0 and "Traceback" not in ran.stderr, ran.stderr
    assert f"imported {len(wanted)} licences" in ran.stdout

    def registry_licences() -> dict[str, tuple]:
        items = registry.client.get("/api/v1/licences", params={"limit": 1000}).json()["items"]
        return {
            i["jurisdiction"]: (i["state"], i["conditions"]["local_gateway_required"], i["conditions"]["expires"])
            for i in items
        }

    stored = registry_licences()
    assert len(stored) == len(wanted)
    for code, (state, local_gateway, expires) in wanted.items():
        assert stored[code][:2] == ("applied" if state == "none" else state, local_gateway), code
        assert stored[code][2] == (expires.isoformat() if expires else None), code
    audited = registry.client.get("/api/v1/audit", params={"limit": 1000}).json()["items"]
    assert sum(row["action"] == "licence.import" for row in audited) == len(wanted)

    snapshot = export_snapshot(registry.db_url, tmp_path / "snapshot.toml").policy
    exported = load_policy(snapshot).spec.licences
    assert sorted(c for licence in exported for c in licence.countries) == sorted(wanted)
    again = _skyfence("policy", "import", str(snapshot), "--db", registry.db_url, "--reason", "round trip")
    assert again.returncode == 0, again.stderr
    assert registry_licences() == stored


def test_import_creates_and_migrates_a_new_database_and_export_never_creates_one(service_data, tmp_path):
    """``policy import`` writes, so it brings a new database to the schema (as ``serve`` and ``keys create`` do);
    ``policy export`` only reads: a missing file is refused, and nothing is left behind."""
    missing = tmp_path / "missing.db"
    refused = _skyfence("policy", "export", "--db", f"sqlite:///{missing}", "--out", str(tmp_path / "s.toml"))
    assert refused.returncode != 0 and "no such database file" in refused.stderr
    assert "Traceback" not in refused.stderr and not missing.exists() and not (tmp_path / "s.toml").exists()

    (tmp_path / "enrolled.txt").write_text("")
    (tmp_path / "register.toml").write_text(IMPORTED)
    fresh = tmp_path / "fresh.db"
    ran = _skyfence(
        "policy", "import", str(tmp_path / "register.toml"), "--db", f"sqlite:///{fresh}", "--reason", "first import"
    )
    assert ran.returncode == 0, ran.stderr
    assert "imported 1 licences" in ran.stdout
    assert _audit_verify(f"sqlite:///{fresh}").returncode == 0


def test_the_documented_licence_lifecycle_is_the_one_the_code_enforces():
    """Trial report #13: docs/registry.md drew ``applied → pending_regulatory`` while the API allowed ``applied →
    denied`` too.  The page's lifecycle block, read as transitions, must equal LICENCE_TRANSITIONS."""
    from skyfence.policy.model import LICENCE_LIFECYCLE, LICENCE_TRANSITIONS

    page = (Path(__file__).parents[2] / "docs" / "registry.md").read_text(encoding="utf-8")
    block = page.split("## Licence lifecycle", 1)[1].split("```", 2)[1]
    documented: dict[str, set[str]] = {}
    for line in block.strip().splitlines():
        sources, targets = (part.strip() for part in line.split("→"))
        for source in sources.split("|"):
            documented.setdefault(source.strip(), set()).update(t.strip() for t in targets.split("|"))
    enforced = {state: set(next_) for state, next_ in LICENCE_TRANSITIONS.items() if state != "none"}
    assert documented == enforced
    assert "applied → pending_regulatory | denied" in LICENCE_LIFECYCLE
