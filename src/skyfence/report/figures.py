"""The report's figures, drawn from the units' data: coverage maps, availability maps, policy changes, latency.

Every map goes through :func:`skyfence.report.maps.draw_cells`, the same function ``skyfence coverage --out``
uses.  Coverage maps choose the figure that varies (:func:`coverage_metric`): when every cell is covered all
the time, a coverage-fraction map would be one flat colour, so the fewest satellites in view is shown instead,
and the caption says why.  Panels of one figure share one colour scale.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from skyfence._io import atomic_outputs
from skyfence.policy.availability import AVAILABILITY_LABELS
from skyfence.policy.availability import SERVED as _SERVED
from skyfence.policy.availability import SERVED_UNREGISTERED as _SERVED_UNREGISTERED
from skyfence.report.maps import Panel, draw_cells

__all__ = [
    "AVAILABILITY_COLOURS",
    "AVAILABILITY_LABELS",
    "CHANGE_COLOURS",
    "COVERAGE_METRICS",
    "Figure",
    "coverage_maps",
    "coverage_metric",
    "figures",
    "legend_label",
]


@dataclass(frozen=True)
class Figure:
    """A PNG with its file name (under ``maps/``), alt text and caption."""

    name: str
    png: bytes
    alt: str
    caption: str


@dataclass(frozen=True)
class Metric:
    column: str
    title: str
    unit_label: str
    cmap: str
    vmin: float | None = None
    vmax: float | None = None


#: Per-cell coverage figures in order of preference: the first that varies over the cells is mapped.
COVERAGE_METRICS = (
    Metric(
        "coverage_fraction",
        "Share of the run's time with a satellite in view",
        "share of time covered [%]",
        "magma",
        0.0,
        100.0,
    ),
    Metric(
        "sats_in_view_min",
        "Fewest satellites in view at any moment",
        "satellites in view, minimum [count]",
        "viridis",
        0.0,
    ),
    Metric(
        "fraction_at_least_4",
        "Share of time with at least 4 satellites in view",
        "share of time with ≥ 4 satellites [%]",
        "magma",
        0.0,
        100.0,
    ),
    Metric("sats_in_view_mean", "Satellites in view on average", "satellites in view, mean [count]", "viridis", 0.0),
)
_PERCENT = {"coverage_fraction", "fraction_at_least_4"}

#: Colours of availability categories: greens served, blues/purples/greys not served for a status, red denied.
AVAILABILITY_COLOURS = {
    "served": "#2e9e4f",
    "degraded": "#a6d96a",
    "registered_only": "#66c2a4",
    "coming_soon": "#6baed6",
    "pending_regulatory": "#fd8d3c",
    "unknown": "#bdbdbd",
    "exclude": "#9e9ac8",
    "blacklisted": "#252525",
    "denied": "#cb181d",
    "no_rule": "#f7f7f7",
}
#: Colours of a change between two policies for an unregistered terminal: green better, red worse (the captions
#: name the same colours, from this table).
CHANGE_COLOURS = {
    "gains service": ("#1a9850", "green"),
    "loses service": ("#d73027", "red"),
    "changes, served either way": ("#fdae61", "orange"),
    "changes, unserved either way": ("#b8a8d8", "purple"),
    "no change": ("#f0f0f0", "light grey"),
}


def legend_label(category: str) -> str:
    """How a map legend names an availability category (``not served: coming soon``)."""
    label = AVAILABILITY_LABELS[category]
    return label if category in _SERVED else f"not served: {label}"


def _cells(column) -> np.ndarray:
    return np.array([int(c, 16) for c in column], dtype=np.uint64)


def _values(frame: pd.DataFrame, column: str) -> np.ndarray:
    values = frame[column].to_numpy(dtype=float)
    return 100.0 * values if column in _PERCENT else values


def coverage_metric(tables: list[pd.DataFrame]) -> tuple[Metric, str]:
    """The first metric of :data:`COVERAGE_METRICS` whose values vary over the cells of ``tables``, and why."""
    for i, metric in enumerate(COVERAGE_METRICS[:-1]):
        values = np.concatenate([_values(t, metric.column) for t in tables]) if tables else np.array([])
        values = values[np.isfinite(values)]
        if values.size and np.ptp(values) > 0:
            if i == 0:
                return metric, ""
            skipped = COVERAGE_METRICS[0].title.lower()
            return metric, (
                f"Every cell has a satellite in view all of the time, so a map of the {skipped} would be one flat "
                f"colour; this map shows the {metric.title.lower()} instead."
            )
    return COVERAGE_METRICS[-1], "Every cell is covered all of the time by the same number of satellites at least."


class FigureCache:
    """Drawn figures stored by the hash of what they show (data unit keys, labels, settings, this code).

    Units cache data only; drawing a dozen maps takes seconds, so the report keeps its own cache of figures
    under ``<cache>/figures/<key>/`` (``figures.json`` and the PNGs).  ``root=None`` draws every time.
    """

    def __init__(self, root: Path | None) -> None:
        self.root = root

    @staticmethod
    @functools.lru_cache(maxsize=1)
    def _code() -> str:
        here = Path(__file__).parent
        digest = hashlib.sha256()
        for name in ("figures.py", "maps.py", "threat_figures.py"):
            digest.update((here / name).read_bytes())
        return digest.hexdigest()

    def get(self, parts: dict[str, Any], draw: Callable[[], list[Figure]]) -> list[Figure]:
        if self.root is None:
            return draw()
        from skyfence._version import __version__

        payload = json.dumps({"version": __version__, "code": self._code(), **parts}, sort_keys=True, default=str)
        folder = self.root / hashlib.sha256(payload.encode()).hexdigest()
        manifest = folder / "figures.json"
        if manifest.is_file():
            entries = json.loads(manifest.read_text())
            return [Figure(e["name"], (folder / e["name"]).read_bytes(), e["alt"], e["caption"]) for e in entries]
        drawn = draw()
        with atomic_outputs(folder) as staging:
            for figure in drawn:
                (staging / figure.name).write_bytes(figure.png)
            entries = [{"name": f.name, "alt": f.alt, "caption": f.caption} for f in drawn]
            (staging / "figures.json").write_text(json.dumps(entries))
        return drawn


def figures(
    summary: dict[str, Any], data: dict[str, Path], regions: dict[str, Any], cache: FigureCache | None = None
) -> dict[str, list[Figure]]:
    """All figures of the report, per section id (``coverage``, ``policy``, ``latency``, ``threats``)."""
    cache = cache or FigureCache(None)
    out: dict[str, list[Figure]] = {"coverage": [], "capacity": [], "policy": [], "latency": [], "threats": []}
    if data:
        from skyfence.report.threat_figures import threat_figures

        out["coverage"] = coverage_figures(summary, data, regions, cache)
        out["capacity"] = capacity_figures(summary, data, regions, cache)
        out["policy"] = policy_figures(summary, data, regions, cache)
        out["threats"] = threat_figures(summary, data, regions, cache)
    latency = [v["latency"] for v in summary["variants"]]
    out["latency"] = cache.get(
        {"figure": "latency", "latency": latency, "titles": [v["title"] for v in summary["variants"]]},
        lambda: [f for f in [latency_figure(summary)] if f is not None],
    )
    return out


def coverage_maps(
    tables: list[tuple[str, pd.DataFrame]],
    *,
    region: str,
    name: str,
    min_elevation_deg: float,
    span: str = "",
    outline=None,
    pov: str = "default",
) -> list[Figure]:
    """The coverage maps of one region, one panel per ``(label, per-cell table)``, on shared colour scales.

    The first map shows the metric that varies (:func:`coverage_metric`), the second the mean satellites in view
    (unless that is the first).  Used by the assess report and by ``skyfence coverage --out``.
    """
    metric, why = coverage_metric([t for _, t in tables])
    mask = f"elevation ≥ {min_elevation_deg:g}°"
    labels = ", ".join(label for label, _ in tables)
    shown = [(metric, why)] + ([(COVERAGE_METRICS[-1], "")] if metric is not COVERAGE_METRICS[-1] else [])
    out = []
    for m, reason in shown:
        png = draw_cells(
            [Panel(label, _cells(t["cell"]), _values(t, m.column)) for label, t in tables],
            title=f"{m.title} over {region} ({mask})",
            colourbar_label=m.unit_label,
            cmap=m.cmap,
            vmin=m.vmin,
            vmax=m.vmax,
            outline=outline,
            pov=pov,
        )
        scale = ", on one colour scale" if len(tables) > 1 else ""
        caption = f"{m.title} over {region}{f', {span}' if span else ''}: {labels}{scale}. {reason}".rstrip()
        out.append(
            Figure(
                f"coverage__{name}__{m.column}.png",
                png,
                f"Map: {m.title.lower()} over {region} for {labels}",
                caption,
            )
        )
    return out


def coverage_figures(summary: dict, data: dict[str, Path], regions: dict[str, Any], cache: FigureCache) -> list[Figure]:
    """Per region: the coverage maps (:func:`coverage_maps`) of every constellation the run covered."""
    out = []
    for region in summary["regions"]:
        units: dict[str, dict] = {}
        for variant in summary["variants"]:
            for unit in variant["coverage"]:
                if unit["region_spec"] == region["spec"]:
                    units.setdefault(unit["unit"], unit)
        units = {k: u for k, u in units.items() if k in data and (data[k] / "per_cell.parquet").exists()}
        if not units:
            continue

        def draw(units=units, region=region) -> list[Figure]:
            return coverage_maps(
                [(u["label"], pd.read_parquet(data[k] / "per_cell.parquet")) for k, u in units.items()],
                region=region["name"],
                name=_slug(region["code"] or region["spec"]),
                min_elevation_deg=summary["coverage_settings"]["min_elevation_deg"],
                span=f"{summary['time']['start']} to {summary['time']['end']}",
                outline=regions.get(region["spec"]),
                pov=region.get("pov") or "default",
            )

        parts = {"figure": "coverage", "units": {k: u["label"] for k, u in units.items()}, "region": region}
        out += cache.get({**parts, "settings": summary["coverage_settings"], "time": summary["time"]}, draw)
    return out


#: The capacity maps: per-cell column, title, colour-bar label, colour map, fixed range.
CAPACITY_MAPS = (
    (
        "mbps_per_user_median",
        "Busy-hour Mb/s per active user (median over time)",
        "Mb/s per user",
        "viridis",
        0.0,
        None,
    ),
    ("served_fraction_mean", "Share of busy-hour demand served (mean over time)", "served fraction", "magma", 0.0, 1.0),
)


def capacity_figures(summary: dict, data: dict[str, Path], regions: dict[str, Any], cache: FigureCache) -> list[Figure]:
    """Per region and variant: Mb/s per user and served fraction, one panel per constellation, shared scales."""
    out = []
    for region in summary["regions"]:
        for variant in summary["variants"]:
            units = {
                u["unit"]: u
                for u in variant.get("capacity", [])
                if u["region_spec"] == region["spec"]
                and u["unit"] in data
                and (data[u["unit"]] / "per_cell.parquet").exists()
            }
            if not units:
                continue

            def draw(units=units, region=region, variant=variant) -> list[Figure]:
                tables = [(u["label"], pd.read_parquet(data[k] / "per_cell.parquet")) for k, u in units.items()]
                figs = []
                for column, title, unit_label, cmap, vmin, vmax in CAPACITY_MAPS:
                    png = draw_cells(
                        [Panel(label, _cells(t["cell"]), _values(t, column)) for label, t in tables],
                        title=f"{title} over {region['name']} — {variant['title']}",
                        colourbar_label=unit_label,
                        cmap=cmap,
                        vmin=vmin,
                        vmax=vmax,
                        outline=regions.get(region["spec"]),
                        pov=region.get("pov") or "default",
                    )
                    name = (
                        f"capacity__{_slug(region['code'] or region['spec'])}__{_slug(variant['name'])}__{column}.png"
                    )
                    labels = ", ".join(label for label, _ in tables)
                    figs.append(
                        Figure(
                            name,
                            png,
                            f"Map: {title.lower()} over {region['name']}, {labels}",
                            f"{title} over {region['name']}, {variant['title']}: {labels}.",
                        )
                    )
                return figs

            parts = {
                "figure": "capacity",
                "units": sorted(units),
                "region": region,
                "variant": variant["name"],
                "title": variant["title"],
                "labels": {k: u["label"] for k, u in units.items()},
            }
            out += cache.get(parts, draw)
    return out


def cell_layers(summary: dict, data: dict[str, Path]) -> dict[str, dict[str, Any]]:
    """The per-cell values behind the report's maps, one entry per (unit, figure): what ``write_report`` saves as
    ``maps/<name>.cells.json`` for the dashboard (``skyfence serve --reports DIR`` opens them as map layers) --
    coverage (share of time covered, mean satellites in view), capacity (Mb/s per user, served fraction) and
    threats (coverage lost to the attacks).  Each entry: ``title``, ``units``, ``cells`` (H3 ids, hex), ``values``."""
    columns = {
        "coverage": [(m.column, m.title, m.unit_label, 1.0) for m in (COVERAGE_METRICS[0], COVERAGE_METRICS[-1])],
        "capacity": [(c, title, label, 1.0) for c, title, label, *_ in CAPACITY_MAPS],
        "threats": [("coverage_loss", "Coverage lost to the attacks", "share of time no longer covered [pp]", 100.0)],
    }
    out: dict[str, dict[str, Any]] = {}
    for variant in summary["variants"]:
        for kind, wanted in columns.items():
            for unit in variant.get(kind, []):
                folder = data.get(unit["unit"])
                if folder is None or not (folder / "per_cell.parquet").exists():
                    continue
                table = pd.read_parquet(folder / "per_cell.parquet")
                where = unit.get("region_code") or unit["region_spec"]
                for column, title, unit_label, scale in wanted:
                    if column not in table:
                        continue
                    raw = _values(table, column) * scale
                    values = [round(float(v), 4) if np.isfinite(v) else None for v in raw]
                    extra = f"__{_slug(variant['name'])}" if kind != "coverage" else ""
                    out[f"{kind}__{_slug(unit['label'])}__{_slug(where)}{extra}__{column}"] = {
                        "title": f"{title}: {unit['label']} over {unit.get('region', where)}"
                        + (f", {variant.get('title', variant['name'])}" if extra else ""),
                        "units": unit_label,
                        "cells": table["cell"].astype(str).tolist(),
                        "values": values,
                    }
    return out


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "region"


def policy_figures(summary: dict, data: dict[str, Path], regions: dict[str, Any], cache: FigureCache) -> list[Figure]:
    """Per region: who may be served under each distinct policy (one panel each), then what changes."""
    out = []
    for region in summary["regions"]:
        units: dict[str, dict] = {}
        for variant in summary["variants"]:
            for unit in variant["policy"]:
                if unit["region_spec"] == region["spec"] and unit["unit"] in data:
                    units.setdefault(unit["unit"], unit)
        if not units:
            continue
        changes = [d for d in summary["policy_diff"] if d["region_spec"] == region["spec"]]

        def draw(units=units, region=region, changes=changes) -> list[Figure]:
            return _policy_maps(units, changes, region, data, regions.get(region["spec"]))

        parts = {"figure": "policy", "units": {k: u["policy"] for k, u in units.items()}, "region": region}
        out += cache.get({**parts, "changes": [(d["a"], d["b"]) for d in changes]}, draw)
    return out


def _policy_maps(units: dict, changes: list[dict], region: dict, data: dict[str, Path], outline) -> list[Figure]:
    from skyfence.policy import AVAILABILITY

    codes = {name: k for k, name in enumerate(AVAILABILITY)}
    categories = {codes[name]: (legend_label(name), AVAILABILITY_COLOURS[name]) for name in AVAILABILITY}
    tables = {k: pd.read_parquet(data[k] / "cells.parquet") for k in units}
    panels = [
        Panel(units[k]["policy"], _cells(t["cell"]), np.array([codes[a] for a in t["availability"]], dtype=float))
        for k, t in tables.items()
    ]
    pov = region.get("pov") or "default"
    name = _slug(region["code"] or region["spec"])
    policies = ", ".join(u["policy"] for u in units.values())
    out = [
        Figure(
            f"availability__{name}.png",
            draw_cells(
                panels,
                title=f"Who may be served in {region['name']}: an unregistered terminal at each cell",
                categories=categories,
                outline=outline,
                pov=pov,
            ),
            f"Map: availability in {region['name']} under {policies}",
            f"Availability in {region['name']} under {policies}.",
        )
    ]
    for i, change in enumerate(changes):
        a = next((k for k, u in units.items() if u["policy"] == change["a"]), None)
        b = next((k for k, u in units.items() if u["policy"] == change["b"]), None)
        if a is None or b is None:
            continue
        before = tables[a].set_index("cell")["availability"]
        after = tables[b].set_index("cell")["availability"].reindex(before.index)
        # One point of view throughout (the map's, the table's gains and losses, the findings'): an ordinary,
        # unregistered terminal, for which "registered terminals only" is no service.
        was, now = before.isin(_SERVED_UNREGISTERED).to_numpy(), after.isin(_SERVED_UNREGISTERED).to_numpy()
        changed = (before != after).to_numpy()
        kind = np.select(
            [changed & now & ~was, changed & was & ~now, changed & was & now, changed], [0, 1, 2, 3], default=4
        )
        labels = list(CHANGE_COLOURS)
        png = draw_cells(
            [Panel("", _cells(before.index), kind.astype(float))],
            title=f"What changes for an unregistered terminal in {region['name']}: {change['b']} against {change['a']}",
            categories={k: (labels[k], CHANGE_COLOURS[labels[k]][0]) for k in range(len(labels))},
            outline=outline,
            pov=pov,
        )
        colour = {label: c[1] for label, c in CHANGE_COLOURS.items()}
        shown = [labels[k] for k in sorted(set(kind.tolist()))]
        meaning = {
            "gains service": f"served under {change['b']} but not under {change['a']}",
            "loses service": f"served under {change['a']} but not under {change['b']} (registered terminals only "
            "counts as no service)",
            "changes, served either way": "served under both, the kind of service changes (e.g. degraded)",
            "changes, unserved either way": "not served under either, the reason changes",
            "no change": "no change",
        }
        out.append(
            Figure(
                f"policy_change__{name}__{i}.png",
                png,
                f"Map: cells of {region['name']} where an unregistered terminal gains or loses service, "
                f"{change['b']} against {change['a']}",
                "For an ordinary, unregistered terminal at each cell: "
                + "; ".join(f"{colour[label]}: {meaning[label]}" for label in shown)
                + ".",
            )
        )
    return out


def latency_figure(summary: dict) -> Figure | None:
    """Box plots of round-trip time per step for every (variant, constellation, terminal)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series, labels = [], []
    for v in summary["variants"]:
        for u in v["latency"]:
            for t in u["terminals"]:
                values = [r for r in t.get("rtt_ms_series", []) if r is not None]
                if values:
                    series.append(values)
                    where = textwrap.wrap(f"{t['terminal']}, {u['label']}", 18)
                    labels.append("\n".join([*where, "", *textwrap.wrap(v["title"], 18)]))
    if not series:
        return None
    fig, ax = plt.subplots(figsize=(min(max(6.0, 1.7 * len(series)), 11.0), 4.8), dpi=110)
    ax.boxplot(series, tick_labels=labels, showfliers=True)
    ax.set_ylabel("round-trip time to the PoP [ms]")
    ax.set_ylim(bottom=0)
    ax.set_title("Round-trip time over the latency window (propagation only)")
    ax.tick_params(axis="x", labelsize=7 if len(series) > 6 else 7.5)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return Figure(
        "latency_distribution.png",
        buffer.getvalue(),
        "Box plots of round-trip time to the PoP for each terminal, constellation and variant",
        "Round-trip time at each step of the latency window; boxes span the middle half, whiskers 1.5× that.",
    )
