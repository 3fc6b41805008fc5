"""``skyfence threat ...``: quick single questions about attacks -- J/S, horizons, jamming maps, attrition, debris,
reachability after ground losses, service against gateways lost; ``--capacity`` adds Mb/s per user and the share of
demand served before and after (the capacity layer re-run on the attacked system,
:mod:`skyfence.threats.capacity_impact`).

Heavy modules are imported inside the commands so ``skyfence --help`` stays fast.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from skyfence.cli._common import (
    STRICT_EPOCHS,
    check_epochs,
    console,
    help_examples,
    portable_paths,
    print_json,
    renamed_options,
    summary_text,
)
from skyfence.errors import InputError

__all__ = ["app"]

app = typer.Typer(
    help="Threats: attrition, ASAT debris, jamming, ground-segment loss -> what service survives.", no_args_is_help=True
)


def _floats(text: str | None, key: str) -> list[float]:
    if not text:
        return []
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise InputError(f"expected comma-separated numbers, got {text!r}", field=key) from None


def _days_or_none(text: str, key: str) -> float | None:
    """A number of days, or None for ``none`` (the option's way to say "not at all")."""
    if text.strip().lower() == "none":
        return None
    try:
        return float(text)
    except ValueError:
        raise InputError(
            f"expected a number of days or none, got {text!r}", field=key, hint="e.g. 365 or none"
        ) from None


def _span(constellation, start: str | None, duration: str, step: str, *, strict: bool = False):
    from skyfence.orbits.time import default_start, parse_time, time_grid

    t0 = default_start(constellation.epoch_range) if start is None else parse_time(start, field="--start")
    times = time_grid(t0, duration, step)
    check_epochs(constellation, times, strict=strict)
    return times


def _read_jammers(path: Path):
    """Jammer sites from a TOML (``[[jammers]]``) or JSON (a list, or ``{"jammers": [...]}``) file."""
    import tomllib

    from skyfence.threats.jamming import jammers_from_records

    text = path.read_text(encoding="utf-8")
    try:
        doc = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as error:
        raise InputError(f"cannot parse: {error}", source=str(path)) from None
    records = doc.get("jammers") if isinstance(doc, dict) else doc
    if not isinstance(records, list) or not records:
        raise InputError("no jammers", source=str(path), field="jammers", hint="one [[jammers]] table per site")
    try:
        sites = jammers_from_records(records)
    except InputError as error:
        raise InputError(error.message, source=str(path), field=error.field, hint=error.hint) from None
    defaulted = [
        f"jammers[{i}] ({site.name})"
        for i, (rec, site) in enumerate(zip(records, sites, strict=True))
        if "height_m" not in rec
    ]
    if defaulted:
        from rich.markup import escape

        from skyfence.cli._common import err_console
        from skyfence.threats.jamming import JammerSite

        listed = ", ".join(defaulted[:3]) + (f" and {len(defaulted) - 3} more" if len(defaulted) > 3 else "")
        err_console.print(
            f"[bold yellow]note:[/] {escape(path.name)}: {escape(listed)} give(s) no height_m: taken as "
            f"{JammerSite.height_m:g} m above ground (a mast; its radio horizon to a 2 m terminal is about "
            "19 km); give height_m to change it",
            soft_wrap=True,
        )
    return sites


_CAPACITY_HELP = "Also capacity before and after: Mb/s per user and share of demand served (slower)."
_GROUND_HELP = "Gateway/PoP dataset name or file (feeds bent-pipe satellites; capacity and reachability)."


def _capacity_table(rows: list[dict]) -> None:
    """Print capacity rows (``label`` and the capacity figures) as one line each."""
    for row in rows:
        console.print(
            f"  {row['label']:>28}: Mb/s per user median {row['mbps_per_user_median']:.1f} "
            f"(p10 {row['mbps_per_user_p10']:.1f}), served {row['served_fraction']:.1%} of demand "
            f"({row['served_gbps_mean']:.1f} Gb/s), users with service {row['users_with_service']:.1%}, "
            f"area with service {row['service_coverage']:.1%}"
        )


def _capacity_ground(constellation, ground: str):
    """The ground segment that feeds the constellation's satellites (None when they are not Starlink's)."""
    from skyfence.capacity.engine import assign_generations
    from skyfence.capacity.resources import fed_by_starlink_gateways
    from skyfence.network.ground import load_ground_segment

    return load_ground_segment(ground) if fed_by_starlink_gateways(assign_generations(constellation)) else None


@help_examples(
    "skyfence threat js --jammer-eirp-dbw 40 --jammer-km 10 --sat-km 700",
    ("skyfence threat js --jammer-eirp-dbw 40 --jammer-km 10 --sat-km 700 \\\n    --sidelobe-db 20,30,40 --json"),
)
@app.command("js")
@renamed_options(
    sidelobe_db="--rejection",
    jammer_eirp_dbw="--jammer-eirp",
    sat_eirp_dbw="--sat-eirp",
    jammer_bw_mhz="--jammer-bw",
    signal_bw_mhz="--signal-bw",
)
def js(
    jammer_eirp_dbw: float = typer.Option(..., "--jammer-eirp-dbw", help="Jammer EIRP \\[dBW]."),
    jammer_km: float = typer.Option(..., "--jammer-km", help="Jammer-to-terminal distance \\[km]."),
    sat_eirp_dbw: float = typer.Option(33.0, "--sat-eirp-dbw", help="Satellite EIRP in the signal bandwidth \\[dBW]."),
    sat_km: float = typer.Option(..., "--sat-km", help="Satellite slant range \\[km]."),
    sidelobe_db: str = typer.Option(
        "30", "--sidelobe-db", help="Side-lobe rejection \\[dB]; a list sweeps it: 20,30,40."
    ),
    jammer_bw_mhz: float = typer.Option(250.0, "--jammer-bw-mhz", help="Jammer bandwidth \\[MHz]."),
    signal_bw_mhz: float = typer.Option(250.0, "--signal-bw-mhz", help="Signal bandwidth \\[MHz]."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """J/S of one jammer through the terminal's side lobes against its satellite (the hand calculation)."""
    from skyfence.threats.jamming import j_over_s_db

    for key, value in (
        ("--jammer-km", jammer_km),
        ("--sat-km", sat_km),
        ("--jammer-bw-mhz", jammer_bw_mhz),
        ("--signal-bw-mhz", signal_bw_mhz),
    ):
        if not value > 0:
            raise InputError(f"must be positive, got {value}", field=key)
    rows = [
        {
            "rejection_db": r,
            "js_db": round(
                float(
                    j_over_s_db(
                        jammer_eirp_dbw,
                        jammer_km,
                        sat_eirp_dbw,
                        sat_km,
                        r,
                        jammer_bandwidth_mhz=jammer_bw_mhz,
                        signal_bandwidth_mhz=signal_bw_mhz,
                    )
                ),
                2,
            ),
        }
        for r in _floats(sidelobe_db, "--sidelobe-db")
    ]
    if json_out:
        print_json(rows)
        return
    for row in rows:
        console.print(f"side-lobe rejection {row['rejection_db']:g} dB: J/S = {row['js_db']:+.1f} dB")


@help_examples(
    "skyfence threat horizon --h1-m 10",
    "skyfence threat horizon --h1-m 30 --h2-m 2 --k 1",
)
@app.command("horizon")
@renamed_options(h1_m="--h1", h2_m="--h2")
def horizon(
    h1_m: float = typer.Option(..., "--h1-m", help="Antenna height \\[m]."),
    h2_m: float = typer.Option(0.0, "--h2-m", help="Other antenna height \\[m]."),
    k_factor: float = typer.Option(
        4.0 / 3.0, "--k", help="Effective Earth-radius factor (ITU-R P.834).", show_default="4/3"
    ),
) -> None:
    """Radio horizon between two antennas over a smooth 4/3 Earth (terrain out of scope)."""
    from skyfence.threats.jamming import radio_horizon_km

    for key, value in (("--h1-m", h1_m), ("--h2-m", h2_m)):
        if not value >= 0:
            raise InputError(f"height must be >= 0 m, got {value}", field=key)
    if not k_factor > 0:
        raise InputError(f"must be positive, got {k_factor}", field="--k")
    console.print(f"radio horizon: {float(radio_horizon_km(h1_m, h2_m, k_factor=k_factor)):.1f} km")


@help_examples(
    (
        "skyfence threat jam starlink_omm_20260818 \\\n"
        "    --jammers examples/jammers/fujian_coast.toml --region TW --duration 1h"
    ),
    (
        "skyfence threat jam starlink_omm_20260818 \\\n"
        "    --jammers examples/jammers/fujian_coast.toml --region TW --duration 1h \\\n"
        "    --eirp-sweep-dbw 30,40,50 --out out/jam"
    ),
)
@app.command("jam")
@renamed_options(sat_eirp_dbw="--sat-eirp", eirp_sweep_dbw="--eirp-sweep", threshold_db="--threshold")
def jam(
    source: str = typer.Argument(..., help="TLE/OMM file, preset name or celestrak:GROUP (the serving satellites)."),
    jammers: Path = typer.Option(..., "--jammers", help="TOML/JSON file with [\\[jammers]] sites."),
    region: str = typer.Option("TW", "--region", help="Region of the terminals."),
    res: int = typer.Option(5, "--res", help="H3 resolution."),
    start: str = typer.Option(None, help="Start, ISO 8601 UTC. Default: newest element epoch."),
    duration: str = typer.Option("1h", help="Span."),
    step: str = typer.Option("60s", help="Step."),
    pattern: str = typer.Option("s465", help="Terminal pattern: s465, s580 or sidelobe."),
    sidelobe_db: float = typer.Option(30.0, "--sidelobe-db", help="Side-lobe rejection for --pattern sidelobe \\[dB]."),
    sat_eirp_dbw: float = typer.Option(33.0, "--sat-eirp-dbw", help="Satellite EIRP per 250 MHz \\[dBW] (assumption)."),
    eirp_sweep_dbw: str = typer.Option(
        None, "--eirp-sweep-dbw", help="Override every jammer's EIRP: 30,40,50 \\[dBW]."
    ),
    threshold_db: float = typer.Option(0.0, "--threshold-db", help="J/S counted as jammed at or above this \\[dB]."),
    out: Path = typer.Option(None, "--out", help="Write a jammed-share map (PNG), per-cell GeoJSON, summary.json."),
    capacity: bool = typer.Option(False, "--capacity", help=_CAPACITY_HELP),
    ground: str = typer.Option("starlink_ground_stations", "--ground", help=_GROUND_HELP),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
    strict: bool = STRICT_EPOCHS,
) -> None:
    """J/S map of Ku-downlink jammers over a region: share of time each cell is jammed, west vs east etc.

    With --capacity: Mb/s per user and served demand without and with the jammers as listed (J/N as one more term of
    C/(N+I+J), MODCOD fall-back; a cell whose uplink no MODCOD closes gets nothing)."""
    import dataclasses

    import numpy as np

    from skyfence.earth.regions import get_region
    from skyfence.orbits.sources import load_constellation
    from skyfence.threats.jamming import TerminalAntenna, eirp_summary, jamming_map

    sites = _read_jammers(jammers)
    area = get_region(region)
    cells = area.cells(res)
    constellation = load_constellation(source)
    times = _span(constellation, start, duration, step, strict=strict)
    antenna = TerminalAntenna(pattern=pattern, sidelobe_rejection_db=sidelobe_db)
    sweep: list[float | None] = [*_floats(eirp_sweep_dbw, "--eirp-sweep-dbw")] or [None]
    from skyfence.orbits.time import iso_utc
    from skyfence.scenario.provenance import file_input

    inputs = {  # what the run used, as the other commands' summaries record it
        "source": source,
        "satellites": len(constellation),
        "jammers_file": file_input("jammers", jammers, Path.cwd()),
        "region": region,
        "res": res,
        "start": iso_utc(times[0]),
        "end": iso_utc(times[-1]),
        "step": step,
        "steps": len(times),
        "pattern": pattern,
        "sidelobe_db": sidelobe_db if pattern == "sidelobe" else None,
        "sat_eirp_dbw": sat_eirp_dbw,
        "eirp_sweep_dbw": None if sweep == [None] else sweep,
        "threshold_db": threshold_db,
        "capacity": capacity,
        "ground": ground if capacity else None,
    }
    rows = []
    last = None
    for eirp in sweep:
        used = sites if eirp is None else [dataclasses.replace(s, eirp_dbw=eirp) for s in sites]
        result = jamming_map(constellation, cells, times, used, antenna=antenna, sat_eirp_dbw=sat_eirp_dbw)
        share = result.share_above(threshold_db)
        served = np.isfinite(result.js_db)
        rows.append(
            {
                "as_listed": eirp is None,
                **eirp_summary(used),  # never a mean of decibels: one EIRP, or "mixed" with its range
                "cells": len(cells),
                "cells_ever_jammed": int((share > 0).sum()),
                "mean_jammed_share": float(share.mean()),
                "median_js_db": float(np.median(result.js_db[served & np.isfinite(result.js_db)]))
                if (served & np.isfinite(result.js_db)).any()
                else None,
                "gnss_flagged_cells": int(result.gnss_jammed.any(axis=0).sum()),
            }
        )
        last = (result, share)
    cap_rows: list[dict] = []
    cap_grid = None
    if capacity:
        from skyfence.threats.capacity_impact import capacity_impact

        impact = capacity_impact(
            constellation,
            cells,
            times,
            ground=_capacity_ground(constellation, ground),
            jammers=sites,
            antenna=antenna,
            gateway_curve=False,
        )
        labels = {"before": "before", "jamming": "jammers as listed"}
        cap_rows = [{"case": c, "label": labels.get(c, c), **v} for c, v in impact.summary().items()]
        cap_grid = impact.settings.get("footprint")
    summary = {
        "inputs": inputs,
        "region": area.name,
        "steps": len(times),
        "jammers": [s.to_dict() for s in sites],
        "sweep": rows,
        **({"capacity": cap_rows, "capacity_grid": cap_grid} if capacity else {}),
    }
    if out is not None and last is not None:
        import pandas as pd

        from skyfence._io import atomic_outputs
        from skyfence.report.geo import write_cells_geojson
        from skyfence.report.maps import plot_cells
        from skyfence.report.threat_figures import JAMMED_CMAP

        result, share = last
        with atomic_outputs(out) as staging:
            plot_cells(
                staging / "jammed_share.png",
                result.cells,
                100.0 * share,
                title=f"share of served time with J/S >= {threshold_db:g} dB",
                label="jammed share [%] (0 = never jammed)",
                vmin=0.0,
                vmax=100.0,
                cmap=JAMMED_CMAP,
                outline=area.geometry,
            )
            js = np.where(np.isfinite(result.signal_dbw), result.js_db, np.nan)
            finite = np.isfinite(js)
            median_js = np.full(js.shape[1], np.nan)
            some = finite.any(axis=0)
            median_js[some] = [float(np.median(js[finite[:, i], i])) for i in np.flatnonzero(some)]
            write_cells_geojson(
                staging / "jammed_share.geojson",
                result.cells,
                pd.DataFrame(
                    {
                        "cell": [f"{int(c):x}" for c in result.cells],
                        "jammed_share": share.astype(float),
                        "median_js_db": [None if not np.isfinite(v) else float(v) for v in median_js],
                        "served_steps": np.isfinite(result.signal_dbw).sum(axis=0).astype(int),
                        "gnss_jammed_share": result.gnss_jammed.mean(axis=0).astype(float),
                    }
                ),
            )
            (staging / "summary.json").write_text(summary_text(summary))
    if json_out:
        print_json(portable_paths(summary))
        return
    heights = sorted({s.height_m for s in sites})
    at = f"{heights[0]:g} m" if len(heights) == 1 else f"{heights[0]:g}-{heights[-1]:g} m"
    console.print(
        f"[bold]{area.name}[/]: {len(cells)} cells, {len(times)} steps, {len(sites)} jammer(s) {at} above ground"
    )
    for row in rows:
        console.print(
            f"  EIRP {row['eirp_label']}{' (as listed)' if row['as_listed'] else ''}: "
            f"{row['cells_ever_jammed']} cells jammed at some time, "
            f"mean share {row['mean_jammed_share']:.1%}, median J/S "
            f"{'–' if row['median_js_db'] is None else format(row['median_js_db'], '+.1f')} dB, "
            f"GNSS-flagged cells {row['gnss_flagged_cells']}"
        )
    if cap_rows:
        console.print(f"capacity ({cap_grid}):" if cap_grid else "capacity:")
        _capacity_table(cap_rows)
    if out is not None:
        from rich.markup import escape

        console.print(
            f"wrote {escape(str(out))}/ (jammed_share.png, jammed_share.geojson: per-cell jammed share and median "
            "J/S of the last EIRP, summary.json)"
        )


@help_examples(
    (
        "skyfence threat attrition starlink_omm_20260818 --region TW --engage \\\n"
        "    --fraction 0,0.25,0.5 --duration 1h"
    ),
    ("skyfence threat attrition starlink_omm_20260818 --region TW --shell 0 \\\n    --fraction 1 --duration 1h --json"),
)
@app.command("attrition")
def attrition(
    source: str = typer.Argument(..., help="TLE/OMM file, preset name or celestrak:GROUP."),
    region: str = typer.Option("TW", "--region", help="Region whose coverage is measured."),
    res: int = typer.Option(5, "--res", help="H3 resolution."),
    start: str = typer.Option(None, help="Start, ISO 8601 UTC. Default: newest element epoch."),
    duration: str = typer.Option("24h", help="Span."),
    step: str = typer.Option("60s", help="Step."),
    min_elevation: float = typer.Option(25.0, "--min-elevation", help="Elevation mask \\[deg]."),
    norad: list[int] = typer.Option([], "--norad", help="Target catalog number (repeatable)."),
    shell: list[int] = typer.Option([], "--shell", help="Target shell (repeatable)."),
    plane: list[int] = typer.Option([], "--plane", help="Target plane within the shells (repeatable)."),
    generation: list[str] = typer.Option([], "--generation", help="Target generation, e.g. starlink-v1.5."),
    engage: bool = typer.Option(False, "--engage", help="Targets: every satellite over the region in the span."),
    fraction: str = typer.Option("1", "--fraction", help="Share of targets removed; a list sweeps: 0,0.1,0.5."),
    draws: int = typer.Option(20, "--draws", help="Monte Carlo draws per fraction."),
    seed: int = typer.Option(0, "--seed", help="Seed of the first draw."),
    capacity: bool = typer.Option(False, "--capacity", help=_CAPACITY_HELP),
    ground: str = typer.Option("starlink_ground_stations", "--ground", help=_GROUND_HELP),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
    strict: bool = STRICT_EPOCHS,
) -> None:
    """Coverage before and after removing satellites (visibility computed once, satellites masked per draw).

    With --capacity: Mb/s per user and served demand per fraction, mean over the first draws (at most 3), the
    capacity layer re-run with the removed satellites masked."""
    from skyfence.earth.regions import get_region
    from skyfence.orbits.sources import load_constellation
    from skyfence.threats.attrition import SatelliteAttack
    from skyfence.threats.montecarlo import draw_metrics, random_attrition_steps, resilience_curve
    from skyfence.threats.viewsets import compute_viewsets

    fractions = _floats(fraction, "--fraction")
    if draws < 1:
        raise InputError(f"need at least one draw, got {draws}", field="--draws")
    for f in fractions:
        SatelliteAttack(fraction=f)  # validates the range with the key name
    area = get_region(region)
    constellation = load_constellation(source)
    times = _span(constellation, start, duration, step, strict=strict)
    attack = SatelliteAttack(
        norad_ids=tuple(norad) or None,
        shells=tuple(shell) or None,
        planes=tuple(plane) or None,
        generations=tuple(generation) or None,
    )
    view = compute_viewsets(constellation, area.cells(res), times, min_elevation_deg=min_elevation)
    targets = attack.targets(constellation, t_ref=times[0], engaged=view.engaged() if engage else None)
    before = draw_metrics(view, None)
    _, summary = resilience_curve(
        view, lambda f, s: random_attrition_steps(view, f, s, targets), fractions, draws=draws, seed=seed
    )
    payload = {
        "region": area.name,
        "satellites": len(constellation),
        "targets": int(targets.sum()),
        "steps": len(times),
        "before": before,
        "after": summary.to_dict(orient="records"),
    }
    if capacity:
        payload["capacity"] = _attrition_capacity(
            constellation,
            area.cells(res),
            times,
            targets,
            fractions,
            draws,
            seed,
            _capacity_ground(constellation, ground),
        )
    if json_out:
        print_json(payload)
        return
    console.print(
        f"[bold]{area.name}[/]: {len(constellation):,} satellites, {int(targets.sum()):,} targeted; "
        f"{len(times)} steps; {draws} draws per fraction"
    )
    for metric in ("coverage_fraction", "sats_in_view_mean", "max_gap_s"):
        console.print(f"  {metric}: before {before[metric]:.4g}")
        part = summary[summary["metric"] == metric]
        for row in part.itertuples(index=False):
            console.print(f"    fraction {row.intensity:g}: mean {row.mean:.4g} [p05 {row.p05:.4g}, p95 {row.p95:.4g}]")
    if capacity:
        console.print("capacity (mean over the draws):")
        _capacity_table(payload["capacity"])


def _attrition_capacity(constellation, cells, times, targets, fractions, draws, seed, ground) -> list[dict]:
    """Capacity before and after removing each fraction of the targets, first draws (one pass, masked cases)."""
    import numpy as np

    from skyfence.capacity.engine import CapacityCase, run_capacity_cases
    from skyfence.threats.attrition import draw_fraction
    from skyfence.threats.capacity_impact import CAPACITY_DRAWS, CAPACITY_METRICS, _figures

    n = min(draws, CAPACITY_DRAWS)
    meta = [(None, 0)] + [(f, d) for f in fractions for d in range(n)]
    cases = [
        CapacityCase(
            "before" if f is None else f"fraction {f:g}",
            removed_satellites=None if f is None else draw_fraction(targets, f, seed + d),
            ground=ground,
        )
        for f, d in meta
    ]
    figures = [_figures(r) for r in run_capacity_cases(constellation, cells, times, cases)]
    rows = [{"label": "before", "fraction": 0.0, **figures[0]}]
    for f in fractions:
        picked = [fig for (g, _), fig in zip(meta, figures, strict=True) if g == f]
        rows.append(
            {
                "label": f"fraction {f:g}",
                "fraction": f,
                **{m: float(np.mean([p[m] for p in picked])) for m in CAPACITY_METRICS},
            }
        )
    return rows


@help_examples(
    "skyfence threat debris --alt-km 500 --source starlink_omm_20260818",
    "skyfence threat debris --alt-km 800 --mass-kg 3000 --decay-days 365 --json",
)
@app.command("debris")
@renamed_options(alt_km="--alt", mass_kg="--mass")
def debris(
    alt_km: float = typer.Option(500.0, "--alt-km", help="Breakup altitude \\[km]."),
    mass_kg: float = typer.Option(1750.0, "--mass-kg", help="Mass involved \\[kg] (Kosmos 1408: 1,750)."),
    source: str = typer.Option(None, "--source", help="Constellation whose shells are exposed."),
    horizon_days: float = typer.Option(365.0, "--horizon-days", help="Horizon \\[days]."),
    lethal_size: float = typer.Option(0.01, "--lethal-size-m", help="Smallest lethal fragment \\[m] (assumption)."),
    area: float = typer.Option(30.0, "--area-m2", help="Satellite cross-section \\[m^2] (assumption)."),
    decay_days: str = typer.Option(
        "none", "--decay-days", metavar="DAYS", help="Fragment e-folding lifetime \\[days], e.g. 365; none = no decay."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """A Kosmos-1408-like ASAT breakup (FIRST-ORDER model): fragments, and expected losses per shell."""
    from skyfence.threats.debris import AsatEvent, debris_cloud

    if not horizon_days > 0:
        raise InputError(f"must be positive, got {horizon_days}", field="--horizon-days")
    event = AsatEvent(
        alt_km=alt_km,
        mass_kg=mass_kg,
        lethal_size_m=lethal_size,
        satellite_area_m2=area,
        decay_e_folding_days=_days_or_none(decay_days, "--decay-days"),
    )
    cloud = debris_cloud(event)
    payload: dict = {
        "model": "first-order",
        "event": event.__dict__,
        "lethal_fragments": round(cloud.lethal_fragments),
        "trackable_fragments": round(cloud.trackable_fragments),
        **cloud.settings,
    }
    if source is not None:
        from skyfence.orbits.sources import load_constellation

        table = cloud.shell_losses(load_constellation(source), horizon_days)
        payload["shells"] = table.to_dict(orient="records")
        payload["total"] = {
            "satellites": int(table["satellites"].sum()),
            "expected_losses_per_day": float(table["expected_losses_per_day"].sum()),
            "expected_losses_horizon": float(table["expected_losses_horizon"].sum()),
            "horizon_days": horizon_days,
        }
    if json_out:
        print_json(payload)
        return
    console.print(
        f"[bold]ASAT breakup at {alt_km:g} km[/] (first-order model): {payload['trackable_fragments']:,} "
        f"trackable and {payload['lethal_fragments']:,} lethal (>= {lethal_size * 100:g} cm) fragments"
    )
    if "shells" not in payload:
        return
    from rich import box
    from rich.table import Table

    shells = Table(
        title=f"Expected satellite losses per shell over {horizon_days:g} days",
        box=box.SIMPLE_HEAD,
        show_footer=True,
        pad_edge=False,
    )
    total = payload["total"]
    shells.add_column("shell", "total", justify="right", no_wrap=True)
    shells.add_column("altitude /\ninclination", no_wrap=True)
    shells.add_column("satellites", f"{total['satellites']:,}", justify="right", no_wrap=True)
    shells.add_column("losses\nper day", f"{total['expected_losses_per_day']:.4f}", justify="right", no_wrap=True)
    shells.add_column(
        f"losses in\n{horizon_days:g} days", f"{total['expected_losses_horizon']:.2f}", justify="right", no_wrap=True
    )
    for row in payload["shells"]:
        shells.add_row(
            str(row["shell"]),
            str(row["name"]),
            f"{row['satellites']:,}",
            f"{row['expected_losses_per_day']:.4f}",
            f"{row['expected_losses_horizon']:.2f}",
        )
    console.print(shells)
    console.print("shell -1: satellites in no shell found by altitude and inclination", highlight=False)


@help_examples(
    ("skyfence threat reach starlink_omm_20260818 --from Taipei \\\n    --exclude-gateways-in TW"),
    (
        "skyfence threat reach starlink_omm_20260818 --from Taipei \\\n"
        "    --exclude-gateways-in TW --cables-cut-in TW --isl none"
    ),
)
@app.command("reach")
@renamed_options(remove_site="--site", exclude_gateways_in="--gateways-in")
def reach(
    source: str = typer.Argument(..., help="TLE/OMM file, preset name or celestrak:GROUP."),
    from_: str = typer.Option(..., "--from", help="Terminal: city or LAT,LON."),
    start: str = typer.Option(None, help="Start, ISO 8601 UTC. Default: newest element epoch."),
    duration: str = typer.Option("10m", help="Span."),
    step: str = typer.Option("60s", help="Step."),
    isl: str = typer.Option("+grid", "--isl", help="+grid or none."),
    ground: str = typer.Option("starlink_ground_stations", help="Gateway/PoP dataset name or file."),
    remove_site: list[str] = typer.Option([], "--remove-site", help="Destroy a gateway/PoP by name (repeatable)."),
    exclude_gateways_in: list[str] = typer.Option(
        [], "--exclude-gateways-in", help="Take out every gateway in this country (repeatable)."
    ),
    cables_cut_in: list[str] = typer.Option([], "--cables-cut-in", help="PoPs in this country lose the Internet."),
    isl_failure: float = typer.Option(0.0, "--isl-failure", help="Share of ISLs failed."),
    seed: int = typer.Option(0, "--seed", help="Seed for ISL failures."),
    capacity: bool = typer.Option(False, "--capacity", help=_CAPACITY_HELP),
    region: str = typer.Option("TW", "--region", help="With --capacity: the region whose capacity is measured."),
    res: int = typer.Option(5, "--res", help="With --capacity: H3 resolution."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
    strict: bool = STRICT_EPOCHS,
) -> None:
    """Reachability and RTT from a terminal before and after ground losses (unreachable is an answer).

    With --capacity: Mb/s per user and served demand over --region before and after the ground losses."""
    from skyfence.earth.places import resolve_place
    from skyfence.network.ground import load_ground_segment
    from skyfence.orbits.sources import load_constellation
    from skyfence.threats.ground import GroundAttack, reachability

    attack = GroundAttack(
        sites=tuple(remove_site),
        gateways_in=tuple(exclude_gateways_in),
        cables_cut_in=tuple(cables_cut_in),
        isl_failure_fraction=isl_failure,
        seed=seed,
    )
    constellation = load_constellation(source)
    times = _span(constellation, start, duration, step, strict=strict)
    segment = load_ground_segment(ground)
    place = resolve_place(from_, field="--from")
    before, _ = reachability(constellation, [place], [None], times, segment, isl=isl)
    after, removed = reachability(constellation, [place], [None], times, segment, attack=attack, isl=isl)
    payload = {"before": before[0].summary(), "after": after[0].summary(), "removed": removed}
    if capacity:
        from skyfence.earth.regions import get_region
        from skyfence.threats.capacity_impact import capacity_impact

        fed = _capacity_ground(constellation, ground)
        attacked = attack.apply(fed)[0] if fed is not None else None
        impact = capacity_impact(
            constellation,
            get_region(region).cells(res),
            times,
            ground=fed,
            attacked_ground=attacked,
            gateway_curve=False,
        )
        labels = {"before": "before", "ground": "after the ground losses"}
        payload["capacity"] = [{"case": c, "label": labels.get(c, c), **v} for c, v in impact.summary().items()]
    if json_out:
        print_json(payload)
        return
    for label, s in (("before", payload["before"]), ("after", payload["after"])):
        rtt = "unreachable" if s["median_rtt_ms"] is None else f"median RTT {s['median_rtt_ms']:.1f} ms"
        console.print(f"{label:>6}: reachable {s['reachable_share']:.0%} of {s['steps']} steps, {rtt}")
    console.print(f"removed: {len(removed['gateways'])} gateways, {len(removed['pops'])} PoPs")
    if capacity:
        console.print(f"capacity over {region}:")
        _capacity_table(payload["capacity"])


@help_examples(
    "skyfence threat gateways starlink_omm_20260818 --region TW",
    ("skyfence threat gateways starlink_omm_20260818 --region TW --from Taipei \\\n    --orders 5"),
)
@app.command("gateways")
def gateways(
    source: str = typer.Argument(..., help="TLE/OMM file, preset name or celestrak:GROUP."),
    region: str = typer.Option("TW", "--region", help="Region whose service is measured."),
    res: int = typer.Option(5, "--res", help="H3 resolution."),
    start: str = typer.Option(None, help="Start, ISO 8601 UTC. Default: newest element epoch."),
    duration: str = typer.Option("2h", help="Span."),
    step: str = typer.Option("300s", help="Step."),
    ground: str = typer.Option("starlink_ground_stations", "--ground", help=_GROUND_HELP),
    from_: str = typer.Option(None, "--from", help="Also reachability and RTT from this terminal (city or LAT,LON)."),
    isl: str = typer.Option("+grid", "--isl", help="With --from: +grid or none (bent pipe)."),
    orders: int = typer.Option(3, "--orders", help="Random gateway orders for the band (beside nearest-first)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the first random order."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
    strict: bool = STRICT_EPOCHS,
) -> None:
    """Resilience curve: service over a region against the number of gateways lost.

    Gateways go nearest to the region first (the worst order for it), and in --orders random orders (a band).
    Per point: share of demand served, Mb/s per user, share of time and places with any capacity; with --from, the
    terminal's reachable share and median RTT (nearest-first order).  Bent-pipe satellites need a gateway in view;
    satellites with lasers stay fed while any gateway and PoP is left (the gateways' landing capacity is not
    modelled)."""
    from skyfence.capacity.engine import assign_generations
    from skyfence.capacity.resources import fed_by_starlink_gateways
    from skyfence.earth import cells as h3cells
    from skyfence.earth.regions import get_region
    from skyfence.network.ground import load_ground_segment
    from skyfence.orbits.sources import load_constellation
    from skyfence.threats.capacity_impact import gateway_steps, gateways_by_distance, gateways_lost_curve
    from skyfence.threats.ground import GroundAttack, reachability

    if orders < 0:
        raise InputError(f"must be >= 0, got {orders}", field="--orders")
    area = get_region(region)
    cells = area.cells(res)
    constellation = load_constellation(source)
    times = _span(constellation, start, duration, step, strict=strict)
    segment = load_ground_segment(ground)
    if not fed_by_starlink_gateways(assign_generations(constellation)):
        raise InputError(
            f"{constellation.name}'s satellites do not land at the gateways of {ground!r}",
            field="source",
            hint="the only gateway list in the data is Starlink's",
        )
    curve = gateways_lost_curve(constellation, cells, times, segment, seed=seed, orders=orders, max_steps=len(times))
    nearest = curve[curve["order"] == "nearest first"].reset_index(drop=True)
    rows = []
    for row in nearest.to_dict(orient="records"):
        rand = curve[(curve["order"] == "random order") & (curve["gateways_lost"] == row["gateways_lost"])]
        row["served_fraction_random_min"] = float(rand["served_fraction"].min()) if len(rand) else None
        row["served_fraction_random_max"] = float(rand["served_fraction"].max()) if len(rand) else None
        rows.append(row)
    if from_ is not None:
        from skyfence.earth.places import resolve_place

        place = resolve_place(from_, field="--from")
        lat, lon = h3cells.cell_centers(cells)
        order = gateways_by_distance(segment, lat, lon)
        for row, k in zip(rows, gateway_steps(len(order)), strict=True):
            result, _ = reachability(
                constellation, [place], [None], times, segment, attack=GroundAttack(sites=tuple(order[:k])), isl=isl
            )
            summary = result[0].summary()
            row["reachable_share"] = summary["reachable_share"]
            row["median_rtt_ms"] = summary["median_rtt_ms"]
    payload = {"region": area.name, "gateways": len(segment.gateways), "steps": len(times), "curve": rows}
    if json_out:
        print_json(payload)
        return
    console.print(
        f"[bold]{area.name}[/]: {len(segment.gateways)} gateways, nearest first (random orders: range); "
        f"{len(times)} steps"
    )
    for row in rows:
        band = (
            ""
            if row["served_fraction_random_min"] is None
            else f" [{row['served_fraction_random_min']:.1%}-{row['served_fraction_random_max']:.1%}]"
        )
        reach = ""
        if "reachable_share" in row:
            rtt = "unreachable" if row["median_rtt_ms"] is None else f"median RTT {row['median_rtt_ms']:.1f} ms"
            reach = f"; {from_}: reachable {row['reachable_share']:.0%}, {rtt}"
        console.print(
            f"  {row['gateways_lost']:>4} lost: served {row['served_fraction']:.1%}{band}, Mb/s per user median "
            f"{row['mbps_per_user_median']:.1f}, with service {row['service_coverage']:.1%}{reach}"
        )
