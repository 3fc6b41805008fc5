"""Database engines and sessions: a SQLite file by default, PostgreSQL by URL.

Durability is the database's job, configured here:

* **SQLite**: ``journal_mode=WAL`` and ``synchronous=FULL`` -- every COMMIT fsyncs the write-ahead log before it
  returns, so a write the API acknowledged survives SIGKILL and power loss.  Writers start with ``BEGIN IMMEDIATE``
  (take the write lock up front, so a read-then-write transaction never fails half-way with SQLITE_BUSY) and go
  through a one-connection pool, which queues them inside the process; ``busy_timeout`` covers other processes.
* **PostgreSQL**: the server defaults (``fsync=on``, ``synchronous_commit=on``) make COMMIT durable; the service
  refuses to start if either is off.

A URL may be a bare file path (``skyfence.db``), ``sqlite:///path``, or ``postgresql://user:pw@host/db``
(``postgres://`` and ``postgresql://`` use the psycopg 3 driver).
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Engine,
    any_,
    bindparam,
    create_engine,
    event,
    func,
    select,
    text,
)
from sqlalchemy import column as sql_column
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session

from skyfence.errors import InputError

__all__ = [
    "Checkpointer",
    "Database",
    "check_durability",
    "driver_rows",
    "id_in",
    "normalise_url",
    "open_database",
    "redact_url",
]

log = logging.getLogger("skyfence.service")


def normalise_url(url: str | Path) -> URL:
    """A SQLAlchemy URL for a path or a database URL; unsupported schemes raise :class:`InputError`."""
    text_url = str(url).strip()
    if not text_url:
        raise InputError("the database URL is empty", field="--db", hint="give a file path or postgresql://...")
    if "://" not in text_url:
        return URL.create("sqlite", database=str(Path(text_url).expanduser()))
    try:
        parsed = make_url(text_url)
    except ArgumentError:
        raise InputError(f"cannot parse database URL {redact_url(text_url)!r}", field="--db") from None
    backend = parsed.get_backend_name()
    if backend in ("postgres", "postgresql"):
        return parsed.set(drivername="postgresql+psycopg")
    if backend == "sqlite":
        if parsed.database in (None, "", ":memory:"):
            raise InputError(
                "an in-memory SQLite database would lose every write when the server stops",
                field="--db",
                hint="give a file path such as skyfence.db",
            )
        return parsed.set(drivername="sqlite")
    raise InputError(
        f"unsupported database {backend!r}", field="--db", hint="use a SQLite file path or postgresql://..."
    )


def id_in(column: Any, ids: list[int], dialect: str) -> ColumnElement[bool]:
    """``column IN ids`` with ONE bound parameter, however many ids (a batch asks about thousands of terminals).

    ``column.in_(ids)`` renders one placeholder per id at every execution, which costs more CPU than the query;
    here the list travels as one value: a PostgreSQL array (``= ANY(:ids)``) or, on SQLite, a JSON array
    (``IN (SELECT value FROM json_each(:ids))``).  Either way the column's index answers each id.
    """
    values = [int(i) for i in ids]
    if dialect == "postgresql":
        return column == any_(bindparam("id_list", values, type_=ARRAY(BigInteger), unique=True))
    if dialect == "sqlite":
        listed: Any = bindparam("id_list", json.dumps(values), unique=True)
        return column.in_(select(sql_column("value")).select_from(func.json_each(listed)))
    return column.in_(values)


def driver_rows(connection: Connection, sql: str, *params: Any) -> list[tuple]:
    """Rows of ``sql`` run straight through the driver on ``connection``'s transaction, as plain tuples; ``?``
    marks a parameter (rewritten to ``%s`` for psycopg).

    For the reads a batch makes by the thousand: SQLAlchemy's statement compilation and result rows cost more CPU
    than such a query.
    """
    if connection.dialect.paramstyle != "qmark":
        sql = sql.replace("?", "%s")
    cursor = connection.connection.cursor()  # the DBAPI connection of this transaction
    try:
        cursor.execute(sql, params)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def redact_url(url: str | URL) -> str:
    """The URL with its password hidden, for messages and logs."""
    try:
        return make_url(str(url)).render_as_string(hide_password=True) if "://" in str(url) else str(url)
    except ArgumentError:
        return "<unparsable URL>"


@dataclass
class Database:
    """The engines of one database: ``writer`` for transactions that change data, ``reader`` for the rest."""

    url: URL
    writer: Engine
    reader: Engine

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    @contextlib.contextmanager
    def write(self) -> Iterator[Session]:
        """A session whose transaction commits at the end of the block (rolls back on error)."""
        with Session(self.writer, expire_on_commit=False) as session, session.begin():
            yield session

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading; whatever it did is rolled back at the end."""
        with Session(self.reader, expire_on_commit=False) as session:
            yield session

    def dispose(self) -> None:
        self.writer.dispose()
        if self.reader is not self.writer:
            self.reader.dispose()


#: Page cache of the one writer connection [KiB] (SQLite's default is 2 MiB).  Ingestion updates each batch's
#: terminals' rows and index entries all over the tables (a batch of 1,000 fixes touches about 1,000 distinct
#: terminals in the registry benchmark); with the default cache every such page was read back from the OS on each
#: batch, which cost the bulk inserts and the detector-state upsert about a third of their time.
WRITER_CACHE_KIB: Final = 64 * 1024


def _sqlite_engine(
    url: URL, *, immediate: bool, pool_size: int, busy_timeout_s: float, cache_kib: int | None = None
) -> Engine:
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": busy_timeout_s},
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=max(busy_timeout_s, 1.0),
    )
    begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (see the SQLAlchemy pysqlite notes)
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA fullfsync=ON")  # macOS: fsync alone does not reach the platter; elsewhere a no-op
        cursor.execute("PRAGMA foreign_keys=ON")
        if cache_kib is not None:
            cursor.execute(f"PRAGMA cache_size=-{int(cache_kib)}")
        # Checkpoints run in the background (:class:`Checkpointer`); this is only the safety net (40 MB).
        cursor.execute("PRAGMA wal_autocheckpoint=10000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql(begin)

    return engine


class Checkpointer:
    """Copies the SQLite write-ahead log into the database file in a background thread.

    SQLite checkpoints inside the COMMIT that crosses ``wal_autocheckpoint`` pages, and with ``synchronous=FULL``
    that checkpoint fsyncs the database file: a latency spike for whichever request was unlucky.  A PASSIVE
    checkpoint every ``interval_s`` on a connection of its own keeps the log short without blocking writers;
    durability is unchanged (commits are durable once their WAL frames are synced).
    """

    def __init__(self, database: Database, interval_s: float = 0.5) -> None:
        self.database = database
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _checkpoint(self, mode: str) -> None:
        raw = self.database.reader.raw_connection()
        try:
            driver = raw.driver_connection
            assert driver is not None
            driver.execute(f"PRAGMA wal_checkpoint({mode})")  # autocommit: no BEGIN around it
        finally:
            raw.close()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self._checkpoint("PASSIVE")
            except Exception as error:  # a busy or vanished file must not kill the thread
                log.warning("WAL checkpoint failed: %s", error)

    def start(self) -> None:
        if self.database.is_sqlite and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="skyfence-wal-checkpoint", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join(timeout=10)
        self._thread = None
        try:
            self._checkpoint("TRUNCATE")
        except Exception as error:
            log.warning("final WAL checkpoint failed: %s", error)


def open_database(url: str | Path, *, busy_timeout_s: float = 30.0, must_exist: bool = False) -> Database:
    """Engines for ``url`` (nothing is migrated here; see :func:`skyfence.service.core.migrate.upgrade`).

    A SQLite file is created on first use unless ``must_exist``: then a missing file is an :class:`InputError`
    and nothing is created (``skyfence audit verify`` checks a database, it never makes one).  Its folder is never
    created: a folder that does not exist is an :class:`InputError` for every command (a typo in ``--db`` would
    otherwise start a new, empty control plane somewhere unexpected).
    """
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        file = Path(parsed.database or "").expanduser()
        if must_exist and not file.is_file():
            raise InputError(
                "no such database file",
                source=parsed.database,
                field="--db",
                hint="check the path; `skyfence keys create --db PATH` (or `skyfence serve --db PATH`) creates one",
            )
        if not file.parent.is_dir():
            raise InputError(
                f"the folder {str(file.parent)!r} does not exist",
                source=parsed.database,
                field="--db",
                hint="check the path; for a new database create the folder first (mkdir -p), then "
                "`skyfence keys create --db PATH` (or `skyfence serve --db PATH`) creates the file",
            )
    if parsed.get_backend_name() == "sqlite":
        writer = _sqlite_engine(
            parsed, immediate=True, pool_size=1, busy_timeout_s=busy_timeout_s, cache_kib=WRITER_CACHE_KIB
        )
        reader = _sqlite_engine(parsed, immediate=False, pool_size=8, busy_timeout_s=busy_timeout_s)
        return Database(parsed, writer, reader)
    engine = create_engine(parsed, pool_size=8, max_overflow=4, pool_pre_ping=True, pool_timeout=30)
    return Database(parsed, engine, engine)


def check_durability(database: Database) -> None:
    """Refuse a PostgreSQL server that could lose acknowledged commits (``fsync`` or ``synchronous_commit`` off)."""
    if database.is_sqlite:
        return
    with database.reader.connect() as connection:
        fsync = connection.execute(text("SHOW fsync")).scalar_one()
        synchronous = connection.execute(text("SHOW synchronous_commit")).scalar_one()
    if fsync != "on" or synchronous == "off":
        raise InputError(
            f"PostgreSQL at {redact_url(database.url)} runs with fsync={fsync}, synchronous_commit={synchronous}: "
            "acknowledged writes could be lost in a crash",
            hint="set fsync=on and synchronous_commit=on in postgresql.conf",
        )
