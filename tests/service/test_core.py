"""Settings, database set-up, migrations, the rate limiter and the service CLI."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from skyfence.errors import InputError
from skyfence.service.core.config import load_settings
from skyfence.service.core.db import normalise_url, open_database
from skyfence.service.core.migrate import head_revision, upgrade
from skyfence.service.core.ratelimit import RateLimiter
from skyfence.service.models import Base


def _service(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "skyfence.service", *args], capture_output=True, text=True, timeout=120, env=env
    )


# --------------------------------------------------------------------------- settings


@pytest.mark.parametrize("secret", [None, "changethis", "short"])
def test_default_or_weak_secrets_are_refused_outside_development(secret):
    with pytest.raises(InputError, match="SKYFENCE_SECRET_KEY"):
        load_settings(environment="production", secret_key=secret)


def test_development_runs_without_a_secret_and_production_with_a_real_one():
    assert len(load_settings(environment="development", secret_key=None).signing_key) >= 32
    strong = secrets.token_urlsafe(48)
    assert load_settings(environment="production", secret_key=strong).signing_key == strong


def test_a_short_secret_is_called_too_short_with_its_length():
    with pytest.raises(InputError, match=r"too short .*: 6 characters, need at least 32"):
        load_settings(environment="production", secret_key="abc123")


def test_serve_refuses_a_placeholder_secret_in_one_line(tmp_path):
    import os

    env = {**os.environ, "SKYFENCE_ENVIRONMENT": "production", "SKYFENCE_SECRET_KEY": "changethis"}
    result = _service("serve", "--db", str(tmp_path / "x.db"), "--port", "0", env=env)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "SKYFENCE_SECRET_KEY" in result.stderr
    assert "Traceback" not in result.stderr


# --------------------------------------------------------------------------- database URLs and durability settings


def test_database_urls():
    assert normalise_url("skyfence.db").get_backend_name() == "sqlite"
    assert normalise_url("postgres://u:p@h/db").drivername == "postgresql+psycopg"
    assert normalise_url("postgresql://u:p@h/db").drivername == "postgresql+psycopg"
    for bad, words in (("mysql://u@h/db", "unsupported database"), ("sqlite://", "in-memory"), ("", "empty")):
        with pytest.raises(InputError, match=words):
            normalise_url(bad)


def test_bad_database_url_is_one_line_on_the_cli(tmp_path):
    result = _service("audit", "verify", "--db", "mysql://root@localhost/x")
    assert result.returncode == 1 and "unsupported database" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "command",
    [
        ("serve", "--port", "0"),
        ("keys", "create", "--role", "operator", "--name", "a", "--reason", "b"),
        ("policy", "import", "examples/policies/real_world_2026.toml", "--reason", "b"),
        ("policy", "export", "--out", "{tmp}/snapshot.toml"),
        ("audit", "verify"),
    ],
    ids=lambda c: " ".join(c[:2]),
)
@pytest.mark.timeout(120)  # on a regression `serve` would start and never return
def test_a_sqlite_path_in_a_missing_folder_is_refused_and_nothing_is_created(tmp_path, skyfence_cli, command):
    """A typo in --db used to create the folder and start a new, empty control plane (no keys)."""
    typo = tmp_path / "no-such-dir" / "cp.db"
    args = [part.replace("{tmp}", str(tmp_path)) for part in command]
    root = Path(__file__).parents[2]
    args = [str(root / a) if a.startswith("examples/") else a for a in args]
    ran = skyfence_cli(*args, "--db", typo, env={"SKYFENCE_ENVIRONMENT": "development"})
    assert ran.returncode == 1
    assert ran.stderr.count("\n") == 1 and "Traceback" not in ran.stderr, ran.stderr
    assert "--db" in ran.stderr and ("does not exist" in ran.stderr or "no such database file" in ran.stderr)
    assert "keys create" in ran.stderr
    assert not (tmp_path / "no-such-dir").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_sqlite_is_wal_with_full_fsync_and_writers_take_the_lock_up_front(tmp_path):
    database = open_database(tmp_path / "p.db")
    try:
        for engine in (database.writer, database.reader):
            with engine.connect() as connection:
                assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
                assert connection.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
                assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert database.writer.pool.size() == 1  # one writer at a time inside the process
    finally:
        database.dispose()


def test_postgres_commits_are_durable(postgres_url):
    from skyfence.service.core.db import check_durability

    database = open_database(postgres_url)
    try:
        check_durability(database)  # fsync and synchronous_commit are on
        with database.reader.connect() as connection:
            assert connection.execute(text("SHOW synchronous_commit")).scalar() == "on"
    finally:
        database.dispose()


# --------------------------------------------------------------------------- migrations


def test_migrations_match_the_models(db_url):
    database = open_database(db_url)
    try:
        assert upgrade(database) == head_revision()
        assert upgrade(database) == head_revision()  # a second start finds the schema at head
        with database.writer.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata)
        assert diff == [], diff
    finally:
        database.dispose()


def _at_revision(database, revision: str) -> None:
    from alembic import command

    from skyfence.service.core.migrate import alembic_config

    with database.writer.begin() as connection:
        command.upgrade(alembic_config(connection), revision)


def _fixes_and_decisions_at_0006(connection, n_fixes: int, *, decided: int) -> None:
    """A terminal, one batch of ``n_fixes`` fixes and decisions for the first ``decided`` of them (0006 schema);
    decision ids are offset from fix ids, as two interleaved PostgreSQL writers could leave them."""
    now = "2026-08-22 10:00:00"
    connection.execute(text(f"INSERT INTO operators VALUES ('starlink', 'Starlink', '{now}', '{now}')"))
    connection.execute(
        text(f"INSERT INTO accounts VALUES (1, 'starlink', 'A', NULL, 'UA', 'business', '{now}', '{now}')")
    )
    connection.execute(
        text(f"INSERT INTO terminals VALUES (7, 'T-7', 1, 'UA', 'roam', 'direct', 'active', false, '{now}', '{now}')")
    )
    connection.execute(
        text(
            "INSERT INTO telemetry_batches (id, scope, idempotency_key, request_sha256, key_id, n_fixes, "
            f"policy_version, received_at) VALUES (1, 'key:k', 'b1', 'h', 'k', {n_fixes}, 'v1', '{now}')"
        )
    )
    for i in range(n_fixes):
        connection.execute(
            text(
                "INSERT INTO fixes (id, batch_id, index_in_batch, terminal_id, time, lat_deg, lon_deg, alt_m, "
                f"speed_kmh) VALUES ({i + 1}, 1, {i}, 7, '2026-08-22 10:00:{i:02d}', 50.0, 30.5, 100.0, 0.0)"
            )
        )
    for i in range(decided):
        decision = "deny" if i % 2 else "allow"
        licence = "NULL" if i % 3 else "4"
        connection.execute(
            text(
                "INSERT INTO decisions (id, fix_id, terminal_id, time, policy_version, decision, rule, rule_kind, "
                f"reason, country, licence_id, enrolment_id) VALUES ({i + 101}, {i + 1}, 7, "
                f"'2026-08-22 10:00:{i:02d}', 'v1', '{decision}', 'r{i}', 'whitelist', 'why {i}', 'UA', {licence}, "
                f"{i + 1000})"
            )
        )


_DECISION_ROW = "terminal_id, decision, rule, rule_kind, reason, country, licence_id, enrolment_id"


def test_migration_0007_folds_decisions_into_fixes_and_back_keeping_every_value(db_url):
    from alembic import command
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from skyfence.service.core.migrate import alembic_config
    from skyfence.service.models import Decision

    database = open_database(db_url)
    try:
        _at_revision(database, "0006")
        with database.writer.begin() as connection:
            _fixes_and_decisions_at_0006(connection, 6, decided=6)
            before = connection.execute(text(f"SELECT fix_id, {_DECISION_ROW} FROM decisions ORDER BY fix_id")).all()
        assert upgrade(database) == head_revision()
        with Session(database.reader) as session:  # the Decision API reads the fixes' rows
            rows = session.scalars(select(Decision).order_by(Decision.id)).all()
            after = [
                (
                    r.fix_id,
                    r.terminal_id,
                    r.decision,
                    r.rule,
                    r.rule_kind,
                    r.reason,
                    r.country,
                    r.licence_id,
                    r.enrolment_id,
                )
                for r in rows
            ]
            assert after == [tuple(r) for r in before]
            assert all(r.id == r.fix_id for r in rows)
        with database.writer.begin() as connection:
            command.downgrade(alembic_config(connection), "0006")
        with database.reader.connect() as connection:
            back = connection.execute(text(f"SELECT fix_id, {_DECISION_ROW} FROM decisions ORDER BY fix_id")).all()
            ids = connection.execute(text("SELECT id, fix_id FROM decisions")).all()
        assert [tuple(r) for r in back] == [tuple(r) for r in before]
        assert all(i == f for i, f in ids)  # a decision's id was its fix's id
        assert upgrade(database) == head_revision()  # and up again
    finally:
        database.dispose()


def test_migration_0007_refuses_fixes_without_a_decision_and_changes_nothing(db_url):
    database = open_database(db_url)
    try:
        _at_revision(database, "0006")
        with database.writer.begin() as connection:
            _fixes_and_decisions_at_0006(connection, 3, decided=2)
        with pytest.raises(RuntimeError, match="1 stored fixes have no decision"):
            upgrade(database)
        with database.reader.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM decisions")).scalar_one() == 2
            assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "0006"
    finally:
        database.dispose()


def _detector_state_at_0007(connection) -> dict[int, tuple[bytes, int]]:
    """Terminals 7 and 8 with two batches of fixes each and a stored detector state (0007 schema); terminal 9 has
    fixes but was never scanned.  Returns terminal -> (state, n_fixes)."""
    import struct

    now = "2026-08-22 10:00:00"
    connection.execute(text(f"INSERT INTO operators VALUES ('starlink', 'Starlink', '{now}', '{now}')"))
    connection.execute(
        text(f"INSERT INTO accounts VALUES (1, 'starlink', 'A', NULL, 'UA', 'business', '{now}', '{now}')")
    )
    for t in (7, 8, 9):
        connection.execute(
            text(
                f"INSERT INTO terminals VALUES ({t}, 'T-{t}', 1, 'UA', 'roam', 'direct', 'active', false, "
                f"'{now}', '{now}')"
            )
        )
    for b in (1, 2):
        connection.execute(
            text(
                "INSERT INTO telemetry_batches (id, scope, idempotency_key, request_sha256, key_id, n_fixes, "
                f"policy_version, received_at) VALUES ({b}, 'key:k', 'b{b}', 'h', 'k', 6, 'v1', '{now}')"
            )
        )
        for i in range(6):
            fix_id, terminal = (b - 1) * 6 + i + 1, 7 + i % 3
            connection.execute(
                text(
                    "INSERT INTO fixes (id, batch_id, index_in_batch, terminal_id, time, lat_deg, lon_deg, alt_m, "
                    "speed_kmh, policy_version, decision, rule, rule_kind, reason, country) VALUES "
                    f"({fix_id}, {b}, {i}, {terminal}, '2026-08-22 10:0{b}:{i:02d}', 50.0, 30.5, 100.0, 0.0, 'v1', "
                    "'allow', 'r', 'whitelist', 'why', 'UA')"
                )
            )
    states = {}
    for t, n in ((7, 4), (8, 3)):
        state = struct.pack("<20d", float(n), *(t + k / 7 for k in range(19)))
        states[t] = (state, n)
        connection.execute(
            text(
                "INSERT INTO detector_state (terminal_id, account_id, first_seen_s, near_front, cluster_done, "
                "n_fixes, state) VALUES (:t, 1, 1.5e9, true, :done, :n, :state)"
            ),
            {"t": t, "done": t == 8, "n": n, "state": state},
        )
    return states


def test_migration_0008_moves_the_detector_state_into_the_newest_fix_and_back(db_url):
    from alembic import command

    from skyfence.service.core.migrate import alembic_config
    from skyfence.service.detect import stored_states

    database = open_database(db_url)
    try:
        _at_revision(database, "0007")
        with database.writer.begin() as connection:
            states = _detector_state_at_0007(connection)
            account = "terminal_id, account_id, first_seen_s, near_front, cluster_done"
            rows = connection.execute(text(f"SELECT {account} FROM detector_state ORDER BY terminal_id")).all()
        assert upgrade(database) == head_revision()
        with database.reader.connect() as connection:
            assert stored_states(connection, [7, 8, 9]) == {t: state for t, (state, _) in states.items()}
            carriers = connection.execute(
                text("SELECT id, terminal_id FROM fixes WHERE detector_state IS NOT NULL ORDER BY id")
            ).all()
            assert [tuple(c) for c in carriers] == [(10, 7), (11, 8)]  # each terminal's newest fix
            kept = connection.execute(text(f"SELECT {account} FROM detector_state ORDER BY terminal_id")).all()
            assert kept == rows
        with database.writer.begin() as connection:
            command.downgrade(alembic_config(connection), "0007")
        with database.reader.connect() as connection:
            back = connection.execute(
                text(f"SELECT {account}, state, n_fixes FROM detector_state ORDER BY terminal_id")
            ).all()
            columns = connection.execute(text("SELECT * FROM fixes")).keys()
        assert [tuple(r[:5]) for r in back] == [tuple(r) for r in rows]
        assert {r[0]: (bytes(r[5]), r[6]) for r in back} == states
        assert "detector_state" not in columns
        assert upgrade(database) == head_revision()  # and up again
        with database.reader.connect() as connection:
            assert stored_states(connection, [7, 8, 9]) == {t: state for t, (state, _) in states.items()}
    finally:
        database.dispose()


def test_migration_0008_refuses_a_state_without_a_fix_to_carry_it_and_changes_nothing(db_url):
    database = open_database(db_url)
    try:
        _at_revision(database, "0007")
        with database.writer.begin() as connection:
            _detector_state_at_0007(connection)
            connection.execute(
                text(
                    "INSERT INTO detector_state (terminal_id, account_id, first_seen_s, near_front, cluster_done, "
                    "n_fixes, state) VALUES (9, 1, 0.0, false, false, 0, :state)"
                ),
                {"state": b"\0" * 160},
            )
            connection.execute(text("DELETE FROM fixes WHERE terminal_id = 9"))
        with pytest.raises(RuntimeError, match="1 terminals have a detector state but no stored fix"):
            upgrade(database)
        with database.reader.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM detector_state")).scalar_one() == 3
            assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "0007"
    finally:
        database.dispose()


def _index_columns(connection, table: str) -> dict[str, list[str]]:
    from sqlalchemy import inspect

    return {i["name"]: list(i["column_names"]) for i in inspect(connection).get_indexes(table)}


def test_migration_0009_makes_the_enrolments_terminal_index_cover_the_registry_read_and_back(db_url):
    from alembic import command

    from skyfence.service.core.migrate import alembic_config

    database = open_database(db_url)
    try:
        _at_revision(database, "0008")
        with database.writer.begin() as connection:
            _one_terminal(connection)
            rows = [(1, "UA", 7, None), (2, "TW", 7, "2026-08-23 10:00:00"), (3, "PL", 7, None)]
            for id_, code, terminal, revoked in rows:
                connection.execute(
                    text(
                        "INSERT INTO enrolments (id, jurisdiction, terminal_id, evidence_ref, enrolled_at, "
                        "enrolled_by, revoked_at) VALUES (:id, :code, :t, 'MDT-1', '2026-08-22 10:00:00', 'key:r', "
                        ":revoked)"
                    ),
                    {"id": id_, "code": code, "t": terminal, "revoked": revoked},
                )
            before = connection.execute(text("SELECT * FROM enrolments ORDER BY id")).all()
            assert _index_columns(connection, "enrolments")["ix_enrolments_terminal_id"] == ["terminal_id"]
        assert upgrade(database) == head_revision()
        with database.reader.connect() as connection:
            indexes = _index_columns(connection, "enrolments")
            assert indexes["ix_enrolments_terminal_active"] == ["terminal_id", "jurisdiction", "revoked_at", "id"]
            assert "ix_enrolments_terminal_id" not in indexes
            assert connection.execute(text("SELECT * FROM enrolments ORDER BY id")).all() == before
        with database.writer.begin() as connection:
            command.downgrade(alembic_config(connection), "0008")
        with database.reader.connect() as connection:
            indexes = _index_columns(connection, "enrolments")
            assert indexes["ix_enrolments_terminal_id"] == ["terminal_id"]
            assert "ix_enrolments_terminal_active" not in indexes
            assert connection.execute(text("SELECT * FROM enrolments ORDER BY id")).all() == before
        assert upgrade(database) == head_revision()  # and up again
    finally:
        database.dispose()


def test_enrolments_of_reads_the_active_enrolments_from_the_covering_index(db_url):
    from sqlalchemy.orm import Session

    from skyfence.service.registry import enrolments_of

    database = open_database(db_url)
    try:
        upgrade(database)
        with database.writer.begin() as connection:
            _one_terminal(connection)
            now = "2026-08-22 10:00:00"
            for t in (8, 9):
                connection.execute(
                    text(
                        f"INSERT INTO terminals VALUES ({t}, 'T-{t}', 1, 'UA', 'roam', 'direct', 'active', false, "
                        f"'{now}', '{now}')"
                    )
                )
            rows = [(1, "UA", 7, None), (2, "PL", 7, None), (3, "UA", 8, now), (4, "TW", 9, None), (5, "TW", 8, None)]
            for id_, code, terminal, revoked in rows:
                connection.execute(
                    text(
                        "INSERT INTO enrolments (id, jurisdiction, terminal_id, evidence_ref, enrolled_at, "
                        "enrolled_by, revoked_at) VALUES (:id, :code, :t, 'MDT', :now, 'key:r', :revoked)"
                    ),
                    {"id": id_, "code": code, "t": terminal, "now": now, "revoked": revoked},
                )
        with Session(database.reader) as session:
            statements: list[str] = []
            driver = session.connection().connection.driver_connection
            if database.is_sqlite:
                driver.set_trace_callback(statements.append)
            found = enrolments_of(session, [7, 8, 9, 10], ("UA", "TW"))
            assert dict(found) == {7: {"UA": 1}, 8: {"TW": 5}, 9: {"TW": 4}}  # revoked (8, UA) and PL are not
            if database.is_sqlite:
                driver.set_trace_callback(None)
                (read,) = [s for s in statements if "FROM enrolments" in s]
                plan = " | ".join(r[3] for r in driver.execute(f"EXPLAIN QUERY PLAN {read}").fetchall())
                assert "USING COVERING INDEX ix_enrolments_terminal_active" in plan, plan
    finally:
        database.dispose()


def _one_terminal(connection) -> None:
    """An operator, an account and terminal 7 (the rows every schema since 0005 takes as they are)."""
    now = "2026-08-22 10:00:00"
    connection.execute(text(f"INSERT INTO operators VALUES ('starlink', 'Starlink', '{now}', '{now}')"))
    connection.execute(
        text(f"INSERT INTO accounts VALUES (1, 'starlink', 'A', NULL, 'UA', 'business', '{now}', '{now}')")
    )
    connection.execute(
        text(f"INSERT INTO terminals VALUES (7, 'T-7', 1, 'UA', 'roam', 'direct', 'active', false, '{now}', '{now}')")
    )


def test_the_migrations_have_one_head_and_a_linear_chain():
    from alembic.script import ScriptDirectory

    from skyfence.service.core.migrate import alembic_config

    script = ScriptDirectory.from_config(alembic_config())
    heads = script.get_heads()
    assert len(heads) == 1, f"several Alembic heads {heads}: re-point the newer migration's down_revision"
    revisions = list(script.walk_revisions())
    numbers = [int(r.revision) for r in reversed(revisions)]
    assert numbers == list(range(1, len(numbers) + 1)), numbers  # 0001, 0002, ... with no gaps or branches
    for revision in revisions:
        assert revision.module.__file__ is not None
        assert Path(revision.module.__file__).name.startswith(revision.revision + "_")


# --------------------------------------------------------------------------- rate limiter


def test_token_bucket_refills_at_its_rate():
    now = [0.0]
    limiter = RateLimiter(rate_per_s=2.0, burst=2, clock=lambda: now[0])
    assert [limiter.take("k") for _ in range(3)] == [0, 0, 1]
    now[0] += 0.5  # one token back
    assert limiter.take("k") == 0
    assert limiter.take("k") == 1
    assert limiter.take("other") == 0


def test_token_bucket_memory_is_bounded():
    limiter = RateLimiter(rate_per_s=1.0, burst=1, max_keys=10)
    for i in range(100):
        limiter.take(f"k{i}")
    assert len(limiter._buckets) == 10


# --------------------------------------------------------------------------- CLI


def test_service_cli_help_lists_the_commands():
    result = _service("--help")
    assert result.returncode == 0
    for command in ("serve", "audit", "keys"):
        assert command in result.stdout


def test_keys_create_prints_the_key_once_and_rejects_bad_roles(tmp_path):
    db = str(tmp_path / "k.db")
    made = _service("keys", "create", "--db", db, "--role", "operator", "--name", "admin", "--reason", "first")
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip().splitlines()[-1].startswith("sfk_")
    bad = _service("keys", "create", "--db", db, "--role", "admiral", "--name", "x", "--reason", "y")
    assert bad.returncode == 1 and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr
    verified = json.loads(_service("audit", "verify", "--db", db, "--json").stdout)
    assert verified["ok"] is True and verified["rows"] == 1


def test_the_cli_default_database_is_the_service_default():
    from skyfence.cli import service as cli_service
    from skyfence.service.core.config import DEFAULT_DATABASE_URL

    assert cli_service.DEFAULT_DATABASE_URL == DEFAULT_DATABASE_URL


def test_the_cli_module_does_not_import_the_service_stack():
    code = "import sys, skyfence.cli.service; print(any(m.startswith(('fastapi', 'sqlalchemy')) for m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "False", result.stderr
