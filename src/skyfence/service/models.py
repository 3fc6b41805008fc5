"""SQLAlchemy 2 tables of the control plane.

The wire formats (Create/Update/Public families) live in :mod:`skyfence.service.schemas`; this module is the
storage.  Times are stored in UTC (:class:`UTCDateTime` hands back aware datetimes on every backend), except the
audit log's ``at``, kept as the exact ISO text that was hashed.

Exactly-once ingestion rests on two constraints: ``telemetry_batches.idempotency_key`` is unique, and the batch row
is written in the same transaction as its fixes, each with its decision in the same row (``fixes (batch_id,
index_in_batch)`` is unique too), so a batch is stored once or not at all.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, Final

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, synonym

__all__ = [
    "ACCOUNT_TYPES",
    "ALERT_KINDS",
    "DECISIONS",
    "DECISION_COLUMNS",
    "DETECTION_ALERT_KINDS",
    "GROUND_SITE_KINDS",
    "GROUND_SITE_STATUSES",
    "PLANS",
    "POLICY_ALERT_KINDS",
    "ROLES",
    "SALE_CHANNELS",
    "TERMINAL_STATUSES",
    "Account",
    "Alert",
    "ApiKey",
    "AuditHead",
    "AuditRow",
    "Base",
    "Decision",
    "DetectorState",
    "Enrolment",
    "Fix",
    "GroundSite",
    "Licence",
    "Operator",
    "Ownership",
    "Policy",
    "RegistryVersion",
    "TelemetryBatch",
    "Terminal",
    "UTCDateTime",
    "WhitelistDelegate",
    "utcnow",
]

ROLES: Final = ("operator", "regulator", "analyst", "terminal")
ACCOUNT_TYPES: Final = ("consumer", "business", "government", "military")
PLANS: Final = ("residential", "roam", "maritime", "aviation")
SALE_CHANNELS: Final = ("direct", "retailer", "reseller", "donation", "government", "unknown")
TERMINAL_STATUSES: Final = ("active", "suspended", "deactivated")
DECISIONS: Final = ("allow", "deny", "degrade")
#: Alerts of the policy (on decisions) and of the behavioural detectors (:mod:`skyfence.detection`).
POLICY_ALERT_KINDS: Final = ("denial", "repeated_denial", "suspicious_rule")
DETECTION_ALERT_KINDS: Final = (
    "drone_suspected",
    "diversion_suspected",
    "spoofing_suspected",
    "roaming_limit",
    "geofence_probing",
)
ALERT_KINDS: Final = POLICY_ALERT_KINDS + DETECTION_ALERT_KINDS
GROUND_SITE_KINDS: Final = ("gateway", "pop")
#: ``operational`` sites carry traffic (and meet licence conditions); ``planned`` and ``offline`` ones do not.
GROUND_SITE_STATUSES: Final = ("operational", "planned", "offline")

#: Stable constraint names, so Alembic migrations can refer to them on every backend.
NAMING_CONVENTION: Final = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: Every id is 64-bit (SQLite's INTEGER PRIMARY KEY already is; PostgreSQL needs BIGINT).
BigId = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    """Now, aware, in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every backend (SQLite stores naive text; PostgreSQL ``timestamptz``)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Operator(Base):
    """A satellite-internet operator (``starlink``, ``oneweb``)."""

    __tablename__ = "operators"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Account(Base):
    """A customer account: who bought service, where, as what (``owner_name`` and ``contact_email`` are personal)."""

    __tablename__ = "accounts"
    #: A regulator lists the accounts of its country (skyfence.service.api.scope).
    __table_args__ = (Index("ix_accounts_country", "country", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    operator_id: Mapped[str] = mapped_column(ForeignKey("operators.id"), index=True)
    owner_name: Mapped[str] = mapped_column(String(200))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    country: Mapped[str] = mapped_column(String(2))
    type: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Terminal(Base):
    """A user terminal (dish): where and through whom it was sold, its plan, status and whitelist membership."""

    __tablename__ = "terminals"
    #: A regulator lists the terminals registered in its country (skyfence.service.api.scope).
    __table_args__ = (Index("ix_terminals_registration_country", "registration_country", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    serial: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id"), index=True)
    registration_country: Mapped[str] = mapped_column(String(2))
    plan: Mapped[str] = mapped_column(String(16))
    sale_channel: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    whitelisted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Licence(Base):
    """A licence of an operator in a jurisdiction (ISO 3166-1 alpha-2), as a regulator records it.

    Its conditions (see :mod:`skyfence.service.registry`): ``local_gateway`` (an operational gateway of the operator
    in the jurisdiction is required), ``local_ownership_min_pct`` / ``foreign_ownership_max_pct`` (against the
    operator's :class:`Ownership` record there), ``lawful_intercept`` (an operational PoP in the jurisdiction) and
    ``expires_on`` (in force through that day, UTC).
    """

    __tablename__ = "licences"
    __table_args__ = (UniqueConstraint("operator_id", "jurisdiction", name="uq_licences_operator_jurisdiction"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    operator_id: Mapped[str] = mapped_column(ForeignKey("operators.id"), index=True)
    jurisdiction: Mapped[str] = mapped_column(String(2), index=True)
    state: Mapped[str] = mapped_column(String(24))
    local_gateway: Mapped[bool] = mapped_column(Boolean, default=False)
    local_ownership_min_pct: Mapped[float | None] = mapped_column(Float)
    foreign_ownership_max_pct: Mapped[float | None] = mapped_column(Float)
    lawful_intercept: Mapped[bool] = mapped_column(Boolean, default=False)
    expires_on: Mapped[date | None] = mapped_column(Date)
    authority: Mapped[str] = mapped_column(String(200), default="")
    note: Mapped[str] = mapped_column(String(2000), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Ownership(Base):
    """An operator's declared ownership of its licensee in a jurisdiction: local and foreign shares [%]."""

    __tablename__ = "ownerships"
    __table_args__ = (UniqueConstraint("operator_id", "jurisdiction", name="uq_ownerships_operator_jurisdiction"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    operator_id: Mapped[str] = mapped_column(ForeignKey("operators.id"), index=True)
    jurisdiction: Mapped[str] = mapped_column(String(2))
    entity: Mapped[str] = mapped_column(String(200), default="")
    local_pct: Mapped[float] = mapped_column(Float)
    foreign_pct: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class GroundSite(Base):
    """A gateway or PoP of an operator; ``country`` is where Natural Earth places it (set when it is stored)."""

    __tablename__ = "ground_sites"
    __table_args__ = (UniqueConstraint("operator_id", "name", name="uq_ground_sites_operator_name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    operator_id: Mapped[str] = mapped_column(ForeignKey("operators.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    lat_deg: Mapped[float] = mapped_column(Float)
    lon_deg: Mapped[float] = mapped_column(Float)
    country: Mapped[str] = mapped_column(String(2), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Enrolment(Base):
    """A terminal on a jurisdiction's whitelist, with a reference to the verification evidence (never the evidence).

    Revocation keeps the row (``revoked_at``); enrolling the terminal again re-activates it.
    """

    __tablename__ = "enrolments"
    __table_args__ = (
        UniqueConstraint("jurisdiction", "terminal_id", name="uq_enrolments_jurisdiction_terminal"),
        # A terminal's enrolments; covers each batch's read of its terminals' active ones (migration 0009).
        Index("ix_enrolments_terminal_active", "terminal_id", "jurisdiction", "revoked_at", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    jurisdiction: Mapped[str] = mapped_column(String(2))
    terminal_id: Mapped[int] = mapped_column(BigId, ForeignKey("terminals.id"))
    evidence_ref: Mapped[str] = mapped_column(String(500))
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    enrolled_by: Mapped[str] = mapped_column(String(64))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_by: Mapped[str | None] = mapped_column(String(64))


class WhitelistDelegate(Base):
    """A key (by rotation lineage) that a jurisdiction's regulator lets manage that jurisdiction's whitelist."""

    __tablename__ = "whitelist_delegates"
    __table_args__ = (UniqueConstraint("jurisdiction", "lineage", name="uq_whitelist_delegates_jurisdiction"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    jurisdiction: Mapped[str] = mapped_column(String(2))
    lineage: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64))


class RegistryVersion(Base):
    """One row: bumped in the same transaction as every change of licences, ground sites or ownership, so every
    worker sees a change at its next batch (:mod:`skyfence.service.registry`)."""

    __tablename__ = "registry_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigId)


class Policy(Base):
    """One uploaded policy version: id = the policy engine's hash of the normalised content."""

    __tablename__ = "policies"

    version_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    operator: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(Text)
    source_sha256: Mapped[str] = mapped_column(String(64))
    n_rules: Mapped[int] = mapped_column(Integer)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    uploaded_by: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ApiKey(Base):
    """An API key: only the SHA-256 of its secret is stored; the key itself is shown once, when created."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    jurisdiction: Mapped[str | None] = mapped_column(String(2))
    terminal_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("terminals.id"), index=True)
    secret_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    replaced_by: Mapped[str | None] = mapped_column(String(16))
    #: The id of the first key of this key's rotation chain (its own id unless it was made by rotation).
    lineage: Mapped[str] = mapped_column(String(16), index=True)


class TelemetryBatch(Base):
    """One accepted telemetry request (a batch, or a single fix): the unit of idempotency."""

    __tablename__ = "telemetry_batches"
    __table_args__ = (UniqueConstraint("scope", "idempotency_key", name="uq_telemetry_batches_scope"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: Whose key space the idempotency key lives in: ``key:<lineage>`` of the posting key.
    scope: Mapped[str] = mapped_column(String(40))
    idempotency_key: Mapped[str | None] = mapped_column(String(128))
    request_sha256: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(16))
    n_fixes: Mapped[int] = mapped_column(Integer)
    policy_version: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class FixBudget(Base):
    """The telemetry fix budget of a key lineage: a token bucket shared by every worker (see core/budget.py)."""

    __tablename__ = "fix_budgets"

    scope: Mapped[str] = mapped_column(String(40), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float)
    #: When ``tokens`` was last computed [s since the Unix epoch].
    updated_s: Mapped[float] = mapped_column(Float)


class Fix(Base):
    """A position fix of a terminal (WGS-84 latitude/longitude [deg], altitude [m], ground speed [km/h]) and the
    policy engine's decision on it, in one row.

    A fix gets exactly one decision, in the transaction that stores it, so the two share a row (and an id: a
    decision's id *is* its fix's id, :class:`Decision`).  One row costs one entry in each per-terminal index
    instead of two; ingestion writes ~1,000 distinct terminals a batch, and those random index pages were most of
    what a batch wrote (migration 0007).  The indexes: ``(terminal_id, id)`` pages a terminal's fixes and
    decisions; ``(country, id, terminal_id)`` and ``(decision, id)`` page a country's or an outcome's decisions and
    answer the regulator's view, and grow at one end per key (new rows have the largest ids), so a batch dirties
    a few of their pages, not one a terminal; the partial ``(terminal_id, time)`` over denials counts a terminal's
    recent denials (repeated-denial alerts).
    """

    __tablename__ = "fixes"
    __table_args__ = (
        UniqueConstraint("batch_id", "index_in_batch", name="uq_fixes_batch_index"),
        Index("ix_fixes_terminal_id", "terminal_id", "id"),
        Index("ix_fixes_decision", "decision", "id"),
        # The regulator's view (each terminal's latest decision in a jurisdiction) and decisions by country.
        Index("ix_fixes_country", "country", "id", "terminal_id"),
        # Counting a terminal's recent denials (repeated-denial alerts) reads only denial rows.
        Index(
            "ix_fixes_denials",
            "terminal_id",
            "time",
            sqlite_where=text("decision = 'deny'"),
            postgresql_where=text("decision = 'deny'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    batch_id: Mapped[int] = mapped_column(BigId, ForeignKey("telemetry_batches.id"))
    index_in_batch: Mapped[int] = mapped_column(Integer)
    terminal_id: Mapped[int] = mapped_column(BigId, ForeignKey("terminals.id"))
    time: Mapped[datetime] = mapped_column(UTCDateTime())
    lat_deg: Mapped[float] = mapped_column(Float)
    lon_deg: Mapped[float] = mapped_column(Float)
    alt_m: Mapped[float] = mapped_column(Float)
    speed_kmh: Mapped[float] = mapped_column(Float)
    # the decision on the fix
    policy_version: Mapped[str] = mapped_column(String(64))
    decision: Mapped[str] = mapped_column(String(8))
    rule: Mapped[str] = mapped_column(String(128))
    rule_kind: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(1000))
    #: ISO alpha-2 code of the country under the fix ("" at sea), as the policy's point of view draws borders.
    country: Mapped[str] = mapped_column(String(2))
    #: The registry licence the decision used (``licences_from = "registry"``), if any.
    licence_id: Mapped[int | None] = mapped_column(BigId)
    #: The whitelist enrolment the decision used (``whitelists_from = "registry"``), if any.
    enrolment_id: Mapped[int | None] = mapped_column(BigId)
    #: The behavioural detectors' state of the terminal after this fix's batch, on the terminal's last fix of each
    #: batch the detectors scanned (``NULL`` on the others): the float64 row of
    #: :data:`skyfence.detection.detectors.STATE_FIELDS`, little-endian bytes.  A terminal's state is its newest fix
    #: row that carries one (:func:`skyfence.service.detect.stored_states`); not loaded with a fix unless asked.
    detector_state: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)


#: The columns of a fix row that are its decision (with ``id``, ``terminal_id`` and ``time``: :class:`Decision`).
DECISION_COLUMNS: Final = (
    "policy_version",
    "decision",
    "rule",
    "rule_kind",
    "reason",
    "country",
    "licence_id",
    "enrolment_id",
)


class Decision(Base):
    """The policy engine's decision on one fix, with the rule that decided and a readable reason.

    The decision columns of the fix's own row in ``fixes`` (see :class:`Fix`): ``id`` and ``fix_id`` are both the
    fix's id.
    """

    __table__ = Fix.__table__
    __mapper_args__ = {"include_properties": ["id", "terminal_id", "time", *DECISION_COLUMNS]}  # noqa: RUF012

    id: Mapped[int]
    terminal_id: Mapped[int]
    time: Mapped[datetime]
    policy_version: Mapped[str]
    decision: Mapped[str]
    rule: Mapped[str]
    rule_kind: Mapped[str]
    reason: Mapped[str]
    country: Mapped[str]
    licence_id: Mapped[int | None]
    enrolment_id: Mapped[int | None]
    #: The fix the decision is on: its own row, so the same id.
    fix_id: Mapped[int] = synonym("id")


class Alert(Base):
    """Something a human should look at, raised on ingestion.

    Policy alerts (``denial``, ``repeated_denial``, ``suspicious_rule``) come from the decisions; detection alerts
    (:data:`DETECTION_ALERT_KINDS`) from the behavioural detectors, with a ``score`` in [0, 1] and the ``evidence``
    as JSON.  ``time`` is the time of the fix the alert refers to; ``created_at`` when the service raised it.
    """

    __tablename__ = "alerts"
    __table_args__ = (
        Index("ix_alerts_terminal_kind", "terminal_id", "kind", "created_at"),
        Index("ix_alerts_time", "time"),
        # A regulator lists the alerts raised in its jurisdiction (skyfence.service.api.scope).
        Index("ix_alerts_country", "country", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))
    terminal_id: Mapped[int] = mapped_column(BigId, ForeignKey("terminals.id"))
    batch_id: Mapped[int] = mapped_column(BigId, ForeignKey("telemetry_batches.id"))
    first_fix_id: Mapped[int] = mapped_column(BigId)
    n_fixes: Mapped[int] = mapped_column(Integer)
    rule: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(String(1000))
    time: Mapped[datetime] = mapped_column(UTCDateTime())
    score: Mapped[float | None] = mapped_column(Float)
    #: JSON text (detection alerts); ``None`` for policy alerts.
    evidence: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acknowledged_by: Mapped[str | None] = mapped_column(String(16))
    #: The country of the fix the alert was raised on (``fixes.country``; "" at sea), so a regulator's alerts are one
    #: index range.
    country: Mapped[str | None] = mapped_column(String(2))


class DetectorState(Base):
    """What the behavioural detectors' account-cluster rule looks up across terminals: one row per terminal the
    detectors have seen, written when it is first seen and when its cluster alert is raised.

    The per-terminal state row itself travels in the fixes (:attr:`Fix.detector_state`, migration 0008): writing
    it here, one random row a terminal and batch, was the largest write of ingestion.  Both are written in the
    same transaction as the fixes that produced them, so a crash never loses or double-counts a fix.
    """

    __tablename__ = "detector_state"
    __table_args__ = (Index("ix_detector_state_account", "account_id", "near_front"),)

    terminal_id: Mapped[int] = mapped_column(BigId, ForeignKey("terminals.id"), primary_key=True, autoincrement=False)
    #: The terminal's account when it was first seen (-1: none).
    account_id: Mapped[int] = mapped_column(BigInteger)
    #: Time of the terminal's first processed fix [s since the Unix epoch].
    first_seen_s: Mapped[float] = mapped_column(Float)
    #: First seen near the front, registered elsewhere: counted in its account's cluster.
    near_front: Mapped[bool] = mapped_column(Boolean)
    #: The account-cluster alert was raised for this terminal.
    cluster_done: Mapped[bool] = mapped_column(Boolean)


class AuditRow(Base):
    """One append-only audit entry; ``hash = sha256(prev_hash || canonical row)`` chains it to the one before."""

    __tablename__ = "audit_log"
    #: A regulator reads the entries about its jurisdiction (skyfence.service.api.scope).
    __table_args__ = (Index("ix_audit_log_jurisdiction", "jurisdiction", "seq"),)

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(64))
    actor_role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(64))
    resource_type: Mapped[str] = mapped_column(String(32))
    resource_id: Mapped[str] = mapped_column(String(128))
    fields: Mapped[str] = mapped_column(Text)
    before_sha256: Mapped[str | None] = mapped_column(String(64))
    after_sha256: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: The jurisdiction the entry is about (ISO alpha-2; ``None``: none, or written before migration 0010); hashed
    #: with the row when set, so it cannot be changed or removed unnoticed.
    jurisdiction: Mapped[str | None] = mapped_column(String(2))


class AuditHead(Base):
    """The newest audit row's seq and hash, updated with it: deleting rows at the end is detected too."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigId)
    hash: Mapped[str] = mapped_column(String(64))
