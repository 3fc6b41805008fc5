"""PNG maps of per-cell values, drawn offline with matplotlib: cells as polygons, borders from Natural Earth."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import shapely

from skyfence._io import atomic_path
from skyfence.earth.cells import cells_to_polygons

__all__ = ["plot_cells"]


def _rings(geometry):
    """Exterior and interior rings of a (Multi)Polygon as (N, 2) lon/lat arrays."""
    for part in getattr(geometry, "geoms", [geometry]):
        if part.is_empty or part.geom_type != "Polygon":
            continue
        yield np.asarray(part.exterior.coords)
        for ring in part.interiors:
            yield np.asarray(ring.coords)


def plot_cells(
    path: str | Path,
    cells: np.ndarray,
    values: np.ndarray,
    *,
    title: str,
    label: str,
    borders=None,
    extent: tuple[float, float, float, float] | None = None,
    cmap: str = "viridis",
    vmin: float | None = None,
    vmax: float | None = None,
    categories: dict[int, tuple[str, str]] | None = None,
) -> Path:
    """Draw ``values`` per H3 cell on a plate-carrée map and save a PNG.

    Parameters
    ----------
    borders
        Shapely geometries (countries, the region) drawn as thin lines.
    extent
        ``(lon_min, lon_max, lat_min, lat_max)`` [deg]; default: the cells' bounds with a margin.
    categories
        For categorical maps: ``{value: (label, colour)}``; a legend replaces the colour bar.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import PolyCollection
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.patches import Patch

    cells = np.asarray(cells, dtype=np.uint64)
    values = np.asarray(values, dtype=float)
    polygons = cells_to_polygons(cells)
    verts, colours = [], []
    for poly, value in zip(polygons, values, strict=True):
        for ring in _rings(poly):
            verts.append(ring)
            colours.append(value)
    fig, ax = plt.subplots(figsize=(10, 6 if extent is None or (extent[1] - extent[0]) > 60 else 8), dpi=110)
    collection = PolyCollection(verts, array=np.asarray(colours), edgecolors="face", linewidths=0.2)
    if categories:
        keys = sorted(categories)
        cmap_obj = ListedColormap([categories[k][1] for k in keys])
        collection.set_cmap(cmap_obj)
        collection.set_norm(BoundaryNorm([k - 0.5 for k in keys] + [keys[-1] + 0.5], cmap_obj.N))
    else:
        collection.set_cmap(cmap)
        collection.set_clim(
            vmin if vmin is not None else np.nanmin(values) if values.size else 0,
            vmax if vmax is not None else np.nanmax(values) if values.size else 1,
        )
    ax.add_collection(collection)
    if borders is not None:
        for geometry in np.atleast_1d(np.asarray(borders, dtype=object)):
            for ring in _rings(geometry):
                ax.plot(ring[:, 0], ring[:, 1], color="#333333", linewidth=0.5)
    if extent is None:
        if len(polygons):
            x0, y0, x1, y1 = shapely.total_bounds(polygons)
            pad = max(1.0, 0.08 * max(x1 - x0, y1 - y0))
            extent = (max(x0 - pad, -180), min(x1 + pad, 180), max(y0 - pad, -90), min(y1 + pad, 90))
        else:
            extent = (-180, 180, -90, 90)
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    mid_lat = np.radians(0.5 * (extent[2] + extent[3]))
    ax.set_aspect(1.0 / max(np.cos(mid_lat), 0.2))
    ax.set_xlabel("longitude [deg]")
    ax.set_ylabel("latitude [deg]")
    ax.set_title(title)
    if categories:
        ax.legend(
            handles=[Patch(color=c, label=name) for name, c in (categories[k] for k in sorted(categories))],
            loc="lower left",
            fontsize=8,
        )
    else:
        fig.colorbar(collection, ax=ax, label=label, shrink=0.8)
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return path
