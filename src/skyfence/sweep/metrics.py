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

__all__ = [
    "after_first",
    "has_attacks",
    "is_after_attacks",
    "metric_header",
    "metric_scale",
    "metric_unit",
    "metrics_of",
]

_COVERAGE = ("coverage_fraction", "coverage_fraction_worst_cell", "sats_in_view_mean", "max_gap_s")
_CAPACITY = ("served_fraction", "mbps_per_user_median", "served_gbps_mean", "offered_gbps_mean", "demand_gbps")
_THREAT_AFTER = ("coverage_fraction", "sats_in_view_mean", "max_gap_s")
_THREAT_CAPACITY = ("served_fraction", "mbps_per_user_median", "offered_gbps_mean", "share_above_25_mbps")
_LATENCY = ("median_rtt_ms", "p95_rtt_ms", "reachable_share")


#: How a report names each number of a column: ``number -> (what it is, unit)``; a unit of ``%`` means the column
#: holds a share from 0 to 1 that a report shows times 100 (:func:`metric_scale`).
_LABELS: dict[str, tuple[str, str]] = {
    "coverage_fraction": ("coverage (share of time)", "%"),
    "coverage_fraction_worst_cell": ("coverage of the worst cell", "%"),
    "sats_in_view_mean": ("satellites in view (mean)", "count"),
    "max_gap_s": ("longest gap", "s"),
    "served_fraction": ("busy-hour demand served", "%"),
    "mbps_per_user_median": ("Mb/s per user (median)", "Mb/s"),
    "served_gbps_mean": ("served (mean)", "Gb/s"),
    "offered_gbps_mean": ("offered (mean)", "Gb/s"),
    "demand_gbps": ("demand in the busy hour", "Gb/s"),
    "share_above_25_mbps": ("users with at least 25 Mb/s", "%"),
    "median_rtt_ms": ("median RTT", "ms"),
    "p95_rtt_ms": ("95th percentile RTT", "ms"),
    "reachable_share": ("reachable (share of time)", "%"),
    "satellites_lost_mean": ("satellites lost (mean)", "count"),
    "reachable_after": ("reachable (share of time)", "%"),
    "median_rtt_after_ms": ("median RTT", "ms"),
    "served_share": ("area served", "%"),
}
#: The words before a number, by the part of its column; "after the attacks" parts are the answer of a threat sweep.
_PARTS = {
    "coverage": "",
    "capacity": "capacity: ",
    "latency": "",
    "policy": "policy: ",
    "threats.after": "after the attacks: ",
    "threats.capacity.before": "before the attacks, capacity: ",
    "threats.capacity.after": "after the attacks, capacity: ",
    "threats.reachable_after": "after the attacks: ",
    "threats.median_rtt_after_ms": "after the attacks: ",
    "threats.satellites_lost_mean": "the attacks: ",
}
_AFTER = {"threats.after", "threats.capacity.after", "threats.reachable_after", "threats.median_rtt_after_ms"}


def _split(column: str) -> tuple[str, str, str]:
    """``part.number[qualifiers]`` -> ``(part, number, qualifiers)``."""
    name, _, quals = column.partition("[")
    part, _, number = name.rpartition(".")
    return part, number, quals.rstrip("]")


def metric_unit(column: str) -> str:
    """The unit a report shows a column in (``ms``, ``%``, ``count`` ...); ``""`` for a column it does not know."""
    return _LABELS.get(_split(column)[1], ("", ""))[1]


def metric_scale(column: str) -> float:
    """What a report multiplies a column's values by to show them in :func:`metric_unit` (100 for shares)."""
    return 100.0 if metric_unit(column) == "%" else 1.0


def metric_header(column: str, *, attacked: bool = False) -> str:
    """A column as a reader sees it: ``after the attacks: median RTT (Taipei) [ms]``; an unknown column as it is.

    ``attacked``: the table also has numbers after attacks, so the coverage, capacity and latency units (computed
    without them) are said to be "before the attacks".
    """
    part, number, quals = _split(column)
    if number not in _LABELS:
        return column
    label, unit = _LABELS[number]
    prefix = _PARTS.get(f"{part}.{number}", _PARTS.get(part, ""))
    if attacked and part in ("coverage", "capacity", "latency"):
        prefix = "before the attacks, " + (prefix or "")
    where = f" ({quals.replace(',', ', ')})" if quals else ""
    return f"{prefix}{label}{where} [{unit}]"


def is_after_attacks(column: str) -> bool:
    """Whether a column is a number after a variant's attacks (the answer of a threat sweep)."""
    part, number, _ = _split(column)
    return part in _AFTER or f"{part}.{number}" in _AFTER


def has_attacks(columns) -> bool:
    """Whether a table has numbers after attacks (then its other numbers are said to be before them)."""
    return any(is_after_attacks(str(c)) for c in columns)


def after_first(columns: list[str]) -> list[str]:
    """``columns`` with the numbers after a variant's attacks first, the others after them, each in given order."""
    return [c for c in columns if is_after_attacks(c)] + [c for c in columns if not is_after_attacks(c)]


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
