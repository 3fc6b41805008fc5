"""Fixtures for the control-plane tests: an app on a fresh database, a populated world, PostgreSQL when available.

The policy engine resolves country zones against Natural Earth, so these tests need ``SKYFENCE_DATA_DIR`` (they
skip without it, and fail in CI).  PostgreSQL tests need ``SKYFENCE_TEST_POSTGRES_URL`` (``.ci/postgres.sh`` sets
it): a role that may create databases; each test gets a database of its own, dropped afterwards.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import _require

#: The policy the tests upload (also what ``benchmarks/service_ingest.py`` uses).
POLICY_TOML = (Path(__file__).parents[2] / "examples" / "policies" / "control_plane_demo.toml").read_text()

TAIPEI = (25.03, 121.57)
KYIV = (50.45, 30.52)
PARIS = (48.86, 2.35)


def service_settings(db_url: str, **overrides: Any):
    """Settings for a test app: a real secret, generous rate limits unless a test asks otherwise."""
    from skyfence.service import load_settings

    values: dict[str, Any] = {
        "environment": "test",
        "secret_key": secrets.token_urlsafe(48),
        "database_url": db_url,
        "rate_limit_per_second": 10_000.0,
        "rate_limit_burst": 10_000,
    }
    values.update(overrides)
    return load_settings(**values)


@pytest.fixture(scope="session")
def service_data(data_dir: Path) -> Path:
    """The policy engine needs Natural Earth: make sure the data mirror is there (skip or, in CI, fail)."""
    return data_dir


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'skyfence.db'}"


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    url = os.environ.get("SKYFENCE_TEST_POSTGRES_URL")
    if not url:
        _require('SKYFENCE_TEST_POSTGRES_URL is not set (run `eval "$(.ci/postgres.sh)"`)')
    return url


@contextlib.contextmanager
def fresh_postgres_database(admin_url: str) -> Iterator[str]:
    """Create an empty database next to ``admin_url``'s, yield its URL, drop it afterwards."""
    import psycopg
    from sqlalchemy.engine import make_url

    admin = make_url(admin_url).set(drivername="postgresql")
    name = f"skyfence_test_{uuid.uuid4().hex[:12]}"
    plain = admin.render_as_string(hide_password=False)
    with psycopg.connect(plain, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(plain, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_url(postgres_admin_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test (dropped afterwards)."""
    with fresh_postgres_database(postgres_admin_url) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    """Each backend in turn: a SQLite file, then a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("postgres_url")


def operator_key(db_url: str) -> str:
    """The first operator key, made straight in the database (as ``skyfence keys create`` does)."""
    return admin_key(db_url, role="operator", name="test operator")[1]


def admin_key(db_url: str, **spec: Any) -> tuple[str, str]:
    """``(key_id, key)`` of a key made straight in the database, as ``skyfence keys create`` does: the only way to a
    regulator's first key (an operator key may not create regulator keys)."""
    from skyfence.service import bootstrap
    from skyfence.service.schemas import KeyCreate

    return bootstrap.create_key(db_url, KeyCreate(reason="test set-up", **spec), actor="test")


def regulator_key(db_url: str, jurisdiction: str) -> str:
    """A regulator key of ``jurisdiction``, made as the server's administrator makes it."""
    return admin_key(db_url, role="regulator", jurisdiction=jurisdiction, name=f"{jurisdiction} regulator")[1]


def auth(key: str) -> dict[str, str]:
    return {"X-API-Key": key}


@dataclass
class World:
    """A populated service: ids of what was created and a key per role (see :func:`populate`)."""

    keys: dict[str, str]
    key_ids: dict[str, str]
    terminals: dict[str, int]
    accounts: dict[str, int]
    licences: dict[str, int]
    policy_version: str
    extra: dict[str, Any] = field(default_factory=dict)


def _ok(response, expected: int = 201) -> dict[str, Any]:
    assert response.status_code == expected, (response.status_code, response.text)
    return response.json()


def populate(client, *, revoke: bool = True, db_url: str | None = None) -> World:
    """Create an operator, accounts, terminals, licences, an active policy and a key for every role.

    ``client`` is a TestClient or an ``httpx.Client`` whose ``headers`` carry an operator key.  The regulator keys
    are made in the database (``db_url``; a TestClient's app knows it).  The key labelled ``revoked`` is revoked at
    the end unless ``revoke`` is False (call :func:`revoke` later).
    """
    if db_url is None:
        db_url = client.app.state.settings.database_url
    _ok(client.post("/api/v1/operators", json={"id": "starlink", "name": "Starlink", "reason": "set-up"}))
    accounts = {}
    for label, country, kind in (("tw", "TW", "consumer"), ("ua", "UA", "military"), ("pl", "PL", "business")):
        body = {
            "operator_id": "starlink",
            "owner_name": f"Owner {label}",
            "contact_email": f"{label}@example.org",
            "country": country,
            "type": kind,
            "reason": "set-up",
        }
        accounts[label] = _ok(client.post("/api/v1/accounts", json=body))["id"]
    terminals = {}
    for label, account, country, plan, whitelisted in (
        ("tw", "tw", "TW", "residential", False),
        ("ua", "ua", "UA", "roam", True),
        ("pl", "pl", "PL", "roam", False),
    ):
        body = {
            "serial": f"UT-{label.upper()}-0001",
            "account_id": accounts[account],
            "registration_country": country,
            "plan": plan,
            "sale_channel": "retailer",
            "whitelisted": whitelisted,
            "reason": "set-up",
        }
        terminals[label] = _ok(client.post("/api/v1/terminals", json=body))["id"]
    licences = {}
    for label, country in (("tw", "TW"), ("ua", "UA")):
        body = {"operator_id": "starlink", "jurisdiction": country, "reason": "set-up"}
        licences[label] = _ok(client.post("/api/v1/licences", json=body))["id"]
    policy = _ok(client.post("/api/v1/policies", json={"source": POLICY_TOML, "reason": "set-up"}))
    _ok(client.post(f"/api/v1/policies/{policy['version_id']}/activate", json={"reason": "set-up"}), 200)
    keys: dict[str, str] = {"operator": client.headers["X-API-Key"]}
    key_ids: dict[str, str] = {"operator": keys["operator"].split("_")[1]}
    specs = {
        "regulator": {"role": "regulator", "jurisdiction": "TW"},
        "regulator_foreign": {"role": "regulator", "jurisdiction": "UA"},
        "analyst": {"role": "analyst"},
        "terminal": {"role": "terminal", "terminal_id": terminals["tw"]},
        "terminal_foreign": {"role": "terminal", "terminal_id": terminals["ua"]},
        "revoked": {"role": "operator"},
    }
    for label, spec in specs.items():
        if spec["role"] == "regulator":
            key_ids[label], keys[label] = admin_key(db_url, name=label, **spec)
            continue
        created = _ok(client.post("/api/v1/keys", json={"name": label, "reason": "set-up", **spec}))
        keys[label], key_ids[label] = created["key"], created["id"]
    world = World(keys, key_ids, terminals, accounts, licences, policy["version_id"])
    if revoke:
        revoke_key(client, world)
    return world


def revoke_key(client, world: World, label: str = "revoked") -> None:
    _ok(client.post(f"/api/v1/keys/{world.key_ids[label]}/revoke", json={"reason": "set-up"}), 200)


def fix(terminal_id: int, where: tuple[float, float] = TAIPEI, **extra: Any) -> dict[str, Any]:
    body = {"terminal_id": terminal_id, "time": "2026-08-22T10:00:00Z", "lat_deg": where[0], "lon_deg": where[1]}
    body.update(extra)
    return body
