"""Behavioural detection on ingestion: the stateful half of :mod:`skyfence.detection`, inside the batch's transaction.

Every stored fix goes through the detectors (drone, diversion, spoofing, roaming, geofence probing).  The
stateless half -- checking the columns and the per-fix context under the active policy -- runs before the write
transaction (:meth:`skyfence.service.decisions.Evaluator.prepare_detection`).  This module does the rest, in the
same transaction as the fixes, their decisions and the alerts:

1. serialise detection across writers (SQLite already has one writer at a time, ``BEGIN IMMEDIATE``; PostgreSQL
   takes a transaction-scoped advisory lock), so two batches of one terminal never read the same state;
2. load the batch's terminals' state rows with one ``SELECT ... WHERE terminal_id IN (...)`` through the driver
   (and, only when a terminal is first seen near the front, the other members of its account);
3. run the compiled scan over the whole batch (:meth:`StreamDetector.advance`);
4. write back, with one bulk upsert, the state rows the batch changed (a terminal whose fixes were all late keeps
   its row bit for bit, and is not written again), and return the new alerts as rows for the ``alerts`` table.

Because the state commits with the fixes, a crash before COMMIT leaves the state as it was (the retried batch is
scanned once, then), and a crash after it leaves both (the retry is a replay and is not scanned again): restarts
lose nothing and count nothing twice.  The state is bounded: one row of :data:`STATE_FIELDS` per terminal.

Each detection alert fires at most once per terminal and kind (acknowledging it does not re-arm it); fixes of a
terminal older than its newest processed fix are late and ignored by the scan (stored and decided all the same).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, cast

import numpy as np
from sqlalchemy import Connection, Table, select, text, update

from skyfence.service.models import DetectorState, utcnow

if TYPE_CHECKING:  # the detectors (pandas, numba) load with the first batch, not with the server
    from skyfence.detection.detectors import Prepared, StreamDetector

__all__ = ["DETECTION_RULE", "detect_batch", "reason_text"]

#: The ``rule`` of detection alerts (policy alerts carry the deciding rule's id).
DETECTION_RULE: Final = "detector"
#: Arbitrary constant naming the PostgreSQL advisory lock that serialises detection (the audit log uses another).
_PG_LOCK_KEY: Final = 0x5F5F_DE7E
_TABLE: Final = cast(Table, DetectorState.__table__)
_UPSERT_COLUMNS: Final = (
    "terminal_id",
    "account_id",
    "first_seen_s",
    "near_front",
    "cluster_done",
    "n_fixes",
    "state",
)


def _stored_rows(connection: Connection, ids: list[int]) -> dict[int, tuple[bytes, bool]]:
    """The stored ``(state, cluster_done)`` of these terminals, by id: one query straight through the driver (the
    ids as one bound value, as :func:`~skyfence.service.core.db.id_in`), plain tuples, no SQLAlchemy rows."""
    if connection.dialect.name == "postgresql":
        sql, listed = "= ANY(%s::bigint[])", cast(Any, ids)
    else:
        sql, listed = "IN (SELECT value FROM json_each(?))", json.dumps(ids)
    cursor = connection.connection.cursor()  # the DBAPI connection of this transaction
    try:
        cursor.execute(
            f"SELECT terminal_id, state, cluster_done FROM detector_state WHERE terminal_id {sql}", (listed,)
        )
        return {int(t): (bytes(state), bool(done)) for t, state, done in cursor.fetchall()}
    finally:
        cursor.close()


def _state_rows(ids: list[int], stored: dict[int, tuple[bytes, bool]]) -> tuple[np.ndarray, np.ndarray]:
    """The batch's terminals' state rows (fresh ones for terminals never seen) and which were stored."""
    from skyfence.detection.detectors import STATE_FIELDS, new_state

    rows = new_state(len(ids))
    found = np.fromiter((t in stored for t in ids), dtype=bool, count=len(ids))
    if found.any():
        blobs = [stored[t][0] for t in ids if t in stored]
        width = 8 * len(STATE_FIELDS)
        for t, blob in zip([t for t in ids if t in stored], blobs, strict=True):
            if len(blob) != width:
                raise RuntimeError(
                    f"detector state of terminal {t} has {len(blob)} bytes, expected {width} "
                    "(written by another skyfence version?)"
                )
        rows[found] = np.frombuffer(b"".join(blobs), dtype="<f8").reshape(len(blobs), len(STATE_FIELDS))
    return rows, found


def detect_batch(
    connection: Connection,
    context: Any,
    batch: Prepared,
    *,
    batch_id: int,
    fix_ids: list[int],
) -> list[dict[str, Any]]:
    """Advance the stored detector state by one prepared batch; rows for ``alerts`` (see the module notes)."""
    from skyfence.detection.detectors import StreamDetector

    if not len(batch):
        return []
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
    table = _TABLE
    ids = [int(t) for t in batch.terminals.tolist()]
    stored = _stored_rows(connection, ids)
    rows, found = _state_rows(ids, stored)
    detector = StreamDetector(context)
    detector.add_terminals(ids, rows)
    detector.cluster_done = {detector.slots[t] for t, (_, done) in stored.items() if done}
    _load_account_members(connection, detector, batch, stored)
    done_before = set(detector.cluster_done)
    alerts = detector.advance(batch, with_rows=True)
    _store_state(connection, detector, ids, rows, found, done_before)
    done_now = detector.cluster_done - done_before
    in_batch = set(ids)
    newly_done = [t for t, s in detector.slots.items() if s in done_now and t not in in_batch]
    if newly_done:  # members seen in earlier batches whose cluster this batch completed
        connection.execute(update(table).where(table.c.terminal_id.in_(newly_done)).values(cluster_done=True))
    return [_alert_row(a, batch_id, fix_ids) for a in alerts.itertuples(index=False)]


def _load_account_members(connection: Connection, detector: StreamDetector, batch: Prepared, stored: dict) -> None:
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


def _store_state(
    connection: Connection,
    detector: StreamDetector,
    ids: list[int],
    before: np.ndarray,
    stored: np.ndarray,
    done_before: set[int],
) -> None:
    """Write back the state rows this batch changed: one bulk upsert.  A terminal whose row and cluster flag are
    bit for bit what was loaded (every fix of it late, say) is not written again."""
    from skyfence.detection.detectors import STATE_FIELDS

    n_column = STATE_FIELDS.index("n")
    first = detector.first_seen
    slots = [detector.slots[t] for t in ids]
    rows = np.ascontiguousarray(detector.state[slots], dtype="<f8")  # one copy of the batch's rows, not one a row
    done = np.fromiter((s in detector.cluster_done for s in slots), dtype=bool, count=len(slots))
    was_done = np.fromiter((s in done_before for s in slots), dtype=bool, count=len(slots))
    changed = ~stored | (done != was_done) | (rows.view("<u8") != before.view("<u8")).any(axis=1)
    if not changed.any():
        return
    counts = rows[:, n_column].astype(np.int64).tolist()
    params = []
    for k in np.flatnonzero(changed).tolist():
        # (for a stored terminal these three are placeholders: the upsert keeps the stored values; SQLite would
        # store NaN as NULL, hence 0.0)
        s = slots[k]
        t0, account, near, _ = first.get(s, (0.0, -1, False, 0))
        params.append(
            (
                ids[k],
                int(account),
                float(t0),
                bool(near and account >= 0),
                bool(done[k]),
                counts[k],
                rows[k].tobytes(),
            )
        )
    marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    columns = ", ".join(_UPSERT_COLUMNS)
    values = ", ".join([marker] * len(_UPSERT_COLUMNS))
    # account, first sight and near-front are set once, at the first batch of a terminal
    sql = (
        f"INSERT INTO detector_state ({columns}) VALUES ({values}) ON CONFLICT (terminal_id) DO UPDATE SET "
        "cluster_done = excluded.cluster_done, n_fixes = excluded.n_fixes, state = excluded.state"
    )
    connection.exec_driver_sql(sql, params)


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
