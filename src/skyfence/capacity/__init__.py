"""Capacity: link budgets, interference, rain and beams -> Mb/s per cell and per user.

- ``link.py``: geometry, free-space loss, noise, antenna patterns (ITU-R S.1528, phased-array scan loss), C/(N+I)
- ``modcod.py``: DVB-S2X MODCODs (ETSI EN 302 307-2 Table 20a) and their selection
- ``atmosphere.py``: ITU-R P.618/P.676/P.840 attenuation through ``itur``, tabulated per cell and elevation
- ``resources.py``: satellite generations and terminals, every value with its source
- ``demand.py``: population per H3 cell and busy-hour demand
- ``engine.py``: link budgets for every pair in view, demand-proportional beam hopping, ``run_capacity``
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from skyfence._lazy import lazy_exports

_WHERE = {
    "DEFAULT_DEMAND": "skyfence.capacity.demand",
    "DVBS2X_MODCODS": "skyfence.capacity.modcod",
    "GENERATIONS": "skyfence.capacity.resources",
    "AttenuationTable": "skyfence.capacity.atmosphere",
    "CapacityCase": "skyfence.capacity.engine",
    "CapacityResult": "skyfence.capacity.engine",
    "DemandModel": "skyfence.capacity.demand",
    "Generation": "skyfence.capacity.resources",
    "assign_generations": "skyfence.capacity.engine",
    "combine_ratios_db": "skyfence.capacity.link",
    "direct_attenuation_db": "skyfence.capacity.atmosphere",
    "ebn0_db": "skyfence.capacity.link",
    "feeder_rate_mbps": "skyfence.capacity.resources",
    "fspl_db": "skyfence.capacity.link",
    "get_generation": "skyfence.capacity.resources",
    "modcod_table": "skyfence.capacity.modcod",
    "population_per_cell": "skyfence.capacity.demand",
    "region_figures": "skyfence.capacity.engine",
    "run_capacity": "skyfence.capacity.engine",
    "run_capacity_cases": "skyfence.capacity.engine",
    "s1528_gain_db": "skyfence.capacity.link",
    "scan_loss_db": "skyfence.capacity.link",
    "select_modcod": "skyfence.capacity.modcod",
    "slant_range_km": "skyfence.capacity.link",
}
__all__ = [
    "DEFAULT_DEMAND",
    "DVBS2X_MODCODS",
    "GENERATIONS",
    "AttenuationTable",
    "CapacityCase",
    "CapacityResult",
    "DemandModel",
    "Generation",
    "assign_generations",
    "combine_ratios_db",
    "direct_attenuation_db",
    "ebn0_db",
    "feeder_rate_mbps",
    "fspl_db",
    "get_generation",
    "modcod_table",
    "population_per_cell",
    "region_figures",
    "run_capacity",
    "run_capacity_cases",
    "s1528_gain_db",
    "scan_loss_db",
    "select_modcod",
    "slant_range_km",
]
__getattr__, __dir__ = lazy_exports(__name__, _WHERE)

if TYPE_CHECKING:  # let type checkers and IDEs see the real objects
    from skyfence.capacity.atmosphere import AttenuationTable, direct_attenuation_db
    from skyfence.capacity.demand import DEFAULT_DEMAND, DemandModel, population_per_cell
    from skyfence.capacity.engine import (
        CapacityCase,
        CapacityResult,
        assign_generations,
        region_figures,
        run_capacity,
        run_capacity_cases,
    )
    from skyfence.capacity.link import (
        combine_ratios_db,
        ebn0_db,
        fspl_db,
        s1528_gain_db,
        scan_loss_db,
        slant_range_km,
    )
    from skyfence.capacity.modcod import DVBS2X_MODCODS, modcod_table, select_modcod
    from skyfence.capacity.resources import GENERATIONS, Generation, feeder_rate_mbps, get_generation
