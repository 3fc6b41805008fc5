"""``skyfence region``: what a region is (area, H3 cells) and which regions hold a point.

Regions are countries (Natural Earth, default or German point of view), Natural Earth disputed areas
(``disputed:Crimea``), occupied Ukraine on a date (``occupied:ua:2026-08-22``), ``world`` or a GeoJSON file;
see :mod:`skyfence.earth.regions` (:func:`~skyfence.earth.regions.region_info`,
:func:`~skyfence.earth.regions.region_lookup`).
"""

from __future__ import annotations

import math
from typing import Annotated

import typer
from rich.table import Table

from skyfence.cli._common import console, help_examples, print_json
from skyfence.errors import InputError

__all__ = ["app"]

app = typer.Typer(
    help="Regions (countries, disputed and occupied areas, GeoJSON files): area and H3 cells, point look-up.",
    no_args_is_help=True,
)

_JSON = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
_POV = Annotated[str, typer.Option("--pov", help="Point of view of country borders: default or DEU (Crimea in UA).")]
_SCALE = Annotated[
    str | None, typer.Option("--scale", help="Natural Earth scale: 50m or 110m (default view), 10m (DEU).")
]
# negative coordinates ("-33.9") must reach the arguments instead of being read as unknown options
_NUMBERS_OK = {"ignore_unknown_options": True}


def _parse_coordinate(text: str, name: str, limit: float) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"{name} must be a number in degrees, got {text!r}", field=name) from None
    if not math.isfinite(value) or abs(value) > limit:
        raise InputError(f"{name} must be within ±{limit:g} degrees, got {text}", field=name)
    return value


@help_examples(
    "skyfence region info TW --res 6",
    "skyfence region info occupied:ua:2026-08-22 --res 5",
    "skyfence region info examples/regions/taiwan_strait.geojson --json",
)
@app.command("info")
def info(
    spec: Annotated[
        str,
        typer.Argument(
            metavar="NAME|FILE",
            help="ISO code (TW, UKR), country name, world, disputed:NAME, occupied:ua:YYYY-MM-DD or a GeoJSON file.",
        ),
    ],
    res: Annotated[int, typer.Option("--res", help="H3 resolution 0..15 for the cell count.")] = 5,
    containment: Annotated[
        str, typer.Option("--containment", help="Cell rule: center, overlap, full or bbox_overlap.")
    ] = "center",
    pov: _POV = "default",
    scale: _SCALE = None,
    as_json: _JSON = False,
    yes: Annotated[
        bool, typer.Option("--yes", help="Go ahead even above 10 million cells (memory and minutes of work).")
    ] = False,
) -> None:
    """Name, code, kind, source, geodesic area and H3 cell count of a region."""
    from skyfence.earth.regions import region_info

    summary = region_info(spec, res=res, pov=pov, scale=scale, containment=containment, yes=yes)
    if as_json:
        print_json(summary)
        return
    table = Table(show_header=False, title=summary["name"])
    table.add_column("field", style="bold")
    table.add_column("value")
    b = summary["bounds_deg"]
    rows = [
        ("code", summary["code"]),
        ("kind", summary["kind"]),
        ("source", summary["source"] or "-"),
        ("point of view", summary["pov"] or "-"),
        ("note", summary["note"] or "-"),
        ("area (geodesic, WGS-84)", f"{summary['area_km2']:,.1f} km²"),
        ("bounds", f"lon {b['lon_min']:.3f} … {b['lon_max']:.3f}, lat {b['lat_min']:.3f} … {b['lat_max']:.3f}"),
        (f"H3 cells at res {summary['res']} ({summary['containment']})", f"{summary['cells']:,}"),
        ("area of those cells", f"{summary['cells_area_km2']:,.1f} km²"),
        ("mean cell area at this res", f"{summary['mean_cell_area_km2']:,.4f} km²"),
    ]
    for key, value in rows:
        table.add_row(key, str(value))
    console.print(table)


@help_examples(
    "skyfence region lookup 44.952 34.102 --pov DEU",
    "skyfence region lookup 25.04 121.56 --json",
)
@app.command("lookup", context_settings=_NUMBERS_OK)
def lookup(
    lat: Annotated[str, typer.Argument(metavar="LAT", help="Latitude in degrees, -90..90.")],
    lon: Annotated[str, typer.Argument(metavar="LON", help="Longitude in degrees, east positive, -180 to 180.")],
    pov: _POV = "default",
    scale: _SCALE = None,
    occupied: Annotated[
        str, typer.Option("--date", help="Date of the occupied-Ukraine polygon (YYYY-MM-DD or latest).")
    ] = "latest",
    as_json: _JSON = False,
) -> None:
    """Country, disputed areas and occupied-territory status at LAT LON."""
    lat_deg = _parse_coordinate(lat, "lat", 90.0)
    lon_deg = _parse_coordinate(lon, "lon", 180.0)
    from skyfence.earth.regions import region_lookup
    from skyfence.policy.results import format_point

    result = region_lookup(lat_deg, lon_deg, pov=pov, scale=scale, occupied=occupied)
    if as_json:
        print_json(result)
        return
    country = result["country"]
    sea = result["territorial_sea"]
    if country["iso_a2"]:
        where = f"{country['iso_a2']} ({country['name']})"
    elif sea is not None:
        owner = f"{sea['iso_a2']} ({sea['name']})" if sea["iso_a2"] else f"{sea['name']} (no ISO code)"
        where = f"territorial sea of {owner}, within {sea['basis']}"
    else:
        where = "no country (sea beyond every territorial sea, or indeterminate land)"
    console.print(f"[bold]{format_point(lat_deg, lon_deg)}[/]: {where} — point of view {result['pov']}")
    for area in result["disputed"]:
        console.print(f"  disputed: {area['name']} ({area['code']}) — {area['note']}", markup=False)
    occ = result["occupied"]
    console.print(f"  {'inside' if occ['inside'] else 'outside'} {occ['region']} ({occ['source']})", markup=False)
