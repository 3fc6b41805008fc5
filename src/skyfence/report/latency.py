"""The per-country latency product as files: CSV and JSON tables, GeoJSON and GeoParquet country polygons, and a
PNG world map of median RTT to the PoP (from :func:`skyfence.network.country.country_latency`)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

__all__ = ["write_world"]


def write_world(result, out: str | Path, *, title: str = "") -> dict[str, str]:
    """Write ``latency_by_country.csv``, ``.json``, ``.geojson``, ``.parquet`` (GeoParquet 1.1, WKB) and ``.png``
    (median RTT choropleth) into ``out``; returns ``{kind: path}``."""
    import shapely

    from skyfence._io import atomic_path
    from skyfence.earth.regions import countries
    from skyfence.report.geo import write_geojson, write_geoparquet

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    table = result.table
    shapes = countries()
    shapes = (
        shapes[shapes["iso_a2"] != ""]
        .groupby("iso_a2")["geometry"]
        .apply(lambda g: shapely.union_all(list(g)))
        .reset_index()
    )
    joined = shapes.merge(table, on="iso_a2", how="inner")
    paths = {}
    with atomic_path(out / "latency_by_country.csv") as tmp:
        table.to_csv(tmp, index=False)
    paths["csv"] = str(out / "latency_by_country.csv")
    with atomic_path(out / "latency_by_country.json") as tmp:
        Path(tmp).write_text(json.dumps(result.to_dict(), indent=1, default=str), encoding="utf-8")
    paths["json"] = str(out / "latency_by_country.json")
    properties = joined.drop(columns=["geometry"])
    paths["geojson"] = str(write_geojson(out / "latency_by_country.geojson", joined["geometry"], properties))
    paths["parquet"] = str(write_geoparquet(out / "latency_by_country.parquet", joined["geometry"], properties))
    paths["png"] = _plot(joined, out / "latency_by_country.png", title or "Median RTT to the PoP [ms]")
    return paths


def _plot(table, path: Path, title: str) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import PolyCollection

    from skyfence._io import atomic_path
    from skyfence.report.maps import _basemap, _rings

    fig, ax = plt.subplots(figsize=(14, 7), dpi=100)
    _basemap(ax, (-180.0, 180.0, -60.0, 85.0), "default", None)
    polys, values, unserved = [], [], []
    served = table["served"] if "served" in table else [True] * len(table)
    for geometry, value, ok in zip(table["geometry"], table["median_rtt_ms"], served, strict=True):
        if not ok:  # the operator's feed says no service: no colour, hatched grey
            unserved.extend(_rings(geometry))
            continue
        if value is None or not np.isfinite(value):
            continue
        for ring in _rings(geometry):
            polys.append(ring)
            values.append(value)
    collection = PolyCollection(
        polys, array=np.asarray(values, dtype=float), cmap="viridis_r", edgecolor="#555555", linewidth=0.2
    )
    collection.set_clim(20, 120)
    ax.add_collection(collection)
    fig.colorbar(collection, ax=ax, shrink=0.7, label="median RTT to the PoP [ms]")
    if unserved:
        from matplotlib.patches import Patch

        grey, edge = "#d0d0d0", "#777777"
        ax.add_collection(PolyCollection(unserved, facecolor=grey, edgecolor=edge, hatch="///", linewidth=0.2))
        key = Patch(facecolor=grey, edgecolor=edge, hatch="///", label="no service (operator's availability feed)")
        ax.legend(handles=[key], loc="lower left")
    ax.set_xlim(-180, 180)
    ax.set_ylim(-60, 85)
    ax.set_aspect("equal")
    ax.set_title(title)
    ax.set_xlabel("longitude [deg]")
    ax.set_ylabel("latitude [deg]")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", bbox_inches="tight")
    plt.close(fig)
    return str(path)
