"""Monte Carlo over attacks: draws, figures of merit per draw, resilience curves with bands, the Poisson check.

Visibility is computed once (:class:`~skyfence.threats.viewsets.ViewSets`) and every draw only masks satellites.
A draw is described by ``removed_at_step`` (see :mod:`skyfence.threats.viewsets`); its figures of merit are the
coverage layer's own (:class:`~skyfence.coverage.merit.MeritAccumulator` and
:func:`~skyfence.coverage.merit.region_statistics`, area-weighted), plus ``p_at_least_one`` (share of
``(time, cell)`` samples with a satellite in view, unweighted -- the quantity of the Poisson check).  Every metric
kept is *monotone*: removing satellites can only make it worse.  The mean gap duration and the number of gaps are
left out on purpose -- splitting one long outage into two shorter ones lowers the mean gap while service got worse.

Resilience curves use common random numbers: draw ``i`` of every intensity uses seed ``seed + i``, and the
attacks take the first ``k`` of one seeded permutation, so a curve is monotone draw by draw, and the bands
(5th-95th percentile of the draws, and a 95 % confidence interval of the mean) are comparable across intensities.

The Poisson check: if the number of satellites in view were Poisson with mean ``lambda``, removing each satellite
with probability ``f`` would leave ``P(>= 1 in view) = 1 - exp(-lambda (1 - f))``.  Counts of a real
constellation are more regular than Poisson, so the formula is an approximation the simulation should match
within a few percentage points where ``lambda (1 - f)`` is not tiny; the exact thinning of the observed counts,
``1 - E[f^N]``, is reported beside it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from skyfence.threats.viewsets import ViewSets

__all__ = [
    "HIGHER_IS_BETTER",
    "METRICS",
    "draw_metrics",
    "poisson_check",
    "random_attrition_steps",
    "resilience_curve",
]

#: Figures of merit reported per draw (region_statistics names, plus p_at_least_one).
METRICS = (
    "coverage_fraction",
    "coverage_fraction_worst_cell",
    "area_fully_covered_fraction",
    "sats_in_view_mean",
    "p_at_least_one",
    "max_gap_s",
)
#: Direction of each metric: True when more is better (an attack may only lower it).
HIGHER_IS_BETTER = {
    "coverage_fraction": True,
    "coverage_fraction_worst_cell": True,
    "area_fully_covered_fraction": True,
    "sats_in_view_mean": True,
    "p_at_least_one": True,
    "max_gap_s": False,
}


def draw_metrics(view: ViewSets, removed_at_step: np.ndarray | None, *, min_sats: int = 1) -> dict[str, float]:
    """Figures of merit of one draw over the view's region (see the module docstring)."""
    from skyfence.coverage.merit import MeritAccumulator, region_statistics

    counts = view.counts(removed_at_step)
    acc = MeritAccumulator(n_points=counts.shape[1], step_s=view.step_s, min_sats=min_sats)
    acc.update(counts)
    stats = region_statistics(acc.result(), view.area_km2)
    out = {k: float(stats[k]) for k in METRICS if k in stats}
    out["p_at_least_one"] = float((counts >= 1).mean()) if counts.size else 0.0
    return out


def random_attrition_steps(view: ViewSets, fraction: float, seed: int, targets: np.ndarray | None = None) -> np.ndarray:
    """``removed_at_step`` for random removal of ``fraction`` of ``targets`` (all satellites by default)."""
    from skyfence.threats.attrition import draw_fraction

    hit = np.ones(view.n_satellites, dtype=bool) if targets is None else np.asarray(targets, dtype=bool)
    return view.removal_steps(removed=draw_fraction(hit, fraction, seed))


def resilience_curve(
    view: ViewSets,
    attack: Callable[[float, int], np.ndarray | None],
    intensities: Sequence[float],
    *,
    draws: int = 20,
    seed: int = 0,
    min_sats: int = 1,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Metrics against attack intensity.

    ``attack(intensity, seed)`` returns ``removed_at_step`` for one draw.  Returns the per-draw table
    (``intensity``, ``draw``, ``seed``, metrics) and the summary per intensity and metric (``mean``, ``ci_low``,
    ``ci_high`` -- 95 % of the mean -- ``p05``, ``p50``, ``p95``).
    """
    rows = []
    for x in intensities:
        for i in range(int(draws)):
            rows.append(
                {
                    "intensity": float(x),
                    "draw": i,
                    "seed": seed + i,
                    **draw_metrics(view, attack(float(x), seed + i), min_sats=min_sats),
                }
            )
    table = pd.DataFrame(rows)
    return table, summarise(table)


def summarise(table: pd.DataFrame) -> pd.DataFrame:
    """Per intensity and metric: mean with a 95 % confidence interval, and the 5th/50th/95th percentiles."""
    out = []
    for x, group in table.groupby("intensity", sort=True):
        n = len(group)
        for metric in METRICS:
            if metric not in group:
                continue
            v = group[metric].to_numpy(float)
            half = 1.96 * float(np.std(v, ddof=1)) / np.sqrt(n) if n > 1 else 0.0
            mean = float(np.mean(v))
            out.append(
                {
                    "intensity": float(x),
                    "metric": metric,
                    "draws": n,
                    "mean": mean,
                    "ci_low": mean - half,
                    "ci_high": mean + half,
                    "p05": float(np.percentile(v, 5)),
                    "p50": float(np.median(v)),
                    "p95": float(np.percentile(v, 95)),
                }
            )
    return pd.DataFrame(out)


def poisson_check(
    view: ViewSets, fractions: Sequence[float] = (0.1, 0.5, 0.9), *, draws: int = 20, seed: int = 0
) -> pd.DataFrame:
    """Simulated ``P(>= 1 in view)`` under random removal against ``1 - exp(-lambda (1 - f))``.

    One row per fraction: ``lambda`` (unattacked mean in view over all ``(time, cell)``), ``simulated`` (mean over
    draws), ``poisson``, ``thinned`` (``1 - E[f^N]`` from the unattacked counts), and the differences [pp].
    """
    lam = float(view.count.mean())
    counts = view.count.astype(float).ravel()
    rows = []
    for f in fractions:
        sim = np.mean(
            [draw_metrics(view, random_attrition_steps(view, f, seed + i))["p_at_least_one"] for i in range(int(draws))]
        )
        poisson = 1.0 - np.exp(-lam * (1.0 - f))
        thinned = 1.0 - float(np.mean(float(f) ** counts))
        rows.append(
            {
                "fraction": float(f),
                "lambda": lam,
                "simulated": float(sim),
                "poisson": float(poisson),
                "thinned": thinned,
                "diff_poisson_pp": 100.0 * (sim - poisson),
                "diff_thinned_pp": 100.0 * (sim - thinned),
            }
        )
    return pd.DataFrame(rows)
