"""``skyfence policy``: validate policies, decide fixes (one or millions), map availability, diff policies."""

from __future__ import annotations

import time as _time
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from skyfence._io import atomic_outputs, atomic_path
from skyfence.cli._common import (
    check_output,
    console,
    err_console,
    help_examples,
    print_json,
    print_summary_json,
    renamed_options,
    summary_text,
)
from skyfence.errors import InputError

app = typer.Typer(
    help="Policies: licences, statuses, geofences, whitelists, in-motion limits → decisions with reasons.",
    no_args_is_help=True,
)

_POLICY = typer.Argument(..., help="Policy file (TOML).")
_OPERATOR = typer.Option(None, "--operator", help="Operator to decide for (default: the policy's).")
_JSON = typer.Option(False, "--json", help="Print JSON.")


def _load(path: Path):
    from skyfence.policy import load_policy

    return load_policy(path)


def _policy_summary(policy) -> dict:
    spec = policy.spec
    return {
        "name": policy.name,
        "id": policy.id,
        "source": policy.source,
        "operator": policy.operator,
        "default": policy.default,
        "pov": spec.policy.pov,
        "as_of": spec.policy.as_of.isoformat() if spec.policy.as_of is not None else None,
    }


@help_examples(
    "skyfence policy validate examples/policies/real_world_2026.toml",
    "skyfence policy validate examples/policies/registry_driven.toml --json",
)
@app.command("validate")
def validate(file: Path = _POLICY, json_out: bool = _JSON) -> None:
    """Check a policy file completely (schema, references, zones, polygons, feed, conflicts) and print its id."""
    policy = _load(file)
    rules = policy.spec.rules
    summary = {
        "policy": _policy_summary(policy),
        "included": policy.included,
        "zones": sorted(policy.spec.zones),
        "licences": len(policy.spec.licences),
        "statuses": {
            "source": policy.status_source,
            "countries": len(policy.statuses),
            "without_polygon": list(policy.compiled.unmapped_status_codes),
        },
        "rules": [
            {
                "precedence": rank,
                "index": i,
                "id": policy.rule_id(i),
                "kind": rules[i].kind,
                "priority": rules[i].priority,
                "action": rules[i].action,
            }
            for rank, i in enumerate(policy.compiled.order)
        ],
        "valid": True,
    }
    registry = _from_registry(policy)
    if registry:
        summary["from_registry"] = registry
    if json_out:
        print_json(summary)
        return
    console.print(
        f"[bold green]valid[/] {escape(policy.name)}  id {policy.short_id}  operator {policy.operator}  "
        f"default {policy.default}  pov {summary['policy']['pov']}"
    )
    table = Table("order", "rule", "kind", "priority", "action")
    for entry in summary["rules"]:
        table.add_row(
            str(entry["precedence"]), escape(entry["id"]), entry["kind"], str(entry["priority"]), entry["action"]
        )
    console.print(table)
    if registry:
        console.print(
            f"{' and '.join(registry)} come from the control plane's registry: offline, this file sees none; "
            "decide offline with a snapshot (skyfence policy export --db URL --out snapshot.toml)"
        )
    status = summary["statuses"]
    if status["countries"]:
        console.print(
            f"statuses: {status['countries']} countries from {escape(str(status['source']))}; "
            f"without a polygon at this scale: {', '.join(status['without_polygon']) or 'none'}"
        )


@help_examples(
    ("skyfence policy check examples/policies/real_world_2026.toml \\\n    --lat 48.0159 --lon 37.8028 --explain"),
    (
        "skyfence policy check examples/policies/real_world_2026.toml \\\n"
        "    --lat 25.04 --lon 121.56 --registered-in TW --json"
    ),
    (
        "skyfence policy check examples/policies/real_world_2026.toml \\\n"
        "    --lat 50.45 --lon 30.52 --alt-m 9000 --speed-kmh 800 --plan aviation"
    ),
)
@app.command("check")
@renamed_options(terminal_id="--terminal")
def check(
    file: Path = _POLICY,
    lat: float = typer.Option(..., "--lat", help="Latitude \\[deg]."),
    lon: float = typer.Option(..., "--lon", help="Longitude \\[deg]."),
    speed_kmh: float = typer.Option(0.0, "--speed-kmh", help="Ground speed \\[km/h], 0 to 10,000 (as the API)."),
    alt_m: float = typer.Option(
        0.0, "--alt-m", help="Altitude above the WGS-84 ellipsoid \\[m], -1,000 to 100,000 (as the API)."
    ),
    terminal_id: str = typer.Option(None, "--terminal-id", help="Terminal id."),
    registered_in: str = typer.Option(None, "--registered-in", help="Registration country (ISO alpha-2)."),
    plan: str = typer.Option("residential", "--plan", help="residential, roam, maritime, aviation ..."),
    whitelisted: bool = typer.Option(False, "--whitelisted", help="The terminal is whitelisted (registered)."),
    time: str = typer.Option(None, "--time", help="UTC time, ISO 8601 (default: the policy's as_of, else now)."),
    end_use: str = typer.Option(None, "--end-use", help="Declared end use (e.g. military_aircraft)."),
    days_abroad: float = typer.Option(0.0, "--days-abroad", help="Days spent outside the registration country."),
    operator: str = _OPERATOR,
    explain: bool = typer.Option(False, "--explain", help="List every rule considered."),
    wide: bool = typer.Option(False, "--wide", help="With --explain: one wide row per rule."),
    db: str = typer.Option(
        None,
        "--db",
        help="For a policy whose licences or whitelists come from the registry: the control plane's database to "
        "read them from (SQLite path, sqlite:///path or postgresql://...); only read.",
    ),
    json_out: bool = _JSON,
) -> None:
    """Decide one fix: decision, deciding rule and reason (--explain: every rule, matched or not, and why).

    A policy that takes licences or whitelists from the control plane's registry (licences_from / whitelists_from
    = "registry") decides offline without them unless --db names the database: then it decides with the
    registry's current licences, conditions and enrolments, as `skyfence policy export` would write them.
    """
    _check_time(time)
    policy = _load(file)
    from_registry = _from_registry(policy)
    registry_version = None
    if from_registry and db is None:
        _registry_note(policy, "give --db URL to decide with the registry's current state")
    elif from_registry:
        policy, registry_version = _with_registry(file, db)
    elif db is not None:
        err_console.print(
            "note: --db not read: this policy takes its licences and whitelists from its own file",
            markup=False,
            highlight=False,
        )
    fix = {"speed_kmh": speed_kmh, "alt_m": alt_m, "plan": plan, "whitelisted": whitelisted, "days_abroad": days_abroad}
    if terminal_id is not None:
        fix["terminal"] = terminal_id
    if registered_in is not None:
        from skyfence.service.iso3166 import is_country_code

        if not is_country_code(registered_in.strip().upper()):
            raise InputError(
                f"{registered_in!r} is not an assigned ISO 3166-1 alpha-2 code",
                field="--registered-in",
                hint="e.g. TW, UA or PL; the control plane's API accepts the same codes",
            )
        fix["registered_in"] = registered_in.strip().upper()
    if end_use is not None:
        fix["end_use"] = end_use
    if time is not None:
        fix["time"] = time
    result = policy.engine(operator).explain(lat, lon, **fix)
    payload = result.to_dict()
    payload["policy"] = _policy_summary(policy)
    if from_registry:
        payload["registry"] = {"from_registry": from_registry, "consulted": db is not None, "version": registry_version}
    if not explain:
        payload.pop("rules")
    if json_out:
        print_json(payload)
        return
    colour = {"allow": "green", "deny": "red", "degrade": "yellow"}[result.decision]
    console.print(
        f"[bold {colour}]{result.decision.upper()}[/]  rule {escape(result.rule_id)}  "
        f"({result.country or 'sea'}; policy {policy.short_id})"
    )
    console.print(escape(result.reason))
    if result.also_matched:
        console.print(f"rules that also matched, later in precedence: {escape(', '.join(result.also_matched))}")
    if result.licence_note:
        console.print(f"[yellow]note:[/] {escape(result.licence_note)}")
    if registry_version is not None:
        console.print(f"{' and '.join(from_registry)} from the registry at version {registry_version}")
    if explain:
        _print_traces(result.traces, wide=wide)


def _from_registry(policy) -> list[str]:
    """What a policy takes from the control plane's registry: ``licences``, ``whitelists``, both or neither."""
    return [what for what in ("licences", "whitelists") if getattr(policy.spec.policy, f"{what}_from") == "registry"]


def _registry_note(
    policy, fix: str = "decide with a snapshot of it: skyfence policy export --db URL --out snapshot.toml"
) -> None:
    """One line on stderr when ``policy`` takes licences or whitelists from the registry and none is consulted."""
    what = _from_registry(policy)
    if what:
        err_console.print(
            f"note: {' and '.join(what)} of {policy.name!r} come from the control plane's registry, which was not "
            f"consulted (none here); {fix}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )


def _with_registry(file: Path, db: str):
    """The policy in ``file`` with the registry's licences and enrolments at ``db`` put in, and the version read."""
    from skyfence.service.commands import _require_service

    _require_service()
    from skyfence.policy import loads_policy
    from skyfence.service.snapshot import resolve_policy_file

    text, version = resolve_policy_file(db, file)
    return loads_policy(text, base_dir=file.parent, name=file.name), version


def _print_traces(traces, *, wide: bool) -> None:
    """Every rule considered: a six-column table with --wide, else rule and reason folded under each other."""
    from rich import box

    from skyfence.cli._layout import print_wide

    def mark(trace) -> str:
        return "[bold]decided[/]" if trace.decided else ("yes" if trace.matched else "no")

    if wide:
        table = Table("rule", "kind", "priority", "action", "matched", "why")
        for trace in traces:
            row = (escape(trace.id), trace.kind, str(trace.priority), trace.action, mark(trace), escape(trace.why))
            table.add_row(*row)
        print_wide(table)
        return
    table = Table("matched", "rule (kind, priority, action) and why", box=box.SIMPLE_HEAD, show_lines=True)
    table.columns[0].no_wrap = True
    table.columns[1].overflow = "fold"
    for trace in traces:
        table.add_row(
            mark(trace),
            f"[bold]{escape(trace.id)}[/] ({trace.kind}, priority {trace.priority}, {trace.action})\n"
            f"{escape(trace.why)}",
        )
    console.print(table)


@help_examples(
    (
        "skyfence policy evaluate examples/policies/real_world_2026.toml \\\n"
        "    out/fleet.parquet --out out/decisions.parquet"
    ),
    (
        "skyfence policy evaluate examples/policies/frontline_geofence_2026.toml \\\n"
        "    out/fleet.parquet --out out/decisions-2026.parquet --json"
    ),
)
@app.command("evaluate")
def evaluate(
    file: Path = _POLICY,
    fixes: Path = typer.Argument(
        ..., help="Fixes table (.parquet or .csv): lat, lon, \\[alt_m, speed_kmh, time, ...]."
    ),
    out: Path = typer.Option(..., "--out", help="Decisions table to write (.parquet), atomically."),
    operator: str = _OPERATOR,
    json_out: bool = _JSON,
) -> None:
    """Decide every fix of a table; write it back with decision, rule, rule_id, reason and country columns."""
    from skyfence.policy.fixes import read_fixes

    if out.suffix.lower() != ".parquet":
        raise InputError("the decisions file must be .parquet", field="--out")
    check_output(out, folder=False)
    policy = _load(file)
    _registry_note(policy)
    frame = read_fixes(fixes)
    t0 = _time.perf_counter()
    decisions = policy.engine(operator).evaluate(frame, source=str(fixes))
    seconds = _time.perf_counter() - t0
    result = frame.copy()
    for column, values in decisions.to_frame().items():
        result[column] = values.array
    with atomic_path(out) as tmp:
        result.to_parquet(tmp, index=False)
    summary = {
        "policy": _policy_summary(policy),
        "fixes": len(decisions),
        "decisions": decisions.counts(),
        "assumptions": decisions.assumptions,
        "seconds": round(seconds, 3),
        "out": str(out),
    }
    if json_out:
        print_json(summary)
        return
    counts = ", ".join(f"{k} {v:,}" for k, v in summary["decisions"].items())
    console.print(f"{len(decisions):,} fixes in {seconds:.2f} s: {counts} → {escape(str(out))}")
    for note in decisions.assumptions:
        console.print(f"  assumed {escape(note)}")


@help_examples(
    ("skyfence policy map examples/policies/real_world_2026.toml \\\n    --operator starlink --out out/availability"),
)
@app.command("map")
def map_(
    file: Path = _POLICY,
    operator: str = _OPERATOR,
    out: Path = typer.Option(..., "--out", help="Folder for cells/countries GeoJSON, GeoParquet, CSV and PNG."),
    res: int = typer.Option(3, "--res", help="H3 resolution of the cells (3: ~41,000 world cells)."),
    region: str = typer.Option("world", "--region", help="world, an ISO code, a country name, occupied:ua:DATE ..."),
    time: str = typer.Option(None, "--time", help="UTC time (default: the policy's as_of, else now)."),
    plan: str = typer.Option("residential", "--plan", help="Plan of the reference terminal."),
    json_out: bool = _JSON,
) -> None:
    """Availability per country and per H3 cell of an operator under a policy (GeoJSON, GeoParquet, PNG)."""
    from skyfence.policy import availability_map
    from skyfence.report.availability import write_availability_map

    _check_time(time)
    check_output(out, folder=True)
    policy = _load(file)
    _registry_note(policy)
    amap = availability_map(policy, operator=operator, res=res, region=region, time=time, plan=plan)
    summary = amap.summary()
    with atomic_outputs(out) as staging:
        summary["files"] = write_availability_map(amap, staging)
        (staging / "summary.json").write_text(summary_text(summary))
    if print_summary_json(summary, out=out, json_out=json_out):
        return
    console.print(
        f"{summary['operator']} under '{escape(policy.name)}' ({policy.short_id}) at {summary['time']}: "
        f"{summary['cells']:,} cells at res {res} over {escape(summary['region'])}"
    )
    table = Table("availability", "cells", "countries")
    for name, cells in summary["cells_by_availability"].items():
        table.add_row(name, f"{cells:,}", str(summary["countries_by_availability"].get(name, 0)))
    console.print(table)
    console.print(f"wrote {escape(str(out))}/ ({', '.join(summary['files'].values())}, summary.json)")


@help_examples(
    "skyfence policy import-availability starlink_availability_20260723",
    ("skyfence policy import-availability starlink_availability_20260723 \\\n    --out out/statuses.toml"),
)
@app.command("import-availability")
def import_availability(
    feed: str = typer.Argument(..., help="availability.json feed file, or a dataset (starlink_availability_20260723)."),
    out: Path = typer.Option(None, "--out", help="Write the statuses as a \\[statuses.countries] TOML table."),
    json_out: bool = _JSON,
) -> None:
    """Import an operator availability feed into statuses (canonical status, raw status, expected date)."""
    from skyfence.policy import read_feed, statuses_toml

    imported = read_feed(feed, base_dir=Path.cwd())
    summary: dict[str, Any] = {
        "source": imported.source,
        "countries": len(imported.admin0),
        "by_status": imported.counts(),
        "by_feed_status": imported.raw_counts(),
        "admin1_entries": len(imported.admin1),
        "statuses": {code: e.model_dump(exclude_none=True) for code, e in sorted(imported.admin0.items())},
    }
    if out is not None:
        text = statuses_toml(imported.admin0, comment=f"imported by skyfence from {imported.source}")
        with atomic_path(out) as tmp:
            tmp.write_text(text, encoding="utf-8")
    if print_summary_json(summary, out=out, json_out=json_out):
        return
    console.print(
        f"{summary['countries']} countries from {escape(imported.source)} "
        f"({summary['admin1_entries']} sub-national entries kept, not mapped)"
    )
    from skyfence.policy.model import STATUS_MEANINGS

    table = Table("status", "countries", "examples", "meaning")
    for status, count in summary["by_status"].items():
        examples = [c for c, e in sorted(imported.admin0.items()) if e.status == status][:8]
        table.add_row(status, str(count), ", ".join(examples), STATUS_MEANINGS.get(status, ""))
    console.print(table)
    if out is not None:
        console.print(f"wrote {escape(str(out))}")


def _check_time(time: str | None) -> None:
    """A bad --time is one line naming the option and the format (never pandas' multi-sentence advice)."""
    if time is not None:
        from skyfence.orbits.time import parse_time

        parse_time(time, field="--time")


_DB_URL = typer.Option(
    ...,
    "--db",
    envvar="SKYFENCE_DATABASE_URL",
    help="The control plane's database: a SQLite file path, sqlite:///path or postgresql://user:password@host/db.",
)


@help_examples(
    "skyfence policy export --db sqlite:///out/cp.db --out out/snapshot.toml",
    ("skyfence policy export --db sqlite:///out/cp.db --out out/snapshot.toml \\\n    --json"),
)
@app.command("export")
def export(
    db: str = _DB_URL,
    out: Path = typer.Option(..., "--out", help="The snapshot policy file to write (snapshot.toml)."),
    policy_dir: Path = typer.Option(
        None,
        "--policy-dir",
        envvar="SKYFENCE_POLICY_DIR",
        help="The server's folder of policy files (its SKYFENCE_POLICY_DIR): polygon files are copied from there.",
    ),
    json_out: bool = _JSON,
) -> None:
    """Write the control plane's registry as a policy (licences, conditions, whitelist files) and a ground-segment
    file, so that `assess` and `latency` answer "what does the control plane do right now?"."""
    from skyfence.service.commands import _require_service

    _require_service()
    from skyfence.service.snapshot import export_snapshot

    check_output(out, folder=False)
    result = export_snapshot(db, out, policy_dir=policy_dir)
    summary = {
        "policy": str(result.policy),
        "ground": str(result.ground),
        "whitelists": {code: str(path) for code, path in result.whitelists.items()},
        "polygons": [str(path) for path in result.polygons],
        "licences": result.licences,
        "sites": result.sites,
        "enrolled": result.enrolled,
    }
    if json_out:
        print_json(summary)
        return
    console.print(
        f"wrote {escape(str(result.policy))} ({result.licences} licences), {escape(str(result.ground))} "
        f"({result.sites} ground sites)"
        + "".join(f", {escape(str(p))} ({code})" for code, p in result.whitelists.items())
        + "".join(f", {escape(str(p))}" for p in result.polygons)
    )


@help_examples(
    (
        "skyfence policy import examples/policies/operator_serves_taiwan.toml \\\n"
        '    --db sqlite:///out/cp.db --reason "licences of 2026"'
    ),
    (
        "skyfence policy import examples/policies/real_world_2026.toml \\\n"
        "    --db sqlite:///out/cp.db --reason onboarding --actor cli:admin --json"
    ),
)
@app.command("import")
def import_(
    file: Path = _POLICY,
    db: str = _DB_URL,
    ground: Path = typer.Option(None, "--ground", help="A ground-segment file (starlink-viz JSON or map CSV)."),
    reason: str = typer.Option(..., "--reason", help="Why; recorded in the audit log with each change."),
    actor: str = typer.Option("cli:policy-import", "--actor", help="Who imports (the audit log's actor)."),
    json_out: bool = _JSON,
) -> None:
    """Load a policy file's licences and whitelists (and a ground file's sites) into the control plane's registry,
    in one audited transaction."""
    from skyfence.service.commands import _require_service

    _require_service()
    from skyfence.service.snapshot import import_snapshot

    counts = import_snapshot(db, file, ground_path=ground, actor=actor[:64], reason=reason)
    if json_out:
        print_json(counts)
        return
    console.print(
        f"imported {counts['licences']} licences, {counts['sites']} ground sites, {counts['enrolled']} enrolments"
    )


@help_examples(
    (
        "skyfence policy diff examples/policies/frontline_geofence_2024.toml \\\n"
        "    examples/policies/frontline_geofence_2026.toml --region UA --res 6"
    ),
)
@app.command("diff")
def diff(
    a: Path = typer.Argument(..., help="First policy file."),
    b: Path = typer.Argument(..., help="Second policy file."),
    operator: str = _OPERATOR,
    res: int = typer.Option(3, "--res", help="H3 resolution of the compared cells."),
    region: str = typer.Option("world", "--region", help="world, an ISO code, occupied:ua:DATE ..."),
    time: str = typer.Option(None, "--time", help="UTC time for both (default: each policy's as_of)."),
    plan: str = typer.Option("residential", "--plan", help="Plan of the reference terminal."),
    out: Path = typer.Option(None, "--out", help="Folder for the changed cells (GeoJSON, GeoParquet) and summary."),
    json_out: bool = _JSON,
) -> None:
    """Countries and cells whose availability changes from policy A to policy B, and the population affected."""
    from skyfence.policy import diff_policies

    _check_time(time)
    check_output(out, folder=True)
    policy_a, policy_b = _load(a), _load(b)
    _registry_note(policy_a)
    _registry_note(policy_b)
    result = diff_policies(policy_a, policy_b, operator=operator, res=res, region=region, time=time, plan=plan)
    summary = result.summary()
    if out is not None:
        import h3
        import numpy as np

        from skyfence.report.geo import write_cells_geojson, write_cells_geoparquet

        cells = np.array([h3.str_to_int(c) for c in result.cells["cell"]], dtype=np.uint64)
        with atomic_outputs(out) as staging:
            write_cells_geojson(staging / "changed_cells.geojson", cells, result.cells)
            write_cells_geoparquet(staging / "changed_cells.parquet", cells, result.cells)
            result.countries.to_csv(staging / "changed_countries.csv", index=False)
            (staging / "summary.json").write_text(summary_text(summary))
    if print_summary_json(summary, out=out, json_out=json_out):
        return
    console.print(
        f"{escape(summary['a']['name'])} → {escape(summary['b']['name'])}: "
        f"{summary['cells']['changed']:,} of {summary['cells']['total']:,} cells change at res {res}"
    )
    table = Table("country", "from", "to", "served share", "people (cities ≥15k)")
    for row in summary["countries"]:
        share = f"{row['served_fraction_from']:.0%} → {row['served_fraction_to']:.0%}"
        table.add_row(
            f"{row['iso_a2']} {escape(str(row['name']))}",
            row["from"],
            row["to"],
            share,
            f"{row.get('population', 0):,}",
        )
    console.print(table)
    people = summary["population"]
    if people.get("people") is not None:
        parts = [
            (people.get("people_gaining_service"), "gain service"),
            (people.get("people_losing_service"), "lose service"),
            (people.get("people_still_served"), "change status but stay served (e.g. served -> degraded)"),
            (people.get("people_still_unserved"), "change status but stay without service"),
        ]
        split = "; ".join(f"{n:,} {what}" for n, what in parts if n)
        console.print(
            f"population affected: {people['people']:,} people in {people['cities']:,} cities"
            + (f": {split}" if split else "")
            + f" ({escape(people['note'])})"
        )
