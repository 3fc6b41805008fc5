"""A regulator's read scope (skyfence.service.api.scope): answered from an index on both backends, filled in for
alerts stored before migration 0010, and the same confinement on the dashboard's live layers.

Which routes leak nothing is checked route by route in ``test_authz_matrix.py``
(``test_no_get_route_shows_a_regulator_another_jurisdiction``)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from skyfence.service.core.db import open_database
from skyfence.service.core.migrate import head_revision, upgrade
from tests.service.conftest import KYIV, TAIPEI, auth, fix, operator_key, populate, service_settings

#: The index each of a regulator's lists must be read from.
INDEXES = {
    "Account": "ix_accounts_country",
    "Terminal": "ix_terminals_registration_country",
    "Fix": "ix_fixes_country",
    "Decision": "ix_fixes_country",
    "Alert": "ix_alerts_country",
    "Licence": "ix_licences_jurisdiction",
    "AuditRow": "ix_audit_log_jurisdiction",
}


def test_a_regulators_lists_are_read_from_an_index(db_url):
    """The page query of each list, confined to one jurisdiction, is an index range on SQLite and PostgreSQL (the
    PostgreSQL planner, given empty tables, is told to avoid sequential scans: the check is that an index fits the
    query, so a rule that no index answers -- a function of the column, a join -- fails here)."""
    from skyfence.service import models
    from skyfence.service.api.scope import scope_of
    from skyfence.service.core.security import Principal

    database = open_database(db_url)
    try:
        upgrade(database)
        scope = scope_of(Principal(key_id="0" * 16, role="regulator", jurisdiction="TW"))
        sqlite = database.is_sqlite
        with database.reader.connect() as connection:
            if not sqlite:
                connection.execute(text("SET enable_seqscan = off"))
            for name, index in INDEXES.items():
                model = getattr(models, name)
                (key,) = model.__mapper__.primary_key
                query = select(model).where(key > 0, *scope.where(model)).order_by(key).limit(100)
                sql = str(query.compile(connection, compile_kwargs={"literal_binds": True}))
                plan = " ".join(
                    str(row[-1])
                    for row in connection.execute(text(("EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN ") + sql))
                )
                assert index in plan, (name, plan)
                assert "SCAN" not in plan if sqlite else "Seq Scan" not in plan, (name, plan)
    finally:
        database.dispose()


def test_migration_0010_gives_stored_alerts_the_country_of_their_fix(db_url):
    from alembic import command

    from skyfence.service import create_app
    from skyfence.service.core.migrate import alembic_config

    app = create_app(service_settings(db_url))
    with TestClient(app, headers=auth(operator_key(db_url))) as client:
        world = populate(client)
        # the TW terminal, not whitelisted, in Ukraine: denied, an alert in UA; in Paris: denied, an alert in FR
        fixes = [fix(world.terminals["tw"], KYIV), fix(world.terminals["pl"], (48.86, 2.35))]
        answer = client.post(
            "/api/v1/telemetry/batches", json={"fixes": fixes}, headers={"Idempotency-Key": "migration-0010-1"}
        )
        assert answer.status_code == 201, answer.text
    app.state.db.dispose()
    database = open_database(db_url)
    try:
        query = text("SELECT a.country, f.country FROM alerts AS a JOIN fixes AS f ON f.id = a.first_fix_id")
        with database.reader.connect() as connection:
            stored = sorted(tuple(r) for r in connection.execute(query))
        assert ("UA", "UA") in stored and ("FR", "FR") in stored, stored
        with database.writer.begin() as connection:
            command.downgrade(alembic_config(connection), "0009")
        with database.reader.connect() as connection:
            assert "country" not in connection.execute(text("SELECT * FROM alerts")).keys()
            assert "jurisdiction" not in connection.execute(text("SELECT * FROM audit_log")).keys()
        assert upgrade(database) == head_revision()
        with database.reader.connect() as connection:
            assert sorted(tuple(r) for r in connection.execute(query)) == stored
    finally:
        database.dispose()


@pytest.fixture
def served(sqlite_url, service_data):
    from skyfence.service import create_app

    app = create_app(service_settings(sqlite_url))
    with TestClient(app, headers=auth(operator_key(sqlite_url))) as client:
        world = populate(client)
        fixes = [
            fix(world.terminals["tw"], TAIPEI),
            fix(world.terminals["tw"], KYIV, time="2026-08-22T12:00:00Z"),  # then it went to Ukraine
            fix(world.terminals["ua"], KYIV),
        ]
        answer = client.post(
            "/api/v1/telemetry/batches", json={"fixes": fixes}, headers={"Idempotency-Key": "scope-test-1"}
        )
        assert answer.status_code == 201, answer.text
        yield client, world, [d["fix_id"] for d in answer.json()["decisions"]]


def test_a_terminal_is_seen_by_where_it_is_registered_and_its_fixes_by_where_they_are(served):
    client, world, fix_ids = served
    tw, ua = auth(world.keys["regulator"]), auth(world.keys["regulator_foreign"])
    terminal = world.terminals["tw"]
    assert client.get(f"/api/v1/terminals/{terminal}", headers=tw).status_code == 200
    assert client.get(f"/api/v1/terminals/{terminal}", headers=ua).status_code == 404
    # its fix in Taiwan for the TW regulator, its fix in Ukraine for the UA regulator
    mine = client.get("/api/v1/telemetry/fixes", params={"terminal_id": terminal}, headers=tw).json()["items"]
    theirs = client.get("/api/v1/telemetry/fixes", params={"terminal_id": terminal}, headers=ua).json()["items"]
    assert [f["id"] for f in mine] == [fix_ids[0]] and [f["id"] for f in theirs] == [fix_ids[1]]
    assert client.get(f"/api/v1/decisions/{fix_ids[1]}", headers=tw).status_code == 404
    assert client.get(f"/api/v1/decisions/{fix_ids[1]}", headers=ua).json()["country"] == "UA"
    # the dashboard: each terminal's last fix in the caller's jurisdiction
    on_map = {
        who: {
            (t["terminal_id"], t["country"]) for t in client.get("/api/v1/map/terminals", headers=h).json()["terminals"]
        }
        for who, h in (("tw", tw), ("ua", ua))
    }
    assert on_map == {"tw": {(terminal, "TW")}, "ua": {(terminal, "UA"), (world.terminals["ua"], "UA")}}
    everything = client.get("/api/v1/map/terminals").json()["terminals"]
    assert {(t["terminal_id"], t["country"]) for t in everything} == {(terminal, "UA"), (world.terminals["ua"], "UA")}


def test_an_item_outside_the_scope_is_answered_like_a_missing_one(served):
    """404 with the same words as for an id that does not exist: a regulator cannot probe which ids exist."""
    client, world, _ = served
    ua = auth(world.keys["regulator_foreign"])
    hidden = client.get(f"/api/v1/accounts/{world.accounts['tw']}", headers=ua)
    missing = client.get("/api/v1/accounts/999999", headers=ua)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["detail"].replace(str(world.accounts["tw"]), "N") == missing.json()["detail"].replace(
        "999999", "N"
    )
    licence = client.patch(f"/api/v1/licences/{world.licences['tw']}", json={"note": "x", "reason": "x"}, headers=ua)
    assert licence.status_code == 404  # writes too: the licence is not there for it
