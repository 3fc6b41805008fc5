"""Behavioural detection on ingestion: the stateful half of :mod:`skyfence.detection`, inside the batch's transaction.

Every stored fix goes through the detectors (drone, diversion, spoofing, roaming, geofence probing).  The
stateless half -- checking the columns and the per-fix context under the active policy -- runs before the write
transaction (:meth:`skyfence.service.decisions.Evaluator.prepare_detection`).  This module does the rest, in the
same transaction as the fixes, their decisions and the alerts, *before* the fixes are inserted:

1. serialise detection across writers (SQLite already has one writer at a time, ``BEGIN IMMEDIATE``; PostgreSQL
   takes a transaction-scoped advisory lock, held until COMMIT), so two batches of one terminal never read the
   same state, and a batch's fixes get larger ids than those of every batch scanned before it;
2. load the batch's terminals' state rows with one statement through the driver (:func:`stored_states`: each
   terminal's newest fix row that carries a state) and, only when a terminal is first seen near the front, the
   other members of its account (``detector_state``);
3. run the compiled scan over the whole batch (:meth:`StreamDetector.advance`);
4. hand back each terminal's state after the batch, to travel in the terminal's *last fix row of the batch*
   (``fixes.detector_state``; the other rows carry ``NULL``), and the new alerts (rows for ``alerts`` once the
   fixes have ids).  ``detector_state`` keeps only what the account-cluster rule looks up across terminals
   (account, first sight, near the front, cluster raised): it is written when a terminal is first seen or its
   cluster flag flips, not on every batch.

The state is appended with the fixes instead of overwriting a row per terminal: a batch of ~1,000 distinct
terminals wrote ~900 random pages of ``detector_state`` and its account index for the upsert; the blob adds
~160 bytes to rows that are appended anyway (migration 0008).  Every scanned batch writes the state of *every*
terminal it scanned, changed or not (a batch whose fixes of a terminal are all late writes the same bytes again),
so the carrier is always the terminal's newest fix row with a state; fixes stored with detection switched off
carry none, and the scan goes on from the last carrier when it is switched on again.

Because the state commits with the fixes, a crash before COMMIT leaves the state as it was (the retried batch is
scanned once, then), and a crash after it leaves both (the retry is a replay and is not scanned again): restarts
lose nothing and count nothing twice.  The state is bounded per terminal: one row of :data:`STATE_FIELDS` is
read (the newest); older carriers are history, never read again.

Reading ~1,000 states a batch through the index and the table (a random, mostly uncached table page each) was
the largest read of ingestion, so each process keeps the states it has seen committed (:class:`_StateCache`): the
newest state of each terminal up to a fix id.  Fixes are only ever appended, and state rows are written only while
detection is serialised (the write lock or the advisory lock), each with a larger id than every state row before
it; so, inside that lock, the rows with an id above the cache's mark are exactly what other writers (another
worker process) committed since, and reading their states brings the cache up to date.  Terminals not in the
cache are read from the database as above.  The cache takes a batch's own states only after its COMMIT; a crash
or a rollback leaves it as it was, and a new process starts with an empty one.

Each detection alert fires at most once per terminal and kind (acknowledging it does not re-arm it); fixes of a
terminal older than its newest processed fix are late and ignored by the scan (stored and decided all the same).
"""

from __future__ import annotations

import itertools
import json
import threading
import weakref
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, cast

import numpy as np
from sqlalchemy import Connection, Engine, Table, select, text, update

from skyfence.service.core.db import driver_rows
from skyfence.service.models import DetectorState, utcnow

if TYPE_CHECKING:  # the detectors (pandas, numba) load with the first batch, not with the server
    from skyfence.detection.detectors import Prepared, StreamDetector

__all__ = ["DETECTION_RULE", "Detected", "detect_batch", "reason_text", "stored_states"]

#: The ``rule`` of detection alerts (policy alerts carry the deciding rule's id).
DETECTION_RULE: Final = "detector"
#: Arbitrary constant naming the PostgreSQL advisory lock that serialises detection (the audit log uses another).
_PG_LOCK_KEY: Final = 0x5F5F_DE7E
_TABLE: Final = cast(Table, DetectorState.__table__)
_INSERT_COLUMNS: Final = ("terminal_id", "account_id", "first_seen_s", "near_front", "cluster_done")


def stored_states(connection: Connection, ids: list[int]) -> dict[int, bytes]:
    """The stored state rows of these terminals, by id: each terminal's newest fix row that carries one (terminals
    never scanned are absent).

    One statement through the driver (the ids as one bound value, as :func:`~skyfence.service.core.db.id_in`):
    for each terminal, ``ix_fixes_terminal_id`` walked backwards from its newest fix to the first row with a
    state -- that newest fix itself whenever the terminal's last batch was scanned (every scanned batch writes
    each of its terminals' states into the terminal's last fix row of the batch).
    """
    if not ids:
        return {}
    if connection.dialect.name == "postgresql":
        sql = (
            "SELECT t.id, s.detector_state FROM unnest(?::bigint[]) AS t(id) CROSS JOIN LATERAL ("
            "SELECT detector_state FROM fixes WHERE terminal_id = t.id AND detector_state IS NOT NULL "
            "ORDER BY id DESC LIMIT 1) AS s"
        )
        listed: Any = ids
    else:
        sql = (
            "SELECT value, (SELECT detector_state FROM fixes INDEXED BY ix_fixes_terminal_id "
            "WHERE terminal_id = value AND detector_state IS NOT NULL ORDER BY id DESC LIMIT 1) FROM json_each(?)"
        )
        listed = json.dumps(ids)
    return {int(t): bytes(state) for t, state in driver_rows(connection, sql, listed) if state is not None}


#: Terminals whose state one process keeps (about 330 bytes each: ~66 MB at most); beyond it the oldest entries go.
STATE_CACHE_TERMINALS: Final = 200_000
#: More new fix rows than this since the cache's mark: start the cache afresh rather than read them all.
_TAIL_LIMIT: Final = 20_000
_NEWEST_FIX = "SELECT max(id) FROM fixes"
_NEW_STATES = "SELECT terminal_id, detector_state FROM fixes WHERE id > ? AND detector_state IS NOT NULL ORDER BY id"


@dataclass
class _StateCache:
    """The newest state of each terminal this process has seen committed, as of the fix id ``mark`` (every state row
    with an id up to it is reflected); ``mark`` is ``None`` until the first read."""

    states: dict[int, bytes] = field(default_factory=dict)
    mark: int | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


_caches: weakref.WeakKeyDictionary[Engine, _StateCache] = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def _cache_of(engine: Engine) -> _StateCache:
    with _caches_lock:
        cache = _caches.get(engine)
        if cache is None:
            cache = _caches[engine] = _StateCache()
        return cache


def _current_states(connection: Connection, cache: _StateCache, ids: list[int]) -> tuple[dict[int, bytes], int]:
    """The stored states of these terminals (as :func:`stored_states`) and the newest fix id, read inside the
    detection lock: the cache brought up to date with the state rows committed since its mark, then the database
    for the terminals it does not hold."""
    newest = int(driver_rows(connection, _NEWEST_FIX)[0][0] or 0)
    with cache.lock:
        mark = cache.mark
        if mark is None or newest < mark or newest - mark > _TAIL_LIMIT:
            cache.states.clear()
        elif newest > mark:
            for terminal, state in driver_rows(connection, _NEW_STATES, mark):
                cache.states[int(terminal)] = bytes(state)
        cache.mark = newest
        held = cache.states
        found = {t: held[t] for t in ids if t in held}
        missing = [t for t in ids if t not in held]
        if missing:
            read = stored_states(connection, missing)
            held.update(read)
            found.update(read)
        _trim(held)
    return found, newest


def _trim(states: dict[int, bytes]) -> None:
    """Keep the cache within :data:`STATE_CACHE_TERMINALS` (the entries added first go first)."""
    excess = len(states) - STATE_CACHE_TERMINALS
    if excess > 0:
        for terminal in list(itertools.islice(states, excess + STATE_CACHE_TERMINALS // 4)):
            del states[terminal]


def _state_rows(ids: list[int], stored: dict[int, bytes]) -> np.ndarray:
    """The batch's terminals' state rows (fresh ones for terminals never seen)."""
    from skyfence.detection.detectors import STATE_FIELDS, new_state

    rows = new_state(len(ids))
    if stored:
        width = 8 * len(STATE_FIELDS)
        found = [k for k, t in enumerate(ids) if t in stored]
        blobs = [stored[ids[k]] for k in found]
        for k, blob in zip(found, blobs, strict=True):
            if len(blob) != width:
                raise RuntimeError(
                    f"detector state of terminal {ids[k]} has {len(blob)} bytes, expected {width} "
                    "(written by another skyfence version?)"
                )
        rows[found] = np.frombuffer(b"".join(blobs), dtype="<f8").reshape(len(blobs), len(STATE_FIELDS))
    return rows


@dataclass
class Detected:
    """What the detectors made of one batch, before its fixes are inserted: the state each fix row carries and the
    new alerts (rows for ``alerts`` once the fixes have ids, :meth:`alert_rows`)."""

    #: Per fix of the batch, in request order: its terminal's state row after the batch (little-endian float64
    #: bytes of :data:`~skyfence.detection.detectors.STATE_FIELDS`) on the terminal's last fix of the batch,
    #: ``None`` on the others.
    states: list[bytes | None]
    alerts: Any  # the detectors' alert frame, with the batch row of each alert's fix
    #: Each scanned terminal's state after the batch, for the process's cache once the batch is committed.
    terminal_states: dict[int, bytes] = field(default_factory=dict)
    cache: _StateCache | None = None
    #: The newest fix id when the batch read the states (the cache's mark then).
    read_at: int = 0

    def alert_rows(self, batch_id: int, fix_ids: list[int]) -> list[dict[str, Any]]:
        return [_alert_row(a, batch_id, fix_ids) for a in self.alerts.itertuples(index=False)]

    def committed(self, fix_ids: list[int]) -> None:
        """Call once the batch's transaction has committed: its states join the process's cache, unless another
        batch has moved the cache on since this one read it (that batch read these rows from the database)."""
        cache = self.cache
        if cache is None or not fix_ids:
            return
        with cache.lock:
            if cache.mark == self.read_at:
                cache.states.update(self.terminal_states)
                cache.mark = max(fix_ids)
                _trim(cache.states)


def detect_batch(connection: Connection, context: Any, batch: Prepared) -> Detected | None:
    """Advance the stored detector state by one prepared batch (see the module notes); ``None`` for no fixes.

    Runs before the batch's fixes are inserted (their rows carry the new state), after the batch row."""
    from skyfence.detection.detectors import StreamDetector

    if not len(batch):
        return None
    if connection.dialect.name == "postgresql":
        # Held until COMMIT: the state read below and this batch's fix ids both come after the previous
        # holder's fixes are committed, so "the newest fix row with a state" is the newest state.
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
    ids = [int(t) for t in batch.terminals.tolist()]
    cache = _cache_of(connection.engine)
    stored, read_at = _current_states(connection, cache, ids)
    detector = StreamDetector(context)
    detector.add_terminals(ids, _state_rows(ids, stored))
    _load_account_members(connection, detector, batch, stored)
    done_before = set(detector.cluster_done)
    alerts = detector.advance(batch, with_rows=True)
    _store_account_rows(connection, detector, done_before)
    states, by_terminal = _carried_states(detector, batch, ids)
    return Detected(states, alerts, by_terminal, cache, read_at)


def _carried_states(
    detector: StreamDetector, batch: Prepared, ids: list[int]
) -> tuple[list[bytes | None], dict[int, bytes]]:
    """Each terminal's state after the batch on its last fix of the batch (request order), ``None`` elsewhere; and
    the same states by terminal."""
    n = len(batch.local)
    rows = np.ascontiguousarray(detector.state[[detector.slots[t] for t in ids]], dtype="<f8")
    _, from_end = np.unique(batch.local[::-1], return_index=True)  # each terminal's last row, counted from the end
    last = (n - 1 - from_end).tolist()
    states: list[bytes | None] = [None] * n
    blobs = rows.tobytes()
    width = rows.shape[1] * 8
    by_terminal = {}
    for k, row in enumerate(last):
        states[row] = by_terminal[ids[k]] = blobs[k * width : (k + 1) * width]
    return states, by_terminal


def _load_account_members(
    connection: Connection, detector: StreamDetector, batch: Prepared, stored: dict[int, bytes]
) -> None:
    """Earlier members of the accounts whose terminals are first seen near the front in this batch."""
    near, account = batch.ctx["near"], batch.fx["account_id"]
    wanted = sorted(
        {
            int(account[row])
            for row in batch.first_row.tolist()
            if int(batch.terminals[batch.local[row]]) not in stored and near[row] and account[row] >= 0
        }
    )
    if not wanted:
        return
    table = _TABLE
    members = connection.execute(
        select(table.c.terminal_id, table.c.account_id, table.c.first_seen_s, table.c.cluster_done).where(
            table.c.account_id.in_(wanted), table.c.near_front.is_(True)
        )
    ).all()
    detector.add_terminals([m.terminal_id for m in members])
    for m in sorted(members, key=lambda m: m.terminal_id):
        slot = detector.slots[m.terminal_id]
        detector.accounts.setdefault(int(m.account_id), []).append((float(m.first_seen_s), slot))
        if m.cluster_done:
            detector.cluster_done.add(slot)


def _store_account_rows(connection: Connection, detector: StreamDetector, done_before: set[int]) -> None:
    """The account-cluster rule's rows: one for each terminal first seen by this batch, and the cluster flag of
    the earlier ones whose cluster this batch completed.  Nothing for a batch of terminals seen before whose
    clusters did not change -- the usual batch."""
    by_slot = {s: t for t, s in detector.slots.items()}
    first = detector.first_seen
    params = [
        (by_slot[s], int(account), float(t0), bool(near and account >= 0), s in detector.cluster_done)
        for s, (t0, account, near, _) in sorted(first.items(), key=lambda item: by_slot[item[0]])
    ]
    if params:
        marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
        columns = ", ".join(_INSERT_COLUMNS)
        values = ", ".join([marker] * len(_INSERT_COLUMNS))
        # (a row without a state anywhere -- never the case through the service -- is a terminal seen afresh)
        sql = (
            f"INSERT INTO detector_state ({columns}) VALUES ({values}) ON CONFLICT (terminal_id) DO UPDATE SET "
            "account_id = excluded.account_id, first_seen_s = excluded.first_seen_s, "
            "near_front = excluded.near_front, cluster_done = excluded.cluster_done"
        )
        connection.exec_driver_sql(sql, params)
    flipped = sorted(by_slot[s] for s in detector.cluster_done - done_before if s not in first)
    if flipped:  # members seen in earlier batches whose cluster this batch completed
        table = _TABLE
        connection.execute(update(table).where(table.c.terminal_id.in_(flipped)).values(cluster_done=True))


def _alert_row(alert: Any, batch_id: int, fix_ids: list[int]) -> dict[str, Any]:
    evidence = json.loads(alert.evidence)
    moment = datetime.fromtimestamp(int(np.datetime64(alert.time, "us").astype(np.int64)) / 1e6, tz=UTC)
    return {
        "kind": alert.kind,
        "terminal_id": int(alert.terminal_id),
        "batch_id": batch_id,
        "first_fix_id": fix_ids[int(alert.row)],
        "n_fixes": 1,
        "rule": DETECTION_RULE,
        "reason": reason_text(alert.kind, evidence)[:1000],
        "time": moment,
        "score": round(float(alert.score), 6),
        "evidence": alert.evidence,
        "created_at": utcnow(),
    }


def reason_text(kind: str, evidence: dict[str, Any]) -> str:
    """One readable sentence for a detection alert."""
    if kind == "drone_suspected":
        lo, hi = evidence.get("speed_kmh", [0, 0])
        why = ", ".join(evidence.get("because", [])) or "speed in the drone band"
        return f"drone suspected: ground speed {lo:g}-{hi:g} km/h from consecutive fixes; {why}"
    if kind == "diversion_suspected":
        if "account_cluster_near_front" in evidence:
            n = evidence["account_cluster_near_front"]
            return f"diversion suspected: {n} new terminals of one account registered abroad appeared near the front"
        return (
            f"diversion suspected: {evidence.get('high_risk_fixes', 0)} fixes in a high-risk place of another country"
            f" (beam: {evidence.get('high_risk_beam_fixes', 0)}); first activation there: "
            f"{'yes' if evidence.get('first_activation_high_risk') else 'no'}"
        )
    if kind == "spoofing_suspected":
        return (
            f"spoofing suspected: {evidence.get('inconsistent_geometry_fixes', 0)} fixes inconsistent with the serving "
            f"beam or satellite, {evidence.get('impossible_jumps', 0)} jumps faster than any plan allows"
        )
    if kind == "roaming_limit":
        return (
            f"roaming limit: {evidence.get('days_abroad', 0)} days with fixes abroad "
            f"(the rule allows {evidence.get('max_days_abroad', 0)})"
        )
    return f"geofence probing: {evidence.get('appearances_outside_fence', 0)} appearances just outside a deny fence"
