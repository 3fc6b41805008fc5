"""The typed result of a scenario run: what ``summary.json`` holds and what the report reads.

One pydantic model per part.  The runner fills it, :func:`skyfence.report.assess.write_report` renders it,
and ``summary.json`` is ``Summary.model_dump(mode="json")``.  To add a field, add it to the model here and set it
in :mod:`skyfence.scenario.runner`; to show it, add it to a section of the report
(:data:`skyfence.report.assess.SECTIONS`).

Units carry a ``unit`` id: the content key of the cached unit whose data (per-cell tables) the report draws
maps from.  No field holds a path of the machine that ran it: files are named relative to the scenario file.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AvailabilityResult",
    "CapacityResult",
    "ConstellationInfo",
    "CountryAvailability",
    "CountryChange",
    "CoverageResult",
    "CoverageSettingsInfo",
    "DatasetInfo",
    "DiffRow",
    "EnvironmentInfo",
    "Finding",
    "FindingNumber",
    "InputInfo",
    "LatencyResult",
    "PolicyDiffResult",
    "PolicyInfo",
    "RegionInfo",
    "RunInfo",
    "ScenarioInfo",
    "Summary",
    "TerminalLatency",
    "ThreatResult",
    "TimeInfo",
    "UsageShare",
    "VariantResult",
    "WarningInfo",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


#: A variant's numbers are in one of three states: ``no attack`` (a variant without threats), ``before attacks``
#: (a variant with threats, the coverage and capacity tables: its ground segment and satellites as given) or
#: ``after attacks`` (its latency table, the threats section and the variant diff: what its attacks leave).
STATES = ("no attack", "before attacks", "after attacks")
STATE_HELP = (
    "no attack (a variant without threats), before attacks or after attacks (a variant with threats: its coverage "
    "and capacity tables are before, its latency table, threats section and diff rows after its attacks)"
)


class ScenarioInfo(_Model):
    name: str
    title: str
    description: str = ""
    seed: int = 0
    file: str = Field(description="The scenario file's name (paths in the summary are relative to its folder).")
    path: str | None = Field(
        default=None,
        description="The scenario path as given to skyfence assess, relative to the folder it ran in "
        "(where `skyfence assess --check` looks for it).",
    )
    resolved: dict[str, Any] = Field(
        default_factory=dict,
        description='The whole scenario with every default filled in and start = "epoch" replaced by the time it '
        "meant: what `skyfence assess --check` runs again.",
    )


class TimeInfo(_Model):
    start: str
    end: str
    step: str
    steps: int


class CoverageSettingsInfo(_Model):
    res: int
    min_elevation_deg: float
    min_sats: int


class ConstellationInfo(_Model):
    name: str
    label: str
    source: str
    shells: list[int] | None = None


class RegionInfo(_Model):
    spec: str
    name: str
    code: str
    kind: str
    pov: str | None = None


class CoverageResult(_Model):
    """One constellation over one region (area-weighted means over H3 cells; extremes over cells)."""

    unit: str
    constellation: str
    label: str
    satellites: int
    region: str
    region_spec: str
    region_code: str
    region_kind: str
    region_area_km2: float
    res: int
    cells: int
    area_km2: float
    coverage_fraction: float | None = None
    coverage_fraction_worst_cell: float | None = None
    area_fully_covered_fraction: float | None = None
    sats_in_view_mean: float | None = None
    sats_in_view_min: float | None = None
    sats_in_view_max: float | None = None
    n_gaps_mean: float | None = None
    max_gap_s: float | None = None
    mean_gap_s: float | None = None
    revisit_time_mean_s: float | None = None
    fraction_at_least_1: float | None = None
    fraction_at_least_2: float | None = None
    fraction_at_least_4: float | None = None
    fraction_at_least_8: float | None = None
    state: str = Field(
        default="no attack",
        description=STATE_HELP,
    )


class CapacityResult(_Model):
    """One constellation's capacity over one region: population-weighted Mb/s per busy-hour user over cells and
    time steps, demand and supply in Gb/s (:func:`skyfence.capacity.run_capacity`)."""

    unit: str
    constellation: str
    label: str
    satellites: int
    generations: str
    gateways: str
    region: str
    region_spec: str
    res: int
    cells: int
    population: float
    demand_gbps: float
    offered_gbps_mean: float
    served_gbps_mean: float
    served_fraction: float | None = None
    mbps_per_user_median: float | None = None
    mbps_per_user_p10: float | None = None
    share_above_25_mbps: float | None = None
    share_above_100_mbps: float | None = None
    satellite_peak_load_mbps: float | None = None
    offered_up_gbps_mean: float | None = None
    mbps_per_user_up_median: float | None = None
    mbps_per_user_up_p10: float | None = None
    state: str = Field(
        default="no attack",
        description=STATE_HELP,
    )
    #: How the map's cells relate to the beam footprints the beams are allocated on (one line).
    footprint: str | None = None


class UsageShare(_Model):
    name: str
    country: str | None = None
    share: float


class TerminalLatency(_Model):
    """Round-trip propagation delay from one terminal to where traffic leaves the network (the PoP)."""

    terminal: str
    source: dict[str, Any]
    destination: Any
    steps: int
    reachable_share: float
    min_rtt_ms: float | None = None
    median_rtt_ms: float | None = None
    p95_rtt_ms: float | None = None
    rtt_ms_quartiles: list[float] | None = None
    gateways: list[UsageShare] = Field(default_factory=list)
    pops: list[UsageShare] = Field(default_factory=list)
    path_changes: int
    median_hops: int | None = None
    isl: str
    min_elevation_deg: float
    gateway_min_elevation_deg: float
    max_range_km: float | None = None
    max_isl_km: float | None = None
    fibre_factor: float
    satellites_in_service: int
    isls: int
    rtt_ms_series: list[float | None] = Field(default_factory=list)


class LatencyResult(_Model):
    """Each terminal's route; for a variant with threats, after its attacks (the routes of the threats unit
    ``unit``, the draw its ``reachability`` summarises)."""

    unit: str
    constellation: str
    label: str
    terminals: list[TerminalLatency]
    state: str = Field(
        default="no attack",
        description=STATE_HELP,
    )


class CountryAvailability(_Model):
    iso_a2: str
    name: str
    status: str
    availability: str
    served_fraction: float


class AvailabilityResult(_Model):
    """Who may be served in one region under one policy (shares of the region's area)."""

    unit: str
    policy: str
    policy_id: str
    policy_file: str
    operator: str
    time: str
    plan: str
    region: str
    region_spec: str
    cells: int
    area_share: dict[str, float]
    served_share: float
    countries: list[CountryAvailability]


class ThreatResult(_Model):
    """A variant's attacks on one constellation over one region: before, after (Monte Carlo), what was lost.

    ``after`` maps each metric to its mean, 95 % CI of the mean and 5th/50th/95th percentiles over the draws;
    ``jamming`` is the EIRP sweep; ``debris`` the expected losses per shell; ``reachability`` the terminals' RTT
    and reachable share before and after (``null`` RTT = unreachable).  Per-cell outage and the resilience curve
    are in the unit's data (``per_cell.parquet``, ``curve.parquet``).  ``capacity``: per case (``before``,
    ``jamming``, ``satellites``, ``ground``, ``all``) the capacity figures (Mb/s per user, served share,
    ``service_coverage``), and the curve against gateways lost (:mod:`skyfence.threats.capacity_impact`).
    """

    unit: str
    constellation: str
    label: str
    region: str
    region_spec: str
    satellites: int
    before: dict[str, float | None]
    after: dict[str, dict[str, Any]]
    satellites_lost: dict[str, float]
    satellites_lost_mean: float
    jammed_share_mean: float | None = None
    jamming: list[dict[str, Any]] = Field(default_factory=list)
    debris: list[dict[str, Any]] = Field(default_factory=list)
    reachability: list[dict[str, Any]] = Field(default_factory=list)
    removed_ground: dict[str, Any] = Field(default_factory=dict)
    threats: list[dict[str, Any]] = Field(default_factory=list)
    capacity: dict[str, Any] | None = None


class VariantResult(_Model):
    name: str
    title: str
    description: str = ""
    coverage: list[CoverageResult] = Field(default_factory=list)
    latency: list[LatencyResult] = Field(default_factory=list)
    capacity: list[CapacityResult] = Field(default_factory=list)
    policy: list[AvailabilityResult] = Field(default_factory=list)
    threats: list[ThreatResult] = Field(default_factory=list)
    ground: dict[str, Any] = Field(default_factory=dict)


class DiffRow(_Model):
    """A variant's headline numbers minus the first variant's, for matching units.

    ``state`` is the variant's: ``after attacks`` (a variant with threats: coverage and capacity after its attacks
    as its threats section gives them, latency as its latency table) against the first variant's own state, or
    ``before attacks`` (listed only where it differs from the first variant).
    """

    variant: str
    against: str
    kind: str
    constellation: str
    where: str
    state: str = "no attack"
    against_state: str = "no attack"
    delta_coverage_fraction: float | None = None
    delta_sats_in_view_mean: float | None = None
    delta_max_gap_s: float | None = None
    delta_median_rtt_ms: float | None = None
    delta_p95_rtt_ms: float | None = None
    delta_served_fraction: float | None = None
    delta_served_gbps_mean: float | None = None
    delta_mbps_per_user_median: float | None = None
    delta_users_with_service: float | None = None


class CountryChange(_Model):
    """Cells of one country (inside the region) whose availability changes, by transition."""

    iso_a2: str
    name: str
    cells: int
    transitions: dict[str, int]
    population: int | None = None


class PolicyDiffResult(_Model):
    variant: str
    against: str
    a: str
    b: str
    region: str
    region_spec: str
    cells_total: int
    cells_changed: int
    transitions: dict[str, int]
    countries: list[CountryChange]
    people: int | None = None
    people_gaining_service: int | None = None
    people_losing_service: int | None = None
    #: the rest of ``people``: the status changes, service does not (served -> degraded; denied -> not covered)
    people_still_served: int | None = None
    people_still_unserved: int | None = None
    population_note: str | None = None


class DatasetInfo(_Model):
    name: str
    title: str
    licence: str
    data_date: str | None = None
    url: str
    source: str | None = None
    original: str | None = None  # the original publisher, where ``url`` is a third party's copy
    copy_host: str | None = None  # where that copy lives ("GitHub, owner/repo")


class PolicyInfo(_Model):
    name: str
    id: str
    file: str
    operator: str
    default: str
    statuses_from: str | None = None


class FindingNumber(_Model):
    """One number of a finding: where it is in the summary, its value and how the sentence shows it."""

    key: str
    value: float
    kind: str
    text: str


class Finding(_Model):
    """A plain-language sentence; ``text`` is ``template`` with ``{0}``, ``{1}`` ... filled by ``numbers[i].text``."""

    topic: str
    variant: str
    text: str
    template: str
    numbers: list[FindingNumber] = Field(default_factory=list)


class WarningInfo(_Model):
    """Something the reader must know about how the numbers were made (a ``DataWarning``).

    ``kind`` is ``epoch_gap`` (the run's times are far from a catalog's element epochs; the epoch fields are set,
    see :mod:`skyfence.orbits.epochs`) or ``data`` (a dataset served in a degraded way, e.g. a stale live
    catalog).
    """

    category: str = "DataWarning"
    kind: str
    message: str
    source: str | None = None
    epoch_min: str | None = None
    epoch_median: str | None = None
    epoch_max: str | None = None
    start: str | None = None
    end: str | None = None
    gap_days: float | None = None
    max_gap_days: float | None = None
    stale_satellites: int | None = None
    satellites: int | None = None


class InputInfo(_Model):
    """One input file of the run and the sha256 of the bytes read (see :mod:`skyfence.scenario.provenance`)."""

    kind: str
    name: str
    sha256: str
    bytes: int
    data_date: str | None = None
    live: bool | None = None
    fetched_at: str | None = None


class EnvironmentInfo(_Model):
    """Versions of the code that computed the numbers (skyfence, sgp4, skyfield, numpy, h3, Python)."""

    versions: dict[str, str]


class RunInfo(_Model):
    cache_hits: int
    cache_misses: int
    seconds: float


class Summary(_Model):
    """Everything a run found (``summary.json``)."""

    scenario: ScenarioInfo
    skyfence_version: str
    time: TimeInfo
    coverage_settings: CoverageSettingsInfo
    capacity_settings: dict[str, Any] | None = None
    constellations: list[ConstellationInfo]
    regions: list[RegionInfo]
    findings: list[Finding] = Field(default_factory=list)
    variants: list[VariantResult]
    diff: list[DiffRow] = Field(default_factory=list)
    policy_diff: list[PolicyDiffResult] = Field(default_factory=list)
    datasets: list[DatasetInfo] = Field(default_factory=list)
    policies: list[PolicyInfo] = Field(default_factory=list)
    warnings: list[WarningInfo] = Field(default_factory=list)
    inputs: list[InputInfo] = Field(default_factory=list)
    environment: EnvironmentInfo | None = None
    run: RunInfo

    def to_json(self) -> dict[str, Any]:
        """The JSON document (NaN and infinities as null)."""
        from skyfence._json import jsonable

        return jsonable(self.model_dump(mode="json"))
