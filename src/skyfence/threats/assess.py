"""One call for a scenario variant's threats: before/after figures with Monte Carlo bands, outage maps,
resilience curves, jamming maps, debris losses and reachability.

:func:`assess_threats` takes the attacks already built (:class:`~skyfence.threats.attrition.SatelliteAttack`,
:class:`~skyfence.threats.debris.AsatEvent`, jammer sites, :class:`~skyfence.threats.ground.GroundAttack`) for one
constellation over one region and time grid, and returns a :class:`ThreatAssessment` of plain tables -- what a
scenario unit caches and the report draws.  Visibility runs once; every draw only masks satellites.

* **Satellite losses** combine: each attrition attack (its seed plus the draw number), and, for a debris event,
  the satellites lost by the end of its horizon (the state of the constellation after the horizon).  ``draws``
  Monte Carlo draws give the after-attack metrics with bands (5th-95th percentile, 95 % CI of the mean); a purely
  deterministic attack gives identical draws.
* **Outage map**: per cell, coverage before, median coverage after over the draws, and the loss.
* **Resilience curve**: a random-attrition sweep (fraction of all satellites) with draws -- the standard curve to
  compare variants -- and, for jammers, the jammed share against jammer EIRP.
* **Jamming**: J/S per cell (share of time with J/S >= 0 dB) at the listed EIRPs.
* **Reachability**: RTT and reachable share from each terminal before and after the ground and satellite losses.
* **Capacity** (with ``capacity_options``): Mb/s per user, served share and capacity before and after each threat
  and all of them, and the curve against gateways lost (:mod:`skyfence.threats.capacity_impact`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from skyfence.threats.attrition import SatelliteAttack, draw_fraction
from skyfence.threats.debris import AsatEvent
from skyfence.threats.ground import GroundAttack
from skyfence.threats.jamming import JammerSite, TerminalAntenna
from skyfence.threats.montecarlo import draw_metrics, random_attrition_steps, resilience_curve, summarise

__all__ = ["DEFAULT_CURVE_FRACTIONS", "ThreatAssessment", "ThreatPlan", "assess_threats"]

#: Fractions of the resilience curve when a plan gives none.
DEFAULT_CURVE_FRACTIONS = (0.0, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9)


@dataclass(frozen=True)
class ThreatPlan:
    """The attacks of one variant (all optional) and the Monte Carlo settings."""

    attacks: tuple[SatelliteAttack, ...] = ()
    debris: tuple[tuple[AsatEvent, float], ...] = ()  # (event, horizon_days)
    jammers: tuple[JammerSite, ...] = ()
    jammer_eirp_sweep_dbw: tuple[float, ...] = ()
    antenna: TerminalAntenna = field(default_factory=TerminalAntenna)
    ground: GroundAttack | None = None
    draws: int = 20
    curve_fractions: tuple[float, ...] = DEFAULT_CURVE_FRACTIONS
    seed: int = 0

    @property
    def empty(self) -> bool:
        return not (self.attacks or self.debris or self.jammers or self.ground)


@dataclass(frozen=True, eq=False)
class ThreatAssessment:
    """Tables of one (variant, constellation, region) threat assessment (see the module docstring)."""

    before: dict[str, float]
    after: pd.DataFrame  # per metric: mean, ci_low, ci_high, p05, p50, p95
    draws: pd.DataFrame  # per draw: satellites lost, metrics
    per_cell: pd.DataFrame  # cell, lat, lon, coverage and satellites in view before and after, jammed_share
    curve: pd.DataFrame  # random-attrition resilience curve: intensity, metric, mean, bands
    # eirp_dbw (NaN: jammers of different EIRPs), eirp_min/max/power_mean_dbw, eirp_label, cells_jammed,
    # mean_jammed_share, median_js_db
    jamming_curve: pd.DataFrame
    debris: pd.DataFrame  # per shell and event: expected losses
    reachability: list[dict[str, Any]] = field(default_factory=list)
    removed_ground: dict[str, Any] = field(default_factory=dict)
    satellites_lost: dict[str, float] = field(default_factory=dict)
    capacity: Any = None  # CapacityImpact, or None when no capacity was asked for
    #: per terminal, the route after the attacks (:class:`~skyfence.network.routing.LatencyResult`, the draw
    #: ``reachability`` summarises): what a scenario's latency table shows for an attacked variant
    routes_after: list[Any] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The headline numbers (tables go to Parquet in a scenario unit)."""
        after = {row.metric: row._asdict() for row in self.after.itertuples(index=False)} if len(self.after) else {}
        return {
            "before": self.before,
            "after": after,
            "satellites_lost": self.satellites_lost,
            "reachability": self.reachability,
            "removed_ground": self.removed_ground,
            "jamming": [
                {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in row.items()}
                for row in self.jamming_curve.to_dict(orient="records")
            ],
            "debris": self.debris.to_dict(orient="records"),
            "capacity": None if self.capacity is None else _capacity_json(self.capacity),
        }


def _capacity_json(impact) -> dict[str, Any]:
    from skyfence.threats.capacity_impact import CAPACITY_METRICS

    curve = impact.gateway_curve
    points = []
    if len(curve):
        grouped = curve.groupby(["order", "gateways_lost"], sort=True)[list(CAPACITY_METRICS)]
        lo, mid, hi = grouped.min(), grouped.mean(), grouped.max()
        for (order, k), row in mid.iterrows():
            points.append(
                {
                    "order": order,
                    "gateways_lost": int(k),
                    **{m: float(v) for m, v in row.items()},
                    **{f"{m}_min": float(lo.loc[(order, k), m]) for m in ("served_fraction", "service_coverage")},
                    **{f"{m}_max": float(hi.loc[(order, k), m]) for m in ("served_fraction", "service_coverage")},
                }
            )
    cases = impact.summary()
    threats = [name for name in cases if name != "before"]
    after = "all" if "all" in cases else (threats[0] if threats else "before")
    settings = dict(impact.settings)
    source = settings.get("source")
    if isinstance(source, str) and Path(source).is_absolute():  # no machine path in a report (its datasets name it)
        settings["source"] = Path(source).name
    return {"cases": cases, "after_case": after, "settings": settings, "gateway_curve": points}


def _removal(view, constellation, plan: ThreatPlan, draw: int, engaged_cache: dict) -> np.ndarray:
    """``removed_at_step`` of one draw: attrition attacks (static) and debris (lost by the horizon's end)."""
    from skyfence.threats.debris import debris_cloud, removal_times

    removed = np.zeros(len(constellation), dtype=bool)
    for i, attack in enumerate(plan.attacks):
        if attack.engagement is not None and i not in engaged_cache:
            engaged_cache[i] = attack.engagement.satellites(constellation)
        targets = attack.targets(constellation, t_ref=view.times[0], engaged=engaged_cache.get(i))
        removed |= draw_fraction(targets, attack.fraction, attack.seed + plan.seed + draw)
    for k, (event, horizon_days) in enumerate(plan.debris):
        when = removal_times(
            debris_cloud(event), constellation, view.times[0], horizon_days, seed=plan.seed + 1000 * (k + 1) + draw
        )
        removed |= ~np.isnat(when)
    return view.removal_steps(removed=removed)


def assess_threats(
    constellation,
    cells: np.ndarray,
    times: np.ndarray,
    plan: ThreatPlan,
    *,
    min_elevation_deg: float = 25.0,
    min_sats: int = 1,
    ground_segment=None,
    terminals: Sequence = (),
    isl: str = "+grid",
    policy=None,
    operator: str | None = None,
    latency_times: np.ndarray | None = None,
    capacity_options: dict[str, Any] | None = None,
    capacity_ground=None,
    progress=None,
) -> ThreatAssessment:
    """Assess ``plan`` for one constellation over ``cells`` and ``times`` (module docstring).

    ``capacity_options`` (keyword arguments of :func:`~skyfence.capacity.engine.run_capacity`; None: no capacity)
    with ``capacity_ground``, the variant's ground segment that feeds the satellites (None: every satellite fed).
    """
    from skyfence.threats.viewsets import compute_viewsets

    view = compute_viewsets(constellation, cells, times, min_elevation_deg=min_elevation_deg)
    before = draw_metrics(view, None, min_sats=min_sats)
    n_draws = max(int(plan.draws), 1)
    engaged: dict = {}
    rows = []
    counts_after = []
    sats_after = []
    lost = []
    removed_by_draw = []
    for d in range(n_draws):
        steps = _removal(view, constellation, plan, d, engaged)
        removed_by_draw.append(steps == 0)
        lost.append(int((steps < len(view.times)).sum()))
        rows.append(
            {
                "intensity": 1.0,
                "draw": d,
                "seed": plan.seed + d,
                "satellites_lost": lost[-1],
                **draw_metrics(view, steps, min_sats=min_sats),
            }
        )
        attacked = view.counts(steps)
        counts_after.append((attacked >= min_sats).mean(axis=0))
        sats_after.append(attacked.mean(axis=0))
    draws = pd.DataFrame(rows)
    after = summarise(draws).drop(columns=["intensity"])
    coverage_before = (view.count >= min_sats).mean(axis=0)
    coverage_after = np.median(np.stack(counts_after), axis=0)
    per_cell = pd.DataFrame(
        {
            "cell": [f"{c:x}" for c in view.cells.tolist()],
            "lat": view.lat_deg,
            "lon": view.lon_deg,
            "coverage_before": coverage_before,
            "coverage_after": coverage_after,
            "coverage_loss": coverage_before - coverage_after,
            "sats_in_view_before": view.count.mean(axis=0),
            "sats_in_view_after": np.median(np.stack(sats_after), axis=0),
        }
    )
    _, curve = resilience_curve(
        view,
        lambda f, s: random_attrition_steps(view, f, s),
        plan.curve_fractions,
        draws=min(n_draws, 10),
        seed=plan.seed,
        min_sats=min_sats,
    )
    jamming_curve, jammed_share = _jamming(constellation, view, times, plan, min_elevation_deg)
    per_cell["jammed_share"] = jammed_share
    debris = _debris_table(constellation, plan)
    reach, removed_ground, routes_after = _reach(
        constellation, plan, ground_segment, terminals, isl, policy, operator, latency_times, view, engaged
    )
    impact = None
    if capacity_options is not None:
        impact = _capacity(
            constellation,
            view.cells,
            times,
            plan,
            removed_by_draw,
            capacity_ground,
            policy,
            operator,
            min_elevation_deg,
            capacity_options,
            progress,
        )
    return ThreatAssessment(
        before=before,
        after=after,
        draws=draws,
        per_cell=per_cell,
        curve=curve,
        jamming_curve=jamming_curve,
        debris=debris,
        reachability=reach,
        removed_ground=removed_ground,
        satellites_lost={
            "mean": float(np.mean(lost)),
            "min": float(np.min(lost)),
            "max": float(np.max(lost)),
            "of": float(len(constellation)),
        },
        capacity=impact,
        routes_after=routes_after,
    )


def _capacity(constellation, cells, times, plan, removed_by_draw, ground, policy, operator, mask, options, progress):
    from skyfence.threats.capacity_impact import capacity_impact

    attacked = None
    if plan.ground is not None and ground is not None:
        at = np.asarray(times, dtype="datetime64[ns]")[0]
        attacked, _ = plan.ground.apply(ground, policy=policy, at=at, operator=operator)
    return capacity_impact(
        constellation,
        cells,
        times,
        removed_by_draw=removed_by_draw,
        ground=ground,
        attacked_ground=attacked,
        jammers=plan.jammers,
        antenna=plan.antenna,
        min_elevation_deg=mask,
        seed=plan.seed,
        gateway_curve=plan.ground is not None,
        progress=progress,
        **options,
    )


def _jamming(constellation, view, times, plan: ThreatPlan, mask: float) -> tuple[pd.DataFrame, np.ndarray]:
    from skyfence.threats.jamming import eirp_summary, jamming_map

    share = np.zeros(len(view.cells))
    if not plan.jammers:
        columns = ["eirp_dbw", "eirp_min_dbw", "eirp_max_dbw", "eirp_power_mean_dbw", "eirp_label"]
        return pd.DataFrame(columns=[*columns, "cells_jammed", "mean_jammed_share", "median_js_db"]), share
    rows = []
    sweep: list[float | None] = [None, *plan.jammer_eirp_sweep_dbw]
    for eirp in sweep:
        sites = plan.jammers if eirp is None else [dataclasses.replace(j, eirp_dbw=eirp) for j in plan.jammers]
        result = jamming_map(constellation, view.cells, times, sites, antenna=plan.antenna, min_elevation_deg=mask)
        s = result.share_above(0.0)
        finite = np.isfinite(result.js_db)
        rows.append(
            {
                # never a mean of decibels: the common EIRP, or None with the range and the power mean ("mixed")
                **eirp_summary(sites),
                "as_listed": eirp is None,
                "cells_jammed": int((s > 0).sum()),
                "mean_jammed_share": float(s.mean()),
                "median_js_db": float(np.median(result.js_db[finite])) if finite.any() else None,
                "gnss_flagged_cells": int(result.gnss_jammed.any(axis=0).sum()),
            }
        )
        if eirp is None:
            share = s
    table = pd.DataFrame(rows)
    table["eirp_dbw"] = table["eirp_dbw"].astype(float)  # NaN: the jammers as listed have different EIRPs
    # one row per EIRP (the jammers as listed win a tie); a mixed "as listed" row first, then the sweep by EIRP
    table = table.sort_values(["eirp_dbw", "as_listed"], na_position="first")
    table = table[table["eirp_dbw"].isna() | ~table.duplicated("eirp_dbw", keep="last")]
    return table.reset_index(drop=True), share


def _debris_table(constellation, plan: ThreatPlan) -> pd.DataFrame:
    from skyfence.threats.debris import debris_cloud

    frames = []
    for k, (event, horizon_days) in enumerate(plan.debris):
        table = debris_cloud(event).shell_losses(constellation, horizon_days)
        table.insert(0, "event", k)
        table.insert(1, "alt_km_event", event.alt_km)
        frames.append(table)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _reach(constellation, plan, ground_segment, terminals, isl, policy, operator, latency_times, view, engaged):
    from skyfence.threats.ground import reachability

    if ground_segment is None or not len(terminals):
        return [], {}, []
    times = latency_times if latency_times is not None else view.times[:1]
    removed_sats = _removal(view, constellation, plan, 0, engaged) == 0
    sources, dests = list(terminals), [None] * len(terminals)
    base, _ = reachability(constellation, sources, dests, times, ground_segment, isl=isl)
    hit, removed = reachability(
        constellation,
        sources,
        dests,
        times,
        ground_segment,
        attack=plan.ground,
        removed_satellites=removed_sats,
        policy=policy,
        operator=operator,
        isl=isl,
    )
    out = []
    for b, a in zip(base, hit, strict=True):
        sb, sa = b.summary(), a.summary()
        out.append(
            {
                "terminal": getattr(b.source, "name", str(b.source)),
                "reachable_before": sb["reachable_share"],
                "reachable_after": sa["reachable_share"],
                "median_rtt_before_ms": sb["median_rtt_ms"],
                "median_rtt_after_ms": sa["median_rtt_ms"],
                "gateways_after": [g["name"] for g in sa["gateways"]][:5],
            }
        )
    removed["satellites"] = int(removed.get("satellites", 0))
    return out, removed, list(hit)
