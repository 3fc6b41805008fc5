"""Key findings: plain-language sentences generated from a run's summary, each carrying its numbers.

Each finding names its variant and is built from numbers already in the summary: a sentence is written only
when every number it needs exists, so there are no template blanks.  A finding keeps its ``template`` (the text
with ``{0}``, ``{1}`` ... where the numbers go) and, per number, the summary key it comes from, the value and
how it is shown (:func:`skyfence.report.html.format_number` kinds), so the report can mark each number and a
test can check each against ``summary.json``.
"""

from __future__ import annotations

import math
from typing import Any

from skyfence.policy.availability import SERVED
from skyfence.scenario.summary import Finding, FindingNumber, Summary

__all__ = ["MAX_FINDINGS", "format_value", "key_findings"]

MAX_FINDINGS = 8

#: How a status category reads in a sentence.
_CATEGORY = {
    "served": "served",
    "degraded": "served at degraded quality",
    "registered_only": "served to registered terminals only",
    "coming_soon": "'coming soon'",
    "pending_regulatory": "pending regulatory approval",
    "unknown": "of unknown status",
    "exclude": "excluded from service",
    "blacklisted": "blacklisted",
    "denied": "denied service by a rule",
    "no_rule": "not covered by any rule",
}


def format_value(value: float, kind: str) -> str:
    """The text of a number in a finding (same kinds as the report's tables; signed kinds use a minus sign)."""
    v = float(value)
    if kind == "pct":
        return f"{100 * v:.0f}%" if abs(100 * v - round(100 * v)) < 1e-9 else f"{100 * v:.1f}%"
    if kind == "f1":
        return f"{v:.1f}"
    if kind == "int":
        return f"{v:,.0f}"
    if kind == "abs1":
        return f"{abs(v):.1f}"
    raise ValueError(f"unknown finding number kind {kind!r}")


class _Sentence:
    def __init__(self, topic: str, variant: str, rank: int = 1) -> None:
        self.topic, self.variant, self.rank = topic, variant, rank
        self.template = ""
        self.numbers: list[FindingNumber] = []
        self.complete = True

    def text(self, literal: str) -> _Sentence:
        self.template += literal.replace("{", "(").replace("}", ")")
        return self

    def num(self, key: str, value: Any, kind: str) -> _Sentence:
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            self.complete = False
            return self
        self.template += "{" + str(len(self.numbers)) + "}"
        self.numbers.append(FindingNumber(key=key, value=float(value), kind=kind, text=format_value(value, kind)))
        return self

    def finding(self) -> Finding | None:
        if not self.complete:
            return None
        text = self.template.format(*(n.text for n in self.numbers))
        return Finding(topic=self.topic, variant=self.variant, text=text, template=self.template, numbers=self.numbers)


def _coverage(summary: Summary) -> list[_Sentence]:
    """One sentence per constellation, over the first region, in the first variant that runs it."""
    out: list[_Sentence] = []
    seen: set[str] = set()
    first_region = summary.regions[0].spec if summary.regions else None
    for vi, variant in enumerate(summary.variants):
        for ci, unit in enumerate(variant.coverage):
            if unit.constellation in seen or unit.region_spec != first_region:
                continue
            seen.add(unit.constellation)
            key = f"variants.{vi}.coverage.{ci}"
            s = _Sentence("coverage", variant.name, 1 if not out else 2).text(f"{variant.title}: {unit.label} ")
            if unit.coverage_fraction_worst_cell == 1.0:
                s.text(f"covers all of {unit.region} all of the time, with ")
                s.num(f"{key}.sats_in_view_min", unit.sats_in_view_min, "int").text("–")
                s.num(f"{key}.sats_in_view_max", unit.sats_in_view_max, "int").text(" satellites in view (mean ")
                s.num(f"{key}.sats_in_view_mean", unit.sats_in_view_mean, "f1").text(").")
            else:
                s.text(f"covers {unit.region} ")
                s.num(f"{key}.coverage_fraction", unit.coverage_fraction, "pct").text(" of the time on average; ")
                s.text("the worst-served place ").num(
                    f"{key}.coverage_fraction_worst_cell", unit.coverage_fraction_worst_cell, "pct"
                )
                s.text(", with gaps of up to ").num(f"{key}.max_gap_s", unit.max_gap_s, "int").text(" s.")
            out.append(s)
    return out


#: Said with every round-trip time a finding quotes: the latency model is propagation only (findings get quoted
#: without the table's note), and skyfence assess computes no queueing/processing model to quote beside it.
_RTT_LOWER_BOUND = "(propagation only: a lower bound, measured latency is higher)"


def _latency(summary: Summary) -> list[_Sentence]:
    """Where traffic from each terminal leaves the network and its median RTT, then each variant's change."""
    out: list[_Sentence] = []
    if not summary.variants or not summary.variants[0].latency:
        return out
    base = summary.variants[0]
    unit = base.latency[0]
    for ti, terminal in enumerate(unit.terminals[:2]):
        if not terminal.pops:
            continue
        key = f"variants.0.latency.0.terminals.{ti}"
        pop = terminal.pops[0]
        rank = 1 if ti == 0 else 3
        s = _Sentence("latency", base.name, rank)
        after = " after its attacks" if unit.state == "after attacks" else ""
        s.text(f"{base.title}{after}: traffic from {terminal.terminal} over {unit.label} ")
        s.text(f"leaves the network at {pop.name}; the median round-trip time to that exit point is ")
        s.num(f"{key}.median_rtt_ms", terminal.median_rtt_ms, "f1").text(f" ms {_RTT_LOWER_BOUND}.")
        out.append(s)
        for di, row in enumerate(summary.diff):
            if (row.kind, row.constellation, row.where) != ("latency", unit.constellation, terminal.terminal):
                continue
            vi = next(i for i, v in enumerate(summary.variants) if v.name == row.variant)
            variant = summary.variants[vi]
            li = next(i for i, u in enumerate(variant.latency) if u.constellation == unit.constellation)
            tj = next(j for j, t in enumerate(variant.latency[li].terminals) if t.terminal == terminal.terminal)
            other = variant.latency[li].terminals[tj]
            delta = row.delta_median_rtt_ms
            if delta is None or abs(delta) < 0.05 or variant.threats:
                continue  # an attacked variant's RTT after its attacks is said in its threats finding
            verb = "cuts" if delta < 0 else "raises"
            moved = other.pops and other.pops[0].name != pop.name
            s = _Sentence("latency", variant.name, rank).text(f"{variant.title}: ")
            s.text(f"traffic from {terminal.terminal} leaves at {other.pops[0].name}, which " if moved else "")
            s.text(f"{verb} the median round-trip time to ")
            s.num(f"variants.{vi}.latency.{li}.terminals.{tj}.median_rtt_ms", other.median_rtt_ms, "f1")
            s.text(" ms (").num(f"diff.{di}.delta_median_rtt_ms", delta, "abs1")
            s.text(" ms " + ("less" if delta < 0 else "more") + f"; {_RTT_LOWER_BOUND[1:-1]}).")
            out.append(s)
    return out


def _policy(summary: Summary) -> list[_Sentence]:
    """Who may be served in the first region under each variant's policy, and who gains or loses service."""
    out = []
    first_region = summary.regions[0].spec if summary.regions else None
    said: set[str] = set()
    for vi, variant in enumerate(summary.variants):
        for pi, unit in enumerate(variant.policy):
            if unit.region_spec != first_region or unit.policy_id in said:
                continue
            said.add(unit.policy_id)
            key = f"variants.{vi}.policy.{pi}"
            top = max(unit.area_share, key=lambda k: unit.area_share[k])
            s = _Sentence("policy", variant.name).text(f"{variant.title}: under the policy '{unit.policy}', ")
            registered = unit.area_share.get("registered_only", 0.0)
            if unit.area_share[top] >= 0.999:
                s.text(f"all of {unit.region} is {_CATEGORY[top]}.")
            elif registered > 0.0:
                s.num(f"{key}.area_share.registered_only", registered, "pct")
                s.text(f" of {unit.region} is served to registered (whitelisted) terminals only, ")
                s.num(f"{key}.area_share.served", unit.area_share.get("served"), "pct").text(" to any terminal.")
            else:
                s.num(f"{key}.served_share", unit.served_share, "pct")
                s.text(f" of {unit.region} may be served to an ordinary terminal")
                unserved = [k for k in unit.area_share if k not in SERVED]
                worst = max(unserved, key=lambda k: unit.area_share[k]) if unserved else None
                if worst is not None and unit.area_share[worst] >= 0.01:
                    s.text("; ").num(f"{key}.area_share.{worst}", unit.area_share[worst], "pct").text(
                        f" is {_CATEGORY[worst]}"
                    )
                s.text(".")
            out.append(s)
    for di, change in enumerate(summary.policy_diff):
        if change.region_spec != first_region or change.cells_changed == 0:
            continue
        variant = next(v for v in summary.variants if v.name == change.variant)
        against = next(v for v in summary.variants if v.name == change.against)
        key = f"policy_diff.{di}"
        s = _Sentence("policy", variant.name).text(f"{variant.title} against {against.title}: ")
        s.num(f"{key}.cells_changed", change.cells_changed, "int").text(" of ")
        s.num(f"{key}.cells_total", change.cells_total, "int").text(f" areas of {change.region} change status")
        parts = [
            ("people_gaining_service", change.people_gaining_service, "gain service"),
            ("people_losing_service", change.people_losing_service, "lose service"),
            ("people_still_served", change.people_still_served, "stay served with another status (e.g. degraded)"),
            ("people_still_unserved", change.people_still_unserved, "stay without service under another rule"),
        ]
        parts = [p for p in parts if p[1]]
        if change.people and parts:
            # every person affected falls in exactly one part, so the parts add up to the total the sentence gives
            s.text("; for an ordinary, unregistered terminal (registered terminals only is no service), ")
            s.num(f"{key}.people", change.people, "int").text(" people in cities are affected: ")
            for i, (name, value, what) in enumerate(parts):
                s.text(", " if 0 < i < len(parts) - 1 else (" and " if i else ""))
                s.num(f"{key}.{name}", value, "int").text(f" {what}")
        s.text(".")
        out.append(s)
    return out


def _capacity(summary: Summary) -> list[_Sentence]:
    """Per variant and constellation with a capacity unit over the first region: the share of the busy-hour demand
    carried (Gb/s of Gb/s) and the median Mb/s per user -- the question a capacity run asks."""
    out: list[_Sentence] = []
    first_region = summary.regions[0].spec if summary.regions else None
    for vi, variant in enumerate(summary.variants):
        for ci, unit in enumerate(variant.capacity):
            if unit.region_spec != first_region or unit.served_fraction is None or variant.threats:
                continue  # an attacked variant's capacity table is before its attacks: its threats finding says both
            first = next(
                (
                    u
                    for u in summary.variants[0].capacity
                    if (u.constellation, u.region_spec) == (unit.constellation, unit.region_spec)
                ),
                None,
            )
            if vi > 0 and (
                first is None
                or first.served_fraction is None
                or format_value(first.served_fraction, "pct") == format_value(unit.served_fraction, "pct")
            ):
                continue  # the same as the first variant: nothing new to say
            key = f"variants.{vi}.capacity.{ci}"
            s = _Sentence("capacity", variant.name, 1 if vi == 0 else 2).text(f"{variant.title}: ")
            _demand_terms(s, summary)
            s.text(f"{unit.label} would carry ").num(f"{key}.served_fraction", unit.served_fraction, "pct")
            s.text(f" of {unit.region}'s busy-hour demand (").num(
                f"{key}.served_gbps_mean", unit.served_gbps_mean, "f1"
            )
            s.text(" of ").num(f"{key}.demand_gbps", unit.demand_gbps, "f1").text(
                " Gb/s, mean over the run's time steps)"
            )
            if unit.mbps_per_user_median is not None:
                s.text("; the median busy-hour rate per user (over users and time steps) is ")
                s.num(f"{key}.mbps_per_user_median", unit.mbps_per_user_median, "f1").text(" Mb/s")
            s.text(".")
            out.append(s)
    return out


def _demand_terms(s: _Sentence, summary: Summary) -> None:
    """ "at a 1% take rate (2.5 Mb/s per subscriber in the busy hour, 20:1 contention), ": the demand a capacity
    figure is a share of (a served share means nothing without it)."""
    settings = summary.capacity_settings or {}
    if settings.get("take_rate") is None:
        return
    s.text("at a ").num("capacity_settings.take_rate", settings["take_rate"], "pct").text(" take rate (")
    s.num("capacity_settings.busy_hour_mbps", settings.get("busy_hour_mbps"), "f1")
    s.text(" Mb/s per subscriber in the busy hour, one in ")
    s.num("capacity_settings.oversubscription", settings.get("oversubscription"), "int").text(" active at once), ")


def _threats(summary: Summary) -> list[_Sentence]:
    """Per threatened variant, constellation and region: satellites lost, coverage and Mb/s per user before and
    after, and terminals left unreachable."""
    out: list[_Sentence] = []
    for vi, variant in enumerate(summary.variants):
        for ti, t in enumerate(variant.threats):  # every region: a threat's effect differs from place to place
            key = f"variants.{vi}.threats.{ti}"
            s = _Sentence("threats", variant.name, 1).text(f"{variant.title}: for {t.label} over {t.region}, ")
            said = False
            if t.satellites_lost_mean >= 0.5:
                only_debris = bool(t.debris) and not any(x.get("kind") == "attrition" for x in t.threats)
                s.text("the ASAT debris (first-order model) destroys " if only_debris else "the attacks destroy ")
                s.num(f"{key}.satellites_lost_mean", t.satellites_lost_mean, "int")
                s.text(" of ").num(f"{key}.satellites", t.satellites, "int").text(" satellites (mean over the draws); ")
                said = True
            cov_after = (t.after.get("coverage_fraction") or {}).get("mean")
            cov_before = t.before.get("coverage_fraction")
            if said and cov_after is not None and cov_before is not None and cov_before - cov_after >= 0.0005:
                s.text("coverage falls from ").num(f"{key}.before.coverage_fraction", cov_before, "pct")
                s.text(" to ").num(f"{key}.after.coverage_fraction.mean", cov_after, "pct").text(" of the time; ")
            if t.jammed_share_mean is not None:
                s.text("jammers drown the satellite signal (J/S >= 0 dB) ")
                s.num(f"{key}.jammed_share_mean", t.jammed_share_mean, "pct").text(" of the served time; ")
                said = True
            cap = t.capacity or {}
            cases = cap.get("cases") or {}
            after = cap.get("after_case")
            if "before" in cases and after in cases and after != "before":
                ck = f"{key}.capacity.cases"
                for what, metric, kind, unit, sep in (
                    (
                        "the median busy-hour rate per user (over users and time steps)",
                        "mbps_per_user_median",
                        "f1",
                        " Mb/s",
                        ", ",
                    ),
                    (
                        "the share of user-time with any service",
                        "users_with_service",
                        "pct",
                        "",
                        " and ",
                    ),
                    ("the share of demand served", "served_fraction", "pct", "", "; "),
                ):
                    a, b = cases["before"].get(metric), cases[after].get(metric)
                    if a is None or b is None:
                        s.complete = False
                        continue
                    if format_value(a, kind) == format_value(b, kind):
                        s.text(f"{what} stays at ").num(f"{ck}.before.{metric}", a, kind).text(unit + sep)
                    else:
                        s.text(f"{what} goes from ").num(f"{ck}.before.{metric}", a, kind).text(" to ")
                        s.num(f"{ck}.{after}.{metric}", b, kind).text(unit + sep)
                said = True
            lost = [r for r in t.reachability if r.get("reachable_before", 0) > 0 and r.get("reachable_after") == 0]
            if lost:
                s.text(", ".join(r["terminal"] for r in lost) + " can no longer reach the Internet; ")
                said = True
            for ri, r in enumerate(t.reachability[:1]):
                before, after_ms = r.get("median_rtt_before_ms"), r.get("median_rtt_after_ms")
                if r in lost or before is None or after_ms is None or after_ms - before < 5.0:
                    continue
                via = f" through {r['gateways_after'][0]}" if r.get("gateways_after") else ""
                s.text(f"traffic from {r['terminal']} lands{via}, and its median round-trip time rises from ")
                s.num(f"{key}.reachability.{ri}.median_rtt_before_ms", before, "f1").text(" to ")
                s.num(f"{key}.reachability.{ri}.median_rtt_after_ms", after_ms, "f1").text(f" ms {_RTT_LOWER_BOUND}; ")
                said = True
            if not said:
                continue
            s.template = s.template.rstrip("; ") + "."
            out.append(s)
    return out


def key_findings(summary: Summary) -> list[Finding]:
    """Up to :data:`MAX_FINDINGS` sentences about what the run found: coverage, capacity, threats, latency and
    policy."""
    sentences = [
        *_coverage(summary),
        *_capacity(summary),
        *_threats(summary),
        *_latency(summary),
        *_policy(summary),
    ]
    complete = [(s.rank, i, s) for i, s in enumerate(sentences) if s.complete]
    # The most important sentences of every topic first; then back into page order (coverage, latency, policy).
    chosen = sorted(sorted(complete, key=lambda c: (c[0], c[1]))[:MAX_FINDINGS], key=lambda c: c[1])
    return [f for _, _, s in chosen if (f := s.finding()) is not None]
