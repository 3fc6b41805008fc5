"""Report: what a user opens -- the self-contained HTML report, PNG maps, GeoJSON and GeoParquet cell tables.

``html`` (the page: sections as templates, numbers carrying their summary keys), ``figures`` (every figure of the
report, drawn from the units' data, with a figure cache), ``maps`` (the one map drawer: basemap, cities, small
multiples), ``availability`` (an availability map's files), ``geo`` (GeoJSON and GeoParquet cell and country tables),
``latency`` (the per-country latency product's files and world map), ``czml`` (satellites, sites and links over
time as CZML for Cesium)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from skyfence._lazy import lazy_exports

_WHERE = {
    "build_czml": "skyfence.report.czml",
    "coverage_maps": "skyfence.report.figures",
    "draw_cells": "skyfence.report.maps",
    "export_czml": "skyfence.report.czml",
    "plot_cells": "skyfence.report.maps",
    "render_report": "skyfence.report.html",
    "write_availability_map": "skyfence.report.availability",
    "write_cells_geojson": "skyfence.report.geo",
    "write_cells_geoparquet": "skyfence.report.geo",
    "write_czml": "skyfence.report.czml",
    "write_report": "skyfence.report.html",
    "write_world": "skyfence.report.latency",
}
__all__ = [
    "build_czml",
    "coverage_maps",
    "draw_cells",
    "export_czml",
    "plot_cells",
    "render_report",
    "write_availability_map",
    "write_cells_geojson",
    "write_cells_geoparquet",
    "write_czml",
    "write_report",
    "write_world",
]
__getattr__, __dir__ = lazy_exports(__name__, _WHERE)

if TYPE_CHECKING:  # let type checkers and IDEs see the real objects
    from skyfence.report.availability import write_availability_map
    from skyfence.report.czml import build_czml, export_czml, write_czml
    from skyfence.report.figures import coverage_maps
    from skyfence.report.geo import write_cells_geojson, write_cells_geoparquet
    from skyfence.report.html import render_report, write_report
    from skyfence.report.latency import write_world
    from skyfence.report.maps import draw_cells, plot_cells
