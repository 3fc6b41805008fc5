"""Earth: the WGS-84 ellipsoid, H3 cells, regions and places.

``geodesy``  WGS-84 conversions and look angles
``cells``    H3 cells of polygons and back, safe across the antimeridian and at the poles
``regions``  countries (points of view), disputed and occupied areas, custom polygons; region summaries
``places``   the gazetteer: cities, ``LAT,LON`` points, hypothetical sites and terminal/destination pairs
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from skyfence._lazy import lazy_exports

_WHERE = {
    "Place": "skyfence.earth.places",
    "Region": "skyfence.earth.regions",
    "cell_area_km2": "skyfence.earth.cells",
    "cell_centers": "skyfence.earth.cells",
    "cells_to_polygons": "skyfence.earth.cells",
    "countries": "skyfence.earth.regions",
    "disputed_areas": "skyfence.earth.regions",
    "ecef_to_geodetic": "skyfence.earth.geodesy",
    "geodetic_to_ecef": "skyfence.earth.geodesy",
    "get_region": "skyfence.earth.regions",
    "look_angles": "skyfence.earth.geodesy",
    "lookup_country": "skyfence.earth.regions",
    "points_to_cells": "skyfence.earth.cells",
    "polygon_to_cells": "skyfence.earth.cells",
    "region_info": "skyfence.earth.regions",
    "region_lookup": "skyfence.earth.regions",
    "resolve_place": "skyfence.earth.places",
}
__all__ = [
    "Place",
    "Region",
    "cell_area_km2",
    "cell_centers",
    "cells_to_polygons",
    "countries",
    "disputed_areas",
    "ecef_to_geodetic",
    "geodetic_to_ecef",
    "get_region",
    "look_angles",
    "lookup_country",
    "points_to_cells",
    "polygon_to_cells",
    "region_info",
    "region_lookup",
    "resolve_place",
]
__getattr__, __dir__ = lazy_exports(__name__, _WHERE)

if TYPE_CHECKING:  # let type checkers and IDEs see the real objects
    from skyfence.earth.cells import cell_area_km2, cell_centers, cells_to_polygons, points_to_cells, polygon_to_cells
    from skyfence.earth.geodesy import ecef_to_geodetic, geodetic_to_ecef, look_angles
    from skyfence.earth.places import Place, resolve_place
    from skyfence.earth.regions import (
        Region,
        countries,
        disputed_areas,
        get_region,
        lookup_country,
        region_info,
        region_lookup,
    )
