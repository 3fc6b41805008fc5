"""``skyfence catalog``: what is in a constellation source (:meth:`Constellation.summary`)."""

from __future__ import annotations

import typer
from rich.table import Table

from skyfence.cli._common import console, help_examples, print_json

app = typer.Typer(help="Inspect constellations: element files, presets, CelesTrak groups.", no_args_is_help=True)


@help_examples(
    "skyfence catalog info starlink_omm_20260818",
    "skyfence catalog info starlink_tle_20250923 --json",
    "skyfence catalog info starlink-gen1",
)
@app.command("info")
def info(
    source: str = typer.Argument(
        ..., help="TLE/OMM file, preset (starlink-gen1), dated catalog (starlink_omm_20260818) or live celestrak:GROUP."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
) -> None:
    """Satellite count, shells, epoch range and invalid records of SOURCE."""
    from skyfence.orbits.sources import load_constellation

    summary = load_constellation(source, skip_invalid=True).summary()
    summary["source"] = summary["source"] or source
    if json_out:
        print_json(summary)
        return
    from rich.markup import escape

    from skyfence.data.registry import REGISTRY

    title = REGISTRY[source].title if source in REGISTRY else ""
    console.print(f"[bold]{escape(summary['name'])}[/]" + (f" — {escape(title)}" if title else ""))
    console.print(f"source: {summary['source']}", markup=False, highlight=False, overflow="fold")
    console.print(f"satellites: {summary['satellites']:,}   epochs: {summary['epoch_min']} … {summary['epoch_max']}")
    # Planes are known for presets (Walker shells) only; a real catalog's shells have none: omit the columns.
    planes = any(s["n_planes"] is not None for s in summary["shells"])
    heads = ["shell", "name", "alt km", "incl °", *(["planes", "per plane"] if planes else []), "count"]
    table = Table(*heads, title="shells")
    for s in summary["shells"]:
        plane_cells = [
            "–" if s["n_planes"] is None else str(s["n_planes"]),
            "–" if s["sats_per_plane"] is None else str(s["sats_per_plane"]),
        ]
        table.add_row(
            str(s["shell"]),
            s["name"],
            f"{s['alt_km']:.1f}",
            f"{s['inclination_deg']:.2f}",
            *(plane_cells if planes else []),
            f"{s['count']:,}",
        )
    console.print(table)
    if not planes:
        console.print("planes and satellites per plane: not known for a catalog (only for presets' Walker shells)")
    console.print(f"not in a shell (raising, lowering or too few): {summary['not_in_a_shell']:,}")
    invalid = summary["invalid_records"]
    console.print(f"invalid records: {len(invalid)}")
    for line in invalid[:20]:
        console.print(f"  {line}", markup=False)
    if len(invalid) > 20:
        console.print(f"  … and {len(invalid) - 20} more (use --json for all)")
