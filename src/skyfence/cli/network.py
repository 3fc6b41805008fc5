"""``skyfence network ...`` and ``skyfence latency``: routes, RTT, Hypatia state, validation.

Heavy modules are imported inside the commands so ``skyfence --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from typer.core import TyperGroup

from skyfence.cli._common import (
    STRICT_EPOCHS,
    check_epochs,
    check_output,
    console,
    err_console,
    help_examples,
    print_json,
    renamed_options,
    shared_options,
)
from skyfence.errors import InputError

__all__ = ["app", "latency", "latency_app"]

app = typer.Typer(help="Network: routes, latency, Hypatia-compatible routing state.", no_args_is_help=True)


class _LatencyGroup(TyperGroup):
    """``skyfence latency SOURCE --from ...`` stays the route command; ``country``/``world`` are sub-commands."""

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["route", *args]
        return super().parse_args(ctx, args)


latency_app = typer.Typer(
    cls=_LatencyGroup,
    no_args_is_help=True,
    help="Latency: a terminal's route and RTT (SOURCE --from ...), per country (country CC) or worldwide (world).",
)

_ISL_HELP = "ISL topology: +grid (4 lasers: in-plane and adjacent planes) or none (bent pipe)."


_GROUND_HELP = (
    "Gateway/PoP dataset name or file. Default: the operator's (Starlink's community list for Starlink; the data has "
    "none for other operators: give theirs)."
)


def _ground(
    ground: str,
    constellation,
    status: str,
    exclude: list[str],
    add_gateway: list[str],
    add_pop: list[str],
    remove_site: list[str],
):
    from skyfence.earth.places import parse_site
    from skyfence.network.ground import OPERATOR, load_ground_segment, operator_ground

    if ground == OPERATOR:
        ground = str(operator_ground(constellation, field="--ground"))
    wanted = ["operational", "planned"] if status == "all" else [s.strip() for s in status.split(",")]
    segment = load_ground_segment(ground, status=wanted)
    for kind, specs in (("gateway", add_gateway), ("pop", add_pop)):
        for spec in specs:
            name, lat, lon = parse_site(spec, kind, field=f"--add-{kind}")
            segment = segment.add_site(name, lat, lon, kind=kind)
    if remove_site:
        segment = segment.remove_sites(remove_site)
    if exclude:
        segment = segment.exclude_gateways_in(
            [c for item in exclude for c in item.split(",")], field="--exclude-gateways-in"
        )
    return segment


def _times(constellation, start: str | None, duration: str, step: str, *, strict: bool = False):
    from skyfence.orbits.time import default_start, time_grid

    t0 = default_start(constellation.epoch_range) if start is None else start
    times = time_grid(t0, duration, step)
    check_epochs(constellation, times, strict=strict)
    return times


def _destination(spec: str):
    from skyfence.earth.places import resolve_place

    return None if spec.strip().lower() == "pop" else resolve_place(spec, field="--to")


def _place_text(place: dict) -> str:
    name = f"{place['name']}, {place['country']}" if place.get("country") else place["name"]
    return f"{name} ({place['lat_deg']:.3f}, {place['lon_deg']:.3f})"


def _ambiguity_notes(*places: dict) -> None:
    for place in places:
        if isinstance(place, dict) and place.get("also"):
            others = place["also"]
            shown = "; ".join(others[:5]) + (f"; and {len(others) - 5} more" if len(others) > 5 else "")
            console.print(
                f"  note: {place['name']!r} is ambiguous; chose {place['name']}, {place['country']}, the most "
                f"populous; also: {shown}. Write 'NAME, CC' to choose another.",
                highlight=False,
            )


def _dated(path: str) -> str:
    """``name (YYYY-MM-DD)`` for a data file whose name carries an 8-digit date, else its name."""
    import re

    from skyfence.data.registry import REGISTRY

    name = Path(str(path)).name if path else "memory"
    if name in REGISTRY and REGISTRY[name].mirror_path:  # a dataset name: its file carries the date
        name = f"{name} = {Path(str(REGISTRY[name].mirror_path)).name}"
    dates = re.findall(r"(20\d{2})(\d{2})(\d{2})", name)
    return f"{name} ({'-'.join(dates[-1])})" if dates else f"{name} (undated)"


def _provenance(source: str, constellation, segment, method: str, assignment=None) -> dict:
    """What a latency answer rests on: the catalog and its newest element epoch, the ground-segment file, the
    PoP method and (realistic model) the operator PoP-assignment file."""
    from skyfence.orbits.time import iso_utc

    epochs = constellation.epoch_range
    info: dict[str, Any] = {
        "catalog": source,
        "catalog_epoch": iso_utc(epochs[1])[:10] if epochs is not None else None,
        "ground_segment": _dated(getattr(segment, "source", "")),
        "method": method,
    }
    if assignment is not None:
        info["pop_assignment_source"] = _dated(getattr(assignment, "source", ""))
        info["pop_assignment_rows_left_out"] = list(getattr(assignment, "excluded", ()))
    return info


def _print_provenance(info: dict) -> None:
    console.print(
        f"  catalog {info['catalog']} (newest element epoch {info['catalog_epoch']}); ground segment "
        f"{info['ground_segment']}",
        highlight=False,
    )
    if info.get("pop_assignment_source"):
        console.print(f"  operator PoP assignment {info['pop_assignment_source']}", highlight=False)
    console.print(f"  method: {info['method']}", highlight=False)


#: How ``latency SOURCE --from`` / ``network routes`` pick the PoP (see docs/validation_latency.md).
ROUTE_METHOD = (
    "geometry: shortest propagation path to the nearest PoP of the community gateway/PoP list (no operator "
    "PoP assignment, no access delay); `latency country` uses the operator's assignment"
)


def _print_summary(summary: dict) -> None:
    dst = summary["destination"]
    dst_text = "the PoP" if dst == "pop" else _place_text(dst)
    src = summary["source"]
    console.print(
        f"{_place_text(src)} -> {dst_text}: "
        f"{summary['steps']} steps, ISLs {summary['isl']}, reachable {summary['reachable_share']:.0%}",
        highlight=False,
    )
    _ambiguity_notes(src, dst)
    if summary["median_rtt_ms"] is None:
        console.print("  unreachable at every step")
        return
    console.print(
        f"  RTT min {summary['min_rtt_ms']:.1f} / median {summary['median_rtt_ms']:.1f} / "
        f"p95 {summary['p95_rtt_ms']:.1f} ms (propagation only), median hops {summary['median_hops']}, "
        f"path changes {summary['path_changes']}"
    )
    for what in ("gateways", "pops"):
        used = ", ".join(f"{u['name']} [{u['country'] or '?'}] {u['share']:.0%}" for u in summary[what])
        console.print(f"  {what}: {used}")


@help_examples(
    "skyfence latency starlink_omm_20260818 --from Taipei --to pop --duration 1h",
    (
        "skyfence latency starlink_omm_20260818 --from Taipei \\\n"
        "    --exclude-gateways-in TW --start 2026-08-18T12:00Z --duration 1h --json"
    ),
)
@latency_app.command("route")
def latency(
    source: str = typer.Argument(
        ..., help="TLE/OMM file, preset name, dated catalog (starlink_omm_20260818) or live celestrak:GROUP."
    ),
    from_: str = typer.Option(..., "--from", help="Terminal: city name (Taipei) or LAT,LON."),
    to: str = typer.Option("pop", "--to", help="pop (where traffic leaves the network), a city or LAT,LON."),
    start: str = typer.Option(None, help="Start, ISO 8601 UTC. Default: newest element epoch."),
    duration: str = typer.Option("1h", help="Span: 10m, 1h, 1d ..."),
    step: str = typer.Option("15s", help="Step (Starlink reconfigures every 15 s)."),
    isl: str = typer.Option("+grid", "--isl", help=_ISL_HELP),
    exclude_gateways_in: list[str] = typer.Option([], "--exclude-gateways-in", help="Country codes, e.g. TW."),
    ground: str = typer.Option("operator", help=_GROUND_HELP),
    status: str = typer.Option("operational", help="Site status: operational, planned or all."),
    add_gateway: list[str] = typer.Option([], "--add-gateway", help="Hypothetical gateway: NAME=LAT,LON or city."),
    add_pop: list[str] = typer.Option([], "--add-pop", help="Hypothetical PoP: NAME=LAT,LON or city."),
    remove_site: list[str] = typer.Option([], "--remove-site", help="Remove a gateway/PoP by name."),
    min_elevation: float = typer.Option(25.0, help="Elevation mask of terminal and gateways \\[deg]."),
    max_range_km: float = typer.Option(None, help="Maximum ground-link slant range \\[km]."),
    max_isl_km: float = typer.Option(None, help="Maximum ISL length \\[km]."),
    fibre_factor: float = typer.Option(1.5, help="Fibre route length / great circle (gateway->PoP->destination)."),
    json_out: bool = typer.Option(False, "--json", help="Print summary and per-step routes as JSON."),
    strict: bool = STRICT_EPOCHS,
) -> None:
    """RTT from a terminal to its PoP (or a destination) over time: gateways, PoPs, path changes."""
    from skyfence.earth.places import resolve_place
    from skyfence.network.routing import route_pairs
    from skyfence.orbits.sources import load_constellation

    constellation = load_constellation(source)
    times = _times(constellation, start, duration, step, strict=strict)
    segment = _ground(ground, constellation, status, exclude_gateways_in, add_gateway, add_pop, remove_site)
    result = route_pairs(
        constellation,
        [resolve_place(from_, field="--from")],
        [_destination(to)],
        times,
        segment,
        isl=isl,
        min_elevation_deg=min_elevation,
        gateway_min_elevation_deg=min_elevation,
        max_range_km=max_range_km,
        max_isl_km=max_isl_km,
        fibre_factor=fibre_factor,
    )[0]
    info = _provenance(source, constellation, segment, ROUTE_METHOD)
    if json_out:
        print_json({**result.to_dict(), "provenance": info})
    else:
        _print_summary(result.summary())
        _print_provenance(info)


@app.command("routes")
def routes(
    source: str = typer.Argument(
        ..., help="TLE/OMM file, preset name, dated catalog (starlink_omm_20260818) or live celestrak:GROUP."
    ),
    pairs: Path = typer.Option(..., "--pairs", help="CSV: from,to (city, LAT,LON or pop) per row."),
    start: str = typer.Option(None, help="Start, ISO 8601 UTC. Default: newest element epoch."),
    duration: str = typer.Option("0s", help="Span (0s: one time step)."),
    step: str = typer.Option("15s", help="Step."),
    isl: str = typer.Option("+grid", "--isl", help=_ISL_HELP),
    exclude_gateways_in: list[str] = typer.Option([], "--exclude-gateways-in", help="Country codes, e.g. TW."),
    ground: str = typer.Option("operator", help=_GROUND_HELP),
    status: str = typer.Option("operational", help="Site status: operational, planned or all."),
    min_elevation: float = typer.Option(25.0, help="Elevation mask \\[deg]."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
    strict: bool = STRICT_EPOCHS,
) -> None:
    """Routes and RTT for every pair in a CSV file, at every time step."""
    from skyfence.earth.places import read_pairs, resolve_place
    from skyfence.network.routing import route_pairs
    from skyfence.orbits.sources import load_constellation

    specs = read_pairs(pairs)
    constellation = load_constellation(source)
    times = _times(constellation, start, duration, step, strict=strict)
    segment = _ground(ground, constellation, status, exclude_gateways_in, [], [], [])
    results = route_pairs(
        constellation,
        [resolve_place(a, field="from") for a, _ in specs],
        [_destination(b) for _, b in specs],
        times,
        segment,
        isl=isl,
        min_elevation_deg=min_elevation,
        gateway_min_elevation_deg=min_elevation,
    )
    info = _provenance(source, constellation, segment, ROUTE_METHOD)
    if json_out:
        print_json([{**r.to_dict(), "provenance": info} for r in results])
        return
    for result in results:
        _print_summary(result.summary())
    _print_provenance(info)


@help_examples(
    (
        "skyfence network hypatia-state \\\n"
        "    ../shared/data/benchmarks/hypatia_starlink550 --duration 3s --step 1s \\\n"
        "    --out out/w1"
    ),
    (
        "skyfence network hypatia-state \\\n"
        "    ../shared/data/benchmarks/hypatia_starlink550 --duration 3s --step 1s \\\n"
        "    --frame itrf --out out/w1-itrf --json"
    ),
)
@app.command("hypatia-state")
def hypatia_state(
    input_dir: Path = typer.Argument(..., help="satgenpy inputs: tles.txt, isls.txt, ground_stations.txt, ..."),
    duration: str = typer.Option(..., help="Span; steps are 0, step, ... below it (satgenpy's rule)."),
    step: str = typer.Option(..., help="Step: 100ms, 1s ..."),
    out: Path = typer.Option(..., help="Output folder for fstate_<t_ns>.txt and gsl_if_bandwidth_<t_ns>.txt."),
    frame: str = typer.Option("hypatia", help="hypatia (GMST from UTC, as satgenpy) or itrf (UT1, polar motion)."),
    json_out: bool = typer.Option(False, "--json", help="Print the per-step summary as JSON."),
) -> None:
    """Write Hypatia's dynamic state (algorithm_free_one_only_over_isls) for satgenpy inputs."""
    from skyfence.network.hypatia import generate_dynamic_state, read_hypatia_inputs
    from skyfence.orbits.time import parse_duration

    if frame not in ("hypatia", "itrf"):
        raise InputError(f"unknown frame {frame!r}", field="--frame", hint="use hypatia or itrf")
    check_output(out, folder=True)
    inputs = read_hypatia_inputs(input_dir)
    duration_ns = int(parse_duration(duration).astype("int64"))
    step_ns = int(parse_duration(step, field="step").astype("int64"))
    summary = generate_dynamic_state(inputs, out, duration_ns=duration_ns, step_ns=step_ns, frame=frame)  # type: ignore[arg-type]
    if json_out:
        print_json(
            {
                "input_dir": str(input_dir),
                "out": str(out),
                "satellites": inputs.n_satellites,
                "ground_stations": inputs.n_ground_stations,
                "steps": summary,
            }
        )
        return
    console.print(
        f"{inputs.n_satellites:,} satellites, {inputs.n_ground_stations} ground stations, "
        f"{len(inputs.isls):,} ISLs -> {out}"
    )
    for s in summary:
        console.print(
            f"  t = {s['time_ns']} ns: {s['fstate_entries']:,} fstate entries written, "
            f"{s['gsl_pairs_in_range']:,} GSL pairs in range, {s['unreachable_gs_pairs']} unreachable pairs"
        )


@app.command("validate-ripe")
def validate_ripe(
    model: str = typer.Option(
        "access",
        "--model",
        help="access: the realistic model of `latency country` (access delay, processing, PoP assignment; the "
        "README's 3.0 ms figure), or propagation: geometry only, ends at the PoP.",
    ),
    isl: str = typer.Option("+grid", "--isl", help=_ISL_HELP + " (propagation model only)"),
    json_out: bool = typer.Option(False, "--json", help="Print the table as JSON."),
    markdown: bool = typer.Option(False, "--markdown", help="Print the table as Markdown."),
) -> None:
    """Simulated against measured median RTT for the RIPE Atlas Starlink probes (msm 52764390)."""
    from skyfence.network.validation import access_markdown, access_validation, markdown_table, ripe_validation

    if model not in ("access", "propagation"):
        raise InputError(f"unknown model {model!r}", field="--model", hint="use access or propagation")
    if model == "access" and isl != "+grid":
        raise InputError("--isl applies to --model propagation only", field="--isl", hint="add --model propagation")
    table = access_validation() if model == "access" else ripe_validation(isl=isl)
    if json_out:
        print_json(table.to_dict(orient="records"))
    elif markdown:
        print(access_markdown(table) if model == "access" else markdown_table(table))
    else:
        _print_validation(table, model, isl)


def _print_validation(table, model: str, isl: str) -> None:
    """An 80-column table (place names cut to fit) and the summary line saying which model it is."""
    from rich.table import Table

    access = model == "access"
    title = (
        "RIPE Atlas msm 52764390: realistic access model (fitted on calibration + TUM)"
        if access
        else f"RIPE Atlas msm 52764390: propagation only, to the PoP (ISLs {isl})"
    )
    grid = Table(title=title, title_justify="left", box=None, pad_edge=False)
    grid.add_column("probe", justify="right", width=7)
    grid.add_column("place", width=22 if access else 24, no_wrap=True, overflow="ellipsis")
    grid.add_column("measured\n\\[ms]", justify="right", width=9)
    grid.add_column("simulated\n\\[ms]", justify="right", width=9)
    grid.add_column("error\n\\[ms]" if access else "meas.-sim.\n\\[ms]", justify="right", width=10)
    grid.add_column("split" if access else "PoP", width=11 if access else 10, no_wrap=True, overflow="ellipsis")
    order = table.sort_values("error_ms" if access else "difference_ms")
    for r in order.itertuples():
        error = r.error_ms if access else r.difference_ms
        grid.add_row(
            str(r.prb_id) if r.prb_id else "TUM",
            str(r.place),
            f"{r.measured_median_rtt_ms:.1f}",
            f"{r.simulated_median_rtt_ms:.1f}",
            f"{error:+.1f}",
            str(r.split).replace("calibration (TUM)", "calib. TUM") if access else str(r.pop).split(" - ")[-1],
        )
    console.print(grid)
    if access:
        for split in ("held-back", "calibration"):
            part = table.loc[table["split"] == split, "error_ms"].abs()
            console.print(
                f"{split}: {len(part)} probes, median |error| {part.median():.1f} ms, largest {part.max():.1f} ms"
                + (" (the README's accuracy figure)" if split == "held-back" else ""),
                highlight=False,
            )
        return
    gap = table["difference_ms"]
    console.print(
        f"propagation only (no scheduling, processing or PoP -> Bing leg): simulated below measured for "
        f"{int((gap > 0).sum())} of {len(gap)} probes, median gap {gap.median():.1f} ms. The README's 3.0 ms is the "
        "access model's held-back error: `skyfence network validate-ripe` (default --model access).",
        highlight=False,
    )


_SOURCE_HELP = (
    "TLE/OMM file, dataset or preset (default: the newest Starlink catalog in the data, 2026-08-18, as the README's "
    "`latency SOURCE` example; the operator PoP assignment is a 2026-10-08 snapshot and the community ground list "
    "of 2026-03-20: every output names the files and dates it used)."
)


def _country_method(mode: str, code: str) -> str:
    if mode == "operator":
        return (
            f"realistic access model; {code}'s PoPs from the operator's PoP assignment (geofeed, prefix-weighted), "
            "reached over the community gateway list + inferred gateways"
        )
    return (
        f"realistic access model; {code} has no rows in the operator's PoP assignment (not served there), so its "
        "PoP is the nearest by delay over the community list + the assignment's PoPs + inferred gateways"
    )


def _country_run(countries: list[str] | None, run: dict):
    """Run the library with the shared options of ``latency country`` / ``latency world``."""
    from skyfence.network.access import AccessModel
    from skyfence.network.country import DEFAULT_SOURCE, country_latency, gazetteer_countries
    from skyfence.network.lasers import LaserModel
    from skyfence.network.pops import load_pop_assignment
    from skyfence.orbits.sources import load_constellation

    selection, processing_ms = run["selection"], run["processing_ms"]
    try:
        access = (
            AccessModel(policy=selection)
            if processing_ms is None
            else AccessModel(policy=selection, processing_ms=processing_ms)
        )
    except InputError as error:  # the model calls it its policy; the option is --selection
        if error.field == "policy":
            error.field = "--selection"
        raise
    laser_model = LaserModel(
        availability=run["lasers"], objective=run["objective"], dropout=run["dropout"], hop_delay_ms=run["laser_hop_ms"]
    )
    if run["cities"] < 1:
        raise InputError(f"--cities {run['cities']} must be >= 1", field="--cities")
    table = load_pop_assignment(run["assignment"]) if run["pop_assignment"] == "operator" else None
    run = {**run, "source": run["source"] or DEFAULT_SOURCE}
    constellation = load_constellation(run["source"])
    segment = _ground(run["ground"], constellation, run["status"], [], [], [], [])
    if countries is None:
        countries = sorted(set(gazetteer_countries()) | set(table.countries if table is not None else []))
    times = _times(constellation, run["start"], run["duration"], run["step"], strict=run["strict"])
    result = country_latency(
        constellation,
        countries,
        times,
        segment,
        pop_assignment=run["pop_assignment"],
        assignment=table,
        access=access,
        lasers=laser_model,
        infer_gateways=run["infer_gateways"],
        cities_per_country=run["cities"],
    )
    # the assignment's implausible rows (skyfence.network.pops), once the run's own input was found good: a bad
    # argument stays the one line it is
    for line in table.excluded if table is not None else ():
        err_console.print(f"warning: {escape(line)}", highlight=False)
    method = (
        "realistic access model; operator PoP assignment where a country has one, else nearest PoP"
        if run["pop_assignment"] == "operator"
        else "realistic access model; nearest PoP by delay (no operator assignment)"
    )
    result.settings["provenance"] = _provenance(run["source"], constellation, segment, method, table)
    _mark_service(result)
    return result


#: The operator's availability feed that says which countries are served (starlink.com/map, 2026-07-23).
SERVICE_FEED = "starlink_availability_20260723"
#: Feed statuses of a country without service (``exclude``: served in parts, see the feed's admin1 regions).
UNSERVED = ("blacklisted", "coming_soon", "pending_regulatory")


def _mark_service(result) -> None:
    """Add ``service_status`` (the feed's raw status, ``not in feed`` when absent) and ``served`` (False where
    the feed says there is no service: their RTT is hypothetical) to the table; the feed is named in settings."""
    from skyfence.policy.feed import read_feed

    feed = read_feed(SERVICE_FEED)
    table = result.table
    if not len(table):
        return
    status = [
        (feed.admin0[c].feed_status or feed.admin0[c].status) if c in feed.admin0 else "not in feed"
        for c in table["iso_a2"]
    ]
    table["service_status"] = status
    table["served"] = [s not in UNSERVED for s in status]
    result.settings["provenance"]["service_feed"] = _dated(feed.path)


_LATENCY_OPTIONS = {
    "source": (str | None, typer.Option(None, "--source", help=_SOURCE_HELP)),
    "strict": (bool, STRICT_EPOCHS),
    "start": (str | None, typer.Option(None, help="Start, ISO 8601 UTC. Default: newest element epoch.")),
    "duration": (str, typer.Option("24h", help="Span: 1h, 24h ...")),
    "step": (str, typer.Option("15m", help="Step; each step stands for one 15 s reconfiguration interval.")),
    "pop_assignment": (
        str,
        typer.Option(
            "operator", "--pop-assignment", help="operator (the PoPs Starlink assigns the country) or nearest."
        ),
    ),
    "assignment": (
        Path | None,
        typer.Option(None, "--assignment", help="Country -> PoP CSV (default: the staged snapshot)."),
    ),
    "selection": (
        str,
        typer.Option(
            "max_elevation", "--selection", help="Satellite selection: max_elevation, longest_visibility, min_delay."
        ),
    ),
    "processing_ms": (
        float | None,
        typer.Option(None, "--processing-ms", help="Per-node processing, one way \\[ms] (default fitted)."),
    ),
    "lasers": (
        str,
        typer.Option("generation", "--lasers", help="Laser availability: generation (no v1.0), all or none."),
    ),
    "objective": (str, typer.Option("delay", "--objective", help="Routing objective: delay, hops or load.")),
    "dropout": (float, typer.Option(0.0, "--laser-dropout", help="Probability a laser is down per step.")),
    "laser_hop_ms": (float, typer.Option(0.0, "--laser-hop-ms", help="Extra delay per laser hop \\[ms].")),
    "ground": (str, typer.Option("operator", help=_GROUND_HELP)),
    "status": (str, typer.Option("operational", help="Site status: operational, planned or all.")),
    "cities": (int, typer.Option(3, "--cities", help="Terminals per country: its most populous gazetteer cities.")),
    "infer_gateways": (
        bool,
        typer.Option(
            True,
            "--infer-gateways/--no-infer-gateways",
            help="Add a gateway at every PoP without one (documented inference rule).",
        ),
    ),
}


@help_examples(
    "skyfence latency country KI --json",
    "skyfence latency country TW --pop-assignment nearest --duration 1h",
    "skyfence latency country DE --selection longest_visibility --lasers none",
)
@latency_app.command("country")
@renamed_options(selection="--policy")
@shared_options(_LATENCY_OPTIONS, into="run")
def latency_country(
    country: str = typer.Argument(..., help="ISO 3166 alpha-2 country code, e.g. DE, KI."),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    run: dict | None = None,
) -> None:
    """p5/p50/p95 RTT from a country's terminals to its PoP(s), with the access and laser models."""
    result = _country_run([country], run or {})
    if json_out:
        print_json(result.to_dict())
        return
    row = result.table.iloc[0]
    console.print(
        f"{row['iso_a2']}: terminals {row['terminals']}; {result.settings['steps']} steps, "
        f"PoP assignment {row['assignment']}, reachable {row['reachable_share']:.0%}"
    )
    if not row["served"]:
        console.print(
            f"  NO SERVICE: the operator's availability feed ({result.settings['provenance']['service_feed']}) "
            f"says {row['service_status']!r} for {row['iso_a2']}: the RTT below is hypothetical",
            highlight=False,
        )
    if row["median_rtt_ms"] is None or row["median_rtt_ms"] != row["median_rtt_ms"]:  # None or NaN
        console.print("  unreachable at every step")
        return
    console.print(
        f"  RTT to the PoP p5 {row['p5_rtt_ms']:.1f} / median {row['median_rtt_ms']:.1f} / "
        f"p95 {row['p95_rtt_ms']:.1f} ms (access model: {result.settings['access']['policy']}, "
        f"15 s reconfiguration), median laser hops {row['median_laser_hops']:.0f}"
    )
    if row["assignment"] == "nearest":
        # the lowest-delay exit is taken at each step from the satellite serving the terminal, over its laser path:
        # when that path heads away (its plane's grid neighbours), a far PoP can be the nearest at a few steps
        console.print(
            f"  PoPs (the lowest-delay exit at each time step from the serving satellite over its laser links, "
            f"share of steps; a far PoP at a few steps is where that satellite's laser path reached a gateway "
            f"first): {row['pops']}",
            highlight=False,
        )
    else:
        console.print(f"  PoPs: {row['pops']}", highlight=False)
    console.print(f"  most used gateway: {row['gateway']}")
    info = result.settings["provenance"]
    _print_provenance({**info, "method": _country_method(row["assignment"], row["iso_a2"])})


@help_examples(
    "skyfence latency world --out out/latency-world",
    ("skyfence latency world --countries DE,FR,PL --duration 1h \\\n    --out out/latency-eu"),
    "skyfence latency world --pop-assignment nearest --out out/latency-nearest",
)
@latency_app.command("world")
@renamed_options(selection="--policy")
@shared_options(_LATENCY_OPTIONS, into="run")
def latency_world(
    out: Path = typer.Option(..., "--out", help="Output folder: PNG map, GeoJSON, GeoParquet, CSV and JSON."),
    countries: str = typer.Option(None, "--countries", help="Comma-separated codes (default: every country)."),
    run: dict | None = None,
) -> None:
    """Per-country p5/p50/p95 RTT to the PoP for every country: world map, table, GeoJSON and GeoParquet."""
    from skyfence.report.latency import write_world

    run = run or {}
    pop_assignment = run["pop_assignment"]
    wanted = [c for c in countries.split(",") if c.strip()] if countries else None
    result = _country_run(wanted, run)
    paths = write_world(result, out, title=f"Median RTT to the PoP ({pop_assignment} PoP assignment) [ms]")
    table = result.table
    reachable = table["median_rtt_ms"].notna()
    served = table["served"].astype(bool) if "served" in table else reachable.map(lambda _: True)
    console.print(
        f"{len(table)} countries ({int(reachable.sum())} reachable, {int((~served).sum())} without service: "
        f"hatched grey, RTT flagged), median of served countries' medians "
        f"{table.loc[reachable & served, 'median_rtt_ms'].median():.1f} ms -> {out}"
    )
    console.print(f"  service: {result.settings['provenance'].get('service_feed', '')}", highlight=False)
    _print_provenance(result.settings["provenance"])
    for kind, path in paths.items():
        console.print(f"  {kind}: {path}")
