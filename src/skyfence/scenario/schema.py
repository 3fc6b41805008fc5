"""The scenario file: one TOML document stating a question, validated with pydantic.

A scenario names constellations (preset, file, dated catalog dataset such as
``starlink_omm_20260818``, or the live ``celestrak:GROUP``; optionally a subset
of shells), regions, a time span and step, the elevation mask, the
ground segment, a policy file, and *variants* -- named changes to compare
(``baseline`` against ``taiwan_gateway``, policy A against policy B).  Every
key is checked: an unknown key, a wrong type, an unknown preset or region, or
an end before the start fails with one line naming the key path, e.g.
``taiwan.toml: time.step: step must be positive``.

Paths inside the file are relative to the file.

**Reproducible or "now".**  A published scenario names a *dated* catalog
(``source = "starlink_omm_20260818"``, pinned by sha256 in the data registry)
and an absolute ``start``: it gives the same numbers on every machine.  A
question about today names the live catalog (``source = "celestrak:starlink"``)
and ``start = "epoch"``, which means the newest element epoch of the
scenario's catalogs (rounded down to the minute).  Either way the run checks
how far its times are from the catalogs' epochs (``time.max_epoch_gap_days``,
default 14; see :mod:`skyfence.orbits.epochs`).
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from skyfence._validation import first_problem, read_toml
from skyfence.errors import InputError, SkyfenceError
from skyfence.orbits.epochs import DEFAULT_MAX_EPOCH_GAP_DAYS
from skyfence.scenario.threat_specs import MonteCarloSpec, ThreatSpec

__all__ = ["Scenario", "is_elements_dataset", "load_scenario", "scenario_from_dict"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ConstellationSpec(_Strict):
    """One constellation: ``source`` is a preset name, a TLE/OMM path, an elements dataset of the registry
    (``starlink_omm_20260818``) or ``celestrak:GROUP`` (the live catalog)."""

    name: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")]
    source: Annotated[str, Field(min_length=1)]
    shells: list[int] | None = Field(default=None, description="Keep only these shell numbers (see catalog info).")
    label: str | None = Field(default=None, description="How the report names it (default: its name).")


class RegionSpec(_Strict):
    """A region: ISO code, country name, ``world``, ``disputed:NAME``, ``occupied:ua:DATE`` or a GeoJSON path."""

    spec: Annotated[str, Field(min_length=1)]
    name: str | None = None
    pov: str = "default"


class TimeSpec(_Strict):
    """Span and step.  Give ``duration`` or ``end``; times are UTC (ISO 8601).

    ``start = "epoch"`` starts at the newest element epoch of the scenario's catalogs (then give ``duration``).
    ``max_epoch_gap_days`` is how far [days] the run's times may be from a catalog's median element epoch before
    the run warns (``skyfence assess --strict`` refuses instead).
    """

    start: str
    duration: str | None = None
    end: str | None = None
    step: str = "60s"
    max_epoch_gap_days: Annotated[float, Field(ge=0.0)] = DEFAULT_MAX_EPOCH_GAP_DAYS

    @property
    def from_epoch(self) -> bool:
        """True for ``start = "epoch"`` (resolved by the runner from the catalogs)."""
        return self.start.strip().lower() == "epoch"

    @model_validator(mode="after")
    def _span(self) -> TimeSpec:
        from skyfence.orbits.time import parse_duration, parse_time

        if (self.duration is None) == (self.end is None):
            raise ValueError("give exactly one of duration and end")
        if self.from_epoch:
            if self.end is not None:
                raise ValueError('start = "epoch" needs a duration, not an end')
        else:
            start = parse_time(self.start, field="start")
            if self.end is not None and parse_time(self.end, field="end") < start:
                raise ValueError(f"end {self.end} is before start {self.start}")
        if self.duration is not None and parse_duration(self.duration) < np.timedelta64(0, "ns"):
            raise ValueError(f"duration {self.duration} is negative")
        if parse_duration(self.step, field="step") <= np.timedelta64(0, "ns"):
            raise ValueError(f"step {self.step} must be positive")
        return self

    def grid(self) -> np.ndarray:
        """The time steps: :func:`skyfence.orbits.time.time_grid` over ``duration`` or up to ``end``."""
        from skyfence.orbits.time import time_grid

        if self.from_epoch:
            raise ValueError('start = "epoch" is resolved from the catalogs first (Scenario.with_start)')
        return time_grid(self.start, self.duration, self.step, end=self.end)


class CoverageSpec(_Strict):
    """Coverage settings: H3 resolution, elevation mask [deg], satellites needed."""

    res: Annotated[int, Field(ge=0, le=15)] = 5
    min_elevation_deg: Annotated[float, Field(ge=0.0, lt=90.0)] = 25.0
    min_sats: Annotated[int, Field(ge=1)] = 1


class SiteSpec(_Strict):
    """A hypothetical ground site: a gateway or a PoP."""

    name: Annotated[str, Field(min_length=1)]
    kind: Literal["gateway", "pop"] = "gateway"
    lat: Annotated[float, Field(ge=-90, le=90)]
    lon: Annotated[float, Field(ge=-180, le=180)]
    country: str | None = None


class GroundSpec(_Strict):
    """Ground segment: the gateway/PoP list (dataset name or file), countries whose gateways are left out,
    hypothetical sites to add, and countries whose undersea cables are cut (``cables_cut_in``), as the scenario's
    premise in every unit of the variant: no gateway or PoP in those countries, the added ones included, has a path
    to the Internet, and the gateways abroad that were homed to one of their PoPs are homed to the nearest PoP left
    (the operator has re-homed them; the threat of the same name, :class:`~skyfence.threats.ground.GroundAttack`,
    is the moment of the cut, without re-homing)."""

    sites: str = "starlink_ground_stations"
    exclude_gateways_in: list[str] = Field(default_factory=list)
    add_sites: list[SiteSpec] = Field(default_factory=list)
    cables_cut_in: list[str] = Field(default_factory=list)

    @field_validator("exclude_gateways_in", "cables_cut_in")
    @classmethod
    def _known_countries(cls, value: list[str], info: ValidationInfo) -> list[str]:
        # checked with the file, before any work: a typo would otherwise fail mid-run (or drop nothing)
        from skyfence.earth.regions import check_country_codes

        return check_country_codes(value, field=str(info.field_name)) if value else value


class LatencySpec(_Strict):
    """Latency study: terminals at these cities or points (``"Taipei"`` or ``"25.03,121.56"``), for the named
    constellations (default: all) -- the ground segment is one operator's, so list only that operator's."""

    terminals: list[str] = Field(default_factory=list)
    constellations: list[str] | None = None
    step: str = "15s"
    duration: str = "1h"
    isl: str = "+grid"


class CapacitySpec(_Strict):
    """Capacity study (:func:`skyfence.capacity.run_capacity`): for the named constellations (default: all), the
    rain fade exceeded ``rain_p`` % of the year (omit for clear sky), demand (take rate of the population,
    busy-hour Mb/s per subscriber, contention, plan peak), H3 resolution (default: ``coverage.res``) and, per
    constellation, a satellite generation instead of the one read from the catalog or preset."""

    constellations: list[str] | None = None
    res: Annotated[int, Field(ge=0, le=15)] | None = None
    rain_p: Annotated[float, Field(ge=0.001, le=5.0)] | None = 0.1
    take_rate: Annotated[float, Field(ge=0.0, le=1.0)] = 0.02
    busy_hour_mbps: Annotated[float, Field(ge=0.0)] = 2.5
    oversubscription: Annotated[float, Field(ge=1.0)] = 20.0
    plan_peak_mbps: Annotated[float, Field(gt=0.0)] = 220.0
    gateway_min_elevation_deg: Annotated[float, Field(ge=0.0, lt=90.0)] = 25.0
    generations: dict[str, str] = Field(default_factory=dict)

    @field_validator("generations")
    @classmethod
    def _known_generations(cls, value: dict[str, str]) -> dict[str, str]:
        from skyfence.capacity.resources import GENERATIONS

        for name, generation in value.items():
            if generation.lower() not in GENERATIONS:
                close = difflib.get_close_matches(generation.lower(), list(GENERATIONS), n=1)
                hint = f" (did you mean {close[0]}?)" if close else f" (known: {', '.join(GENERATIONS)})"
                raise ValueError(f"unknown satellite generation {generation!r} for {name!r}{hint}")
        return value


class PolicySpec(_Strict):
    file: str
    operator: str = "starlink"


class VariantSpec(_Strict):
    """A named variant; anything left out is taken from the scenario's top level."""

    name: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")]
    title: str = Field(default="", description="How the report names the variant (default: its name, readable).")
    description: str = ""
    constellations: list[str] | None = None
    ground: GroundSpec | None = None
    policy: PolicySpec | None = None
    threats: list[ThreatSpec] = Field(default_factory=list, description="Attacks (see scenario/threat_specs.py).")


class OutputSpec(_Strict):
    """Where the report goes and what it includes.  ``czml = true`` also writes ``czml/<constellation>.czml``
    beside the report (satellites, gateways, PoPs, GSL and ISL links for Cesium, :mod:`skyfence.report.czml`)
    over the first ``czml_duration`` of the run (at most the run's span) every ``czml_step``."""

    dir: str = "out"
    maps: bool = True
    czml: bool = False
    czml_duration: str = "1h"
    czml_step: str = "60s"

    @field_validator("czml_duration", "czml_step")
    @classmethod
    def _czml_span(cls, value: str, info: ValidationInfo) -> str:
        from skyfence.orbits.time import parse_duration

        if value.strip().startswith("-"):
            raise ValueError(f"must not be negative, got {value!r}")
        try:
            span = parse_duration(value, field=f"outputs.{info.field_name}")
        except InputError as error:
            raise ValueError(error.message) from None
        if info.field_name == "czml_step" and span <= np.timedelta64(0, "ns"):
            raise ValueError(f"step must be positive, got {value!r}")
        return value


class Scenario(_Strict):
    """A whole scenario file (see the module docstring)."""

    name: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")]
    title: str = ""
    description: str = ""
    seed: int = 0
    time: TimeSpec
    coverage: CoverageSpec = CoverageSpec()
    constellations: Annotated[list[ConstellationSpec], Field(min_length=1)]
    regions: Annotated[list[RegionSpec], Field(min_length=1)]
    ground: GroundSpec = GroundSpec()
    latency: LatencySpec | None = None
    capacity: CapacitySpec | None = None
    policy: PolicySpec | None = None
    variants: list[VariantSpec] = Field(default_factory=list)
    outputs: OutputSpec = OutputSpec()
    montecarlo: MonteCarloSpec = MonteCarloSpec()

    @field_validator("constellations")
    @classmethod
    def _unique_constellations(cls, value: list[ConstellationSpec]) -> list[ConstellationSpec]:
        names = [c.name for c in value]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"constellation names must be unique, repeated: {', '.join(duplicates)}")
        return value

    @model_validator(mode="after")
    def _references_to_known_constellations(self) -> Scenario:
        known = [c.name for c in self.constellations]
        names = [v.name for v in self.variants]
        if len(set(names)) != len(names):
            raise ValueError("variant names must be unique")
        wanted = [("latency", n) for n in (self.latency.constellations or [])] if self.latency else []
        if self.capacity:
            wanted += [("capacity", n) for n in (self.capacity.constellations or [])]
            wanted += [("capacity.generations", n) for n in self.capacity.generations]
        wanted += [(f"variant {v.name!r}", n) for v in self.variants for n in v.constellations or []]
        wanted += [
            (f"variant {v.name!r} threat {i}", n)
            for v in self.variants
            for i, t in enumerate(v.threats)
            for n in getattr(t, "constellations", None) or []
        ]
        for where, name in wanted:
            if name not in known:
                close = difflib.get_close_matches(name, known, n=1)
                hint = f" (did you mean {close[0]}?)" if close else f" (known: {', '.join(known)})"
                raise ValueError(f"{where} names unknown constellation {name!r}{hint}")
        return self

    def with_start(self, start: str) -> Scenario:
        """The same scenario starting at ``start`` (an ISO time), e.g. once ``start = "epoch"`` is resolved."""
        time = TimeSpec.model_validate({**self.time.model_dump(), "start": start})
        return self.model_copy(update={"time": time})

    def resolved_variants(self) -> list[VariantSpec]:
        """The variants to run; a scenario without variants has one called ``baseline``."""
        return self.variants or [VariantSpec(name="baseline")]


def load_scenario(path: str | Path) -> tuple[Scenario, Path]:
    """Read and validate a scenario file; returns the scenario and the folder its relative paths start from.

    Checks beyond the schema (so that a run never starts on a bad file):
    every constellation source is a preset, an existing file or
    ``celestrak:GROUP``; every region resolves; policy files exist.

    Raises
    ------
    InputError
        One line: ``file: key.path: what is wrong``.
    """
    path = Path(path)
    raw = read_toml(path, what="scenario file")
    scenario = scenario_from_dict(raw, source=str(path))
    base = path.parent
    _check_references(scenario, base, str(path))
    return scenario, base


def scenario_from_dict(raw: object, *, source: str) -> Scenario:
    """Validate a scenario given as a dict (a parsed TOML file, or the resolved scenario a summary records).

    Raises
    ------
    InputError
        One line: ``source: key.path: what is wrong``.
    """
    try:
        return Scenario.model_validate(raw)
    except ValidationError as error:
        problem = first_problem(error, data=raw)
        raise InputError(
            problem.message, source=source, field=problem.field or "(top level)", hint=problem.hint
        ) from None


def is_elements_dataset(text: str) -> bool:
    """True when ``text`` names an elements dataset of the registry (``starlink_omm_20260818``, ``celestrak:x``)."""
    from skyfence import data

    if text.lower().startswith("celestrak:"):
        return True
    try:
        return data.get(text).kind == "elements"
    except SkyfenceError:
        return False


def _check_references(scenario: Scenario, base: Path, source: str) -> None:
    from skyfence import data
    from skyfence.earth.regions import get_region
    from skyfence.orbits.walker import PRESETS

    elements = [ds.name for ds in data.list_datasets("elements")]
    for i, spec in enumerate(scenario.constellations):
        text = spec.source
        if text in PRESETS or is_elements_dataset(text):
            continue
        if not (base / text).expanduser().exists():
            close = difflib.get_close_matches(text, [*PRESETS, *elements], n=1)
            hint = (
                f"did you mean {close[0]}?"
                if close
                else "use a preset name, a TLE/OMM file, a dated catalog (`skyfence data list --kind elements`) "
                "or celestrak:GROUP"
            )
            raise InputError(
                f"{text!r} is not a preset, a file, a catalog dataset or celestrak:GROUP",
                source=source,
                field=f"constellations[{i}].source",
                hint=hint,
            )
    if scenario.time.from_epoch and all(c.source in PRESETS for c in scenario.constellations):
        raise InputError(
            'start = "epoch" needs a catalog with element epochs, but every constellation is a preset',
            source=source,
            field="time.start",
            hint="give an absolute start such as 2026-08-18T12:00:00Z",
        )
    for i, region in enumerate(scenario.regions):
        region_spec = region.spec
        if region_spec.lower().endswith((".json", ".geojson")):
            region_spec = str(base / region_spec)
        try:
            get_region(region_spec, pov=region.pov)
        except SkyfenceError as error:
            raise InputError(error.message, source=source, field=f"regions[{i}].spec", hint=error.hint) from None
    policies = [("policy.file", scenario.policy)] + [
        (f"variants[{i}].policy.file", v.policy) for i, v in enumerate(scenario.variants)
    ]
    for where, policy in policies:
        if policy is not None and not (base / policy.file).exists():
            raise InputError(f"policy file {policy.file!r} not found", source=source, field=where)
