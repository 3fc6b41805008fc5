"""The headline numbers of one scenario run, flattened into the columns of a sweep table.

Column names are ``<part>.<number>`` (``coverage.coverage_fraction``, ``threats.after.coverage_fraction``,
``latency.median_rtt_ms``, ``capacity.served_fraction``, ``policy.served_share``; capacity before and after a
variant's threats (:mod:`skyfence.threats.capacity_impact`): ``threats.capacity.before.served_fraction``,
``threats.capacity.after.mbps_per_user_median``), qualified only where the
scenario has more than one of something: ``[variant]`` when it has several variants, then the constellation,
the region or the terminal when a variant has several (``latency.median_rtt_ms[Taipei]``).  The numbers are read
from the typed summary, so a column means exactly what the ``assess`` report shows under the same key.
"""

from __future__ import annotations

from typing import Any

from skyfence.scenario.summary import Summary

__all__ = ["metrics_of"]

_COVERAGE = ("coverage_fraction", "coverage_fraction_worst_cell", "sats_in_view_mean", "max_gap_s")
_CAPACITY = ("served_fraction", "mbps_per_user_median", "served_gbps_mean", "offered_gbps_mean", "demand_gbps")
_THREAT_AFTER = ("coverage_fraction", "sats_in_view_mean", "max_gap_s")
_THREAT_CAPACITY = ("served_fraction", "mbps_per_user_median", "offered_gbps_mean", "share_above_25_mbps")
_LATENCY = ("median_rtt_ms", "p95_rtt_ms", "reachable_share")


def _number(value: Any) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def metrics_of(summary: Summary) -> dict[str, float | None]:
    """Every headline number of ``summary`` as ``{column: value}`` (module docstring); the order is fixed."""
    out: dict[str, float | None] = {}
    several_variants = len(summary.variants) > 1

    def name(part: str, number: str, *qualifiers: str) -> str:
        quals = [q for q in qualifiers if q]
        return f"{part}.{number}" + (f"[{','.join(quals)}]" if quals else "")

    for variant in summary.variants:
        v = variant.name if several_variants else ""
        many_c = len({u.constellation for u in variant.coverage}) > 1
        many_r = len({u.region_spec for u in variant.coverage}) > 1

        def where(constellation: str, region: str, v: str = v, many_c: bool = many_c, many_r: bool = many_r):
            return (v, constellation if many_c else "", region if many_r else "")

        for unit in variant.coverage:
            for key in _COVERAGE:
                out[name("coverage", key, *where(unit.constellation, unit.region_spec))] = _number(getattr(unit, key))
        for cap in variant.capacity:
            for key in _CAPACITY:
                out[name("capacity", key, *where(cap.constellation, cap.region_spec))] = _number(getattr(cap, key))
        for threat in variant.threats:
            q = where(threat.constellation, threat.region_spec)
            for key in _THREAT_AFTER:
                row = threat.after.get(key) or {}
                out[name("threats.after", key, *q)] = _number(row.get("mean"))
            out[name("threats", "satellites_lost_mean", *q)] = _number(threat.satellites_lost_mean)
            capacity = threat.capacity or {}
            cases = capacity.get("cases") or {}
            if cases:
                # after every threat of the variant (its "after" case); no case when nothing was hit: as before
                after = cases.get(capacity.get("after_case") or "", cases.get("before", {}))
                for label, figures in (("before", cases.get("before", {})), ("after", after)):
                    for key in _THREAT_CAPACITY:
                        out[name(f"threats.capacity.{label}", key, *q)] = _number(figures.get(key))
            for reach in threat.reachability:
                t = (*q[:2], reach.get("terminal", ""))
                out[name("threats", "reachable_after", *t)] = _number(reach.get("reachable_after"))
                out[name("threats", "median_rtt_after_ms", *t)] = _number(reach.get("median_rtt_after_ms"))
        many_l = len({u.constellation for u in variant.latency}) > 1
        for lat in variant.latency:
            for terminal in lat.terminals:
                q = (v, lat.constellation if many_l else "", terminal.terminal)
                for key in _LATENCY:
                    out[name("latency", key, *q)] = _number(getattr(terminal, key, None))
        many_p = len(variant.policy) > 1
        for pol in variant.policy:
            out[name("policy", "served_share", v, pol.region_spec if many_p else "")] = _number(pol.served_share)
    return out
