"""Per-cell tables as GeoJSON (RFC 7946) and GeoParquet (1.1), written atomically.

Cell polygons come from :func:`skyfence.earth.cells.cells_to_polygons`
(antimeridian-safe).  GeoParquet is written with pyarrow alone: geometry as
WKB in a ``geometry`` column and the ``geo`` file metadata of the GeoParquet
1.1 specification (https://geoparquet.org/releases/v1.1.0/), so geopandas,
GDAL and DuckDB read it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from skyfence._io import atomic_path
from skyfence._json import jsonable
from skyfence.earth.cells import cells_to_polygons

__all__ = ["write_cells_geojson", "write_cells_geoparquet", "write_geojson", "write_geoparquet"]


def write_cells_geojson(path: str | Path, cells: np.ndarray, table: pd.DataFrame) -> Path:
    """A FeatureCollection with one Polygon/MultiPolygon feature per cell, properties from ``table`` rows."""
    return write_geojson(path, cells_to_polygons(np.asarray(cells, dtype=np.uint64)), table)


def write_geojson(path: str | Path, geometries, table: pd.DataFrame) -> Path:
    """A FeatureCollection with one feature per geometry (lon/lat), properties from ``table`` rows."""
    records = table.to_dict(orient="records")
    features = [
        {
            "type": "Feature",
            "geometry": shapely.geometry.mapping(poly),
            "properties": jsonable(row),
        }
        for poly, row in zip(geometries, records, strict=True)
    ]
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps({"type": "FeatureCollection", "features": features}, allow_nan=False))
    return path


def write_cells_geoparquet(path: str | Path, cells: np.ndarray, table: pd.DataFrame) -> Path:
    """GeoParquet 1.1 file: ``table`` columns plus a WKB ``geometry`` column of the cell polygons (OGC:CRS84)."""
    return write_geoparquet(path, cells_to_polygons(np.asarray(cells, dtype=np.uint64)), table)


def write_geoparquet(path: str | Path, geometries, table: pd.DataFrame) -> Path:
    """GeoParquet 1.1 file: ``table`` columns plus a WKB ``geometry`` column of ``geometries`` (OGC:CRS84)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    polygons = np.asarray(geometries, dtype=object)
    arrow = pa.Table.from_pandas(table.reset_index(drop=True), preserve_index=False)
    arrow = arrow.append_column("geometry", pa.array(shapely.to_wkb(polygons).tolist(), type=pa.binary()))
    types = sorted({shapely.get_type_id(p) for p in polygons})
    names = {3: "Polygon", 6: "MultiPolygon"}
    bounds = shapely.total_bounds(polygons).tolist() if len(polygons) else [0, 0, 0, 0]
    geo = {
        "version": "1.1.0",
        "primary_column": "geometry",
        "columns": {
            "geometry": {
                "encoding": "WKB",
                "geometry_types": [names[t] for t in types if t in names],
                "bbox": bounds,
                "edges": "planar",
            }
        },
    }
    arrow = arrow.replace_schema_metadata({**(arrow.schema.metadata or {}), b"geo": json.dumps(geo).encode()})
    path = Path(path)
    with atomic_path(path) as tmp:
        pq.write_table(arrow, tmp)
    return path
