"""PNG maps of per-cell values, drawn offline with matplotlib, for the ``coverage`` command and the assess report.

One basemap for every map: Natural Earth admin-0 polygons (:func:`skyfence.earth.regions.countries`, the same
source and point of view as the region) with land in light grey over a pale sea, neighbours' borders in grey, the
region's outline in dark grey, and a few of the largest GeoNames cities labelled.  H3 cells are drawn as
polygons on top.  Several panels share one colour scale (small multiples), so that panels can be compared by eye.
"""

from __future__ import annotations

import functools
import io
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from skyfence._io import atomic_path
from skyfence.earth.cells import cells_to_polygons

__all__ = ["Panel", "cells_figure", "draw_cells", "plot_cells"]

SEA = "#eef3f7"
LAND = "#dcdcdc"
BORDER = "#9b9b9b"
OUTLINE = "#303030"


@dataclass(frozen=True)
class Panel:
    """One map in a figure: H3 ``cells`` [uint64] coloured by ``values`` (float, or category codes)."""

    title: str
    cells: np.ndarray
    values: np.ndarray


def _rings(geometry):
    """Exterior and interior rings of a (Multi)Polygon as (N, 2) lon/lat arrays."""
    for part in getattr(geometry, "geoms", [geometry]):
        if part.is_empty or part.geom_type != "Polygon":
            continue
        yield np.asarray(part.exterior.coords)
        for ring in part.interiors:
            yield np.asarray(ring.coords)


def _extent(polygons, outline) -> tuple[float, float, float, float]:
    shapes = [g for g in [*polygons, outline] if g is not None and not g.is_empty]
    if not shapes:
        return (-180.0, 180.0, -90.0, 90.0)
    x0, y0, x1, y1 = shapely.total_bounds(np.asarray(shapes, dtype=object))
    if x1 - x0 > 300:
        return (-180.0, 180.0, -90.0, 90.0)
    pad = max(0.6, 0.12 * max(x1 - x0, y1 - y0))
    return (max(x0 - pad, -180.0), min(x1 + pad, 180.0), max(y0 - pad, -90.0), min(y1 + pad, 90.0))


def _basemap(ax, extent, pov: str, outline) -> None:
    from matplotlib.collections import PolyCollection

    from skyfence.earth.regions import countries

    world = extent[1] - extent[0] > 300
    # World maps use the 110m layer, published only in the default point of view (invisible at that scale).
    pov = "default" if world or pov not in ("default", "DEU") else pov
    table = countries(pov=pov, scale="110m" if world else None)
    window = shapely.box(extent[0] - 1, extent[2] - 1, extent[1] + 1, extent[3] + 1)
    land = []
    for geometry in table["geometry"]:
        if not shapely.intersects(window, geometry):
            continue
        clipped = geometry if world else shapely.clip_by_rect(geometry, *window.bounds)
        land.extend(_rings(clipped))
    ax.set_facecolor(SEA)
    ax.add_collection(PolyCollection(land, facecolors=LAND, edgecolors=BORDER, linewidths=0.4, zorder=0))
    if outline is not None:
        for ring in _rings(outline):
            ax.plot(ring[:, 0], ring[:, 1], color=OUTLINE, linewidth=0.8, zorder=3)


@functools.lru_cache(maxsize=1)
def _gazetteer():
    from skyfence.earth.places import city_table

    return city_table()


def _cities(ax, extent, count: int) -> None:
    """Label the ``count`` most populous GeoNames cities inside ``extent``, keeping labels apart."""
    import matplotlib.patheffects as effects

    table = _gazetteer()
    if table is None or count <= 0:
        return
    x0, x1, y0, y1 = extent
    inside = table[table["lon_deg"].between(x0, x1) & table["lat_deg"].between(y0, y1)]
    inside = inside.sort_values("population", ascending=False)
    spacing = 0.12 * max(x1 - x0, y1 - y0)
    placed: list[tuple[float, float]] = []
    halo = [effects.withStroke(linewidth=2.2, foreground="white")]
    for row in inside.itertuples():
        if len(placed) >= count:
            break
        if any(np.hypot(row.lon_deg - px, row.lat_deg - py) < spacing for px, py in placed):
            continue
        placed.append((row.lon_deg, row.lat_deg))
        ax.plot(row.lon_deg, row.lat_deg, "o", color="black", markersize=2.5, zorder=4)
        ax.annotate(
            row.name,
            (row.lon_deg, row.lat_deg),
            xytext=(3, 3),
            textcoords="offset points",
            fontsize=7.5,
            zorder=5,
            path_effects=halo,
        )


def cells_figure(
    panels: list[Panel],
    *,
    title: str,
    colourbar_label: str = "",
    cmap: str = "viridis",
    vmin: float | None = None,
    vmax: float | None = None,
    categories: dict[int, tuple[str, str]] | None = None,
    outline=None,
    pov: str = "default",
    extent: tuple[float, float, float, float] | None = None,
    cities: int = 6,
    note: str = "",
):
    """A matplotlib figure of one or more panels of H3 cells on the common basemap, on one colour scale.

    The legend or colour bar sits below the panels, outside every axes (constrained layout makes room for it), so
    it never covers a panel's longitude label; :func:`draw_cells` renders the figure to PNG.

    Parameters
    ----------
    categories
        For categorical maps: ``{value: (label, colour)}``; a legend replaces the colour bar.
    outline
        The region's geometry (shapely, lon/lat), drawn as a dark outline.
    extent
        ``(lon_min, lon_max, lat_min, lat_max)`` [deg]; default: the cells' and outline's bounds with a margin.
    cities
        How many of the largest cities inside the map to label.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import PolyCollection
    from matplotlib.colors import BoundaryNorm, Colormap, ListedColormap, Normalize
    from matplotlib.patches import Patch

    geometries = [cells_to_polygons(np.asarray(p.cells, dtype=np.uint64)) for p in panels]
    if extent is None:
        extent = _extent([g for polys in geometries for g in polys], outline)
    finite = [np.asarray(p.values, dtype=float) for p in panels]
    values_all = np.concatenate([v[np.isfinite(v)] for v in finite]) if finite else np.array([])
    cmap_obj: Colormap
    norm: Normalize
    if categories:
        keys = sorted(categories)
        cmap_obj = ListedColormap([categories[k][1] for k in keys])
        norm = BoundaryNorm([k - 0.5 for k in keys] + [keys[-1] + 0.5], cmap_obj.N)
    else:
        low = vmin if vmin is not None else (float(values_all.min()) if values_all.size else 0.0)
        high = vmax if vmax is not None else (float(values_all.max()) if values_all.size else 1.0)
        if high <= low:
            high = low + 1.0
        cmap_obj = matplotlib.colormaps[cmap]
        norm = Normalize(low, high)
    n = max(len(panels), 1)
    ncols = min(n, 3)
    nrows = -(-n // ncols)
    span_x, span_y = extent[1] - extent[0], extent[3] - extent[2]
    mid_lat = np.radians(0.5 * (extent[2] + extent[3]))
    aspect = 1.0 / max(np.cos(mid_lat), 0.2)
    width = {1: 6.5, 2: 10.0}.get(ncols, 11.0)
    panel_w = width / ncols
    panel_h = min(max(0.85 * panel_w * span_y * aspect / max(span_x, 1e-6), 2.2), 5.0 if ncols == 1 else 7.5)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(width, panel_h * nrows + 1.4), dpi=110, squeeze=False, layout="constrained"
    )
    collection = None
    for ax, panel, polygons in zip(axes.flat, panels, geometries, strict=False):
        _basemap(ax, extent, pov, outline)
        verts, colours = [], []
        for poly, value in zip(polygons, np.asarray(panel.values, dtype=float), strict=True):
            for ring in _rings(poly):
                verts.append(ring)
                colours.append(value)
        collection = PolyCollection(
            verts, array=np.asarray(colours), cmap=cmap_obj, norm=norm, edgecolors="face", linewidths=0.2, zorder=2
        )
        ax.add_collection(collection)
        _cities(ax, extent, cities)
        ax.set_xlim(extent[0], extent[1])
        ax.set_ylim(extent[2], extent[3])
        ax.set_aspect(aspect)
        ax.set_title(panel.title, fontsize=10)
        ax.tick_params(labelsize=7)
        ax.set_xlabel("longitude [°E]", fontsize=7)
        ax.set_ylabel("latitude [°N]", fontsize=7)
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_visible(False)
    fig.suptitle("\n".join(textwrap.wrap(title, 80 if ncols > 1 else 60)), fontsize=11)
    if categories:
        present = sorted({int(v) for v in values_all if np.isfinite(v)})
        handles = [Patch(color=categories[k][1], label=categories[k][0]) for k in sorted(categories) if k in present]
        fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 5), fontsize=8, frameon=False)
    elif collection is not None:
        bar = fig.colorbar(
            collection, ax=list(axes.flat), orientation="horizontal", fraction=0.05, shrink=0.7, aspect=40
        )
        bar.set_label(colourbar_label, fontsize=9)
    if note:
        fig.text(0.01, 0.005, note, fontsize=7, color="#555555")
    return fig


def draw_cells(panels: list[Panel], **options: Any) -> bytes:
    """A PNG of :func:`cells_figure` (same arguments); returns its bytes."""
    import matplotlib.pyplot as plt

    fig = cells_figure(panels, **options)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def plot_cells(
    path: str | Path,
    cells: np.ndarray,
    values: np.ndarray,
    *,
    title: str,
    label: str,
    outline=None,
    pov: str = "default",
    extent: tuple[float, float, float, float] | None = None,
    cmap: str = "viridis",
    vmin: float | None = None,
    vmax: float | None = None,
    categories: dict[int, tuple[str, str]] | None = None,
) -> Path:
    """One panel of ``values`` per H3 cell (see :func:`draw_cells`), written atomically to ``path``."""
    png = draw_cells(
        [Panel("", np.asarray(cells, dtype=np.uint64), np.asarray(values, dtype=float))],
        title=title,
        colourbar_label=label,
        cmap=cmap,
        vmin=vmin,
        vmax=vmax,
        categories=categories,
        outline=outline,
        pov=pov,
        extent=extent,
    )
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_bytes(png)
    return path
