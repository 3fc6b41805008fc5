"""``skyfence export ...``: files for other tools -- CZML for Cesium.

Heavy modules are imported inside the commands so ``skyfence --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path

import typer

from skyfence.cli._common import (
    STRICT_EPOCHS,
    bare_flag_renamed,
    check_epochs,
    check_output,
    console,
    help_examples,
    print_json,
    renamed_options,
    steps_progress,
)
from skyfence.errors import InputError

__all__ = ["app"]

app = typer.Typer(help="Export: files for other tools (CZML for Cesium).", no_args_is_help=True)


# --ground names the gateway/PoP dataset here as in every command; the flag that drew the gateway links was
# --ground (now --gsl, beside --isl): --ground without a value still reads as --gsl, with a warning
@help_examples(
    ("skyfence export czml starlink_omm_20260818 --duration 1h --gsl --isl \\\n    --out out/starlink.czml"),
    ("skyfence export czml oneweb_omm_20260818 --duration 10m \\\n    --out out/oneweb.czml"),
)
@app.command("czml", cls=bare_flag_renamed("--ground", "--gsl"))
@renamed_options(ground="--sites")
def czml(
    source: str = typer.Argument(
        ..., help="TLE/OMM file, preset name, dated catalog (starlink_omm_20260818) or live celestrak:GROUP."
    ),
    out: Path = typer.Option(..., "--out", help="The CZML file to write (.czml)."),
    start: str = typer.Option(None, help="Start, ISO 8601 UTC. Default: newest element epoch."),
    duration: str = typer.Option("1h", help="Span: 10m, 1h, 1d ..."),
    step: str = typer.Option("60s", help="Time between position samples (Cesium interpolates between them)."),
    gsl: bool = typer.Option(False, "--gsl", help="Add gateway (GSL) links: each satellite to its nearest gateway."),
    isl: bool = typer.Option(False, "--isl", help="Add laser links (+grid between laser-capable satellites)."),
    ground: str = typer.Option(
        "operator",
        "--ground",
        help="Gateway/PoP dataset name or file ('none': no sites). Default: the operator's (Starlink's community "
        "list for Starlink; the data has none for other operators: give theirs).",
    ),
    status: str = typer.Option("operational", help="Site status: operational, planned or all."),
    lasers: str = typer.Option("generation", help="Which satellites carry lasers: generation, all or none."),
    min_elevation: float = typer.Option(25.0, help="Elevation mask of the gateways \\[deg]."),
    max_samples: int = typer.Option(2_000_000, help="Refuse more satellite x time samples than this."),
    json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    strict: bool = STRICT_EPOCHS,
) -> None:
    """Write SOURCE's satellites (sampled ITRF positions), gateways, PoPs and links as CZML for Cesium."""
    from skyfence.report.czml import export_czml

    if out.suffix.lower() != ".czml":
        raise InputError(f"cannot write {out.name}", field="--out", hint="use a .czml file name")
    if gsl and ground.lower() == "none":
        raise InputError("--gsl needs gateways", field="--ground", hint="leave out --ground none")
    if duration.strip().startswith("-"):
        raise InputError(f"duration must not be negative, got {duration!r}", field="--duration", hint="e.g. 1h")
    if not (0.0 <= min_elevation < 90.0):
        raise InputError(f"elevation mask {min_elevation} deg is outside [0, 90)", field="--min-elevation")
    check_output(out, folder=False)
    with steps_progress(disable=json_out) as bar:
        task = bar.add_task("propagating", total=None)
        export = export_czml(
            source,
            out,
            start=start,
            duration=duration,
            step=step,
            sites=None if ground.lower() == "none" else ground,
            status=status,
            gsl=gsl,
            isl=isl,
            lasers=lasers,
            min_elevation_deg=min_elevation,
            max_samples=max_samples,
            progress=lambda n: bar.advance(task, n),
            check_times=lambda constellation, times: check_epochs(constellation, times, strict=strict),
        )
    summary = {**export.summary(), "out": str(out), "bytes": out.stat().st_size}
    if json_out:
        print_json(summary)
        return
    links = []
    if gsl:
        links.append(f"{export.gsl_links:,} GSL")
    if isl:
        links.append(f"{export.isl_links:,} ISL")
    console.print(
        f"{export.satellites:,} satellites × {export.samples_per_satellite:,} samples, {export.sites:,} sites"
        + (f", {' and '.join(links)} links" if links else "")
        + f", {export.start} → {export.end}"
    )
    if export.note:
        console.print(f"{export.note} (give them with --ground FILE)")
    if export.left_out:
        console.print(f"left out {export.left_out:,} satellite(s) without any valid SGP4 position")
    console.print(f"wrote {out} ({summary['bytes'] / 1e6:.1f} MB)")
