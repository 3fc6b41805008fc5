"""``skyfence propagate``: positions of a constellation over a time span, to NetCDF."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from skyfence.cli._common import (
    STRICT_EPOCHS,
    check_epochs,
    check_output,
    console,
    help_examples,
    print_summary_json,
    steps_progress,
)
from skyfence.errors import InputError


@help_examples(
    (
        "skyfence propagate starlink_omm_20260818 --start 2026-08-18T12:00Z \\\n"
        "    --duration 6h --step 60s --out out/starlink.nc"
    ),
    "skyfence propagate starlink-gen1 --duration 90m --step 15s --json",
)
def propagate(
    source: str = typer.Argument(
        ..., help="TLE/OMM file, preset name, dated catalog (starlink_omm_20260818) or live celestrak:GROUP."
    ),
    start: str = typer.Option(None, help="Start time, ISO 8601 UTC. Default: newest element epoch."),
    duration: str = typer.Option("6h", help="Span: 90m, 6h, 1d ..."),
    step: str = typer.Option("60s", help="Step: 15s, 60s, 5m ..."),
    out: Path = typer.Option(None, help="Write the dataset to this NetCDF file (.nc)."),
    geodetic: bool = typer.Option(True, help="Also store WGS-84 latitude, longitude and height."),
    skip_invalid: bool = typer.Option(False, "--skip-invalid", help="Leave out invalid element records."),
    json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    strict: bool = STRICT_EPOCHS,
) -> None:
    """Propagate SOURCE with SGP4 to ITRF positions (and geodetic coordinates)."""
    import numpy as np

    from skyfence._io import atomic_path
    from skyfence.orbits.propagate import propagate as propagate_positions
    from skyfence.orbits.sources import load_constellation
    from skyfence.orbits.time import default_start, iso_utc, time_grid

    if out is not None and out.suffix != ".nc":
        raise InputError(f"cannot write {out.name}", field="--out", hint="use a .nc (NetCDF-4) file name")
    check_output(out, folder=False)
    constellation = load_constellation(source, skip_invalid=skip_invalid)
    t0 = default_start(constellation.epoch_range) if start is None else start
    times = time_grid(t0, duration, step)
    check_epochs(constellation, times, strict=strict)
    with steps_progress(disable=json_out) as bar:
        task = bar.add_task("propagating", total=len(times))
        ds = propagate_positions(constellation, times, geodetic=geodetic, progress=lambda n: bar.advance(task, n))
    failed = ds["error"].values != 0
    failures = _failed_satellites(constellation, ds["error"].values, times)
    summary: dict[str, Any] = {
        "source": constellation.source or source,
        "satellites": len(constellation),
        "steps": len(times),
        "start": iso_utc(times[0]),
        "end": iso_utc(times[-1]),
        "failed_pairs": int(failed.sum()),
        "satellites_with_failures": int(failed.any(axis=1).sum()),
        "failed_satellites": failures,
        "out": None,
    }
    if geodetic and len(constellation):
        alt = ds["alt"].values
        summary["alt_km_min"] = round(float(np.nanmin(alt)), 1) if np.isfinite(alt).any() else None
        summary["alt_km_max"] = round(float(np.nanmax(alt)), 1) if np.isfinite(alt).any() else None
    if out is not None:
        with atomic_path(out) as tmp:
            ds.to_netcdf(tmp, engine="netcdf4")
    if print_summary_json(summary, out=out, json_out=json_out):
        return
    console.print(
        f"{summary['satellites']:,} satellites × {summary['steps']:,} steps, "
        f"{summary['start']} → {summary['end']}; SGP4 failures: {summary['failed_pairs']:,} pairs "
        f"({summary['satellites_with_failures']:,} satellites)"
    )
    for entry in failures[:_NAMED]:
        first = entry["first_failure"]
        first = first[:16] + "Z" if first[16:20] == ":00Z" else first
        console.print(
            f"  NORAD {entry['norad_id']} {entry['name']}: error {entry['error']}, {entry['failed_steps']:,} "
            f"step(s) from {first}",
            highlight=False,
            markup=False,
        )
    if len(failures) > _NAMED:
        console.print(f"  and {len(failures) - _NAMED:,} more satellites (all of them in --json)", highlight=False)
    for code in sorted({entry["error"] for entry in failures[:_NAMED]}):
        reason = next(e["reason"] for e in failures if e["error"] == code)
        console.print(f"  SGP4 error {code}: {reason}", highlight=False, markup=False)
    if "alt_km_min" in summary:
        console.print(f"altitude range: {summary['alt_km_min']} … {summary['alt_km_max']} km")
    if out is not None:
        console.print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")


#: Satellites with SGP4 failures named on the console (all of them in --json).
_NAMED = 5


def _failed_satellites(constellation, error, times) -> list[dict]:
    """Each satellite SGP4 failed for: NORAD id, name, failed steps, first failure time, error code and meaning."""
    import numpy as np
    from sgp4.api import SGP4_ERRORS

    from skyfence.orbits.time import iso_utc

    failed = error != 0
    rows = np.flatnonzero(failed.any(axis=1))
    sats = constellation.satellites
    out = []
    for row in rows.tolist():
        first = int(np.argmax(failed[row]))
        code = int(error[row, first])
        out.append(
            {
                "norad_id": int(sats["norad_id"].iloc[row]),
                "name": str(sats["name"].iloc[row]),
                "failed_steps": int(failed[row].sum()),
                "first_failure": iso_utc(times[first]),
                "error": code,
                "reason": SGP4_ERRORS.get(code, "unknown error"),
            }
        )
    return out
