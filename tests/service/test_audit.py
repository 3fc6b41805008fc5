"""The audit log is hash-chained: editing, deleting or reordering rows directly in the database makes
``skyfence audit verify`` fail, naming the first bad row -- on SQLite and on PostgreSQL."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from skyfence.service.audit import GENESIS_HASH, canonical_json
from skyfence.service.core.db import normalise_url
from tests.service.conftest import auth, operator_key, service_settings

N_ROWS = 8


def _verify(db_url: str, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "skyfence.service", "audit", "verify", "--db", db_url, *extra],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def audited_db(db_url: str) -> str:
    """A database whose audit log holds N_ROWS rows made through the API (keys, operator, account, terminal...)."""
    from skyfence.service import create_app

    key = operator_key(db_url)  # row 1
    app = create_app(service_settings(db_url))
    with TestClient(app, headers=auth(key)) as client:
        calls = [
            ("/api/v1/operators", {"id": "starlink", "name": "Starlink", "reason": "onboarding"}),
            (
                "/api/v1/accounts",
                {
                    "operator_id": "starlink",
                    "owner_name": "Lin",
                    "country": "TW",
                    "type": "consumer",
                    "reason": "new customer",
                },
            ),
            (
                "/api/v1/terminals",
                {
                    "serial": "UT-1",
                    "account_id": 1,
                    "registration_country": "TW",
                    "plan": "residential",
                    "reason": "activation",
                },
            ),
            (
                "/api/v1/licences",
                {"operator_id": "starlink", "jurisdiction": "TW", "reason": "application filed"},
            ),
            ("/api/v1/keys", {"name": "MODA analyst", "role": "analyst", "reason": "analyst"}),
        ]
        for path, body in calls:
            assert client.post(path, json=body).status_code == 201
        assert client.patch("/api/v1/terminals/1", json={"whitelisted": True, "reason": "MoD list"}).status_code == 200
        assert (
            client.patch("/api/v1/licences/1", json={"note": "filed with MODA", "reason": "review"}).status_code == 200
        )
        verified = client.get("/api/v1/audit/verify").json()
        assert verified["ok"] and verified["rows"] == N_ROWS
    app.state.db.dispose()
    return db_url


def _sql(db_url: str, *statements: str) -> None:
    engine = create_engine(normalise_url(db_url))
    with engine.begin() as connection:
        for statement in statements:
            connection.execute(text(statement))
    engine.dispose()


def _fails_at(result: subprocess.CompletedProcess, seq: int, words: str) -> None:
    assert result.returncode == 1, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert f"audit row {seq}:" in lines[0], lines[0]
    assert words in lines[0], lines[0]


def test_an_untouched_log_verifies(audited_db):
    result = _verify(audited_db)
    assert result.returncode == 0, result.stderr
    assert f"audit log ok: {N_ROWS} rows" in result.stdout


def test_editing_a_row_is_detected(audited_db):
    _sql(audited_db, "UPDATE audit_log SET reason = 'nothing to see here' WHERE seq = 4")
    _fails_at(_verify(audited_db), 4, "edited")


def test_editing_who_did_it_is_detected(audited_db):
    _sql(audited_db, "UPDATE audit_log SET actor = 'key:0000000000000000' WHERE seq = 2")
    _fails_at(_verify(audited_db), 2, "edited")


def test_deleting_a_row_is_detected(audited_db):
    _sql(audited_db, "DELETE FROM audit_log WHERE seq = 3")
    _fails_at(_verify(audited_db), 4, "missing")


def test_deleting_the_newest_row_is_detected(audited_db):
    _sql(audited_db, f"DELETE FROM audit_log WHERE seq = {N_ROWS}")
    _fails_at(_verify(audited_db), N_ROWS, "missing at the end")


def test_reordering_rows_is_detected(audited_db):
    _sql(
        audited_db,
        "UPDATE audit_log SET seq = -5 WHERE seq = 5",
        "UPDATE audit_log SET seq = 5 WHERE seq = 6",
        "UPDATE audit_log SET seq = 6 WHERE seq = -5",
    )
    _fails_at(_verify(audited_db), 5, "")


#: What a row's hash covers, written out here rather than taken from skyfence.service.audit: the jurisdiction only
#: when set (rows written before migration 0010 have none and hash as they always did).
_FIELDS = (
    "seq",
    "at",
    "actor",
    "actor_role",
    "action",
    "resource_type",
    "resource_id",
    "fields",
    "before_sha256",
    "after_sha256",
    "reason",
)


def _hashed(row: dict) -> dict:
    view = {k: row[k] for k in _FIELDS}
    if row["jurisdiction"] is not None:
        view["jurisdiction"] = row["jurisdiction"]
    return view


@pytest.mark.parametrize("change", ["'UA'", "NULL"])
def test_changing_the_jurisdiction_of_a_row_is_detected(audited_db, change):
    """The jurisdiction decides which regulator reads an entry: moving an entry to another regulator, or hiding it
    from its own, breaks the row's hash."""
    engine = create_engine(normalise_url(audited_db))
    with engine.begin() as connection:
        seq, jurisdiction = connection.execute(
            text("SELECT seq, jurisdiction FROM audit_log WHERE action = 'licence.apply'")
        ).one()
    engine.dispose()
    assert jurisdiction == "TW"
    _sql(audited_db, f"UPDATE audit_log SET jurisdiction = {change} WHERE seq = {seq}")
    _fails_at(_verify(audited_db), seq, "hash does not match")


def test_an_edit_with_a_recomputed_hash_breaks_the_next_link(audited_db):
    engine = create_engine(normalise_url(audited_db))
    with engine.begin() as connection:
        row = dict(connection.execute(text("SELECT * FROM audit_log WHERE seq = 3")).mappings().one())
        row["reason"] = "forged"
        forged = hashlib.sha256((row["prev_hash"] + canonical_json(_hashed(row))).encode()).hexdigest()
        connection.execute(text("UPDATE audit_log SET reason = 'forged', hash = :h WHERE seq = 3"), {"h": forged})
    engine.dispose()
    _fails_at(_verify(audited_db), 4, "prev_hash")


def test_a_rewritten_chain_is_caught_by_an_anchor(audited_db):
    anchor_line = _verify(audited_db).stdout
    head_seq = int(anchor_line.split("head seq ")[1].split()[0])
    head_hash = anchor_line.split(" hash ")[1].split()[0]
    # An attacker with write access rewrites row 2 and every hash after it, and the head too.
    engine = create_engine(normalise_url(audited_db))
    with engine.begin() as connection:
        rows = [dict(r) for r in connection.execute(text("SELECT * FROM audit_log ORDER BY seq")).mappings()]
        prev = GENESIS_HASH
        for row in rows:
            if row["seq"] == 2:
                row["reason"] = "rewritten"
            row["prev_hash"] = prev
            row["hash"] = hashlib.sha256((prev + canonical_json(_hashed(row))).encode()).hexdigest()
            prev = row["hash"]
        for row in rows:  # two passes keep the unique hash constraint happy
            connection.execute(
                text("UPDATE audit_log SET hash = :t WHERE seq = :s"), {"t": f"tmp{row['seq']}", "s": row["seq"]}
            )
        for row in rows:
            connection.execute(
                text("UPDATE audit_log SET reason = :r, prev_hash = :p, hash = :h WHERE seq = :s"),
                {"r": row["reason"], "p": row["prev_hash"], "h": row["hash"], "s": row["seq"]},
            )
        connection.execute(text("UPDATE audit_head SET hash = :h"), {"h": prev})
    engine.dispose()
    assert _verify(audited_db).returncode == 0  # the documented limit: a full rewrite verifies on its own ...
    _fails_at(_verify(audited_db, "--anchor", f"{head_seq}:{head_hash}"), head_seq, "anchor")  # ... not against it


def test_the_api_reports_the_first_bad_row(audited_db):
    from skyfence.service import create_app

    _sql(audited_db, "UPDATE audit_log SET reason = 'x' WHERE seq = 6")
    app = create_app(service_settings(audited_db))
    key = operator_key(audited_db)  # appends a row; the chain is still broken at 6
    with TestClient(app, headers=auth(key)) as client:
        answer = client.get("/api/v1/audit/verify").json()
    app.state.db.dispose()
    assert answer["ok"] is False and answer["first_bad_seq"] == 6


def test_verify_on_a_database_without_an_audit_log_says_so(tmp_path):
    import sqlite3

    sqlite3.connect(tmp_path / "empty.db").execute("CREATE TABLE other (x INTEGER)")
    result = _verify(str(tmp_path / "empty.db"))
    assert result.returncode == 1
    assert "no audit log" in result.stderr and "Traceback" not in result.stderr


def test_verify_on_a_missing_database_creates_nothing(tmp_path):
    """Issue 11, item 12: checking a database never makes one (nor its folder)."""
    missing = tmp_path / "no" / "such" / "folder" / "cp.db"
    result = _verify(f"sqlite:///{missing}")
    assert result.returncode == 1 and "no such database file" in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert not (tmp_path / "no").exists()
    folder = _verify(str(tmp_path))  # a folder given as --db: say so, not "no such file"
    assert folder.returncode == 1 and "field --db: is a directory, not a database file" in folder.stderr
    assert folder.stderr.count("\n") == 1
