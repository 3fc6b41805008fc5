"""Run a scenario: plan its units, take each from the cache or compute it, and assemble the typed summary.

The runner only orchestrates.  :func:`plan` turns a scenario into :class:`~skyfence.scenario.units.Unit` s
(coverage, latency, availability, policy diff), each keyed by the sha256 of its inputs, so a re-run after
changing only the report -- or adding a variant that shares units with others -- recomputes nothing already
known.  Units cache data only, under ``<cache>/results/<key>/`` (``skyfence.data.cache_dir()``), written
atomically.  :func:`run_scenario` returns the :class:`~skyfence.scenario.summary.Summary` and the folders of
the units' data, from which :mod:`skyfence.report` draws every map.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from skyfence._io import atomic_outputs
from skyfence.errors import DataWarning, InputError
from skyfence.orbits.time import iso_utc
from skyfence.scenario import summary as S
from skyfence.scenario.schema import ConstellationSpec, PolicySpec, Scenario, VariantSpec
from skyfence.scenario.units import (
    Context,
    Unit,
    availability_unit,
    capacity_unit,
    coverage_unit,
    latency_unit,
    policy_diff_unit,
    threat_unit,
)

__all__ = ["AssessResult", "RunProgress", "dataset_infos", "plan", "readable", "run_scenario"]


class RunProgress(Protocol):
    """Told about each unit as a run goes (the CLI draws a bar per unit, :mod:`skyfence.cli._progress`)."""

    def planned(self, units: list[Unit]) -> None:
        """All units of the run, in the order they will be taken."""

    def started(self, unit: Unit, index: int, cached: bool) -> None:
        """Unit ``index`` (0-based) starts; ``cached`` units finish at once."""

    def advance(self, steps: int) -> None:
        """The running unit did ``steps`` more of its ``unit.steps``."""

    def finished(self, unit: Unit, seconds: float) -> None:
        """The unit is done (computed or read from the cache)."""


class _Silent:
    def planned(self, units: list[Unit]) -> None:
        pass

    def started(self, unit: Unit, index: int, cached: bool) -> None:
        pass

    def advance(self, steps: int) -> None:
        pass

    def finished(self, unit: Unit, seconds: float) -> None:
        pass


@dataclass
class AssessResult:
    """A run's typed ``summary``; per unit key, the folder of that unit's data tables; region outlines by spec."""

    summary: S.Summary
    data: dict[str, Path] = field(default_factory=dict)
    regions: dict[str, Any] = field(default_factory=dict)
    cache_hits: int = 0
    cache_misses: int = 0


def readable(name: str) -> str:
    """An id made readable for a label: ``no_taiwan_gateway`` -> ``No taiwan gateway``."""
    text = re.sub(r"[_]+", " ", name).strip()
    return text[:1].upper() + text[1:] if text else name


def _constellations(scenario: Scenario, variant: VariantSpec) -> list[ConstellationSpec]:
    wanted = variant.constellations
    return [c for c in scenario.constellations if wanted is None or c.name in wanted]


def _with_capacity(scenario: Scenario, c_spec: ConstellationSpec) -> bool:
    spec = scenario.capacity
    return spec is not None and (spec.constellations is None or c_spec.name in spec.constellations)


def _with_latency(scenario: Scenario, c_spec: ConstellationSpec) -> bool:
    latency = scenario.latency
    return (
        latency is not None
        and bool(latency.terminals)
        and (latency.constellations is None or c_spec.name in latency.constellations)
    )


def _check_operator_ground(ctx: Context, c_spec: ConstellationSpec, ground) -> None:
    """Latency of a constellation over the default ground segment (Starlink's list: ``ground.sites`` not given)
    needs a Starlink constellation: another operator's traffic would land at Starlink's gateways in silence
    (:func:`skyfence.network.ground.operator_ground`, as ``skyfence latency`` decides)."""
    from skyfence.network.ground import operator_ground

    constellation = ctx.constellation(c_spec)
    if "sites" not in ground.model_fields_set and len(constellation):  # no satellites: nothing lands anywhere
        try:
            operator_ground(constellation, field="ground.sites")
        except InputError as error:
            raise InputError(
                f"latency of {c_spec.name!r}: {error.message}",
                field="latency.constellations",
                hint="list only Starlink constellations there, or set ground.sites to that operator's gateway and "
                "PoP file, or to starlink_ground_stations to use Starlink's on purpose",
            ) from None


@dataclass
class _Plan:
    """Units per place in the summary: ``(variant, part, index) -> unit`` and the policy diffs."""

    units: list[Unit]
    by_slot: dict[tuple[str, str, int], Unit]
    diffs: list[tuple[str, str, PolicySpec, PolicySpec, Unit]]


def plan(scenario: Scenario, base: Path, ctx: Context | None = None) -> _Plan:
    """The units a run of ``scenario`` needs (each once, by key), without computing any."""
    ctx = ctx or Context(scenario, base)
    units: dict[str, Unit] = {}
    slots: dict[tuple[str, str, int], Unit] = {}

    def add(slot: tuple[str, str, int], unit: Unit) -> None:
        slots[slot] = units.setdefault(unit.key, unit)

    variants = scenario.resolved_variants()
    for vi, variant in enumerate(variants):
        ground = variant.ground or scenario.ground
        i = j = t = m = 0
        for c_spec in _constellations(scenario, variant):
            for r_spec in scenario.regions:
                add((variant.name, "coverage", i), coverage_unit(ctx, c_spec, r_spec))
                i += 1
                if variant.threats:
                    add((variant.name, "threats", t), threat_unit(ctx, c_spec, r_spec, vi))
                    t += 1
                if _with_capacity(scenario, c_spec):
                    add((variant.name, "capacity", m), capacity_unit(ctx, c_spec, r_spec, ground))
                    m += 1
            if _with_latency(scenario, c_spec):
                _check_operator_ground(ctx, c_spec, ground)
                if not variant.threats:  # an attacked variant's routes come from its threats unit, after the attacks
                    add((variant.name, "latency", j), latency_unit(ctx, c_spec, ground))
                    j += 1
        policy = variant.policy or scenario.policy
        if policy is not None:
            for k, r_spec in enumerate(scenario.regions):
                add((variant.name, "policy", k), availability_unit(ctx, policy, r_spec))
    diffs = []
    first = variants[0].policy or scenario.policy
    for variant in variants[1:]:
        policy = variant.policy or scenario.policy
        if first is None or policy is None or ctx.policy(policy).id == ctx.policy(first).id:
            continue
        for r_spec in scenario.regions:
            unit = policy_diff_unit(ctx, first, policy, r_spec)
            unit = units.setdefault(unit.key, unit)
            diffs.append((variant.name, variants[0].name, first, policy, unit))
    return _Plan(list(units.values()), slots, diffs)


#: The file of a cached unit listing every input it read when computed (:func:`skyfence.data.record_use` rows).
INPUTS_READ = "inputs_read.json"


def _execute(units: list[Unit], root: Path, progress: RunProgress) -> tuple[dict[str, Path], int, int]:
    """Take each unit from the cache at ``root`` or compute and store it; returns the folders, hits and misses."""
    from skyfence import data

    folders: dict[str, Path] = {}
    hits = misses = 0
    progress.planned(units)
    for index, unit in enumerate(units):
        folder = root / unit.key
        cached = (folder / "result.json").is_file() and (folder / INPUTS_READ).is_file()
        started = time.perf_counter()
        progress.started(unit, index, cached)
        if cached:
            hits += 1
            # what the unit read when it was computed: the run's inputs are the same whether it computes or not
            data.replay([tuple(row) for row in json.loads((folder / INPUTS_READ).read_text())])
        else:
            misses += 1
            with data.record_use() as read:
                files = unit.compute(progress.advance)
            files[INPUTS_READ] = json.dumps(read.notes())
            with atomic_outputs(folder) as staging:
                for name, content in files.items():
                    target = staging / name
                    if isinstance(content, str):
                        target.write_text(content)
                    else:
                        target.write_bytes(content)
        progress.finished(unit, time.perf_counter() - started)
        folders[unit.key] = folder
    return folders, hits, misses


def run_scenario(
    scenario: Scenario,
    base: Path,
    *,
    cache_root: Path | None = None,
    progress: RunProgress | None = None,
    file_name: str | None = None,
    scenario_file: Path | None = None,
    strict: bool = False,
) -> AssessResult:
    """Run every variant of ``scenario`` (paths relative to ``base``); returns the summary and the units' data.

    ``scenario_file`` is hashed into the summary's ``inputs`` and recorded (relative to the current folder) for
    ``skyfence assess --check``.  A catalog whose element epochs are further from the run's times than
    ``time.max_epoch_gap_days`` gives a :class:`~skyfence.errors.DataWarning`; with ``strict`` it raises an
    :class:`~skyfence.errors.InputError` before anything is computed.  Every ``DataWarning`` of the run (epoch gaps,
    a stale live catalog) is listed in the summary's ``warnings`` and passed on to the caller.
    """
    import warnings

    from skyfence import data

    with warnings.catch_warnings(record=True) as caught, data.record_use() as used:
        warnings.simplefilter("always")
        result = _run_scenario(
            scenario,
            base,
            cache_root=cache_root,
            progress=progress,
            file_name=file_name or (scenario_file.name if scenario_file is not None else None),
            scenario_file=scenario_file,
            strict=strict,
            datasets_read=used,
        )
    listed = result.summary.warnings
    known = {w.message for w in listed}
    for w in caught:
        if issubclass(w.category, DataWarning) and str(w.message) not in known:
            known.add(str(w.message))
            listed.append(S.WarningInfo(kind="data", message=str(w.message)))
    for item in listed:
        if item.kind == "epoch_gap":
            warnings.warn(item.message, DataWarning, stacklevel=2)
    for w in caught:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return result


def _run_scenario(
    scenario: Scenario,
    base: Path,
    *,
    cache_root: Path | None,
    progress: RunProgress | None,
    file_name: str | None,
    scenario_file: Path | None,
    strict: bool,
    datasets_read: dict[str, Path],
) -> AssessResult:
    from skyfence import data
    from skyfence._version import __version__
    from skyfence.scenario.provenance import relative_name, versions

    started = time.perf_counter()
    root = cache_root or (data.cache_dir() / "results")
    ctx = Context(scenario, base)
    scenario = ctx.scenario  # start = "epoch" resolved
    gaps = [gap for gap in ctx.epoch_gaps() if gap.exceeded]
    if gaps and strict:
        raise InputError(
            f"refusing to run (--strict): {gaps[0].message}"
            + (f" (+{len(gaps) - 1} more catalog(s))" if len(gaps) > 1 else ""),
            field="time.start",
        )
    try:
        the_plan = plan(scenario, base, ctx)
    except InputError as error:  # a problem of the scenario file: say which
        error.source = error.source or (str(scenario_file) if scenario_file is not None else file_name)
        raise
    folders, hits, misses = _execute(the_plan.units, root, progress or _Silent())

    def result(unit: Unit) -> dict[str, Any]:
        return json.loads((folders[unit.key] / "result.json").read_text())

    labels = {c.name: c.label or readable(c.name) for c in scenario.constellations}
    variants_out = []
    for variant in scenario.resolved_variants():
        ground = variant.ground or scenario.ground
        state = "before attacks" if variant.threats else "no attack"  # of the coverage and capacity tables
        out = S.VariantResult(
            name=variant.name,
            title=variant.title or readable(variant.name),
            description=variant.description,
            ground={**ground.model_dump(), "sites": ctx.sites_text(ground)},
        )
        for c_spec in _constellations(scenario, variant):
            for r_spec in scenario.regions:
                unit = the_plan.by_slot[(variant.name, "coverage", len(out.coverage))]
                out.coverage.append(
                    S.CoverageResult(
                        unit=unit.key,
                        constellation=c_spec.name,
                        label=labels[c_spec.name],
                        region_spec=r_spec.spec,
                        state=state,
                        **result(unit),
                    )
                )
                if _with_capacity(scenario, c_spec):
                    unit = the_plan.by_slot[(variant.name, "capacity", len(out.capacity))]
                    out.capacity.append(
                        S.CapacityResult(
                            unit=unit.key,
                            constellation=c_spec.name,
                            label=labels[c_spec.name],
                            region_spec=r_spec.spec,
                            state=state,
                            **result(unit),
                        )
                    )
            if _with_latency(scenario, c_spec) and not variant.threats:
                unit = the_plan.by_slot[(variant.name, "latency", len(out.latency))]
                out.latency.append(
                    S.LatencyResult(unit=unit.key, constellation=c_spec.name, label=labels[c_spec.name], **result(unit))
                )
        if variant.threats:
            for c_spec in _constellations(scenario, variant):
                for r_spec in scenario.regions:
                    unit = the_plan.by_slot[(variant.name, "threats", len(out.threats))]
                    found = result(unit)
                    after = found.pop("latency_after", None)
                    if after is not None and not any(u.constellation == c_spec.name for u in out.latency):
                        # one state per attacked variant: its latency table is the routes its threats section
                        # and key findings summarise (the first region's unit: routes do not depend on the region)
                        out.latency.append(
                            S.LatencyResult(
                                unit=unit.key,
                                constellation=c_spec.name,
                                label=labels[c_spec.name],
                                terminals=after,
                                state="after attacks",
                            )
                        )
                    out.threats.append(
                        S.ThreatResult(
                            unit=unit.key,
                            constellation=c_spec.name,
                            label=labels[c_spec.name],
                            region_spec=r_spec.spec,
                            threats=[spec.model_dump() for spec in variant.threats],
                            **found,
                        )
                    )
        policy = variant.policy or scenario.policy
        if policy is not None:
            for k, r_spec in enumerate(scenario.regions):
                unit = the_plan.by_slot[(variant.name, "policy", k)]
                out.policy.append(
                    S.AvailabilityResult(
                        unit=unit.key,
                        policy=ctx.policy(policy).name,
                        policy_file=policy.file,
                        region_spec=r_spec.spec,
                        **result(unit),
                    )
                )
        variants_out.append(out)
    policy_files = {ctx.policy_path(p): p.file for p in _policy_specs(scenario)}
    summary = S.Summary(
        scenario=S.ScenarioInfo(
            name=scenario.name,
            title=scenario.title or readable(scenario.name),
            description=scenario.description,
            seed=scenario.seed,
            file=file_name or f"{scenario.name}.toml",
            path=None if scenario_file is None else relative_name(scenario_file, Path.cwd()),
            resolved=scenario.model_dump(mode="json"),
        ),
        skyfence_version=__version__,
        time=S.TimeInfo(
            start=iso_utc(ctx.times[0]),
            end=iso_utc(ctx.times[-1]),
            step=scenario.time.step,
            steps=len(ctx.times),
        ),
        coverage_settings=S.CoverageSettingsInfo(**scenario.coverage.model_dump()),
        capacity_settings=scenario.capacity.model_dump() if scenario.capacity else None,
        constellations=[
            S.ConstellationInfo(name=c.name, label=labels[c.name], source=c.source, shells=c.shells)
            for c in scenario.constellations
        ],
        regions=[
            S.RegionInfo(
                spec=r.spec,
                name=r.name or ctx.region(r).name,
                code=ctx.region(r).code,
                kind=ctx.region(r).kind,
                pov=ctx.region(r).pov,
            )
            for r in scenario.regions
        ],
        variants=variants_out,
        diff=_diff(variants_out),
        policy_diff=[
            S.PolicyDiffResult(
                variant=name,
                against=against,
                a=ctx.policy(a).name,
                b=ctx.policy(b).name,
                region_spec=r_spec_of(unit),
                **result(unit),
            )
            for name, against, a, b, unit in the_plan.diffs
        ],
        datasets=dataset_infos(ctx.datasets_used | set(datasets_read)),
        policies=[
            S.PolicyInfo(
                name=p.name,
                id=p.id,
                file=policy_files.get(path, path.name),
                operator=p.operator,
                default=p.default,
                statuses_from=p.status_source,
            )
            for path, p in ctx.policies()
        ],
        warnings=[S.WarningInfo(**gap.to_dict()) for gap in gaps],
        inputs=[S.InputInfo(**record) for record in ctx.inputs(scenario_file, datasets_read)],
        environment=S.EnvironmentInfo(versions=versions()),
        run=S.RunInfo(cache_hits=hits, cache_misses=misses, seconds=round(time.perf_counter() - started, 3)),
    )
    from skyfence.scenario.findings import key_findings

    summary.findings = key_findings(summary)
    regions = {r.spec: ctx.region(r).geometry for r in scenario.regions}
    return AssessResult(summary, folders, regions, hits, misses)


def r_spec_of(unit: Unit) -> str:
    """The region spec a unit was keyed on."""
    return str(unit.inputs["region"]["spec"])


def _policy_specs(scenario: Scenario) -> list[PolicySpec]:
    specs = [scenario.policy] + [v.policy for v in scenario.variants]
    return [p for p in specs if p is not None]


_DIFF_KEYS = ("coverage_fraction", "sats_in_view_mean", "max_gap_s")
_LATENCY_DIFF_KEYS = ("median_rtt_ms", "p95_rtt_ms")
_CAPACITY_DIFF_KEYS = ("served_fraction", "served_gbps_mean", "mbps_per_user_median", "users_with_service")

#: ``(kind, constellation, region or terminal)`` -> ``(state, {metric: value})``
_Numbers = dict[tuple[str, str, str], tuple[str, dict[str, Any]]]


def _numbers(variant: S.VariantResult, *, before: bool = False) -> _Numbers:
    """A variant's headline numbers per matching unit, in one state: after its attacks (what its threats section,
    latency table and key findings give) -- or, with ``before``, its coverage and capacity before them."""
    out: _Numbers = {}
    for u in variant.coverage:
        out[("coverage", u.constellation, u.region)] = (u.state, {k: getattr(u, k) for k in _DIFF_KEYS})
    for c in variant.capacity:
        out[("capacity", c.constellation, c.region)] = (c.state, {k: getattr(c, k, None) for k in _CAPACITY_DIFF_KEYS})
    if before:
        return out
    for lat in variant.latency:
        for terminal in lat.terminals:
            out[("latency", lat.constellation, terminal.terminal)] = (
                lat.state,
                {k: getattr(terminal, k) for k in _LATENCY_DIFF_KEYS},
            )
    for threat in variant.threats:
        after = {k: (threat.after.get(k) or {}).get("mean") for k in _DIFF_KEYS}
        out[("coverage", threat.constellation, threat.region)] = ("after attacks", after)
        cases = (threat.capacity or {}).get("cases") or {}
        case = (threat.capacity or {}).get("after_case")
        if case in cases:
            out[("capacity", threat.constellation, threat.region)] = (
                "after attacks",
                {k: cases[case].get(k) for k in _CAPACITY_DIFF_KEYS},
            )
    return out


def _diff(variants: list[S.VariantResult]) -> list[S.DiffRow]:
    """Each variant against the first: differences of the headline numbers for matching units, each variant after
    its attacks (:func:`_numbers`); a variant with threats also before them, where that differs from the first.

    Where the first variant has no capacity unit, an attacked variant's capacity is compared with its threats
    unit's own ``before`` case when both variants have the same ground segment and the first has no threats: the
    same model run on the same state as the first variant, so the delta is the key finding's "from ... to ...".
    """
    if len(variants) < 2:
        return []
    base = variants[0]
    ref = _numbers(base)
    rows = []

    def add(variant: S.VariantResult, where: tuple[str, str, str], state: str, values: dict, against: tuple) -> None:
        against_state, ref_values = against
        deltas = {f"delta_{k}": _delta(v, ref_values.get(k)) for k, v in values.items()}
        if state == "before attacks" and not any(d for d in deltas.values()):
            return  # the state before the attacks is the first variant's: said once, in the "after" row
        kind, constellation, place = where
        rows.append(
            S.DiffRow(
                variant=variant.name,
                against=base.name,
                kind=kind,
                constellation=constellation,
                where=place,
                state=state,
                against_state=against_state,
                **deltas,
            )
        )

    order = {"capacity": 0, "coverage": 1, "latency": 2}
    for variant in variants[1:]:
        after = _numbers(variant)
        before = _numbers(variant, before=True) if variant.threats else {}
        same_ground = variant.ground == base.ground and not base.threats
        wheres = [*after, *(w for w in before if w not in after)]
        for where in sorted(wheres, key=lambda w: order.get(w[0], 9)):  # stable: units in the summary's order
            against = ref.get(where)
            if against is None and where[0] == "capacity" and same_ground:
                t = next((t for t in variant.threats if (t.constellation, t.region) == where[1:]), None)
                cases = ((t.capacity or {}).get("cases") or {}) if t is not None else {}
                if "before" in cases:
                    against = ("no attack", {k: cases["before"].get(k) for k in _CAPACITY_DIFF_KEYS})
            if against is None:
                continue
            if where in before and before[where][0] == "before attacks":
                add(variant, where, "before attacks", before[where][1], against)
            if where in after:
                add(variant, where, after[where][0], after[where][1], against)
    return rows


def _delta(a: Any, b: Any) -> float | None:
    if a is None or b is None:
        return None
    value = float(a) - float(b)
    return value if np.isfinite(value) else None


def dataset_infos(names: set[str]) -> list[S.DatasetInfo]:
    """Title, licence, date, address and publisher of each registry dataset in ``names`` (the report's sources)."""
    from skyfence import data

    out = []
    for name in sorted(names):
        if name not in data.REGISTRY:
            continue
        ds = data.get(name)
        out.append(
            S.DatasetInfo(
                name=ds.name,
                title=ds.title,
                licence=ds.licence,
                data_date=ds.date_text,
                url=ds.url,
                source=ds.source,
                original=ds.original or None,
                copy_host=ds.copy_host or None,
            )
        )
    return out
