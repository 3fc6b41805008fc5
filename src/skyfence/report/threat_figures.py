"""The threats section's figures: outage maps (coverage lost per cell, jammed share, Mb/s per user lost) and
resilience curves (random attrition, jammer EIRP, gateways lost).

Drawn from the threat units' data (``per_cell.parquet``, ``curve.parquet``, ``jamming.parquet``,
``capacity_cells.parquet``, ``gateway_curve.parquet``) with the same
map function as every other map (:func:`skyfence.report.maps.draw_cells`); curves show the mean over the Monte
Carlo draws with the 5th-95th percentile band.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from skyfence.report.figures import Figure, FigureCache
from skyfence.report.maps import Panel, draw_cells

__all__ = ["JAMMED_CMAP", "threat_figures"]

#: Colour map of every "share of time jammed" map: sequential, 0 % light (never jammed reads as normal service, not as
#: a blackout), more jamming darker and more saturated.
JAMMED_CMAP = "YlOrRd"

#: Hatches of the confidence bands, one per constellation in a plot (with its line's colour).
_BAND_HATCHES = ("////", "\\\\", "....", "xx")
_CURVE_METRICS = (
    ("coverage_fraction", "share of time covered [%]", 100.0),
    ("sats_in_view_mean", "satellites in view, mean", 1.0),
)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "x"


def _cells(column) -> np.ndarray:
    return np.array([int(c, 16) for c in column], dtype=np.uint64)


def threat_figures(summary: dict, data: dict[str, Path], regions: dict[str, Any], cache: FigureCache) -> list[Figure]:
    """Per region: outage maps of every threatened (variant, constellation), then the resilience curves."""
    out: list[Figure] = []
    for region in summary["regions"]:
        entries = [
            (v, t)
            for v in summary["variants"]
            for t in v.get("threats", [])
            if t["region_spec"] == region["spec"] and t["unit"] in data
        ]
        if not entries:
            continue
        name = _slug(region["code"] or region["spec"])
        outline = regions.get(region["spec"])
        pov = region.get("pov") or "default"
        parts = {
            "figure": "threats",
            "units": [t["unit"] for _, t in entries],
            "region": region,
            "titles": [v["title"] for v, _ in entries],
        }

        def draw(entries=entries, region=region, name=name, outline=outline, pov=pov) -> list[Figure]:
            return _outage_maps(entries, region, name, outline, pov, data) + _curves(entries, region, name, data)

        out += cache.get(parts, draw)
    return out


def _unit_tables(entries, data, filename: str) -> list[tuple[dict, dict, pd.DataFrame]]:
    """``(variant, threat, table)`` for every threat unit that wrote ``filename`` (older units may not have)."""
    return [
        (v, t, pd.read_parquet(data[t["unit"]] / filename)) for v, t in entries if (data[t["unit"]] / filename).exists()
    ]


def _outage_maps(entries, region, name, outline, pov, data) -> list[Figure]:
    tables = [
        (f"{t['label']}, {v['title']}", pd.read_parquet(data[t["unit"]] / "per_cell.parquet")) for v, t in entries
    ]
    figs = []
    lost = np.concatenate([tb["coverage_loss"].to_numpy(float) for _, tb in tables])
    if np.nanmax(lost, initial=0.0) > 0:
        column, scale, what, unit = "coverage_loss", 100.0, "Coverage lost", "share of time no longer covered [pp]"
        why = "coverage before minus coverage after the attacks (median over the Monte Carlo draws)"
    else:
        column, scale, what, unit = "sats_lost", 1.0, "Satellites in view lost", "satellites in view lost (mean)"
        why = (
            "every cell keeps a satellite in view all the time, so coverage lost would be one flat colour; this map "
            "shows the mean satellites in view lost instead (median over the Monte Carlo draws)"
        )
    panels = []
    for label, tb in tables:
        if column == "sats_lost":
            values = tb["sats_in_view_before"].to_numpy(float) - tb["sats_in_view_after"].to_numpy(float)
        else:
            values = scale * tb[column].to_numpy(float)
        panels.append(Panel(label, _cells(tb["cell"]), values))
    figs.append(
        Figure(
            f"threat_outage__{name}.png",
            draw_cells(
                panels,
                title=f"{what} to the attacks over {region['name']}",
                colourbar_label=unit,
                cmap="Reds",
                vmin=0.0,
                outline=outline,
                pov=pov,
            ),
            f"Map: {what.lower()} per cell of {region['name']} under each variant's attacks",
            f"Outage map: {why}, per cell of {region['name']}.",
        )
    )
    capacity = [
        (f"{t['label']}, {v['title']}", table) for v, t, table in _unit_tables(entries, data, "capacity_cells.parquet")
    ]
    capacity = [
        (label, tb)
        for label, tb in capacity
        if np.nanmax(tb["mbps_per_user_before"].to_numpy(float) - tb["mbps_per_user_after"].to_numpy(float), initial=0)
        > 0
    ]
    if capacity:
        panels = [
            Panel(
                label,
                _cells(tb["cell"]),
                tb["mbps_per_user_before"].to_numpy(float) - tb["mbps_per_user_after"].to_numpy(float),
            )
            for label, tb in capacity
        ]
        figs.append(
            Figure(
                f"threat_capacity__{name}.png",
                draw_cells(
                    panels,
                    title=f"Busy-hour Mb/s per user lost to the attacks over {region['name']}",
                    colourbar_label="Mb/s per user lost (median over time, before minus after)",
                    cmap="Reds",
                    vmin=0.0,
                    outline=outline,
                    pov=pov,
                ),
                f"Map: Mb/s per user lost per cell of {region['name']} under each variant's attacks",
                "Median busy-hour rate per active user before minus after all the variant's threats together "
                "(capacity model re-run with the satellites lost, the jammers and the ground losses; first Monte "
                "Carlo draw).",
            )
        )
    jammed = [(label, tb) for label, tb in tables if "jammed_share" in tb and tb["jammed_share"].to_numpy().any()]
    if jammed:
        panels = [Panel(label, _cells(tb["cell"]), 100.0 * tb["jammed_share"].to_numpy(float)) for label, tb in jammed]
        figs.append(
            Figure(
                f"threat_jamming__{name}.png",
                draw_cells(
                    panels,
                    title=f"Time jammed (J/S >= 0 dB) over {region['name']}",
                    colourbar_label="share of served time with J/S >= 0 dB [%]",
                    cmap=JAMMED_CMAP,
                    vmin=0.0,
                    vmax=100.0,
                    outline=outline,
                    pov=pov,
                ),
                f"Map: share of time each cell of {region['name']} is jammed",
                "Share of the time a terminal in the cell, pointing at its highest satellite, receives the jammers at "
                "least as strongly as its satellite (J/S >= 0 dB); jammer parameters are assumptions "
                "(docs/threats.md).",
            )
        )
    return figs


def _png(fig) -> bytes:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


def _curves(entries, region, name, data) -> list[Figure]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figs = []
    seen: dict[str, tuple[dict, dict]] = {}
    for v, t in entries:  # the random-attrition curve depends on the constellation and region only
        seen.setdefault(t["label"], (v, t))
    fig, axes = plt.subplots(1, len(_CURVE_METRICS), figsize=(10, 3.8), dpi=110)
    for ax, (metric, label, scale) in zip(np.atleast_1d(axes), _CURVE_METRICS, strict=True):
        for k, (constellation, (_, t)) in enumerate(seen.items()):
            curve = pd.read_parquet(data[t["unit"]] / "curve.parquet")
            c = curve[curve["metric"] == metric].sort_values("intensity")
            x = 100.0 * c["intensity"].to_numpy()
            line = ax.plot(x, scale * c["mean"].to_numpy(), marker="o", label=f"{constellation}: mean")
            # Each band in its line's colour with its own hatch, and in the legend: overlapping bands stay apart.
            colour = line[0].get_color()
            ax.fill_between(
                x,
                scale * c["p05"].to_numpy(),
                scale * c["p95"].to_numpy(),
                facecolor=colour,
                alpha=0.2,
                hatch=_BAND_HATCHES[k % len(_BAND_HATCHES)],
                edgecolor=colour,
                linewidth=0.0,
                label=f"{constellation}: 5-95 % of draws",
            )
        # Shares and counts from zero: a fall from 15.8 to 14.5 satellites must not look like a collapse.
        ax.set_ylim(0.0, 105.0 if scale == 100.0 else max(1.0, ax.get_ylim()[1]))
        ax.set_xlabel("satellites removed at random [%]")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"Resilience of coverage over {region['name']}: random attrition (mean, 5-95 % band)")
    figs.append(
        Figure(
            f"threat_resilience__{name}.png",
            _png(fig),
            f"Curves: coverage of {region['name']} against the share of satellites removed at random",
            "Random attrition of the whole constellation, Monte Carlo draws per point (common random numbers: "
            "each draw removes a superset of the previous point's); line = mean, band = 5th to 95th percentile.",
        )
    )
    jam = _unit_tables(entries, data, "jamming.parquet")
    jam = [(v, t, j) for v, t, j in jam if len(j)]
    if jam:
        fig, ax = plt.subplots(figsize=(6.5, 3.8), dpi=110)
        for v, t, j in jam:
            j = j[j["eirp_dbw"].notna()].sort_values("eirp_dbw")  # jammers of mixed EIRPs have no point on the axis
            ax.plot(j["eirp_dbw"], 100.0 * j["mean_jammed_share"], marker="o", label=f"{t['label']}, {v['title']}")
        ax.set_xlabel("jammer EIRP [dBW per 250 MHz] (assumption, swept)")
        ax.set_ylabel("mean share of time jammed [%]")
        ax.set_ylim(0, 100)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        ax.set_title(f"Jamming over {region['name']} against jammer EIRP")
        figs.append(
            Figure(
                f"threat_jamming_curve__{name}.png",
                _png(fig),
                f"Curve: share of time {region['name']} is jammed against jammer EIRP",
                "Every jammer's EIRP set to the value on the axis (the sweep of an assumption without a public "
                "value); share of served time with J/S >= 0 dB, averaged over the region's cells.",
            )
        )
    gw = _unit_tables(entries, data, "gateway_curve.parquet")
    if gw:
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), dpi=110)
        for ax, (metric, label) in zip(
            axes,
            (
                ("served_fraction", "share of demand served [%]"),
                ("service_coverage", "time and places with service [%]"),
            ),
            strict=True,
        ):
            for v, t, curve in gw:
                near = curve[curve["order"] == "nearest first"].sort_values("gateways_lost")
                rand = curve[curve["order"] == "random order"].groupby("gateways_lost")[metric]
                line = ax.plot(
                    near["gateways_lost"], 100.0 * near[metric], marker="o", label=f"{t['label']}, {v['title']}"
                )
                if len(rand):
                    lo, hi = rand.min(), rand.max()
                    ax.fill_between(
                        lo.index,
                        100.0 * lo.to_numpy(),
                        100.0 * hi.to_numpy(),
                        alpha=0.2,
                        color=line[0].get_color(),
                        label=f"{t['label']}, {v['title']}: range over random orders",
                    )
            ax.set_xscale("symlog", linthresh=1.0)
            ax.set_xlabel("gateways lost (nearest to the region first; band: random orders)")
            ax.set_ylabel(label)
            ax.set_ylim(0, 105)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
        fig.suptitle(f"Resilience of service over {region['name']} against gateways lost")
        figs.append(
            Figure(
                f"threat_gateways_curve__{name}.png",
                _png(fig),
                f"Curve: service over {region['name']} against the number of gateways lost",
                "Capacity model re-run with the variant's gateways removed one after the other, nearest to the "
                "region first (line) and in random orders (band: range); a satellite with lasers stays fed while "
                "any gateway and PoP is left (the gateways' landing capacity is not modelled).",
            )
        )
    return figs
