"""``[[variants.threats]]``: the attacks of a scenario variant, validated like every other key.

Each entry has a ``kind``:

``attrition``
    Satellites removed: ``norad_ids``, ``shells``, ``planes``, ``generations`` and an ``engagement``
    (``{region, start, end}``: every satellite over the region in the window) select the targets (all given
    filters hold); ``fraction`` of them go, drawn with ``seed`` (plus the Monte Carlo draw number).
``debris``
    A kinetic ASAT breakup at ``alt_km`` (FIRST-ORDER model, :mod:`skyfence.threats.debris`): satellites lost by
    the end of ``horizon_days`` are removed.
``jamming``
    Jammer sites (``jammers`` inline, or ``jammers_file`` = a TOML file with ``[[jammers]]``), the terminal
    antenna's pattern, and an ``eirp_sweep_dbw`` for the resilience curve.
``ground``
    Gateways and PoPs destroyed or switched off (``sites``, ``gateways_in``), ``licence_revoked`` (through the
    variant's policy), ``backhaul_cut``, ``cables_cut`` / ``cables_cut_in``, ISL failures.

``[montecarlo]`` (top level) sets the draws and the resilience curve's fractions.  Numbers out of range fail
when the file is loaded with the key path (``variants[1].threats[0].jammers[2].lat``); names that need the
catalog or the ground list (an unknown satellite id, plane or gateway) fail when the run starts, with the same
key path, before anything is written.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "AttritionSpec",
    "DebrisSpec",
    "EngagementSpec",
    "GroundLossSpec",
    "JammerSpec",
    "JammingSpec",
    "MonteCarloSpec",
    "ThreatSpec",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EngagementSpec(_Strict):
    """Every satellite above ``min_elevation_deg`` of a cell of ``region`` between ``start`` and ``end`` (UTC)."""

    region: Annotated[str, Field(min_length=1)]
    start: str
    end: str
    min_elevation_deg: Annotated[float, Field(ge=0.0, lt=90.0)] = 25.0
    res: Annotated[int, Field(ge=0, le=9)] = 5

    @model_validator(mode="after")
    def _order(self) -> EngagementSpec:
        from skyfence.orbits.time import parse_time

        if parse_time(self.end, field="end") < parse_time(self.start, field="start"):
            raise ValueError(f"engagement ends ({self.end}) before it starts ({self.start})")
        return self


class AttritionSpec(_Strict):
    kind: Literal["attrition"]
    name: str = ""
    norad_ids: list[int] | None = None
    shells: list[int] | None = None
    planes: list[int] | None = None
    plane_bin_deg: Annotated[float, Field(gt=0.0, le=360.0)] | None = None
    generations: list[str] | None = None
    engagement: EngagementSpec | None = None
    fraction: Annotated[float, Field(ge=0.0, le=1.0)] = 1.0
    seed: int = 0
    constellations: list[str] | None = Field(default=None, description="Apply to these constellations only.")


class DebrisSpec(_Strict):
    kind: Literal["debris"]
    name: str = ""
    alt_km: Annotated[float, Field(ge=200.0, le=2000.0)]
    mass_kg: Annotated[float, Field(ge=1.0, le=1e5)] = 1750.0
    horizon_days: Annotated[float, Field(gt=0.0, le=3650.0)] = 365.0
    lethal_size_m: Annotated[float, Field(ge=1e-3, le=1.0)] = 0.01
    satellite_area_m2: Annotated[float, Field(ge=0.01, le=1000.0)] = 30.0
    relative_speed_km_s: Annotated[float, Field(ge=0.1, le=20.0)] = 10.0
    decay_e_folding_days: Annotated[float, Field(gt=0.0)] | None = None
    constellations: list[str] | None = None


class JammerSpec(_Strict):
    name: str = ""
    lat: Annotated[float, Field(ge=-90.0, le=90.0, allow_inf_nan=False)]
    lon: Annotated[float, Field(ge=-180.0, le=360.0, allow_inf_nan=False)]
    height_m: Annotated[float, Field(ge=0.0, le=30000.0, allow_inf_nan=False)] = 10.0
    eirp_dbw: Annotated[float, Field(ge=-50.0, le=120.0, allow_inf_nan=False)]
    bandwidth_mhz: Annotated[float, Field(gt=0.0, allow_inf_nan=False)] = 250.0
    band: Literal["ku_downlink", "ku_uplink", "gnss_l1"] = "ku_downlink"
    schedule: list[tuple[str, str]] = Field(default_factory=list)

    @model_validator(mode="after")
    def _schedule(self) -> JammerSpec:
        from skyfence.orbits.time import parse_time

        for start, end in self.schedule:
            if parse_time(end, field="end") < parse_time(start, field="start"):
                raise ValueError(f"schedule entry ends ({end}) before it starts ({start})")
        return self


class JammingSpec(_Strict):
    kind: Literal["jamming"]
    name: str = ""
    jammers: list[JammerSpec] = Field(default_factory=list)
    jammers_file: str | None = None
    eirp_sweep_dbw: list[Annotated[float, Field(ge=-50.0, le=120.0)]] = Field(default_factory=list)
    pattern: Literal["s465", "s580", "sidelobe"] = "s465"
    g_max_dbi: Annotated[float, Field(ge=0.0, le=70.0)] = 33.0
    diameter_m: Annotated[float, Field(ge=0.05, le=30.0)] = 0.5
    sidelobe_rejection_db: Annotated[float, Field(ge=0.0, le=80.0)] = 30.0

    @model_validator(mode="after")
    def _some(self) -> JammingSpec:
        if not self.jammers and self.jammers_file is None:
            raise ValueError("give jammers or a jammers_file")
        return self


class GroundLossSpec(_Strict):
    kind: Literal["ground"]
    name: str = ""
    sites: list[str] = Field(default_factory=list)
    gateways_in: list[str] = Field(default_factory=list)
    licence_revoked: bool = False
    backhaul_cut: list[str] = Field(default_factory=list)
    cables_cut: list[str] = Field(default_factory=list)
    cables_cut_in: list[str] = Field(default_factory=list)
    isl_failure_fraction: Annotated[float, Field(ge=0.0, le=1.0)] = 0.0
    planes_without_lasers: list[tuple[int, int]] = Field(default_factory=list)
    seed: int = 0


ThreatSpec = Annotated[AttritionSpec | DebrisSpec | JammingSpec | GroundLossSpec, Field(discriminator="kind")]


class MonteCarloSpec(_Strict):
    """Monte Carlo settings of the threat assessment."""

    draws: Annotated[int, Field(ge=1, le=1000)] = 20
    curve_fractions: list[Annotated[float, Field(ge=0.0, le=1.0)]] = Field(
        default_factory=lambda: [0.0, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9]
    )


def _prefixed(error, key: str, source: str | None):
    from skyfence.errors import InputError

    field = f"{key}.{error.field}" if error.field else key
    return InputError(error.message, source=source, field=field, hint=error.hint)


def threat_plan(
    specs,
    constellation,
    *,
    constellation_name: str,
    base,
    montecarlo: MonteCarloSpec | None = None,
    seed: int = 0,
    key: str = "threats",
    source: str | None = None,
):
    """The :class:`~skyfence.threats.assess.ThreatPlan` of a variant's ``[[threats]]`` for one constellation.

    Names that need the catalog (satellite ids, shells, planes, generations) are checked here, against
    ``constellation``; a problem fails with ``key[i].field``.
    """
    import dataclasses
    import tomllib
    from pathlib import Path

    from skyfence.errors import InputError, SkyfenceError
    from skyfence.threats.assess import ThreatPlan
    from skyfence.threats.attrition import Engagement, SatelliteAttack
    from skyfence.threats.debris import AsatEvent
    from skyfence.threats.ground import GroundAttack
    from skyfence.threats.jamming import JammerSite, TerminalAntenna, jammers_from_records

    mc = montecarlo or MonteCarloSpec()
    attacks, debris, jammers, sweep = [], [], [], []
    antenna = TerminalAntenna()
    ground = None
    for i, spec in enumerate(specs):
        where = f"{key}[{i}]"
        applies = getattr(spec, "constellations", None)
        if applies is not None and constellation_name not in applies:
            continue
        try:
            if isinstance(spec, AttritionSpec):
                engagement = None
                if spec.engagement is not None:
                    e = spec.engagement
                    region = e.region
                    if region.lower().endswith((".json", ".geojson")):
                        region = str(Path(base) / region)
                    engagement = Engagement(region, e.start, e.end, e.min_elevation_deg, e.res)  # type: ignore[arg-type]
                attack = SatelliteAttack(
                    norad_ids=tuple(spec.norad_ids) if spec.norad_ids is not None else None,
                    shells=tuple(spec.shells) if spec.shells is not None else None,
                    planes=tuple(spec.planes) if spec.planes is not None else None,
                    generations=tuple(spec.generations) if spec.generations is not None else None,
                    engagement=engagement,
                    fraction=spec.fraction,
                    seed=spec.seed,
                    plane_bin_deg=spec.plane_bin_deg,
                    name=spec.name,
                )
                # names are checked against the catalog now; the engagement is computed when the unit runs
                dataclasses.replace(attack, engagement=None, fraction=1.0).targets(constellation)
                attacks.append(attack)
            elif isinstance(spec, DebrisSpec):
                event = AsatEvent(
                    alt_km=spec.alt_km,
                    mass_kg=spec.mass_kg,
                    lethal_size_m=spec.lethal_size_m,
                    satellite_area_m2=spec.satellite_area_m2,
                    relative_speed_km_s=spec.relative_speed_km_s,
                    decay_e_folding_days=spec.decay_e_folding_days,
                )
                debris.append((event, spec.horizon_days))
            elif isinstance(spec, JammingSpec):
                for j, jam in enumerate(spec.jammers):
                    jammers.append(
                        JammerSite(
                            name=jam.name or f"jammer {j + 1}",
                            lat_deg=jam.lat,
                            lon_deg=jam.lon,
                            eirp_dbw=jam.eirp_dbw,
                            bandwidth_mhz=jam.bandwidth_mhz,
                            height_m=jam.height_m,
                            band=jam.band,
                            schedule=tuple((a, b) for a, b in jam.schedule),
                            key=f"jammers[{j}]",
                        )
                    )
                if spec.jammers_file is not None:
                    path = Path(base) / spec.jammers_file
                    if not path.exists():
                        raise InputError(f"jammers file {spec.jammers_file!r} not found", field="jammers_file")
                    from skyfence.data import note_file

                    note_file(path, kind="jammers")
                    doc = tomllib.loads(path.read_text(encoding="utf-8"))
                    try:
                        jammers.extend(jammers_from_records(doc.get("jammers", [])))
                    except InputError as error:
                        raise InputError(error.message, source=str(path), field=error.field, hint=error.hint) from None
                sweep.extend(spec.eirp_sweep_dbw)
                antenna = TerminalAntenna(
                    pattern=spec.pattern,
                    g_max_dbi=spec.g_max_dbi,
                    diameter_m=spec.diameter_m,
                    sidelobe_rejection_db=spec.sidelobe_rejection_db,
                )
            elif isinstance(spec, GroundLossSpec):
                ground = GroundAttack(
                    sites=tuple(spec.sites),
                    gateways_in=tuple(spec.gateways_in),
                    licence_revoked=spec.licence_revoked,
                    backhaul_cut=tuple(spec.backhaul_cut),
                    cables_cut=tuple(spec.cables_cut),
                    cables_cut_in=tuple(spec.cables_cut_in),
                    isl_failure_fraction=spec.isl_failure_fraction,
                    planes_without_lasers=tuple(tuple(p) for p in spec.planes_without_lasers),  # type: ignore[misc]
                    seed=spec.seed,
                )
        except InputError as error:
            if error.source:
                raise
            raise _prefixed(error, where, source) from None
        except SkyfenceError as error:
            raise InputError(error.message, source=source, field=where, hint=error.hint) from None
    return ThreatPlan(
        attacks=tuple(attacks),
        debris=tuple(debris),
        jammers=tuple(jammers),
        jammer_eirp_sweep_dbw=tuple(sorted(set(sweep))),
        antenna=antenna,
        ground=ground,
        draws=mc.draws,
        curve_fractions=tuple(mc.curve_fractions),
        seed=seed,
    )
