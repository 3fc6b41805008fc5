"""Report: what a user opens -- the self-contained HTML report, PNG maps, GeoJSON and GeoParquet cell tables."""

from __future__ import annotations

from typing import TYPE_CHECKING

from skyfence._lazy import lazy_exports

_WHERE = {
    "plot_cells": "skyfence.report.maps",
    "write_cells_geojson": "skyfence.report.geo",
    "write_cells_geoparquet": "skyfence.report.geo",
    "write_report": "skyfence.report.html",
}
__all__ = [
    "plot_cells",
    "write_cells_geojson",
    "write_cells_geoparquet",
    "write_report",
]
__getattr__, __dir__ = lazy_exports(__name__, _WHERE)

if TYPE_CHECKING:  # let type checkers and IDEs see the real objects
    from skyfence.report.geo import write_cells_geojson, write_cells_geoparquet
    from skyfence.report.html import write_report
    from skyfence.report.maps import plot_cells
