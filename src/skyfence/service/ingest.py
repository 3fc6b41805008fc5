"""Telemetry ingestion: fixes → decisions → alerts, exactly once per idempotency key, all or nothing.

The steps of one request:

1. *Replay?*  A batch whose ``Idempotency-Key`` is stored already *in the caller's scope* (its key's rotation
   lineage: keys are scoped per API key, so nobody can claim or probe another client's keys) is answered from the
   database (the same receipt, ``replayed: true``) if the payload is the same, and refused with 422 if it differs.
2. *Check* every fix's terminal exists (422 naming ``body.fixes[i].terminal_id``) and, for a terminal key, is the
   caller's own (403).
3. *Decide* with the active policy (409 when none is active) -- outside the write transaction, so the database
   write lock is held only for the inserts.
4. *Store* in one transaction: the batch row (its ``(scope, idempotency_key)``, unique, first, so a concurrent retry
   conflicts at once), the behavioural detectors' scan (:mod:`skyfence.service.detect`; their per-fix context is
   computed in step 3, outside the transaction), the fixes with their decisions (one row each; each terminal's
   new detector state rides in its last fix row of the batch) and the alerts, of the policy and of the detectors.
   COMMIT returns only once the database has made it durable (SQLite WAL ``synchronous=FULL``; PostgreSQL
   ``synchronous_commit=on``); only then is the 201 sent.

A crash before COMMIT leaves nothing (the client retries with the same key and the batch is stored then); a
crash after COMMIT but before the response reaches the client leaves the batch stored once (the retry is a
replay).  Two retries racing each other meet at the unique constraint: one stores, the other replays.
"""

from __future__ import annotations

import hashlib
import json
import operator
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import numpy as np
from pydantic import TypeAdapter
from pydantic_core import to_json
from sqlalchemy import Connection, Table, func, literal_column, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from skyfence.errors import PolicyError
from skyfence.service import registry
from skyfence.service.core import budget
from skyfence.service.core.config import Settings
from skyfence.service.core.db import Database, driver_rows, id_in
from skyfence.service.core.metrics import Metrics
from skyfence.service.core.problems import FieldProblem, ProblemError
from skyfence.service.core.security import Principal
from skyfence.service.decisions import Evaluator, FixColumns, RegistryView, Verdicts, evaluator
from skyfence.service.detect import detect_batch
from skyfence.service.models import DECISION_COLUMNS, Alert, Decision, Fix, Policy, TelemetryBatch, utcnow
from skyfence.service.schemas import BatchReceipt, DecisionBrief, DecisionValue, FixIn

__all__ = ["IngestResult", "find_batch", "ingest", "replay_receipt", "request_digest"]

_FIX_LIST = TypeAdapter(list[FixIn])
_FIXES = cast(Table, Fix.__table__)
_ALERTS = cast(Table, Alert.__table__)
#: The columns an alert row of :func:`_alerts` and :func:`skyfence.service.detect.detect_batch` fills.
_ALERT_COLUMNS = (
    "kind",
    "terminal_id",
    "batch_id",
    "first_fix_id",
    "n_fixes",
    "rule",
    "reason",
    "time",
    "score",
    "evidence",
    "created_at",
    "country",
)


@dataclass
class IngestResult:
    """The answer to a batch: its receipt as JSON (the :class:`BatchReceipt` schema) and its counts per decision."""

    content: bytes
    counts: dict[str, int]
    created: bool

    @classmethod
    def replayed(cls, receipt: BatchReceipt) -> IngestResult:
        return cls(receipt.model_dump_json().encode(), {str(k): v for k, v in receipt.counts.items()}, created=False)


def request_digest(fixes: list[FixIn]) -> str:
    """SHA-256 of the validated payload (times in UTC, so equal content in other layouts hashes the same)."""
    return hashlib.sha256(_FIX_LIST.dump_json(fixes)).hexdigest()


def _time_parameter(dialect: str) -> Callable[[datetime], Any]:
    """How a UTC datetime goes to the driver: SQLAlchemy's SQLite text layout, or as it is for PostgreSQL."""
    if dialect == "sqlite":
        return lambda moment: moment.replace(tzinfo=None).isoformat(" ", "microseconds")
    return lambda moment: moment


def _time_column(dialect: str, columns: FixColumns, fixes: list[FixIn]) -> list[Any]:
    """The fixes' times as the driver takes them (see :func:`_time_parameter`), for the whole batch at once."""
    if dialect == "sqlite":  # SQLAlchemy's SQLite layout, 2026-08-22 10:00:00.000000, from the datetime64 column
        return np.char.replace(np.datetime_as_string(columns.time, unit="us"), "T", " ").tolist()
    return [f.time for f in fixes]


_ALERT_ROW = operator.itemgetter(*_ALERT_COLUMNS)
_ALERT_TIMES = (_ALERT_COLUMNS.index("time"), _ALERT_COLUMNS.index("created_at"))


def _alert_rows(dialect: str, alerts: list[dict[str, Any]]) -> list[tuple]:
    """The alerts as rows of :data:`_ALERT_COLUMNS`, their two times as the driver takes them (see
    :func:`_time_parameter`)."""
    if dialect != "sqlite":
        return [_ALERT_ROW(alert) for alert in alerts]
    as_time = _time_parameter(dialect)
    time_at, created_at = _ALERT_TIMES
    rows = []
    for alert in alerts:
        values = list(_ALERT_ROW(alert))
        values[time_at] = as_time(values[time_at])
        values[created_at] = as_time(values[created_at])
        rows.append(tuple(values))
    return rows


_FIX_IDS = "SELECT id FROM fixes WHERE batch_id = ? ORDER BY index_in_batch"


def _fix_ids(connection: Connection, batch_id: int) -> list[int]:
    """The ids of a batch's fixes in request order, fetched through the driver's cursor in one call."""
    return [row[0] for row in driver_rows(connection, _FIX_IDS, batch_id)]


def _bulk_insert(connection: Connection, table: Table, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """``executemany`` straight to the driver: validated rows, no per-row SQLAlchemy processing (2x faster)."""
    marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join([marker] * len(columns))})"
    connection.exec_driver_sql(sql, rows)


def _replay(session: Session, batch: TelemetryBatch, digest: str) -> BatchReceipt:
    if batch.request_sha256 != digest:
        raise ProblemError(
            422,
            f"Idempotency-Key {batch.idempotency_key!r} was used for a different payload "
            "(use a new key for new data; retry only with the identical body)",
            kind="idempotency-key-reused",
        )
    return replay_receipt(session, batch)


def replay_receipt(session: Session, batch: TelemetryBatch) -> BatchReceipt:
    """The receipt of a stored batch, rebuilt from the database."""
    rows = session.execute(
        select(Fix.id, Fix.decision, Fix.rule, Fix.reason, Fix.licence_id, Fix.enrolment_id)
        .where(Fix.batch_id == batch.id)
        .order_by(Fix.index_in_batch)
    ).all()
    briefs = [
        DecisionBrief(
            fix_id=r[0],
            decision=cast(DecisionValue, r[1]),
            rule=r[2],
            reason=r[3],
            licence_id=r[4],
            enrolment_id=r[5],
        )
        for r in rows
    ]
    return _receipt(batch, briefs, replayed=True)


def _receipt_json(batch: TelemetryBatch, fix_ids: list[int], verdicts: Verdicts) -> tuple[bytes, dict[str, int]]:
    """A new batch's receipt, serialised straight from the columns (the layout of :class:`BatchReceipt`, which
    ``test_ingest`` checks): values the service made itself need no validation, and a 10,000-fix receipt built as
    models first cost more than storing it."""
    counts = {"allow": 0, "deny": 0, "degrade": 0}
    for decision in verdicts.decision:
        counts[decision] += 1
    receipt = {
        "batch_id": batch.id,
        "idempotency_key": batch.idempotency_key,
        "n_fixes": batch.n_fixes,
        "policy_version": batch.policy_version,
        "received_at": batch.received_at,
        "replayed": False,
        "counts": counts,
        "decisions": [
            {
                "fix_id": fix_id,
                "decision": decision,
                "rule": rule,
                "reason": reason,
                "licence_id": licence_id,
                "enrolment_id": enrolment_id,
            }
            for fix_id, decision, rule, reason, licence_id, enrolment_id in zip(
                fix_ids,
                verdicts.decision,
                verdicts.rule,
                verdicts.reason,
                verdicts.licence_id,
                verdicts.enrolment_id,
                strict=True,
            )
        ],
    }
    return to_json(receipt), counts


def _receipt(batch: TelemetryBatch, briefs: list[DecisionBrief], *, replayed: bool) -> BatchReceipt:
    counts = {"allow": 0, "deny": 0, "degrade": 0}
    for brief in briefs:
        counts[brief.decision] += 1
    return BatchReceipt(
        batch_id=batch.id,
        idempotency_key=batch.idempotency_key,
        n_fixes=batch.n_fixes,
        policy_version=batch.policy_version,
        received_at=batch.received_at,
        replayed=replayed,
        counts=counts,  # type: ignore[arg-type]
        decisions=briefs,
    )


def find_batch(session: Session, scope: str, key: str) -> TelemetryBatch | None:
    """The batch stored under ``key`` in ``scope`` (a caller's key lineage, see :attr:`Principal.scope`)."""
    return session.scalar(
        select(TelemetryBatch).where(TelemetryBatch.scope == scope, TelemetryBatch.idempotency_key == key)
    )


def _stored_batch(session: Session, scope: str, key: str) -> TelemetryBatch | None:
    """:func:`find_batch` for ingestion, where the key is almost always new: the unique index is probed through the
    driver, and the batch is loaded as an entity only when it is there."""
    sql = "SELECT id FROM telemetry_batches WHERE scope = ? AND idempotency_key = ?"
    found = driver_rows(session.connection(), sql, scope, key)
    return session.get(TelemetryBatch, found[0][0]) if found else None


#: The terminal attributes a batch reads (decisions, registry view), as plain tuples in this order (see
#: :meth:`FixColumns.build`): a batch may touch thousands of distinct terminals, and ORM entities or SQLAlchemy rows
#: for each cost more than the decisions themselves.
_TERMINALS_SQL = (
    "SELECT id, serial, registration_country, plan, whitelisted, status, account_id FROM terminals WHERE id {ids}"
)


def _terminals(session: Session, fixes: list[FixIn], principal: Principal) -> dict[int, tuple]:
    """The batch's terminals by id (rows of :data:`_TERMINALS_SQL`); 422 for an unknown one, 403 for another's."""
    wanted = sorted({f.terminal_id for f in fixes})
    found = {row[0]: row for row in registry.rows_by_ids(session.connection(), _TERMINALS_SQL, wanted)}
    if len(found) == len(wanted) and principal.role != "terminal":
        return found
    for i, fix in enumerate(fixes):  # the first fix at fault, in request order
        if fix.terminal_id not in found:
            field = f"body.fixes[{i}].terminal_id"
            raise ProblemError(
                422,
                f"{field}: unknown terminal {fix.terminal_id} (register it with POST /api/v1/terminals)",
                kind="validation-error",
                errors=[FieldProblem(field=field, message="unknown terminal")],
            )
        if principal.role == "terminal" and fix.terminal_id != principal.terminal_id:
            raise ProblemError(
                403,
                f"body.fixes[{i}].terminal_id: a terminal key of terminal {principal.terminal_id} "
                f"may not post fixes of terminal {fix.terminal_id}",
            )
    return found


@dataclass
class _Decided:
    version_id: str
    columns: FixColumns
    verdicts: Verdicts
    evaluator: Evaluator
    detection: Any  # a prepared batch for the detectors, or None when detection is off


def _decide(session: Session, fixes: list[FixIn], terminals: dict[int, tuple], settings: Settings) -> _Decided:
    active = select(Policy.version_id, Policy.source).where(Policy.active.is_(True))
    policy = session.connection().execute(active).first()  # two columns, not an entity
    if policy is None:
        raise ProblemError(
            409,
            "no policy is active, so no fix can be decided (upload one with POST /api/v1/policies and "
            "activate it with POST /api/v1/policies/{version_id}/activate)",
            kind="no-active-policy",
        )
    try:
        compiled = evaluator(policy.version_id, policy.source, policy_dir=settings.policy_dir)
        columns = FixColumns.build(fixes, terminals)
        view = None
        if compiled.needs_registry:
            view = _registry_view(session, compiled.operator, compiled.whitelist_codes, terminals)
        verdicts, prepared = compiled.decide(columns, view, detection=settings.detection)
    except PolicyError as error:
        raise ProblemError(409, f"the active policy cannot decide these fixes: {error}", kind="policy-error") from None
    return _Decided(policy.version_id, columns, verdicts, compiled, prepared)


def _registry_view(
    session: Session, operator: str, codes: tuple[str, ...], terminals: dict[int, tuple]
) -> RegistryView:
    """The registry as this batch's decisions read it: two small reads, however many fixes (see registry.py)."""
    licences = registry.snapshot(session).of_operator(operator)
    enrolled = registry.enrolments_of(session, sorted(terminals), codes)
    return RegistryView(licences=licences, enrolled={terminals[t][1]: where for t, where in enrolled.items()})


def _alerts(
    session: Session,
    batch_id: int,
    fixes: list[FixIn],
    fix_ids: list[int],
    verdicts: Verdicts,
    settings: Settings,
) -> list[dict[str, Any]]:
    """Alerts for this batch: one per terminal and kind (and rule), unless the same one is still open."""
    denied: dict[int, list[int]] = defaultdict(list)
    suspicious: dict[tuple[int, str], list[int]] = defaultdict(list)
    suspicious_kinds = settings.suspicious_rule_kinds
    decision = verdicts.decision
    for i in [i for i, d in enumerate(decision) if d != "allow"]:  # the few fixes not allowed, in request order
        terminal_id = fixes[i].terminal_id
        if decision[i] == "deny":
            denied[terminal_id].append(i)
        if verdicts.rule_kind[i] in suspicious_kinds:
            suspicious[(terminal_id, verdicts.rule[i])].append(i)
    if not denied and not suspicious:
        return []
    alerted = sorted(set(denied) | {t for t, _ in suspicious})
    open_alerts = set(
        registry.rows_by_ids(
            session.connection(),
            "SELECT terminal_id, kind, rule FROM alerts WHERE terminal_id {ids} AND acknowledged_at IS NULL",
            alerted,
        )
    )
    open_repeated = {t for t, kind, _ in open_alerts if kind == "repeated_denial"}
    alerts: list[dict[str, Any]] = []

    def add(kind: str, terminal_id: int, indices: list[int], rule: str, reason: str) -> None:
        first = indices[0]
        alerts.append(
            {
                "kind": kind,
                "terminal_id": terminal_id,
                "batch_id": batch_id,
                "first_fix_id": fix_ids[first],
                "n_fixes": len(indices),
                "rule": rule[:128],
                "reason": reason[:1000],
                "time": fixes[first].time,
                "score": None,
                "evidence": None,
                "created_at": utcnow(),
            }
        )

    for terminal_id, indices in denied.items():
        rule = verdicts.rule[indices[0]]
        if (terminal_id, "denial", rule) not in open_alerts:
            add("denial", terminal_id, indices, rule, verdicts.reason[indices[0]])
    threshold = settings.repeated_denial_threshold
    candidates = [t for t in denied if t not in open_repeated]
    to_count = [t for t in candidates if len(denied[t]) < threshold]  # this batch alone may already be enough
    counts: dict[int, int] = {}
    if to_count:
        window = timedelta(hours=settings.repeated_denial_window_hours)
        since = min(fixes[i].time for t in to_count for i in denied[t]) - window
        counts = _recent_denials(session, to_count, since)
    for terminal_id in candidates:
        indices = denied[terminal_id]
        total = max(len(indices), int(counts.get(terminal_id, 0)))
        if total >= threshold:
            hours = settings.repeated_denial_window_hours
            add(
                "repeated_denial",
                terminal_id,
                indices,
                verdicts.rule[indices[-1]],
                f"{total} denials within {hours:g} h; latest: {verdicts.reason[indices[-1]]}",
            )
    for (terminal_id, rule), indices in suspicious.items():
        if (terminal_id, "suspicious_rule", rule) not in open_alerts:
            kind = verdicts.rule_kind[indices[0]]
            add("suspicious_rule", terminal_id, indices, rule, f"{kind} rule hit: {verdicts.reason[indices[0]]}")
    return alerts


def _recent_denials(session: Session, terminal_ids: list[int], since: datetime) -> dict[int, int]:
    """Denials of each terminal at or after ``since`` (this batch's are in the table already: same transaction).

    One probe of the partial index ``ix_fixes_denials`` per terminal.  The ``'deny'`` is a literal, not a bound
    parameter, because only then may a planner use that partial index; and SQLite is told to (without statistics
    it prefers ``ix_fixes_decision`` and walks *every* denial ever stored, a cost that grew with the table).
    """
    connection = session.connection()
    dialect = connection.dialect.name
    if dialect == "sqlite":
        rows = connection.exec_driver_sql(
            "SELECT terminal_id, count(*) FROM fixes INDEXED BY ix_fixes_denials "
            "WHERE terminal_id IN (SELECT value FROM json_each(?)) AND decision = 'deny' AND time >= ? "
            "GROUP BY terminal_id",
            (json.dumps(terminal_ids), _time_parameter(dialect)(since)),
        )
    else:
        rows = connection.execute(
            select(Decision.terminal_id, func.count())
            .where(
                id_in(Decision.terminal_id, terminal_ids, dialect),
                Decision.decision == literal_column("'deny'"),
                Decision.time >= since,
            )
            .group_by(Decision.terminal_id)
        )
    return {int(terminal_id): int(count) for terminal_id, count in rows}


def _store(
    db: Database,
    principal: Principal,
    fixes: list[FixIn],
    key: str | None,
    digest: str,
    decided: _Decided,
    settings: Settings,
) -> tuple[TelemetryBatch, list[int], int]:
    version_id, verdicts = decided.version_id, decided.verdicts
    with db.write() as session:
        batch = TelemetryBatch(
            scope=principal.scope,
            idempotency_key=key,
            request_sha256=digest,
            key_id=principal.key_id,
            n_fixes=len(fixes),
            policy_version=version_id,
        )
        session.add(batch)
        session.flush()  # the unique idempotency key is claimed here, before any fix is written
        budget.charge(session, settings, principal, len(fixes))
        connection = session.connection()
        batch_id = batch.id
        # The detectors run before the insert: each terminal's new state travels in its last fix row (detect.py).
        detected = None
        if decided.detection is not None:
            detected = detect_batch(connection, decided.evaluator.detection_context(), decided.detection)
        states = detected.states if detected is not None else [None] * len(fixes)
        times = _time_column(connection.dialect.name, decided.columns, fixes)
        terminal_ids = decided.columns.terminal_id.tolist()
        # Each fix with its decision, one row (models.Fix): one entry per per-terminal index, not two.
        _bulk_insert(
            connection,
            _FIXES,
            (
                "batch_id",
                "index_in_batch",
                "terminal_id",
                "time",
                "lat_deg",
                "lon_deg",
                "alt_m",
                "speed_kmh",
                *DECISION_COLUMNS,
                "detector_state",
            ),
            [
                (
                    batch_id,
                    i,
                    terminal,
                    moment,
                    f.lat_deg,
                    f.lon_deg,
                    f.alt_m,
                    f.speed_kmh,
                    version_id,
                    d,
                    rule[:128],
                    kind[:32],
                    why[:1000],
                    cc[:2],
                    lic,
                    enrolment,
                    state,
                )
                for i, (f, terminal, moment, d, rule, kind, why, cc, lic, enrolment, state) in enumerate(
                    zip(
                        fixes,
                        terminal_ids,
                        times,
                        verdicts.decision,
                        verdicts.rule,
                        verdicts.rule_kind,
                        verdicts.reason,
                        verdicts.country,
                        verdicts.licence_id,
                        verdicts.enrolment_id,
                        states,
                        strict=True,
                    )
                )
            ],
        )
        # One indexed read instead of RETURNING, which SQLite can only do row by row when the order matters.
        fix_ids = _fix_ids(connection, batch_id)
        alerts = _alerts(session, batch.id, fixes, fix_ids, verdicts, settings)
        if detected is not None:
            alerts += detected.alert_rows(batch_id, fix_ids)
        if alerts:
            where = dict(zip(fix_ids, verdicts.country, strict=True))  # an alert is where its fix is (api/scope.py)
            for alert in alerts:
                alert["country"] = where[alert["first_fix_id"]][:2]
            _bulk_insert(connection, _ALERTS, _ALERT_COLUMNS, _alert_rows(connection.dialect.name, alerts))
    if detected is not None:
        detected.committed(fix_ids)  # the states are stored: the process's state cache may take them
    return batch, fix_ids, len(alerts)


def ingest(
    db: Database,
    settings: Settings,
    metrics: Metrics,
    principal: Principal,
    fixes: list[FixIn],
    key: str | None,
) -> IngestResult:
    """Store ``fixes`` with their decisions (see the module notes); ``created`` is False for a replay."""
    with _IN_FLIGHT.slot(settings, principal):
        return _ingest(db, settings, metrics, principal, fixes, key)


_IN_FLIGHT = budget.InFlight()


def _ingest(
    db: Database,
    settings: Settings,
    metrics: Metrics,
    principal: Principal,
    fixes: list[FixIn],
    key: str | None,
) -> IngestResult:
    limit = budget.limits_for(settings, principal.role).max_batch_fixes
    if len(fixes) > limit:
        raise ProblemError(
            422,
            f"body.fixes: {len(fixes)} fixes exceed the limit of {limit} per batch for role {principal.role} "
            "(split the batch)",
            kind="validation-error",
            errors=[FieldProblem(field="body.fixes", message=f"at most {limit} fixes")],
        )
    digest = request_digest(fixes)
    with db.read() as session:
        terminals = _terminals(session, fixes, principal)
        if key is not None:
            existing = _stored_batch(session, principal.scope, key)
            if existing is not None:
                metrics.inc("skyfence_batches_replayed_total", help_text="Batches answered from storage (retries).")
                return IngestResult.replayed(_replay(session, existing, digest))
        budget.check_budget(session, settings, principal, len(fixes))
        decided = _decide(session, fixes, terminals, settings)
    try:
        batch, fix_ids, n_alerts = _store(db, principal, fixes, key, digest, decided, settings)
    except IntegrityError:
        if key is None:
            raise
        with db.read() as session:  # a concurrent retry with the same key stored it first
            existing = find_batch(session, principal.scope, key)
            if existing is None:
                raise
            metrics.inc("skyfence_batches_replayed_total", help_text="Batches answered from storage (retries).")
            return IngestResult.replayed(_replay(session, existing, digest))
    decided.evaluator.freeze_heap()  # after the first batch of a newly compiled policy (see there)
    content, counts = _receipt_json(batch, fix_ids, decided.verdicts)
    metrics.inc("skyfence_fixes_ingested_total", len(fixes), help_text="Fixes stored.")
    for label, count in counts.items():
        if count:
            metrics.inc("skyfence_decisions_total", count, help_text="Decisions made, by decision.", decision=label)
    if n_alerts:
        metrics.inc("skyfence_alerts_total", n_alerts, help_text="Alerts raised.")
    return IngestResult(content, counts, created=True)
