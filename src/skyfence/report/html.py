"""The assessment report: one self-contained HTML file (inline CSS and images, no network), beside summary.json.

Every number in a table is rendered from ``summary.json`` and carries its key
path and raw value (``<td data-key="variants.0.coverage.1.coverage_fraction"
data-value="0.9993">99.9%</td>``), so a reader -- or a test -- can check each
table cell against the JSON.
"""

from __future__ import annotations

import base64
import json
import math
from importlib import resources
from pathlib import Path
from typing import Any

from markupsafe import Markup

from skyfence._json import jsonable

__all__ = ["ASSUMPTIONS", "format_number", "render_report", "write_report"]

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


def _cell(key: str, value: Any, kind: str) -> Markup:
    raw = "" if value is None or (isinstance(value, float) and not math.isfinite(value)) else repr(float(value))
    css = ""
    if kind.startswith("d") and raw:
        css = ' class="pos"' if float(value) > 0 else ' class="neg"' if float(value) < 0 else ""
    return Markup('<td data-key="{}" data-kind="{}" data-value="{}"{}>{}</td>').format(
        key, kind, raw, Markup(css), format_number(value, kind)
    )


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _latency_plot(summary: dict) -> bytes | None:
    """Box plots of per-step RTT for every (variant, constellation, terminal)."""
    import io

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
                    labels.append(f"{v['name']}\n{u['constellation']}\n{t['terminal']}")
    if not series:
        return None
    fig, ax = plt.subplots(figsize=(max(6, 1.6 * len(series)), 4.2), dpi=110)
    ax.boxplot(series, tick_labels=labels, showfliers=True)
    ax.set_ylabel("round-trip time to the PoP [ms]")
    ax.set_title("Latency distribution over the latency window")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


def render_report(summary: dict, maps: dict[str, bytes]) -> tuple[str, dict[str, bytes]]:
    """HTML text and the PNG files (name -> bytes) for a run's ``summary`` and map images."""
    from jinja2 import Environment, StrictUndefined

    template_text = resources.files("skyfence.report").joinpath("templates/assess.html.j2").read_text("utf-8")
    env = Environment(autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    template = env.from_string(template_text)
    pngs = {f"{name}.png": data for name, data in sorted(maps.items())}
    def figure(name: str, data: bytes) -> dict:
        return {"src": _data_uri(data), "caption": name.removesuffix(".png").replace("__", " · ").replace("_", " ")}

    figures = [figure(n, d) for n, d in pngs.items() if not n.startswith("availability__")]
    policy_maps = [figure(n, d) for n, d in pngs.items() if n.startswith("availability__")]
    latency_png = _latency_plot(summary)
    latency_plots = []
    if latency_png is not None:
        pngs["latency_distribution.png"] = latency_png
        latency_plots.append({"src": _data_uri(latency_png), "caption": "round-trip time per step"})
    html = template.render(
        s=summary,
        maps=figures,
        latency_plots=latency_plots,
        has_latency=any(v["latency"] for v in summary["variants"]),
        has_policy=any(v.get("policy") for v in summary["variants"]),
        policy_maps=policy_maps,
        assumptions=ASSUMPTIONS,
        num=_cell,
    )
    return html, pngs


def write_report(folder: Path, summary: dict, maps: dict[str, bytes]) -> Path:
    """Write ``report.html``, ``summary.json`` and the PNGs into ``folder`` (caller makes it atomic)."""
    summary = jsonable(summary)  # the tables and summary.json come from the very same values
    html, pngs = render_report(summary, maps)
    (folder / "report.html").write_text(html, encoding="utf-8")
    (folder / "summary.json").write_text(json.dumps(summary, indent=2, allow_nan=False, default=str))
    maps_dir = folder / "maps"
    maps_dir.mkdir(exist_ok=True)
    for name, data in pngs.items():
        (maps_dir / name).write_bytes(data)
    return folder / "report.html"
