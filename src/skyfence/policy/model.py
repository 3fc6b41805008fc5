"""The policy model: zones (jurisdictions), operators, licences, service statuses and rules.

A policy file is TOML (see :mod:`skyfence.policy.files`); this module is its schema, written with pydantic v2 so
that every error names its key path (``rules[3].zone``) and the allowed values.  The pieces:

``[policy]``
    ``name``, ``operator`` (the operator the rules are written for), ``default`` (the decision for a fix no rule
    covers -- required: a policy never allows silently), ``pov`` (border point of view for ISO codes: ``default`` or
    ``DEU``), ``scale``, ``as_of`` (the moment the policy describes; the default time of checks and maps),
    ``licences_from`` and ``whitelists_from`` (``"file"``, the default, or ``"registry"``: the control plane's
    database supplies licence state and conditions, or whitelist enrolment, at every decision; see
    :mod:`skyfence.service.registry`).
``[zones.NAME]``
    A jurisdiction: ISO 3166 codes (``countries``), :func:`~skyfence.earth.regions.get_region` specs (``regions``:
    ``disputed:Crimea``, ``occupied:ua:2026-08-22``, a country name, ``world``, or ``sea`` = outside every country
    and every 12-nmi territorial sea, :mod:`skyfence.earth.waters`; a country includes its territorial sea),
    GeoJSON polygons (``files``, relative to the TOML file), H3 cells (``cells``) and a ``buffer_km``.
``[operators.NAME]``
    What an operator can show a regulator: countries with a gateway (``gateways_in``), with a locally owned entity
    (``local_ownership_in``) and with lawful-intercept capability (``lawful_intercept_in``); ``"*"`` means everywhere.
``[statuses]``
    The service status the operator's public map shows per country (:data:`STATUSES`), imported from a real
    availability feed (``source``) and/or written per country (``countries``).
``[[licences]]``
    One licence per operator x jurisdiction: its state (:data:`LICENCE_STATES`, with an optional dated
    ``history`` checked against :data:`LICENCE_TRANSITIONS`), the plans it covers and its conditions
    (:data:`CONDITIONS` plus an expiry date).
``[[rules]]``
    The decision rules, one of :data:`RULE_KINDS` each, with an ``action``, a ``priority`` and optional filters
    (plans, registration countries, whitelisted flag, validity period, operators).

Precedence (see :mod:`skyfence.policy.engine`): higher ``priority`` first; at equal priority the stricter action
(deny > degrade > allow); then file order.  Equal-priority rules with different actions whose scopes can overlap
are rejected when the file is loaded.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from typing import Annotated, Any, Final, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    StringConstraints,
    field_validator,
    model_validator,
)

__all__ = [
    "ACTIONS",
    "CONDITIONS",
    "FEED_STATUS_MAP",
    "LICENCE_LIFECYCLE",
    "LICENCE_STATES",
    "LICENCE_TRANSITIONS",
    "PLANS",
    "RULE_KINDS",
    "SEVERITY",
    "STATUSES",
    "STATUS_MEANINGS",
    "ExportControlRule",
    "GeofenceRule",
    "IncludeFile",
    "JurisdictionRule",
    "Licence",
    "LicenceConditions",
    "LicenceEvent",
    "LicenceRule",
    "MotionRule",
    "Operator",
    "PlanSpec",
    "PolicyFile",
    "PolicyHeader",
    "RoamingRule",
    "Rule",
    "StatusEntry",
    "StatusRule",
    "Statuses",
    "WhitelistRule",
    "Zone",
    "as_utc",
    "describe_status",
    "until_utc",
]

#: Decisions (and rule actions), in the order of their codes 0, 1, 2.
ACTIONS: Final = ("allow", "deny", "degrade")
#: How strict an action is: at equal priority the stricter rule is tried first (a point on the edge of a denied
#: polygon that also touches an allowed one is denied).
SEVERITY: Final = {"allow": 0, "degrade": 1, "deny": 2}

#: Service statuses an operator's public map shows per country (the starlink.com/map legend).
STATUSES: Final = ("launched", "coming_soon", "pending_regulatory", "blacklisted", "exclude", "unknown")

#: What each status means, in one line (``policy check --explain``, ``policy import-availability``, the legends).
#: ``exclude`` is the feed's own word: the operator's map gives the country no status as a whole and marks its
#: regions instead.  The feed says so for exactly three countries, Ukraine, Georgia and Cyprus (2025-2026), each
#: with territory outside its government's control; the feed's regions draw occupied Donbas as ``blacklisted``
#: (PROVENANCE 5a).  The rest of those countries has service, so ``exclude`` is not "no service" (``skyfence
#: latency`` counts it as served).
STATUS_MEANINGS: Final = {
    "launched": "service on sale",
    "coming_soon": "not served yet; the map gives an expected date or says it is unknown",
    "pending_regulatory": "not served; waiting for the regulator's approval",
    "blacklisted": "not served; the operator does not serve this country",
    "exclude": "served in parts: the operator's map marks regions, not the whole country "
    "(territory partly outside the government's control)",
    "unknown": "the operator's map gives no status",
}


def describe_status(status: str) -> str:
    """``exclude (served in parts: ...)``: a status with its meaning (:data:`STATUS_MEANINGS`)."""
    meaning = STATUS_MEANINGS.get(status)
    return f"{status} ({meaning})" if meaning else status


#: Status values of the real starlink.com availability feed → :data:`STATUSES`.  ``available`` (11 countries in
#: 2025-2026: service can be ordered, the map shows no launch announcement) counts as ``launched``; ``faq`` (St
#: Helena, Bouvet, Antarctica and Singapore in 2025: the map points to an FAQ entry about special arrangements)
#: is ``unknown`` -- skyfence does not guess.  The raw value is kept as ``feed_status`` so imports round-trip.
FEED_STATUS_MAP: Final = {
    "launched": "launched",
    "available": "launched",
    "coming_soon": "coming_soon",
    "pending_regulatory": "pending_regulatory",
    "blacklisted": "blacklisted",
    "exclude": "exclude",
    "unknown": "unknown",
    "faq": "unknown",
}

#: Licence states: see :data:`LICENCE_LIFECYCLE`.
LICENCE_STATES: Final = ("none", "applied", "pending_regulatory", "granted", "denied", "suspended", "revoked")
#: Allowed state changes in a licence's ``history`` and over the control plane's API.  An application is put under
#: review (``pending_regulatory``) or refused outright (``denied``: incomplete, or refused at intake, as
#: regulators may); under review it is granted or denied; a denied or revoked operator may apply again; a
#: suspended licence is reinstated or revoked.
LICENCE_TRANSITIONS: Final = {
    "none": ("applied",),
    "applied": ("pending_regulatory", "denied"),
    "pending_regulatory": ("granted", "denied"),
    "granted": ("suspended", "revoked"),
    "suspended": ("granted", "revoked"),
    "denied": ("applied",),
    "revoked": ("applied",),
}
#: :data:`LICENCE_TRANSITIONS` as one line of text, for messages and docs (``docs/registry.md`` shows the same).
LICENCE_LIFECYCLE: Final = "; ".join(f"{a} → {' | '.join(b)}" for a, b in LICENCE_TRANSITIONS.items())
#: Licence conditions an operator must meet in the licensing country for a granted licence to be in force.
CONDITIONS: Final = ("local_gateway", "local_ownership", "lawful_intercept")

#: Plans every policy knows: a fixed site, land in motion, at sea, in the air (Starlink's plan families).
PLANS: Final = ("residential", "roam", "maritime", "aviation")

#: Kinds of rule.
RULE_KINDS: Final = (
    "jurisdiction",
    "geofence",
    "whitelist",
    "motion",
    "roaming",
    "export_control",
    "status",
    "licence",
)

Action = Literal["allow", "deny", "degrade"]
Restriction = Literal["deny", "degrade"]
Status = Literal["launched", "coming_soon", "pending_regulatory", "blacklisted", "exclude", "unknown"]
LicenceState = Literal["none", "applied", "pending_regulatory", "granted", "denied", "suspended", "revoked"]
#: Where licences (state, conditions) and whitelist membership come from: this file, or the control plane's
#: registry (``skyfence.service``: licences, ground sites, ownership records, enrolments in its database).
Source = Literal["file", "registry"]
Name = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_.-]*$", max_length=64)]


def _moment(value: Any) -> date:
    """A TOML date or date-time (or its ISO text) → ``date`` / ``datetime``."""
    if isinstance(value, date):  # datetime is a date too
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            return date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
        except ValueError:
            pass
    raise ValueError(f"{value!r} is not a date; write a TOML date (2026-08-22) or date-time (2026-08-22T12:00:00Z)")


#: A date or a date-time (TOML has both).
Moment = Annotated[date, PlainValidator(_moment), PlainSerializer(lambda v: v.isoformat(), return_type=str)]

_CODE = re.compile(r"^[A-Z]{2}$")


def as_utc(moment: date | datetime) -> datetime:
    """A TOML date or datetime as an aware UTC datetime (dates are midnight UTC; naive datetimes are UTC)."""
    if isinstance(moment, datetime):
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return datetime.combine(moment, time(0), UTC)


def until_utc(moment: date | datetime) -> datetime:
    """End of a validity period: a date is inclusive (valid through that day), a datetime is exclusive."""
    if isinstance(moment, datetime):
        return as_utc(moment)
    return datetime.combine(moment, time(0), UTC) + _ONE_DAY


_ONE_DAY = datetime(2000, 1, 2) - datetime(2000, 1, 1)


class _Strict(BaseModel):
    """Unknown keys are errors (a typo must not silently drop a rule)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


# --------------------------------------------------------------------------- header, plans, zones, operators


class PolicyHeader(_Strict):
    """The ``[policy]`` table."""

    name: str = Field(min_length=1)
    operator: Name
    default: Action
    pov: Literal["default", "DEU"] = "default"
    scale: Literal["10m", "50m", "110m"] | None = None
    as_of: Moment | None = None
    description: str = ""
    version: str = ""
    licences_from: Source = "file"
    whitelists_from: Source = "file"


class PlanSpec(_Strict):
    """A plan beyond the built-in :data:`PLANS` (``[plans.business]``), or a description of a built-in one."""

    description: str = ""


class Zone(_Strict):
    """A jurisdiction: the union of its countries, regions, polygon files and cells, optionally buffered.

    ``buffer_km`` grows the union by that distance on the ellipsoid (see :func:`skyfence.policy.zones.buffer_km`).
    """

    countries: list[str] = []
    regions: list[str] = []
    files: list[str] = []
    cells: list[str] = []
    buffer_km: float = Field(0.0, ge=0.0, le=2000.0)
    description: str = ""

    @field_validator("countries")
    @classmethod
    def _upper(cls, value: list[str]) -> list[str]:
        return [v.strip().upper() for v in value]

    @model_validator(mode="after")
    def _not_empty(self) -> Zone:
        if not (self.countries or self.regions or self.files or self.cells):
            raise ValueError("a zone needs at least one of countries, regions, files or cells")
        return self


class Operator(_Strict):
    """What an operator can show a regulator, by ISO code (``"*"``: everywhere)."""

    name: str = ""
    gateways_in: list[str] = []
    local_ownership_in: list[str] = []
    lawful_intercept_in: list[str] = []

    @field_validator("gateways_in", "local_ownership_in", "lawful_intercept_in")
    @classmethod
    def _upper(cls, value: list[str]) -> list[str]:
        return [v.strip().upper() for v in value]


# --------------------------------------------------------------------------- statuses


class StatusEntry(_Strict):
    """One country's status on the operator's map; ``feed_status`` is the raw feed value when it differs.

    ``since`` dates the status (00:00 UTC that day): before it a status rule does not see it, so an override such as
    a hypothetical launch cannot allow service before the licence it stands for (review trial 2, item 14).
    """

    status: Status
    expected: str | None = None
    feed_status: str | None = None
    since: date | None = None


class Statuses(_Strict):
    """``[statuses]``: a feed to import (dataset name or path) and per-country entries that override it."""

    source: str | None = None
    countries: dict[str, StatusEntry] = {}

    @field_validator("countries", mode="before")
    @classmethod
    def _codes(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        for code in value:
            if not _CODE.match(str(code)):
                raise ValueError(f"country key {code!r} is not a two-letter upper-case ISO 3166 code")
        # a bare status string is shorthand for {status = "..."}
        return {code: {"status": entry} if isinstance(entry, str) else entry for code, entry in value.items()}


# --------------------------------------------------------------------------- licences


class LicenceEvent(_Strict):
    """A dated licence state change."""

    state: LicenceState
    on: date


class LicenceConditions(_Strict):
    """What a regulator requires for a granted licence to be in force; ``expires`` ends it (inclusive date)."""

    local_gateway: bool = False
    local_ownership: bool = False
    lawful_intercept: bool = False
    expires: date | None = None


class Licence(_Strict):
    """A licence of ``operator`` in a jurisdiction (``zone`` or ``countries``)."""

    operator: Name | None = None
    zone: Name | None = None
    countries: list[str] = []
    state: LicenceState
    since: date | None = None
    history: list[LicenceEvent] = []
    plans: list[str] | None = None
    conditions: LicenceConditions = LicenceConditions()
    authority: str = ""
    note: str = ""

    @field_validator("countries")
    @classmethod
    def _upper(cls, value: list[str]) -> list[str]:
        return [v.strip().upper() for v in value]

    @model_validator(mode="after")
    def _jurisdiction(self) -> Licence:
        if (self.zone is None) == (not self.countries):
            raise ValueError("a licence needs exactly one of zone or countries")
        return self


# --------------------------------------------------------------------------- rules


class _RuleBase(_Strict):
    id: Name | None = None
    priority: int = Field(0, ge=-1_000_000, le=1_000_000)
    reason: str = ""
    plans: list[str] | None = None
    registered_in: list[str] | None = None
    whitelisted: bool | None = None
    valid_from: Moment | None = None
    valid_until: Moment | None = None
    operators: list[Name] | None = None

    @field_validator("registered_in")
    @classmethod
    def _upper(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else [v.strip().upper() for v in value]

    @model_validator(mode="after")
    def _period(self):
        if self.valid_from is not None and self.valid_until is not None:
            if until_utc(self.valid_until) <= as_utc(self.valid_from):
                raise ValueError("valid_until must be after valid_from")
        if self.plans is not None and not self.plans:
            raise ValueError("plans is empty; leave it out to cover every plan")
        return self


class _Zoned(_RuleBase):
    zone: Name | None = None
    zones: list[Name] = []

    def zone_names(self) -> list[str]:
        return ([self.zone] if self.zone else []) + list(self.zones)


class _NeedsZone(_Zoned):
    @model_validator(mode="after")
    def _has_zone(self):
        if not self.zone_names():
            raise ValueError("needs zone or zones")
        return self


class JurisdictionRule(_NeedsZone):
    """Allow, deny or degrade inside one or more zones."""

    kind: Literal["jurisdiction"]
    action: Action


class GeofenceRule(_NeedsZone):
    """A geofence: the zones grown by ``buffer_km``; ``side = "outside"`` matches everywhere else."""

    kind: Literal["geofence"]
    action: Action = "deny"
    buffer_km: float = Field(0.0, ge=0.0, le=2000.0)
    side: Literal["inside", "outside"] = "inside"


class WhitelistRule(_NeedsZone):
    """Inside the zones only whitelisted (registered) terminals are served; the rule matches the others.

    A terminal is whitelisted when its fix says so or its id is in ``terminals`` or in ``terminals_file`` (one
    terminal id a line, ``#`` comments, relative to the policy file; ``skyfence policy export`` writes one).  With
    ``whitelists_from = "registry"`` in ``[policy]``, membership is the control plane's enrolment in the whitelist
    of the zone's countries instead (``terminals`` and the fix's flag are not used).
    """

    kind: Literal["whitelist"]
    action: Restriction = "deny"
    terminals: list[str] = []
    terminals_file: str | None = None

    @model_validator(mode="after")
    def _no_flag(self):
        if self.whitelisted is not None:
            raise ValueError("a whitelist rule matches non-whitelisted terminals by definition; drop 'whitelisted'")
        return self


class MotionRule(_Zoned):
    """In-motion limits of ``plans``: matches a fix faster than ``max_speed_kmh`` or higher than ``max_altitude_m``."""

    kind: Literal["motion"]
    action: Restriction = "deny"
    max_speed_kmh: float | None = Field(None, ge=0.0)
    max_altitude_m: float | None = None

    @model_validator(mode="after")
    def _limits(self):
        if self.plans is None:
            raise ValueError("a motion rule needs plans (e.g. plans = ['roam'])")
        if self.max_speed_kmh is None and self.max_altitude_m is None:
            raise ValueError("a motion rule needs max_speed_kmh and/or max_altitude_m")
        return self


class RoamingRule(_Zoned):
    """Matches a fix more than ``max_days_abroad`` days (distinct UTC days) outside its registration country."""

    kind: Literal["roaming"]
    action: Restriction = "deny"
    max_days_abroad: int = Field(ge=0, le=100_000)


class ExportControlRule(_RuleBase):
    """Export control: matches a fix in a denied destination zone *or* declaring a denied end use."""

    kind: Literal["export_control"]
    action: Restriction = "deny"
    destinations: list[Name] = []
    end_uses: list[str] = []

    @model_validator(mode="after")
    def _something(self):
        if not self.destinations and not self.end_uses:
            raise ValueError("an export-control rule needs destinations and/or end_uses")
        return self


class StatusRule(_Zoned):
    """Matches fixes in countries whose status on the operator's map is one of ``statuses``."""

    kind: Literal["status"]
    action: Action
    statuses: list[Status] = Field(min_length=1)


class LicenceRule(_RuleBase):
    """Matches fixes in the jurisdiction of an operator's licence whose state (at the fix's time) is in ``states``.

    A ``granted`` licence counts only while in force: after its ``since``/history date, before its expiry, covering
    the fix's plan, and with every condition met by the operator in that country.

    ``not_in_force`` says what happens where a licence exists but is not in force (a state not in ``states``, a
    condition unmet, expired): ``"unmatched"`` (the default) leaves those fixes to lower rules and the default;
    ``"deny"`` denies them, naming the state or the unmet condition -- the control plane's semantics for a policy
    with ``licences_from = "registry"`` (:mod:`skyfence.service.decisions`), which the registry resolution
    (:func:`skyfence.service.snapshot.resolve_licences`) writes into the rules it resolves.  ``"deny"`` needs an
    ``allow`` rule whose ``states`` include ``granted``.
    """

    kind: Literal["licence"]
    action: Action
    states: list[LicenceState] = Field(default=["granted"], min_length=1)
    not_in_force: Literal["unmatched", "deny"] = "unmatched"

    @model_validator(mode="after")
    def _not_in_force(self) -> LicenceRule:
        if self.not_in_force == "deny" and (self.action != "allow" or "granted" not in self.states):
            raise ValueError(
                'not_in_force = "deny" needs action = "allow" and "granted" in states (it denies where such a rule '
                "would allow if the licence were in force); leave it out otherwise"
            )
        return self


Rule = Annotated[
    JurisdictionRule
    | GeofenceRule
    | WhitelistRule
    | MotionRule
    | RoamingRule
    | ExportControlRule
    | StatusRule
    | LicenceRule,
    Field(discriminator="kind"),
]


# --------------------------------------------------------------------------- files


class IncludeFile(_Strict):
    """An included file: shared zones (and further includes) only."""

    include: list[str] = []
    zones: dict[Name, Zone] = {}


class PolicyFile(_Strict):
    """A whole policy file (before includes are merged in)."""

    include: list[str] = []
    policy: PolicyHeader
    plans: dict[Name, PlanSpec] = {}
    zones: dict[Name, Zone] = {}
    operators: dict[Name, Operator] = {}
    statuses: Statuses | None = None
    licences: list[Licence] = []
    rules: list[Rule] = Field(min_length=1)
