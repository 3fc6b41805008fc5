"""The tamper-evident audit log: append-only rows, hash-chained.

Every change to policies, licences, terminals, accounts, operators and API keys appends one row in the same
transaction as the change: who (``actor`` key id and role), when (``at``, ISO 8601 UTC), what (``action``,
``resource_type``, ``resource_id``, the names of the changed ``fields``), the SHA-256 of the resource's canonical
JSON before and after (digests only: personal data never enters the log) and the ``reason`` the caller gave.

Chaining: ``hash = sha256(prev_hash + canonical_json(row))`` where ``prev_hash`` is the previous row's hash (64 zeros
for row 1) and the canonical JSON has sorted keys, no spaces and UTF-8 text.  :func:`verify` walks the rows in
``seq`` order and reports the first row that does not verify, so editing a row (its hash no longer matches),
deleting one (the next row's ``prev_hash`` no longer links, and ``seq`` has a gap) or reordering rows (``seq`` and
links disagree) is detected.  The newest ``seq`` and hash are also kept in ``audit_head`` (same transaction), so
deleting rows at the end is detected as well.

Limits, plainly: someone who can write the database can rewrite the *whole* chain from some row on, and the head
with it, or empty the log and its head together.  Two defences:

* an empty log in a database that holds API keys is reported as tampered (every key is created with an audit row,
  the first one by ``skyfence keys create``), so emptying the log is caught even without an anchor;
* **anchoring**: record the head somewhere the database's writers cannot reach (``skyfence audit verify`` prints
  ``SEQ:HASH``; put it in a ticket, a signed e-mail, a transparency log) now and then, and check it later with
  ``skyfence audit verify --anchor SEQ:HASH``: the row at ``SEQ`` must still carry that hash.  Without an anchor a
  verification says so (``anchored: false``), because a rewritten chain is then indistinguishable from the original.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import func, inspect, select, text
from sqlalchemy.orm import Session

from skyfence._json import dumps
from skyfence.errors import AuditError
from skyfence.service.models import ApiKey, AuditHead, AuditRow, utcnow

__all__ = [
    "GENESIS_HASH",
    "AuditError",
    "Verification",
    "append",
    "canonical_json",
    "digest",
    "row_hash",
    "verify",
]

GENESIS_HASH: Final = "0" * 64
_HEAD_ID: Final = 1
#: Arbitrary constant naming the PostgreSQL advisory lock that serialises appends.
_PG_LOCK_KEY: Final = 0x5F5F_A0D1
_HASHED_FIELDS: Final = (
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


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, non-ASCII kept, dates as ISO 8601: the text that is hashed."""
    return dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def digest(state: dict[str, Any] | None) -> str | None:
    """SHA-256 (hex) of a resource's canonical JSON, ``None`` when there is no state (before a create)."""
    if state is None:
        return None
    return hashlib.sha256(canonical_json(state).encode("utf-8")).hexdigest()


def _hashed_view(row: AuditRow) -> dict[str, Any]:
    view = {name: getattr(row, name) for name in _HASHED_FIELDS}
    if row.jurisdiction is not None:  # rows written before it existed (migration 0010) hash as they always did
        view["jurisdiction"] = row.jurisdiction
    return view


def row_hash(prev_hash: str, row: AuditRow) -> str:
    """``sha256(prev_hash + canonical_json(row))`` as hex."""
    return hashlib.sha256((prev_hash + canonical_json(_hashed_view(row))).encode("utf-8")).hexdigest()


def changed_fields(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[str]:
    """Names of the fields that differ (every field for a create or a delete)."""
    if before is None or after is None:
        return sorted((before or after or {}).keys())
    return sorted(key for key in before.keys() | after.keys() if before.get(key) != after.get(key))


def append(
    session: Session,
    *,
    actor: str,
    actor_role: str,
    action: str,
    resource_type: str,
    resource_id: str | int,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    reason: str,
    jurisdiction: str | None = None,
) -> AuditRow:
    """Append one row to the chain inside the caller's transaction (which must be a write transaction).

    ``jurisdiction``: the jurisdiction the entry is about, which decides which regulator reads it
    (:mod:`skyfence.service.api.scope`); hashed with the row."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
    head = session.get(AuditHead, _HEAD_ID, populate_existing=True)
    prev_seq, prev_hash = (0, GENESIS_HASH) if head is None else (head.seq, head.hash)
    row = AuditRow(
        seq=prev_seq + 1,
        at=utcnow().isoformat(timespec="microseconds").replace("+00:00", "Z"),
        actor=actor,
        actor_role=actor_role,
        action=action,
        resource_type=resource_type,
        resource_id=str(resource_id),
        fields=canonical_json(changed_fields(before, after)),
        before_sha256=digest(before),
        after_sha256=digest(after),
        reason=reason,
        prev_hash=prev_hash,
        jurisdiction=jurisdiction or None,
    )
    row.hash = row_hash(prev_hash, row)
    session.add(row)
    if head is None:
        session.add(AuditHead(id=_HEAD_ID, seq=row.seq, hash=row.hash))
    else:
        head.seq, head.hash = row.seq, row.hash
    session.flush()
    return row


@dataclass(frozen=True)
class Verification:
    """The outcome of :func:`verify`: ``first_bad_seq`` and ``problem`` are ``None`` when the chain verifies."""

    ok: bool
    rows: int
    head_seq: int
    head_hash: str
    first_bad_seq: int | None = None
    problem: str | None = None
    #: Whether an anchor recorded outside the database was checked (without one, a wholesale rewrite is invisible).
    anchored: bool = False
    #: The head as stored in ``audit_head`` (``None`` when there is none).
    stored_head_seq: int | None = None
    stored_head_hash: str | None = None

    def raise_if_bad(self) -> None:
        if not self.ok:
            raise AuditError(self.problem or "the audit log does not verify", hint=_TAMPER_HINT)


_TAMPER_HINT = "the log was changed outside the service; restore the database from a backup and investigate"


def _bad(rows: int, seq: int, problem: str, head_seq: int = 0, head_hash: str = GENESIS_HASH) -> Verification:
    return Verification(False, rows, head_seq, head_hash, seq, f"audit row {seq}: {problem}")


def _check_row(row: AuditRow, expected_seq: int, prev_hash: str, anchor: tuple[int, str] | None) -> str | None:
    """What is wrong with ``row`` given the row before it, or ``None``."""
    if row.seq > expected_seq:
        missing = f"{expected_seq}" if row.seq == expected_seq + 1 else f"{expected_seq}..{row.seq - 1}"
        return f"row(s) {missing} before it are missing (deleted)"
    if row.seq != expected_seq:
        return f"seq {row.seq} is out of order after row {expected_seq - 1}"
    if row.prev_hash != prev_hash:
        return (
            f"prev_hash does not match the hash of row {row.seq - 1} (an earlier row was edited, deleted or reordered)"
        )
    if row_hash(prev_hash, row) != row.hash:
        return "hash does not match the row's content (the row was edited)"
    if anchor is not None and row.seq == anchor[0] and row.hash != anchor[1]:
        return f"hash {row.hash} differs from the anchor {anchor[1]} recorded earlier"
    return None


def verify(session: Session, *, anchor: tuple[int, str] | None = None, batch_size: int = 2000) -> Verification:
    """Walk the chain in ``seq`` order; stop at the first row that does not verify.

    ``anchor`` is a ``(seq, hash)`` recorded earlier outside the database; the row at ``seq`` must still have it.
    """
    if not inspect(session.get_bind()).has_table(AuditRow.__tablename__):
        raise AuditError(
            "the database has no audit log",
            hint="is this a skyfence service database? `skyfence serve --db URL` creates one",
        )
    expected_seq, prev_hash, count = 1, GENESIS_HASH, 0
    anchor_seen = anchor is None
    result = session.execute(select(AuditRow).order_by(AuditRow.seq).execution_options(yield_per=batch_size))
    try:
        for row in result.scalars():
            problem = _check_row(row, expected_seq, prev_hash, anchor)
            if problem is not None:
                return _bad(count, row.seq, problem)
            anchor_seen = anchor_seen or (anchor is not None and row.seq == anchor[0])
            prev_hash, expected_seq, count = row.hash, expected_seq + 1, count + 1
    finally:
        result.close()  # a server-side cursor (PostgreSQL) must be closed even when we stop early
    last_seq = expected_seq - 1
    head = session.get(AuditHead, _HEAD_ID)
    head_seq, head_hash = (0, GENESIS_HASH) if head is None else (head.seq, head.hash)
    if count == 0:
        n_keys = session.scalar(select(func.count()).select_from(ApiKey)) or 0
        if n_keys:
            return _bad(
                0,
                1,
                f"the audit log is empty (stored head: {'none' if head is None else head_seq}) although the database "
                f"holds {n_keys} API key(s), each created with an audit row: the log was emptied",
            )
    if head_seq > last_seq:
        return _bad(count, last_seq + 1, f"rows {last_seq + 1}..{head_seq} are missing at the end (deleted)")
    if head_seq < last_seq:
        return _bad(count, head_seq + 1, f"row {head_seq + 1} was added after the recorded head (row {head_seq})")
    if head_hash != prev_hash:
        return _bad(count, last_seq, "hash differs from the recorded head (the newest row was replaced)")
    if not anchor_seen:
        assert anchor is not None
        return _bad(count, anchor[0], "the anchored row does not exist (deleted)")
    return Verification(
        True,
        count,
        last_seq,
        prev_hash,
        anchored=anchor is not None,
        stored_head_seq=None if head is None else head.seq,
        stored_head_hash=None if head is None else head.hash,
    )
