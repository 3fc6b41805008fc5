"""Files of an availability map: cells and countries as GeoJSON/GeoParquet/CSV, and the map drawn as a PNG.

The policy layer computes :class:`~skyfence.policy.availability.AvailabilityMap`; drawing and writing it is the
report's job, with the same basemap and colours as the assess report (:mod:`skyfence.report.figures`).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import shapely

from skyfence._io import atomic_path
from skyfence.policy.availability import AVAILABILITY, AvailabilityMap
from skyfence.report.figures import AVAILABILITY_COLOURS, legend_label
from skyfence.report.geo import write_cells_geojson, write_cells_geoparquet
from skyfence.report.maps import Panel, draw_cells

__all__ = ["availability_png", "write_availability_map"]


def availability_png(amap: AvailabilityMap) -> bytes:
    """The map of ``amap``: one category colour per cell, legend of the categories present."""
    codes = {name: k for k, name in enumerate(AVAILABILITY)}
    values = np.array([codes[a] for a in amap.table["availability"]], dtype=float)
    categories = {codes[n]: (legend_label(n), AVAILABILITY_COLOURS[n]) for n in AVAILABILITY}
    world = amap.region.kind == "world"
    return draw_cells(
        [Panel("", amap.cells, values)],
        title=f"{amap.operator} availability under '{amap.policy.name}' ({amap.policy.short_id}) "
        f"at {amap.time:%Y-%m-%d}, plan {amap.plan}",
        categories=categories,
        outline=None if world else amap.region.geometry,
        pov=amap.policy.spec.policy.pov,
        extent=(-180, 180, -90, 90) if world else None,
        cities=0 if world else 6,
    )


def write_availability_map(amap: AvailabilityMap, folder: str | Path) -> dict[str, str]:
    """Write ``cells.geojson``, ``cells.parquet``, ``countries.geojson``, ``countries.csv`` and ``map.png``."""
    folder = Path(folder)
    files = {
        "cells_geojson": write_cells_geojson(folder / "cells.geojson", amap.cells, amap.table).name,
        "cells_parquet": write_cells_geoparquet(folder / "cells.parquet", amap.cells, amap.table).name,
    }
    files["countries_geojson"] = _write_countries_geojson(folder / "countries.geojson", amap).name
    with atomic_path(folder / "countries.csv") as tmp:
        amap.countries.to_csv(tmp, index=False)
    files["countries_csv"] = "countries.csv"
    with atomic_path(folder / "map.png") as tmp:
        tmp.write_bytes(availability_png(amap))
    files["map_png"] = "map.png"
    return files


def _write_countries_geojson(path: Path, amap: AvailabilityMap) -> Path:
    geo = amap.policy.compiled.geography
    table = amap.countries.set_index("iso_a2")
    features = []
    for part in geo.parts[: geo.n_countries]:
        if not part.country or part.country not in table.index:
            continue
        row = table.loc[part.country]
        properties = {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in row.items()}
        properties["iso_a2"] = part.country
        properties["unit"] = part.name
        geometry = shapely.simplify(part.geometry, 0.01, preserve_topology=True)
        features.append(
            {
                "type": "Feature",
                "geometry": shapely.geometry.mapping(geometry),
                "properties": json.loads(json.dumps(properties, default=str)),
            }
        )
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps({"type": "FeatureCollection", "features": features}, allow_nan=False))
    return path
