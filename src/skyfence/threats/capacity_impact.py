"""Capacity and Mb/s per user before and after each threat, and the resilience curve against gateways lost.

One mechanism: every attack becomes a :class:`~skyfence.capacity.engine.CapacityCase` -- satellites removed
(attrition, ASAT debris), the ground segment after the attack (gateways and PoPs lost; bent-pipe satellites need a
gateway in view, satellites with lasers need at least one gateway and PoP left), jammers as one more C/(N+I+J)
term and uplink-dead cells -- and :func:`~skyfence.capacity.engine.run_capacity_cases` re-runs the allocation for
every case on one propagation pass.  No threat is a special case: "all threats" is the case with every mask at once.

Cases (only those the plan has):

``before``        the variant's system as given
``jamming``       the jammers alone (deterministic)
``satellites``    the satellites lost alone, for the first :data:`CAPACITY_DRAWS` Monte Carlo draws
``ground``        the ground-segment losses alone (deterministic)
``all``           everything at once, for the same draws

Gateways-lost curve (:func:`gateways_lost_curve`): the region's ground segment loses its gateways one after the
other -- nearest to the region first (the worst order for the region), and in random orders (seeded,
:data:`CURVE_ORDERS` of them, for a band) -- at ``k`` = 0, 1, 2, 4, ... gateways and finally all of them.  Per
point: capacity figures and the share of ``(time, cell)`` samples with any capacity (``service_coverage``).  The
curve runs on every n-th time step (at most :data:`CURVE_MAX_STEPS`), which keeps a day of one-minute steps
affordable.

Not modelled: the landing capacity of the gateways that are left.  A satellite with lasers counts as fed while one
gateway and one PoP remain anywhere, so for a laser constellation the curve stays flat until the last gateway goes;
the terminals' reachability and RTT (the threat unit's ``reachability``) show the longer paths meanwhile.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "CAPACITY_DRAWS",
    "CAPACITY_METRICS",
    "CURVE_MAX_STEPS",
    "CURVE_ORDERS",
    "CapacityImpact",
    "capacity_impact",
    "gateway_steps",
    "gateways_by_distance",
    "gateways_lost_curve",
]

#: Monte Carlo draws of the satellite losses that go through the capacity layer (each is one more allocation).
CAPACITY_DRAWS = 3
#: Random gateway orders of the gateways-lost curve (beside the nearest-first order).
CURVE_ORDERS = 3
#: Time steps of the gateways-lost curve at most (every n-th step of the run's grid).
CURVE_MAX_STEPS = 144
#: Figures of a capacity case kept in the tables (population-weighted over cells and time unless said otherwise):
#: ``service_coverage`` is the share of ``(time, cell)`` samples with any capacity (by area), ``users_with_service``
#: the population-weighted share with a rate above 0 -- the weights of the median, which is 0 once that share is
#: below one half (users in a few jammed, populous cells).
CAPACITY_METRICS = (
    "served_fraction",
    "served_gbps_mean",
    "offered_gbps_mean",
    "mbps_per_user_median",
    "mbps_per_user_p10",
    "share_above_25_mbps",
    "service_coverage",
    "users_with_service",
)


@dataclass(frozen=True, eq=False)
class CapacityImpact:
    """``cases``: one row per (case, draw) with :data:`CAPACITY_METRICS`; ``per_cell``: Mb/s per user (median over
    time) before and after everything (draw 0); ``gateway_curve``: gateways lost -> figures, per order and draw."""

    cases: pd.DataFrame
    per_cell: pd.DataFrame
    gateway_curve: pd.DataFrame
    settings: dict

    def summary(self) -> dict[str, dict[str, float]]:
        """Per case: the mean over its draws of each metric (what the report's before/after table shows)."""
        if not len(self.cases):
            return {}
        means = self.cases.groupby("case", sort=False)[list(CAPACITY_METRICS)].mean()
        return {str(case): {m: float(v) for m, v in row.items()} for case, row in means.iterrows()}


def _figures(result) -> dict[str, float]:
    own = ("service_coverage", "users_with_service")
    stats = {m: float(result.statistics.get(m, np.nan)) for m in CAPACITY_METRICS if m not in own}
    offered = result.dataset["offered_mbps"].to_numpy()
    stats["service_coverage"] = float((offered > 0).mean()) if offered.size else 0.0
    # The same weights as the median Mb/s per user (population over (time, cell) samples with a rate), so "median 0"
    # and "fewer than half the users with service" are one statement: the two figures never contradict each other.
    per_user = result.dataset["mbps_per_user"].to_numpy()
    weights = np.broadcast_to(result.dataset["population"].to_numpy()[None, :], per_user.shape)
    rated = np.isfinite(per_user)
    total = float(weights[rated].sum())
    stats["users_with_service"] = float(weights[rated & (per_user > 0)].sum() / total) if total > 0 else float("nan")
    return stats


def gateways_by_distance(segment, lat_deg: np.ndarray, lon_deg: np.ndarray) -> list[str]:
    """The segment's gateway names, nearest to the region's cells (the closest cell) first."""
    from skyfence.network.ground import great_circle_km

    gw = segment.gateways
    if not len(gw):
        return []
    dist = np.array(
        [
            float(np.min(great_circle_km(float(a), float(b), lat_deg, lon_deg)))
            for a, b in zip(gw["lat_deg"], gw["lon_deg"], strict=True)
        ]
    )
    order = np.lexsort((gw["name"].astype(str).to_numpy(), dist))
    return [str(gw["name"].iloc[i]) for i in order]


def gateway_steps(n: int) -> list[int]:
    """Gateways lost along the curve: 0, 1, 2, 4, 8, ... and ``n``."""
    steps = [0]
    k = 1
    while k < n:
        steps.append(k)
        k *= 2
    if n > 0:
        steps.append(n)
    return steps


def capacity_impact(
    constellation,
    cells: np.ndarray,
    times: np.ndarray,
    *,
    removed_by_draw: Sequence[np.ndarray] = (),
    ground=None,
    attacked_ground=None,
    jammers: Sequence = (),
    antenna=None,
    min_elevation_deg: float = 25.0,
    gateway_curve: bool = True,
    seed: int = 0,
    progress=None,
    **capacity_options,
) -> CapacityImpact:
    """Capacity before and after each threat, and the gateways-lost curve (module docstring).

    ``removed_by_draw``: boolean per satellite for each Monte Carlo draw (the first :data:`CAPACITY_DRAWS` used);
    ``ground``: the variant's ground segment (None: every satellite fed, and no gateway curve);
    ``attacked_ground``: the segment after the ground attack (None: no ground attack).
    """
    from skyfence.capacity.engine import CapacityCase, run_capacity_cases

    cells = np.unique(np.asarray(cells, dtype=np.uint64))
    removed = [np.asarray(r, dtype=bool) for r in removed_by_draw][:CAPACITY_DRAWS]
    if not any(r.any() for r in removed):
        removed = []
    cases: list[tuple[str, int, CapacityCase]] = [("before", 0, CapacityCase("before", ground=ground))]
    extra = no_service = None
    if jammers:
        from skyfence.threats.jamming_capacity import jamming_terms

        extra, no_service, _, _ = jamming_terms(
            constellation,
            cells,
            times,
            jammers,
            antenna=antenna,
            generation=capacity_options.get("generation"),
            min_elevation_deg=min_elevation_deg,
        )
        cases.append(
            ("jamming", 0, CapacityCase("jamming", ground=ground, extra_interference=extra, no_service=no_service))
        )
    for d, r in enumerate(removed):
        cases.append(("satellites", d, CapacityCase("satellites", removed_satellites=r, ground=ground)))
    if attacked_ground is not None:
        cases.append(("ground", 0, CapacityCase("ground", ground=attacked_ground)))
    n_threats = int(bool(jammers)) + int(bool(removed)) + int(attacked_ground is not None)
    if n_threats > 1:
        after_ground = attacked_ground if attacked_ground is not None else ground
        draws: list[np.ndarray | None] = list(removed) or [None]
        for d, gone in enumerate(draws):
            cases.append(
                (
                    "all",
                    d,
                    CapacityCase(
                        "all",
                        removed_satellites=gone,
                        ground=after_ground,
                        extra_interference=extra,
                        no_service=no_service,
                    ),
                )
            )
    results = run_capacity_cases(
        constellation, cells, times, [c for _, _, c in cases], progress=progress, **capacity_options
    )
    rows = []
    head = results
    for (name, d, case), result in zip(cases, head, strict=True):
        lost = 0 if case.removed_satellites is None else int(case.removed_satellites.sum())
        rows.append({"case": name, "draw": d, "satellites_lost": lost, **_figures(result)})
    n_gw = len(ground.gateways) if ground is not None else 0
    curve = pd.DataFrame()
    if gateway_curve and ground is not None and n_gw:
        curve = gateways_lost_curve(constellation, cells, times, ground, seed=seed, **capacity_options)
    before = head[0]
    after = next((r for (name, _, _), r in zip(cases, head, strict=False) if name == "all"), None)
    if after is None and len(head) > 1:
        after = head[1]
    per_cell = before.per_cell[["cell", "lat", "lon", "population"]].copy()
    per_cell["mbps_per_user_before"] = before.per_cell["mbps_per_user_median"].to_numpy()
    per_cell["served_fraction_before"] = before.per_cell["served_fraction_mean"].to_numpy()
    if after is not None:
        per_cell["mbps_per_user_after"] = after.per_cell["mbps_per_user_median"].to_numpy()
        per_cell["served_fraction_after"] = after.per_cell["served_fraction_mean"].to_numpy()
    else:
        per_cell["mbps_per_user_after"] = per_cell["mbps_per_user_before"]
        per_cell["served_fraction_after"] = per_cell["served_fraction_before"]
    settings = {
        **{k: v for k, v in before.settings.items() if k not in ("case", "satellites_removed")},
        "capacity_draws": len(removed),
        "gateways": n_gw,
        "gateway_curve_steps": int(curve["steps"].iloc[0]) if len(curve) else 0,
    }
    return CapacityImpact(pd.DataFrame(rows), per_cell, curve, settings)


def gateways_lost_curve(
    constellation,
    cells: np.ndarray,
    times: np.ndarray,
    ground,
    *,
    seed: int = 0,
    orders: int = CURVE_ORDERS,
    max_steps: int = CURVE_MAX_STEPS,
    **capacity_options,
) -> pd.DataFrame:
    """Capacity figures against gateways lost: nearest-first and ``orders`` random orders (module docstring).

    One row per (order, draw, gateways lost) with :data:`CAPACITY_METRICS`, ``gateways_left`` and ``steps``.
    """
    from skyfence.capacity.engine import CapacityCase, run_capacity_cases
    from skyfence.earth import cells as h3cells
    from skyfence.threats.ground import GroundAttack

    cells = np.unique(np.asarray(cells, dtype=np.uint64))
    times = np.asarray(times, dtype="datetime64[ns]")
    stride = max(1, -(-len(times) // max(int(max_steps), 1)))
    times = times[::stride]
    lat, lon = h3cells.cell_centers(cells)
    nearest = gateways_by_distance(ground, lat, lon)
    plans = [("nearest first", 0, nearest)]
    names = sorted(nearest)
    for d in range(orders):
        perm = np.random.default_rng(seed + d).permutation(len(names))
        plans.append(("random order", d, [names[i] for i in perm]))
    meta, cases = [], []
    segments: dict[tuple[str, ...], object] = {}
    for order, d, names_in_order in plans:
        for k in gateway_steps(len(names_in_order)):
            gone = tuple(sorted(names_in_order[:k]))
            if gone not in segments:
                segments[gone] = GroundAttack(sites=gone).apply(ground)[0] if k else ground
            cases.append(CapacityCase(f"{k} gateways lost", ground=segments[gone]))
            meta.append((order, d, k))
    results = run_capacity_cases(constellation, cells, times, cases, **capacity_options)
    n_gw = len(ground.gateways)
    return pd.DataFrame(
        [
            {
                "order": order,
                "draw": d,
                "gateways_lost": k,
                "gateways_left": n_gw - k,
                "steps": len(times),
                **_figures(result),
            }
            for (order, d, k), result in zip(meta, results, strict=True)
        ]
    )
