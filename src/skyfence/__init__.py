"""skyfence: digital twin of a LEO satellite-internet system and of the political control of its service.

The front door.  Everything a user needs from Python is importable from here::

    import skyfence as sf

    starlink = sf.load_constellation("starlink_omm_20260818")   # file, preset, dated catalog or celestrak:GROUP
    ds = sf.propagate(starlink, sf.time_grid("2026-08-18T12:00Z", "1h", "60s"))
    taiwan = sf.get_region("TW")
    result = sf.run_coverage(starlink, taiwan.cells(5), sf.time_grid("2026-08-18T12:00Z", "6h", "60s"))

Modules are organised by physical domain (``orbits``, ``earth``, ``coverage``,
``network``, ``capacity`` ...); see ``docs/architecture.md`` for the package map
and the layer order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from skyfence._lazy import lazy_exports
from skyfence._version import __version__ as __version__

_WHERE = {
    "PRESETS": "skyfence.orbits.walker",
    "AsatEvent": "skyfence.threats.debris",
    "AuditError": "skyfence.errors",
    "CapacityResult": "skyfence.capacity.engine",
    "Constellation": "skyfence.orbits.constellation",
    "CoverageResult": "skyfence.coverage.engine",
    "DatasetError": "skyfence.errors",
    "DemandModel": "skyfence.capacity.demand",
    "ElementsError": "skyfence.errors",
    "GroundAttack": "skyfence.threats.ground",
    "GroundGrid": "skyfence.coverage.visibility",
    "InputError": "skyfence.errors",
    "JammerSite": "skyfence.threats.jamming",
    "PolicyError": "skyfence.errors",
    "Region": "skyfence.earth.regions",
    "RegionError": "skyfence.errors",
    "SatelliteAttack": "skyfence.threats.attrition",
    "Shell": "skyfence.orbits.walker",
    "SkyfenceError": "skyfence.errors",
    "SkyfenceWarning": "skyfence.errors",
    "cell_area_km2": "skyfence.earth.cells",
    "cell_centers": "skyfence.earth.cells",
    "cells_to_polygons": "skyfence.earth.cells",
    "countries": "skyfence.earth.regions",
    "ecef_to_geodetic": "skyfence.earth.geodesy",
    "export_czml": "skyfence.report.czml",
    "footprint_radius_km": "skyfence.coverage.visibility",
    "geodetic_to_ecef": "skyfence.earth.geodesy",
    "get_region": "skyfence.earth.regions",
    "iter_positions": "skyfence.orbits.propagate",
    "iter_visibility": "skyfence.coverage.visibility",
    "load_constellation": "skyfence.orbits.sources",
    "load_ground_segment": "skyfence.network.ground",
    "load_policy": "skyfence.policy",
    "load_scenario": "skyfence.scenario.schema",
    "look_angles": "skyfence.earth.geodesy",
    "lookup_country": "skyfence.earth.regions",
    "points_to_cells": "skyfence.earth.cells",
    "polygon_to_cells": "skyfence.earth.cells",
    "preset": "skyfence.orbits.walker",
    "propagate": "skyfence.orbits.propagate",
    "read_elements": "skyfence.orbits.elements",
    "route_pairs": "skyfence.network.routing",
    "run_capacity": "skyfence.capacity.engine",
    "run_coverage": "skyfence.coverage.engine",
    "run_scenario": "skyfence.scenario.runner",
    "time_grid": "skyfence.orbits.time",
    "walker": "skyfence.orbits.walker",
    "write_omm": "skyfence.orbits.omm",
    "write_tle": "skyfence.orbits.tle",
}
__all__ = [
    "PRESETS",
    "AsatEvent",
    "AuditError",
    "CapacityResult",
    "Constellation",
    "CoverageResult",
    "DatasetError",
    "DemandModel",
    "ElementsError",
    "GroundAttack",
    "GroundGrid",
    "InputError",
    "JammerSite",
    "PolicyError",
    "Region",
    "RegionError",
    "SatelliteAttack",
    "Shell",
    "SkyfenceError",
    "SkyfenceWarning",
    "cell_area_km2",
    "cell_centers",
    "cells_to_polygons",
    "countries",
    "ecef_to_geodetic",
    "export_czml",
    "footprint_radius_km",
    "geodetic_to_ecef",
    "get_region",
    "iter_positions",
    "iter_visibility",
    "load_constellation",
    "load_ground_segment",
    "load_policy",
    "load_scenario",
    "look_angles",
    "lookup_country",
    "points_to_cells",
    "polygon_to_cells",
    "preset",
    "propagate",
    "read_elements",
    "route_pairs",
    "run_capacity",
    "run_coverage",
    "run_scenario",
    "time_grid",
    "walker",
    "write_omm",
    "write_tle",
]
__getattr__, __dir__ = lazy_exports(__name__, _WHERE)

if TYPE_CHECKING:  # let type checkers and IDEs see the real objects
    from skyfence.capacity.demand import DemandModel
    from skyfence.capacity.engine import CapacityResult, run_capacity
    from skyfence.coverage.engine import CoverageResult, run_coverage
    from skyfence.coverage.visibility import GroundGrid, footprint_radius_km, iter_visibility
    from skyfence.earth.cells import cell_area_km2, cell_centers, cells_to_polygons, points_to_cells, polygon_to_cells
    from skyfence.earth.geodesy import ecef_to_geodetic, geodetic_to_ecef, look_angles
    from skyfence.earth.regions import Region, countries, get_region, lookup_country
    from skyfence.errors import (
        AuditError,
        DatasetError,
        ElementsError,
        InputError,
        PolicyError,
        RegionError,
        SkyfenceError,
        SkyfenceWarning,
    )
    from skyfence.network.ground import load_ground_segment
    from skyfence.network.routing import route_pairs
    from skyfence.orbits.constellation import Constellation
    from skyfence.orbits.elements import read_elements
    from skyfence.orbits.omm import write_omm
    from skyfence.orbits.propagate import iter_positions, propagate
    from skyfence.orbits.sources import load_constellation
    from skyfence.orbits.time import time_grid
    from skyfence.orbits.tle import write_tle
    from skyfence.orbits.walker import PRESETS, Shell, preset, walker
    from skyfence.policy import load_policy
    from skyfence.report.czml import export_czml
    from skyfence.scenario.runner import run_scenario
    from skyfence.scenario.schema import load_scenario
    from skyfence.threats.attrition import SatelliteAttack
    from skyfence.threats.debris import AsatEvent
    from skyfence.threats.ground import GroundAttack
    from skyfence.threats.jamming import JammerSite
