"""Capacity: link budgets, interference, rain and beams -> Mb/s per cell and per user.

Modules: :mod:`.link` (geometry, path loss, noise, antenna patterns, C/(N+I)),
:mod:`.modcod` (DVB-S2X thresholds), :mod:`.atmosphere` (ITU-R attenuation
through ``itur``, tabulated), :mod:`.resources` (satellite generations with
sources), :mod:`.demand` (population and traffic per cell) and
:mod:`.engine` (allocation over time, :func:`run_capacity`).
"""

from skyfence.capacity.atmosphere import AttenuationTable, direct_attenuation_db
from skyfence.capacity.demand import DEFAULT_DEMAND, DemandModel, population_per_cell
from skyfence.capacity.engine import CapacityResult, assign_generations, region_figures, run_capacity
from skyfence.capacity.link import combine_ratios_db, ebn0_db, fspl_db, s1528_gain_db, scan_loss_db, slant_range_km
from skyfence.capacity.modcod import DVBS2X_MODCODS, modcod_table, select_modcod
from skyfence.capacity.resources import GENERATIONS, Generation, feeder_rate_mbps, get_generation

__all__ = [
    "DEFAULT_DEMAND",
    "DVBS2X_MODCODS",
    "GENERATIONS",
    "AttenuationTable",
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
    "s1528_gain_db",
    "scan_loss_db",
    "select_modcod",
    "slant_range_km",
]
