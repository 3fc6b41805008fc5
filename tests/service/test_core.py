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
