"""Wire formats: per resource a Create, an Update and a Public model (the full-stack FastAPI template's families).

Inputs forbid unknown keys (a typo such as ``lat`` for ``lat_deg`` is a 422 naming it, not a silently dropped
field) and reject text the database cannot store (NUL characters, lone surrogates).  Every change carries a
``reason``, which goes into the audit log.  The analyst role sees :class:`AccountRedacted`: no owner name, no
contact address.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Annotated, Any, Final, Generic, Literal, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from skyfence._validation import FIX_ALT_M, FIX_SPEED_KMH, bidi_problem
from skyfence.service.iso3166 import is_country_code

__all__ = [
    "MAX_BATCH_FIXES",
    "MAX_ENROLMENTS",
    "AccountCreate",
    "AccountPublic",
    "AccountRedacted",
    "AccountUpdate",
    "AlertPublic",
    "AuditRowPublic",
    "AuditVerification",
    "BatchIn",
    "BatchReceipt",
    "DecisionBrief",
    "DecisionPublic",
    "DelegateIn",
    "DelegatePublic",
    "EnrolmentBulk",
    "EnrolmentIn",
    "EnrolmentPublic",
    "EnrolmentReceipt",
    "EnrolmentRevoke",
    "FixIn",
    "FixPublic",
    "GroundSiteCreate",
    "GroundSitePublic",
    "GroundSiteUpdate",
    "Health",
    "JurisdictionService",
    "KeyCreate",
    "KeyCreated",
    "KeyPublic",
    "KeyRevoke",
    "KeyRotate",
    "LicenceConditions",
    "LicenceCreate",
    "LicencePublic",
    "LicenceUpdate",
    "OperatorCreate",
    "OperatorPublic",
    "OperatorUpdate",
    "OwnershipIn",
    "OwnershipPublic",
    "Page",
    "PolicyActivate",
    "PolicyDetail",
    "PolicyPublic",
    "PolicyUpload",
    "ReasonIn",
    "TerminalCreate",
    "TerminalPublic",
    "TerminalUpdate",
    "Token",
    "TokenRequest",
]

#: Fixes per batch the schema admits (``SKYFENCE_MAX_BATCH_FIXES`` may lower it).
MAX_BATCH_FIXES: Final = 10_000
_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
_LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def _storable(value: str) -> str:
    if "\x00" in value:
        raise ValueError("text must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text must be valid Unicode (no lone surrogates)") from None
    bidi = bidi_problem(value)
    if bidi is not None:
        raise ValueError(f"text {bidi}")
    return value


def _country(value: str) -> str:
    if not is_country_code(value):
        raise ValueError(f"{value!r} is not an assigned ISO 3166-1 alpha-2 code (e.g. TW, UA, PL)")
    return value


def _in_range(value: datetime) -> datetime:
    try:
        utc = value.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ValueError("time is out of range (1970..2199, UTC)") from None
    if not _EARLIEST <= utc < _LATEST:
        raise ValueError("time is out of range (1970..2199, UTC)")
    return utc


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), AfterValidator(_storable)]
Short = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), AfterValidator(_storable)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000), AfterValidator(_storable)]
Reason = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=1000),
    AfterValidator(_storable),
    Field(
        description="Why the change is made; recorded in the audit log, which analysts read: no personal data.",
        examples=["licence granted 2026-03-01"],
    ),
]
CountryCode = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z]{2}$"),
    AfterValidator(_country),
    Field(description="ISO 3166-1 alpha-2 code (upper case).", examples=["TW"]),
]
OperatorId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,31}$"), Field(examples=["starlink"])]
Serial = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{4,64}$"), Field(examples=["UTW-2026-000123"])]
Email = Annotated[
    str, StringConstraints(pattern=r"^[^@\s\x00]{1,64}@[^@\s\x00]{1,189}$", max_length=254), AfterValidator(_storable)
]
UtcTime = Annotated[AwareDatetime, AfterValidator(_in_range)]
RowId = Annotated[int, Field(ge=1, le=2**62)]

AccountType = Literal["consumer", "business", "government", "military"]
Plan = Literal["residential", "roam", "maritime", "aviation"]
SaleChannel = Literal["direct", "retailer", "reseller", "donation", "government", "unknown"]
TerminalStatus = Literal["active", "suspended", "deactivated"]
LicenceState = Literal["applied", "pending_regulatory", "granted", "denied", "suspended", "revoked"]
SiteKind = Literal["gateway", "pop"]
SiteStatus = Literal["operational", "planned", "offline"]
Percent = Annotated[float, Field(ge=0.0, le=100.0, allow_inf_nan=False, description="A share in per cent, 0-100.")]
Role = Literal["operator", "regulator", "analyst", "terminal"]
DecisionValue = Literal["allow", "deny", "degrade"]
AlertKind = Literal[
    "denial",
    "repeated_denial",
    "suspicious_rule",
    "drone_suspected",
    "diversion_suspected",
    "spoofing_suspected",
    "roaming_limit",
    "geofence_probing",
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list; pass ``next_after`` as ``after`` to get the next one (``null``: this was the last)."""

    items: list[T]
    next_after: int | str | None = None

    @classmethod
    def of(cls, items: list[T], limit: int, key: str = "id") -> Page[T]:
        """A page of ``items``: ``next_after`` is the last item's ``key`` when the page is full."""
        return cls(items=items, next_after=getattr(items[-1], key) if len(items) == limit else None)


class ReasonIn(_In):
    """A bare reason (for actions such as activating a policy or acknowledging an alert)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"reason": "weekly review"}]})
    reason: Reason


# --------------------------------------------------------------------------- operators


class OperatorBase(BaseModel):
    """Fields an operator has in every form (the template's model family: Base → Create / Public; Update lists the
    same fields, all optional, as a PATCH does)."""

    name: Name


class OperatorCreate(OperatorBase, _In):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"id": "starlink", "name": "Starlink (SpaceX)", "reason": "onboarding"}]},
    )
    id: OperatorId
    reason: Reason


class OperatorUpdate(_In):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"name": "Starlink", "reason": "rename"}]}
    )
    name: Name | None = None
    reason: Reason


class OperatorPublic(OperatorBase, _Out):
    id: str
    created_at: datetime
    updated_at: datetime


# --------------------------------------------------------------------------- accounts


class AccountBase(BaseModel):
    """Fields an account has in every form (the personal ones are added where a role may see them)."""

    country: CountryCode
    type: AccountType


class AccountCreate(AccountBase, _In):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "operator_id": "starlink",
                    "owner_name": "Lin Mei",
                    "contact_email": "lin@example.tw",
                    "country": "TW",
                    "type": "consumer",
                    "reason": "new customer",
                }
            ]
        },
    )
    operator_id: OperatorId
    owner_name: Name
    contact_email: Email | None = None
    reason: Reason


class AccountUpdate(_In):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"type": "business", "reason": "customer upgraded"}]}
    )
    owner_name: Name | None = None
    contact_email: Email | None = None
    country: CountryCode | None = None
    type: AccountType | None = None
    reason: Reason


class AccountRedacted(AccountBase, _Out):
    """An account without personal data (what the analyst role sees)."""

    id: int
    operator_id: str
    created_at: datetime
    updated_at: datetime


class AccountPublic(AccountRedacted):
    """An account with its owner's name and contact address (personal data)."""

    owner_name: str
    contact_email: str | None


# --------------------------------------------------------------------------- terminals


class TerminalBase(BaseModel):
    """Fields a terminal has in every form."""

    registration_country: CountryCode
    plan: Plan
    sale_channel: SaleChannel = "direct"
    status: TerminalStatus = "active"
    whitelisted: bool = False


class TerminalCreate(TerminalBase, _In):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "serial": "UTW-2026-000123",
                    "account_id": 1,
                    "registration_country": "TW",
                    "plan": "residential",
                    "sale_channel": "retailer",
                    "reason": "activation",
                }
            ]
        },
    )
    serial: Serial
    account_id: RowId
    reason: Reason


class TerminalUpdate(_In):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"whitelisted": True, "reason": "registered with MoD"}]}
    )
    registration_country: CountryCode | None = None
    plan: Plan | None = None
    sale_channel: SaleChannel | None = None
    status: TerminalStatus | None = None
    whitelisted: bool | None = None
    reason: Reason


class TerminalPublic(TerminalBase, _Out):
    id: int
    serial: str
    account_id: int
    created_at: datetime
    updated_at: datetime


# --------------------------------------------------------------------------- licences


class LicenceConditions(_In):
    """Structured conditions of a licence; every one must hold for a granted licence to serve (unknown keys: 422)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"local_gateway_required": True, "foreign_ownership_max_pct": 49}]},
    )
    local_gateway_required: bool = Field(
        False, description="An operational gateway of the operator inside the jurisdiction."
    )
    local_ownership_min_pct: Percent | None = Field(
        None, description="The operator's ownership record there declares at least this local share."
    )
    foreign_ownership_max_pct: Percent | None = Field(
        None, description="The operator's ownership record there declares at most this foreign share."
    )
    lawful_intercept: bool = Field(False, description="An operational PoP of the operator inside the jurisdiction.")
    expires: date | None = Field(None, description="In force through this day (UTC), not after.")


class LicenceCreate(_In):
    """An operator's application: every licence starts as ``applied``; the jurisdiction's regulator decides."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "operator_id": "starlink",
                    "jurisdiction": "TW",
                    "authority": "MODA",
                    "reason": "application filed",
                }
            ]
        },
    )
    operator_id: OperatorId
    jurisdiction: CountryCode
    state: Literal["applied"] = "applied"
    authority: Short = ""
    note: Note = ""
    reason: Reason


class LicenceUpdate(_In):
    """A decision (a state along the allowed transitions) and/or new conditions; operator and jurisdiction are
    fixed.  ``conditions`` replaces the whole set."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"state": "granted", "conditions": {"local_gateway_required": True}, "reason": "MODA decision 2026/17"}
            ]
        },
    )
    state: LicenceState | None = None
    conditions: LicenceConditions | None = None
    authority: Short | None = None
    note: Note | None = None
    reason: Reason


class LicencePublic(_Out):
    id: int
    operator_id: str
    jurisdiction: str
    state: LicenceState
    conditions: LicenceConditions
    allowed_next: list[LicenceState] = Field(description="States the licence may move to next.")
    authority: str
    note: str
    created_at: datetime
    updated_at: datetime


class OwnershipIn(_In):
    """An operator's declared ownership of its licensee in a jurisdiction."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"entity": "Starlink Taiwan Ltd", "local_pct": 51, "foreign_pct": 49, "reason": "filing"}]
        },
    )
    entity: Short = ""
    local_pct: Percent
    foreign_pct: Percent
    reason: Reason

    @model_validator(mode="after")
    def _at_most_whole(self) -> OwnershipIn:
        if self.local_pct + self.foreign_pct > 100.0 + 1e-9:
            raise ValueError("local_pct + foreign_pct exceeds 100")
        return self


class OwnershipPublic(_Out):
    id: int
    operator_id: str
    jurisdiction: str
    entity: str
    local_pct: float
    foreign_pct: float
    created_at: datetime
    updated_at: datetime


class GroundSiteCreate(_In):
    """A gateway or PoP; its country is where Natural Earth places the point (a point outside every country: 422)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "operator_id": "starlink",
                    "name": "Taipei gateway",
                    "kind": "gateway",
                    "status": "operational",
                    "lat_deg": 25.05,
                    "lon_deg": 121.53,
                    "reason": "gateway commissioned",
                }
            ]
        },
    )
    operator_id: OperatorId
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    kind: SiteKind
    status: SiteStatus = "operational"
    lat_deg: Annotated[float, Field(ge=-90.0, le=90.0, allow_inf_nan=False)]
    lon_deg: Annotated[float, Field(ge=-180.0, le=180.0, allow_inf_nan=False)]
    reason: Reason


class GroundSiteUpdate(_In):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"status": "offline", "reason": "flooded"}]}
    )
    status: SiteStatus
    reason: Reason


class GroundSitePublic(_Out):
    id: int
    operator_id: str
    name: str
    kind: SiteKind
    status: SiteStatus
    lat_deg: float
    lon_deg: float
    country: str
    created_at: datetime
    updated_at: datetime


# --------------------------------------------------------------------------- whitelists

#: Most terminals one enrolment or revocation request may carry.
MAX_ENROLMENTS: Final = 10_000
Evidence = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=500),
    AfterValidator(_storable),
    Field(
        description="A reference to the verification evidence (a case number, a document id), never the evidence.",
        examples=["MDT-verification-2026-000123"],
    ),
]


class EnrolmentIn(_In):
    """One terminal to enrol: by id or by serial, with the reference to its verification evidence."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"serial": "UT-UA-0001", "evidence_ref": "MDT-2026-000123"}]},
    )
    terminal_id: RowId | None = None
    serial: Serial | None = None
    evidence_ref: Evidence

    @model_validator(mode="after")
    def _one_key(self) -> EnrolmentIn:
        if (self.terminal_id is None) == (self.serial is None):
            raise ValueError("give exactly one of terminal_id or serial")
        return self


class EnrolmentBulk(_In):
    """Up to 10,000 terminals enrolled in one request, all or nothing (a bad row is named by its index)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"items": [{"serial": "UT-UA-0001", "evidence_ref": "MDT-2026-000123"}], "reason": "batch 17"}]
        },
    )
    items: Annotated[list[EnrolmentIn], Field(min_length=1, max_length=MAX_ENROLMENTS)]
    reason: Reason


class EnrolmentRevoke(_In):
    """Terminals to take off the whitelist (by id or serial), up to 10,000 a request."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"serials": ["UT-UA-0001"], "reason": "terminal captured"}]}
    )
    terminal_ids: Annotated[list[RowId], Field(max_length=MAX_ENROLMENTS)] = []
    serials: Annotated[list[Serial], Field(max_length=MAX_ENROLMENTS)] = []
    reason: Reason

    @model_validator(mode="after")
    def _something(self) -> EnrolmentRevoke:
        if not self.terminal_ids and not self.serials:
            raise ValueError("give terminal_ids and/or serials")
        if len(self.terminal_ids) + len(self.serials) > MAX_ENROLMENTS:
            raise ValueError(f"at most {MAX_ENROLMENTS} terminals a request")
        return self


class EnrolmentPublic(_Out):
    id: int
    jurisdiction: str
    terminal_id: int
    evidence_ref: str
    enrolled_at: datetime
    enrolled_by: str
    revoked_at: datetime | None
    revoked_by: str | None


class EnrolmentReceipt(BaseModel):
    """What an enrolment or revocation request changed."""

    jurisdiction: str
    enrolled: int = 0
    already_enrolled: int = 0
    revoked: int = 0
    not_enrolled: int = 0
    whitelist_size: int


class DelegateIn(_In):
    """A key the jurisdiction's regulator lets manage its whitelist (the delegation follows the key's rotations)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"key_id": "0123456789abcdef", "reason": "MDT office"}]}
    )
    key_id: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{16}$")]
    reason: Reason


class DelegatePublic(_Out):
    id: int
    jurisdiction: str
    lineage: str
    created_at: datetime
    created_by: str


class ServedCount(BaseModel):
    decision: DecisionValue
    rule: str
    reason: str
    terminals: int


class LicenceView(BaseModel):
    licence: LicencePublic
    in_force: bool
    why_not: str | None
    conditions_met: list[str]
    conditions_unmet: list[str]


class JurisdictionService(BaseModel):
    """A regulator's view of service in its jurisdiction: each terminal's latest decision there, by reason; the
    licences with their conditions evaluated now; the whitelist size."""

    jurisdiction: str
    as_of: datetime
    terminals_served: int
    terminals_denied: int
    terminals_degraded: int
    by_reason: list[ServedCount]
    licences: list[LicenceView]
    whitelist_size: int
    ground_sites: list[GroundSitePublic]


# --------------------------------------------------------------------------- policies

_POLICY_EXAMPLE = """[policy]
name = "example"
operator = "starlink"
default = "deny"

[zones.taiwan]
countries = ["TW"]

[[rules]]
kind = "jurisdiction"
zone = "taiwan"
action = "allow"
"""


class PolicyUpload(_In):
    """A policy file (TOML text); its version id is the policy engine's hash of the normalised content."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"source": _POLICY_EXAMPLE, "reason": "serve Taiwan"}]}
    )
    source: Annotated[str, StringConstraints(min_length=1, max_length=1_000_000), AfterValidator(_storable)]
    reason: Reason


class PolicyActivate(ReasonIn):
    """Make a stored version the one ingestion decides with."""


class PolicyPublic(_Out):
    version_id: str
    name: str
    operator: str
    n_rules: int
    source_sha256: str
    uploaded_at: datetime
    uploaded_by: str
    active: bool
    activated_at: datetime | None


class PolicyDetail(PolicyPublic):
    source: str


# --------------------------------------------------------------------------- keys and tokens


class KeyBase(BaseModel):
    """Fields an API key has in every form."""

    name: Name
    role: Role
    jurisdiction: CountryCode | None = Field(None, description="Required for (and only for) the regulator role.")
    terminal_id: RowId | None = Field(None, description="Required for (and only for) the terminal role.")


class KeyCreate(KeyBase, _In):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"name": "NCC Taiwan", "role": "regulator", "jurisdiction": "TW", "reason": "regulator onboarding"},
                {"name": "dish 123", "role": "terminal", "terminal_id": 1, "reason": "provisioning"},
            ]
        },
    )
    expires_at: UtcTime | None = Field(default=None, description="When the key stops working; in the future (UTC).")
    reason: Reason

    @field_validator("expires_at")
    @classmethod
    def _in_future(cls, value: datetime | None) -> datetime | None:
        if value is not None and value <= datetime.now(UTC):
            raise ValueError(
                f"expires_at {value.isoformat()} is not in the future: a key would be dead on arrival "
                "(give a later time, or leave it out for a key that does not expire)"
            )
        return value

    @model_validator(mode="after")
    def _scope(self) -> KeyCreate:
        if (self.role == "regulator") != (self.jurisdiction is not None):
            raise ValueError("jurisdiction is required for the regulator role and only for it")
        if (self.role == "terminal") != (self.terminal_id is not None):
            raise ValueError("terminal_id is required for the terminal role and only for it")
        return self


class KeyRotate(_In):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"reason": "90-day rotation"}]})
    grace_seconds: int = Field(0, ge=0, le=7 * 24 * 3600, description="How long the old key keeps working.")
    reason: Reason


class KeyRevoke(ReasonIn):
    """Revoke a key now (its bearer tokens stop working at once)."""


class KeyPublic(KeyBase, _Out):
    id: str
    created_at: datetime
    created_by: str
    expires_at: datetime | None
    revoked_at: datetime | None
    replaced_by: str | None


class KeyCreated(KeyPublic):
    key: str = Field(description="The API key. It is shown only now: store it, skyfence keeps only its hash.")


class TokenRequest(BaseModel):
    """OAuth2 client credentials (RFC 6749 §4.4), as a form; or send them as HTTP Basic credentials."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "grant_type": "client_credentials",
                    "client_id": "0123456789abcdef",
                    "client_secret": "the 43 characters after the key id",
                }
            ]
        }
    )
    grant_type: Literal["client_credentials"] = "client_credentials"
    client_id: str | None = Field(None, max_length=100, description="The key id (16 hex digits).")
    client_secret: str | None = Field(None, max_length=200, description="The key's secret, or the whole key.")


class Token(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the token expires.")


# --------------------------------------------------------------------------- telemetry, decisions, alerts


class FixIn(_In):
    """One position fix: WGS-84 latitude/longitude [deg], altitude above the ellipsoid [m], ground speed [km/h]."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "terminal_id": 1,
                    "time": "2026-08-22T10:00:00Z",
                    "lat_deg": 25.03,
                    "lon_deg": 121.57,
                    "alt_m": 12.0,
                    "speed_kmh": 0.0,
                }
            ]
        },
    )
    terminal_id: Annotated[int, Field(strict=True, ge=1, le=2**62)]  # strict: true is not terminal 1
    time: UtcTime
    lat_deg: float = Field(strict=True, ge=-90.0, le=90.0, allow_inf_nan=False)
    lon_deg: float = Field(strict=True, ge=-180.0, le=180.0, allow_inf_nan=False)
    # one range with `skyfence policy check` and fix tables (skyfence._validation says why these bounds)
    alt_m: float = Field(0.0, strict=True, ge=FIX_ALT_M[0], le=FIX_ALT_M[1], allow_inf_nan=False)
    speed_kmh: float = Field(0.0, strict=True, ge=FIX_SPEED_KMH[0], le=FIX_SPEED_KMH[1], allow_inf_nan=False)


class BatchIn(_In):
    """Fixes stored together or not at all; send them with an ``Idempotency-Key`` and retry with the same key."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "fixes": [
                        {
                            "terminal_id": 1,
                            "time": "2026-08-22T10:00:00Z",
                            "lat_deg": 25.03,
                            "lon_deg": 121.57,
                            "alt_m": 12.0,
                            "speed_kmh": 0.0,
                        }
                    ]
                }
            ]
        },
    )
    fixes: list[FixIn] = Field(min_length=1, max_length=MAX_BATCH_FIXES)


class DecisionBrief(BaseModel):
    fix_id: int
    decision: DecisionValue
    rule: str
    reason: str
    licence_id: int | None = None
    enrolment_id: int | None = None


class BatchReceipt(BaseModel):
    """What was stored: the batch, its fixes' decisions (in request order) and the counts per decision."""

    batch_id: int
    idempotency_key: str | None
    n_fixes: int
    policy_version: str
    received_at: datetime
    replayed: bool = Field(description="True when this answers a retry of a batch stored earlier.")
    counts: dict[DecisionValue, int]
    decisions: list[DecisionBrief]


class FixPublic(_Out):
    id: int
    batch_id: int
    index_in_batch: int
    terminal_id: int
    time: datetime
    lat_deg: float
    lon_deg: float
    alt_m: float
    speed_kmh: float


class DecisionPublic(_Out):
    id: int
    fix_id: int
    terminal_id: int
    time: datetime
    policy_version: str
    decision: DecisionValue
    rule: str
    rule_kind: str
    reason: str
    country: str = Field(description="ISO alpha-2 code of the country under the fix; empty at sea.")
    licence_id: int | None = Field(None, description="The registry licence the decision used, if any.")
    enrolment_id: int | None = Field(None, description="The whitelist enrolment the decision used, if any.")


class AlertPublic(_Out):
    """A policy alert (``denial``, ``repeated_denial``, ``suspicious_rule``; ``rule`` is the deciding rule) or a
    detection alert (``rule`` is ``detector``) with a ``score`` in [0, 1] and its ``evidence``."""

    id: int
    kind: AlertKind
    terminal_id: int
    batch_id: int
    first_fix_id: int
    n_fixes: int
    rule: str
    reason: str
    #: The time of the fix the alert refers to.
    time: datetime
    score: float | None
    evidence: dict[str, Any] | None
    created_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None

    @field_validator("evidence", mode="before")
    @classmethod
    def _parse_evidence(cls, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value


# --------------------------------------------------------------------------- audit, health


class AuditRowPublic(_Out):
    seq: int
    at: str
    actor: str
    actor_role: str
    action: str
    resource_type: str
    resource_id: str
    fields: list[str]
    before_sha256: str | None
    after_sha256: str | None
    reason: str
    prev_hash: str
    hash: str


class AuditVerification(BaseModel):
    ok: bool
    rows: int
    head_seq: int
    head_hash: str
    first_bad_seq: int | None
    problem: str | None


class Health(BaseModel):
    """Liveness for everyone; the database kind, schema revision and active policy only for a reader's key."""

    status: Literal["ok"]
    version: str
    database: str | None = Field(default=None, description="The database backend (reader keys only).")
    schema_revision: str | None = Field(default=None, description="The Alembic revision (reader keys only).")
    active_policy: str | None = Field(default=None, description="The active policy version (reader keys only).")
