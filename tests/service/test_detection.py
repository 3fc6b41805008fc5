"""Detection inside the control plane: every ingested fix goes through the behavioural detectors, their
per-terminal state is stored with the fixes, alerts carry kind, score and evidence, readers filter them, operators
acknowledge them (audited) -- on SQLite and on PostgreSQL.

The reference is the offline detector (:func:`skyfence.detection.detect`) run on the whole stream at once: the
service, fed the stream in batches of any size, must raise exactly the alerts it raises.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from skyfence.service.core.migrate import MIGRATIONS_DIR, alembic_config
from skyfence.service.models import AuditRow, DetectorState, Fix
from tests.service.conftest import POLICY_TOML, World, auth, operator_key, populate, service_settings
from tests.service.tracks import frame, stream

PROBLEM = "application/problem+json"
KINDS = {"drone": "drone_suspected", "jumper": "spoofing_suspected"}
N_FIXES = 40


def test_the_migrations_have_one_head():
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert len(heads) == 1, f"several Alembic heads {heads}: re-point the newest migration's down_revision"
    assert (MIGRATIONS_DIR / "versions").is_dir()


def _register(client, world: World, kinds: list[str], label: str) -> dict[int, str]:
    """One UA-registered terminal per kind on the Ukrainian account; terminal id -> kind."""
    out = {}
    for k, kind in enumerate(kinds):
        body = {
            "serial": f"UT-{label}-{kind}-{k}-{uuid.uuid4().hex[:6]}",
            "account_id": world.accounts["ua"],
            "registration_country": "UA",
            "plan": "roam",
            "sale_channel": "retailer",
            "reason": "detection test",
        }
        response = client.post("/api/v1/terminals", json=body)
        assert response.status_code == 201, response.text
        out[response.json()["id"]] = kind
    return out


def _post(client, fixes: list[dict], batch_size: int, label: str) -> None:
    for i in range(0, len(fixes), batch_size):
        response = client.post(
            "/api/v1/telemetry/batches",
            json={"fixes": fixes[i : i + batch_size]},
            headers={"Idempotency-Key": f"{label}-{i}"},
        )
        assert response.status_code == 201, response.text


def _alerts(client, **params) -> list[dict]:
    items, after = [], 0
    while True:
        response = client.get("/api/v1/alerts", params={"limit": 7, "after": after, **params})
        assert response.status_code == 200, response.text
        page = response.json()
        items += page["items"]
        if page["next_after"] is None:
            return items
        after = page["next_after"]


def _offline(fixes: list[dict], world: World, terminals: dict[int, str]) -> pd.DataFrame:
    from skyfence.detection.detectors import Context, detect
    from skyfence.policy import loads_policy

    context = Context(loads_policy(POLICY_TOML, base_dir=Path("/nonexistent-policy-dir"), name="uploaded.toml"))
    account = dict.fromkeys(terminals, world.accounts["ua"])
    return detect(frame(fixes, account, dict.fromkeys(terminals, "UA")), context)


def _as_rows(alerts) -> set[tuple]:
    """(terminal, kind, time, score, evidence) of service alerts (dicts) or offline alerts (a DataFrame)."""
    if isinstance(alerts, pd.DataFrame):
        return {
            (
                int(a.terminal_id),
                a.kind,
                pd.Timestamp(a.time).tz_localize("UTC").isoformat(),
                round(float(a.score), 6),
                json.dumps(json.loads(a.evidence), sort_keys=True),
            )
            for a in alerts.itertuples(index=False)
        }
    return {
        (
            a["terminal_id"],
            a["kind"],
            pd.Timestamp(a["time"]).isoformat(),
            round(a["score"], 6),
            json.dumps(a["evidence"], sort_keys=True),
        )
        for a in alerts
        if a["rule"] == "detector"
    }


@pytest.fixture
def service(db_url, service_data):
    from skyfence.service import create_app

    key = operator_key(db_url)
    app = create_app(service_settings(db_url))
    with TestClient(app, headers=auth(key)) as client:
        world = populate(client)
        yield app, client, world


def test_ingested_fixes_raise_the_offline_alerts_whatever_the_batching(service):
    _app, client, world = service
    kinds = ["drone", "jumper", "car", "resident"]
    whole = _register(client, world, kinds, "whole")
    split = _register(client, world, kinds, "split")
    fixes_whole = stream(whole, N_FIXES)
    fixes_split = stream(split, N_FIXES)
    _post(client, fixes_whole, 1000, f"whole-{uuid.uuid4().hex}")  # one batch
    rng = np.random.default_rng(3)
    shuffled: list[dict] = []
    for i in range(0, len(fixes_split), 13):  # batches of 13, shuffled inside each batch
        part = fixes_split[i : i + 13]
        shuffled += [part[j] for j in rng.permutation(len(part))]
    _post(client, shuffled, 13, f"split-{uuid.uuid4().hex}")

    alerts = _alerts(client)
    for terminals, fixes in ((whole, fixes_whole), (split, fixes_split)):
        mine = [a for a in alerts if a["terminal_id"] in terminals]
        expected = _offline(fixes, world, terminals)
        assert _as_rows(mine) == _as_rows(expected)
        raised = {(terminals[a["terminal_id"]], a["kind"]) for a in mine if a["rule"] == "detector"}
        assert raised == {("drone", "drone_suspected"), ("jumper", "spoofing_suspected")}, raised
    for a in alerts:
        if a["rule"] == "detector":
            assert (
                0.0 < a["score"] <= 1.0 and a["evidence"] and a["reason"].split(":")[0] in a["kind"].replace("_", " ")
            )
            assert a["n_fixes"] == 1 and a["first_fix_id"] >= 1
    # the same stream split differently gives the same detection alerts, terminal by terminal
    by_kind = {
        label: sorted(
            (terminals[a["terminal_id"]], a["kind"], a["time"], a["score"], json.dumps(a["evidence"]))
            for a in alerts
            if a["terminal_id"] in terminals and a["rule"] == "detector"
        )
        for label, terminals in (("whole", whole), ("split", split))
    }
    assert by_kind["whole"] == by_kind["split"]


def test_detector_state_is_stored_per_terminal_as_the_offline_stream_leaves_it(service):
    from skyfence.detection.detectors import STATE_FIELDS, Context, StreamDetector
    from skyfence.policy import loads_policy

    app, client, world = service
    terminals = _register(client, world, ["drone", "jumper", "car"], "state")
    fixes = stream(terminals, 25)
    _post(client, fixes, 17, f"state-{uuid.uuid4().hex}")
    context = Context(loads_policy(POLICY_TOML, base_dir=Path("/nonexistent-policy-dir"), name="uploaded.toml"))
    offline = StreamDetector(context)
    account = dict.fromkeys(terminals, world.accounts["ua"])
    offline.process(frame(fixes, account, dict.fromkeys(terminals, "UA")))
    _assert_stored_state(app, offline, terminals)
    with app.state.db.read() as session:
        rows = {r.terminal_id: r for r in session.scalars(select(DetectorState))}
        assert {t: rows[t].account_id for t in terminals} == dict.fromkeys(terminals, world.accounts["ua"])
        carriers = session.execute(
            select(Fix.terminal_id, Fix.batch_id, func.max(Fix.id))
            .where(Fix.terminal_id.in_(terminals))
            .group_by(Fix.terminal_id, Fix.batch_id)
        ).all()
        # every scanned batch wrote each of its terminals' state into the terminal's last fix row of the batch ...
        newest = {(t, b): i for t, b, i in carriers}
        with_state = session.execute(
            select(Fix.terminal_id, Fix.batch_id, Fix.id).where(
                Fix.terminal_id.in_(terminals), Fix.detector_state.is_not(None)
            )
        ).all()
        assert {(t, b): i for t, b, i in with_state} == newest  # ... and into no other row
    for terminal in terminals:
        n = np.frombuffer(_states(app, [terminal])[terminal], dtype="<f8")[STATE_FIELDS.index("n")]
        assert n == 25


def _states(app, terminals) -> dict[int, bytes]:
    from skyfence.service.detect import stored_states

    with app.state.db.read() as session:
        return stored_states(session.connection(), sorted(terminals))


def _assert_stored_state(app, offline, terminals) -> None:
    """The service's stored state of each terminal is bit for bit the offline detector's."""
    from skyfence.detection.detectors import STATE_FIELDS

    states = _states(app, terminals)
    assert sorted(states) == sorted(terminals)
    for terminal in terminals:
        stored = np.frombuffer(states[terminal], dtype="<f8")
        assert stored.shape == (len(STATE_FIELDS),)
        np.testing.assert_array_equal(stored, offline.state[offline.slots[terminal]], err_msg=f"terminal {terminal}")


def test_a_late_batch_keeps_the_state_and_raises_nothing(service):
    """A batch whose fixes are all older than the terminals' newest processed fix leaves their state as it was
    (it is written again, unchanged, into the late batch's rows) and raises no alert."""
    from skyfence.detection.detectors import Context, StreamDetector
    from skyfence.policy import loads_policy

    app, client, world = service
    terminals = _register(client, world, ["drone", "jumper", "car"], "late")
    fixes = stream(terminals, 30)
    _post(client, fixes[30:], 1000, f"late-new-{uuid.uuid4().hex}")
    before = _states(app, terminals)
    raised = _as_rows(_alerts(client))
    _post(client, fixes[:30], 1000, f"late-old-{uuid.uuid4().hex}")
    assert _states(app, terminals) == before
    assert _as_rows(_alerts(client)) == raised
    context = Context(loads_policy(POLICY_TOML, base_dir=Path("/nonexistent-policy-dir"), name="uploaded.toml"))
    offline = StreamDetector(context)
    account = dict.fromkeys(terminals, world.accounts["ua"])
    offline.process(frame(fixes[30:], account, dict.fromkeys(terminals, "UA")))
    _assert_stored_state(app, offline, terminals)


def test_alert_filters_paging_and_an_audited_acknowledgement(service):
    app, client, world = service
    terminals = _register(client, world, ["drone", "jumper", "drone"], "filters")
    fixes = stream(terminals, 20)
    _post(client, fixes, 500, f"filters-{uuid.uuid4().hex}")
    drones = [t for t, k in terminals.items() if k == "drone"]

    everything = _alerts(client)
    assert len({a["id"] for a in everything}) == len(everything)  # paging neither repeats nor skips
    assert [a["id"] for a in everything] == sorted(a["id"] for a in everything)
    found = _alerts(client, kind="drone_suspected")
    assert {a["terminal_id"] for a in found} >= set(drones) and {a["kind"] for a in found} == {"drone_suspected"}
    both = _alerts(client, kind=["drone_suspected", "spoofing_suspected"])
    assert {a["kind"] for a in both} == {"drone_suspected", "spoofing_suspected"}
    mine = _alerts(client, terminal_id=drones[0])
    assert mine and {a["terminal_id"] for a in mine} == {drones[0]}
    latest = max(a["time"] for a in everything)
    since = _alerts(client, since=latest)
    assert since and all(a["time"] == latest for a in since)
    assert _alerts(client, since="2100-01-01T00:00:00Z") == []

    target = found[0]
    reader = TestClient(app, headers=auth(world.keys["analyst"]))
    refused = reader.post(f"/api/v1/alerts/{target['id']}/acknowledge", json={"reason": "seen"})
    assert refused.status_code == 403 and refused.headers["content-type"].startswith(PROBLEM)
    acked = client.post(f"/api/v1/alerts/{target['id']}/acknowledge", json={"reason": "drone handed to air defence"})
    assert acked.status_code == 200, acked.text
    body = acked.json()
    assert body["acknowledged_at"] and body["acknowledged_by"] == world.key_ids["operator"]
    again = client.post(f"/api/v1/alerts/{target['id']}/acknowledge", json={"reason": "twice"})
    assert again.json()["acknowledged_at"] == body["acknowledged_at"]  # the first acknowledgement stays
    with app.state.db.read() as session:
        audit = session.scalars(select(AuditRow).where(AuditRow.action == "alert.acknowledge")).all()
    assert [(r.resource_id, r.reason, r.actor_role) for r in audit] == [
        (str(target["id"]), "drone handed to air defence", "operator")
    ]
    assert json.loads(audit[0].fields) == ["acknowledged_at", "acknowledged_by"]
    assert client.get("/api/v1/audit/verify").json()["ok"]

    acknowledged = _alerts(client, acknowledged=True)
    assert [a["id"] for a in acknowledged] == [target["id"]]
    open_ = _alerts(client, acknowledged=False)
    assert target["id"] not in {a["id"] for a in open_} and len(open_) == len(everything) - 1
    assert {a["id"] for a in _alerts(client, open_only=True)} == {a["id"] for a in open_}
    # analysts and the regulator where the drones flew (Ukraine) read and filter; the regulator of TW sees none
    for role, any_seen in (("analyst", True), ("regulator_foreign", True), ("regulator", False)):
        seen = TestClient(app, headers=auth(world.keys[role])).get("/api/v1/alerts", params={"kind": "drone_suspected"})
        assert seen.status_code == 200 and bool(seen.json()["items"]) is any_seen, role


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "2026-08-22T10:00:00"}, "since"),  # no UTC offset
        ({"since": "yesterday"}, "since"),
        ({"kind": "ufo_suspected"}, "kind"),
        ({"acknowledged": "perhaps"}, "acknowledged"),
        ({"limit": "0"}, "limit"),
    ],
)
def test_bad_alert_filters_are_problems_naming_the_parameter(service, params, field):
    _app, client, _world = service
    response = client.get("/api/v1/alerts", params=params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert any(field in e["field"] for e in body["errors"]), body
    assert "/work" not in response.text and "site-packages" not in response.text


def test_detection_can_be_switched_off(db_url, service_data):
    from skyfence.service import create_app

    key = operator_key(db_url)
    app = create_app(service_settings(db_url, detection=False))
    with TestClient(app, headers=auth(key)) as client:
        world = populate(client)
        terminals = _register(client, world, ["drone", "jumper"], "off")
        _post(client, stream(terminals, 20), 100, f"off-{uuid.uuid4().hex}")
        assert [a for a in _alerts(client) if a["rule"] == "detector"] == []
        with app.state.db.read() as session:
            assert session.scalars(select(DetectorState)).all() == []
            assert session.scalar(select(func.count()).where(Fix.detector_state.is_not(None))) == 0


def test_detection_switched_off_for_a_while_goes_on_from_the_last_stored_state(db_url, service_data):
    """Detection on, off (those fixes are stored and decided, not scanned, and carry no state), on again: the scan
    continues from each terminal's newest state, as an offline stream that never saw the middle fixes."""
    from skyfence.detection.detectors import Context, StreamDetector
    from skyfence.policy import loads_policy
    from skyfence.service import create_app

    key = operator_key(db_url)
    fixes: list[dict] = []
    terminals: dict[int, str] = {}
    world = None
    for part, detection in enumerate((True, False, True)):
        app = create_app(service_settings(db_url, detection=detection))
        with TestClient(app, headers=auth(key)) as client:
            if world is None:
                world = populate(client)
                terminals = _register(client, world, ["drone", "jumper", "car"], "onoff")
                fixes = stream(terminals, 60)
            _post(client, fixes[part * 60 : (part + 1) * 60], 25, f"onoff-{part}-{uuid.uuid4().hex}")
            if part == 2:
                seen = _alerts(client)
                final = _states(app, terminals)
    assert world is not None
    context = Context(loads_policy(POLICY_TOML, base_dir=Path("/nonexistent-policy-dir"), name="uploaded.toml"))
    offline = StreamDetector(context)
    account = dict.fromkeys(terminals, world.accounts["ua"])
    scanned = fixes[:60] + fixes[120:]
    expected = offline.process(frame(scanned, account, dict.fromkeys(terminals, "UA")))
    assert _as_rows(seen) == _as_rows(expected)
    assert sorted(final) == sorted(terminals)
    for terminal in terminals:
        np.testing.assert_array_equal(
            np.frombuffer(final[terminal], dtype="<f8"), offline.state[offline.slots[terminal]]
        )


@pytest.mark.parametrize("tail_limit", [None, 5])
def test_two_processes_alternating_keep_their_state_caches_current(db_url, service_data, monkeypatch, tail_limit):
    """Two servers on one database (two ``Database`` objects, so two state caches, as two worker processes have),
    posting batches of the same terminals in turn: each reads the states the other committed since its own last
    batch (the rows above its cache's mark; with a tiny tail limit it starts its cache afresh instead), so the
    alerts and stored states are those of one offline stream."""
    from skyfence.detection.detectors import Context, StreamDetector
    from skyfence.policy import loads_policy
    from skyfence.service import create_app, detect

    if tail_limit is not None:
        monkeypatch.setattr(detect, "_TAIL_LIMIT", tail_limit)
    key = operator_key(db_url)
    first, second = create_app(service_settings(db_url)), create_app(service_settings(db_url))
    with TestClient(first, headers=auth(key)) as one, TestClient(second, headers=auth(key)) as two:
        world = populate(one)
        terminals = _register(one, world, ["drone", "jumper", "car"], "cache")
        fixes = stream(terminals, 40)
        label = f"cache-{uuid.uuid4().hex}"
        for k, start in enumerate(range(0, len(fixes), 9)):
            client = (one, one, two, one, two, two)[k % 6]
            _post(client, fixes[start : start + 9], 9, f"{label}-{k}")
        seen = _alerts(one)
        held = [detect._cache_of(app.state.db.writer).states for app in (first, second)]
        final = _states(first, terminals)
    assert all(set(terminals) <= set(states) for states in held)
    context = Context(loads_policy(POLICY_TOML, base_dir=Path("/nonexistent-policy-dir"), name="uploaded.toml"))
    offline = StreamDetector(context)
    account = dict.fromkeys(terminals, world.accounts["ua"])
    expected = offline.process(frame(fixes, account, dict.fromkeys(terminals, "UA")))
    assert _as_rows(seen) == _as_rows(expected)
    for terminal in terminals:
        np.testing.assert_array_equal(
            np.frombuffer(final[terminal], dtype="<f8"), offline.state[offline.slots[terminal]]
        )


def test_two_workers_scan_each_terminal_in_commit_order(db_url, tmp_path, service_data):
    """``skyfence serve --workers 2``, four clients with a key each posting batches of the same terminals at once:
    every batch is scanned from the state its predecessor committed (no lost update), and the stored state and
    alerts are those of an offline stream fed the batches in the order they committed (their fix ids' order: the
    detection lock is taken before the state is read and the fixes are inserted, so ids follow the scans)."""
    import threading

    import httpx
    from sqlalchemy import create_engine, text

    from skyfence.detection.detectors import Context, StreamDetector
    from skyfence.policy import loads_policy
    from skyfence.service.core.db import normalise_url
    from skyfence.service.detect import stored_states
    from tests.service.server import ServerProcess

    key = operator_key(db_url)
    server = ServerProcess(db_url, tmp_path / "server.log", workers=2)
    server.start()
    label = f"workers-{uuid.uuid4().hex}"
    try:
        fresh = httpx.Limits(max_keepalive_connections=0)  # a new connection a request: both workers serve
        with httpx.Client(base_url=server.base_url, headers=auth(key), timeout=120, limits=fresh) as admin:
            world = populate(admin, db_url=db_url)
            terminals = _register(admin, world, ["drone", "jumper", "car", "drone"], "workers")
        fixes = stream(terminals, 30)
        batches = [fixes[i : i + 8] for i in range(0, len(fixes), 8)]
        failures: list[str] = []

        # a key each: one key's batches queue on its fix-budget row, which would serialise them before detection
        keys = [operator_key(db_url) for _ in range(4)]

        def client(k: int) -> None:
            with httpx.Client(base_url=server.base_url, headers=auth(keys[k]), timeout=120, limits=fresh) as c:
                for b in range(k, len(batches), 4):
                    r = c.post(
                        "/api/v1/telemetry/batches",
                        json={"fixes": batches[b]},
                        headers={"Idempotency-Key": f"{label}-{b}"},
                    )
                    if r.status_code != 201:
                        failures.append(r.text)

        threads = [threading.Thread(target=client, args=(k,)) for k in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == []
        with httpx.Client(base_url=server.base_url, headers=auth(key), timeout=120) as admin:
            seen = _alerts(admin)
    finally:
        server.stop()
    engine = create_engine(normalise_url(db_url))
    try:
        with engine.connect() as connection:
            first_id = {
                key: int(first)
                for key, first in connection.execute(
                    text(
                        "SELECT b.idempotency_key, min(f.id) FROM telemetry_batches AS b JOIN fixes AS f "
                        "ON f.batch_id = b.id WHERE b.idempotency_key LIKE :p GROUP BY b.idempotency_key"
                    ),
                    {"p": f"{label}-%"},
                ).all()
            }
            states = stored_states(connection, sorted(terminals))
    finally:
        engine.dispose()
    committed = sorted(range(len(batches)), key=lambda b: first_id[f"{label}-{b}"])
    context = Context(loads_policy(POLICY_TOML, base_dir=Path("/nonexistent-policy-dir"), name="uploaded.toml"))
    offline = StreamDetector(context)
    account, country = dict.fromkeys(terminals, world.accounts["ua"]), dict.fromkeys(terminals, "UA")
    expected = pd.concat([offline.process(frame(batches[b], account, country)) for b in committed])
    assert _as_rows(seen) == _as_rows(expected)
    assert sorted(states) == sorted(terminals)
    for terminal in terminals:
        np.testing.assert_array_equal(
            np.frombuffer(states[terminal], dtype="<f8"), offline.state[offline.slots[terminal]]
        )


def test_operators_list_and_acknowledge_alerts_from_the_command_line(sqlite_url, tmp_path, service_data, skyfence_cli):
    import httpx

    from tests.service.server import ServerProcess

    key = operator_key(sqlite_url)
    server = ServerProcess(sqlite_url, tmp_path / "server.log")
    server.start()
    try:
        with httpx.Client(base_url=server.base_url, headers=auth(key), timeout=30.0) as admin:
            world = populate(admin, db_url=sqlite_url)
            terminals = _register(admin, world, ["drone", "jumper", "resident"], "cli")
            _post(admin, stream(terminals, 20), 60, f"cli-{uuid.uuid4().hex}")
        env = {"SKYFENCE_URL": server.base_url, "SKYFENCE_API_KEY": world.keys["analyst"]}
        listed = skyfence_cli(
            "alerts", "list", "--kind", "drone_suspected", "--kind", "spoofing_suspected", "--json", env=env
        )
        assert listed.returncode == 0, listed.stderr
        alerts = json.loads(listed.stdout)
        assert {(terminals[a["terminal_id"]], a["kind"]) for a in alerts} == {
            ("drone", "drone_suspected"),
            ("jumper", "spoofing_suspected"),
        }
        table = skyfence_cli("alerts", "list", "--status", "all", env=env)
        assert table.returncode == 0 and "drone_suspected" in table.stdout and "alert(s)" in table.stdout
        drone = next(a for a in alerts if a["kind"] == "drone_suspected")
        refused = skyfence_cli("alerts", "ack", drone["id"], "--reason", "seen", env=env)  # an analyst may not
        assert refused.returncode != 0 and "403" in refused.stderr and "Traceback" not in refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
        acked = skyfence_cli(
            "alerts", "ack", drone["id"], "--reason", "passed to air defence", env={**env, "SKYFENCE_API_KEY": key}
        )
        assert acked.returncode == 0, acked.stderr
        assert f"alert {drone['id']} (drone_suspected" in acked.stdout
        still_open = json.loads(skyfence_cli("alerts", "list", "--json", env=env).stdout)
        assert drone["id"] not in {a["id"] for a in still_open}
        done = json.loads(skyfence_cli("alerts", "list", "--status", "acknowledged", "--json", env=env).stdout)
        assert [a["id"] for a in done] == [drone["id"]]
        since = skyfence_cli("alerts", "list", "--since", "2100-01-01T00:00", "--json", env=env)
        assert json.loads(since.stdout) == []
        wrong = skyfence_cli("alerts", "list", "--key", "wrongkey", env=env)  # it used to say "bearer token"
        assert wrong.returncode != 0 and len(wrong.stderr.strip().splitlines()) == 1, wrong.stderr
        assert "--key" in wrong.stderr and "malformed API key" in wrong.stderr and "bearer" not in wrong.stderr
        bad = skyfence_cli("alerts", "list", "--since", "soon", env=env)
        assert bad.returncode != 0 and "since" in bad.stderr and "Traceback" not in bad.stderr
    finally:
        server.stop()
    gone = skyfence_cli("alerts", "list", env=env)  # the server is down
    assert gone.returncode != 0 and "cannot reach the service" in gone.stderr


CLUSTER_POLICY = """
[policy]
name = "Account-cluster test: a fence east of Kharkiv"
operator = "starlink"
default = "allow"

[zones.front]
cells = ["841192dffffffff", "8411965ffffffff", "8411967ffffffff", "842d651ffffffff", "842d653ffffffff",
         "842d659ffffffff", "842d65bffffffff"]

[[rules]]
id = "front-fence"
kind = "geofence"
zone = "front"
action = "deny"
"""


def test_account_clusters_near_the_front_span_batches(service):
    """Three new dishes of one foreign account appear near a fence, two in one batch and the third later: all three
    get the cluster alert, as offline (the earlier members' first sight comes from the database)."""
    from skyfence.detection.detectors import Context, detect
    from skyfence.policy import loads_policy

    app, client, _world = service
    policy = client.post("/api/v1/policies", json={"source": CLUSTER_POLICY, "reason": "cluster test"})
    assert policy.status_code == 201, policy.text
    version = policy.json()["version_id"]
    activated = client.post(f"/api/v1/policies/{version}/activate", json={"reason": "cluster test"})
    assert activated.status_code == 200, activated.text
    account = {
        "operator_id": "starlink",
        "owner_name": "Reseller",
        "country": "KZ",
        "type": "business",
        "reason": "cluster test",
    }
    account_id = client.post("/api/v1/accounts", json=account).json()["id"]
    terminals = []
    for k in range(3):
        body = {
            "serial": f"UT-KZ-{k}-{uuid.uuid4().hex[:6]}",
            "account_id": account_id,
            "registration_country": "KZ",
            "plan": "roam",
            "sale_channel": "reseller",
            "reason": "cluster test",
        }
        terminals.append(client.post("/api/v1/terminals", json=body).json()["id"])
    # west of the fence (21-27 km from its edge), in Ukrainian-held territory, two hours apart
    places = [(49.95, 35.6), (49.85, 35.65), (50.0, 35.55)]
    fixes = [
        {
            "terminal_id": t,
            "time": f"2026-08-22T{8 + 2 * k:02d}:{m:02d}:00Z",
            "lat_deg": places[k][0],
            "lon_deg": places[k][1] + 0.001 * m,
        }
        for k, t in enumerate(terminals)
        for m in range(3)
    ]
    _post(client, fixes[:6], 1000, f"cluster-a-{uuid.uuid4().hex}")
    assert [a for a in _alerts(client, kind="diversion_suspected") if a["terminal_id"] in terminals] == []
    _post(client, fixes[6:], 1000, f"cluster-b-{uuid.uuid4().hex}")
    alerts = [a for a in _alerts(client, kind="diversion_suspected") if a["terminal_id"] in terminals]
    assert sorted(a["terminal_id"] for a in alerts) == sorted(terminals)
    assert all(a["evidence"] == {"account_cluster_near_front": 3} for a in alerts), alerts
    context = Context(loads_policy(CLUSTER_POLICY, base_dir=Path("/nonexistent-policy-dir"), name="uploaded.toml"))
    expected = detect(frame(fixes, dict.fromkeys(terminals, account_id), dict.fromkeys(terminals, "KZ")), context)
    assert _as_rows(alerts) == _as_rows(expected[expected["kind"] == "diversion_suspected"])
    with app.state.db.read() as session:
        done = {r.terminal_id: r.cluster_done for r in session.scalars(select(DetectorState))}
    assert all(done[t] for t in terminals)
