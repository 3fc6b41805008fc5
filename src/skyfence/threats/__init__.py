"""Threats and resilience: attrition, ASAT debris, jamming, ground-segment and link losses -> what service survives.

The layer sits above coverage, network (and capacity) and beside policy; threats act as masks on the layers below
(a destroyed satellite is a masked row, a jammed cell a degraded column), so the kernels stay simple.

Submodules (imported lazily):

``attrition``   which satellites an attack removes: ids, shells, planes (RAAN bins), generations, engagements,
                random fractions with a seed
``debris``      FIRST-ORDER kinetic-ASAT debris: fragment count and spread (calibrated on Kosmos 1408),
                kinetic-gas flux -> loss rate per shell per day -> random removal times
``jamming``     jammer sites, 4/3-Earth radio horizon, terminal off-axis gain (ITU-R S.465/S.580 or a side-lobe
                level), J/S per cell and time
``ground``      gateways/PoPs destroyed or switched off (also by a revoked licence), backhaul and cable cuts,
                ISL failures -> routing with "unreachable" as an answer
``viewsets``    satellites in view per (time, cell), computed once and masked per draw
``montecarlo``  figures of merit per draw, resilience curves with bands, the Poisson check
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "AsatEvent",
    "Engagement",
    "GroundAttack",
    "JammerSite",
    "SatelliteAttack",
    "TerminalAntenna",
    "ViewSets",
    "compute_viewsets",
    "debris_cloud",
    "draw_metrics",
    "j_over_s_db",
    "jamming_map",
    "poisson_check",
    "radio_horizon_km",
    "reachability",
    "resilience_curve",
]

_WHERE = {
    "AsatEvent": "skyfence.threats.debris",
    "Engagement": "skyfence.threats.attrition",
    "GroundAttack": "skyfence.threats.ground",
    "JammerSite": "skyfence.threats.jamming",
    "SatelliteAttack": "skyfence.threats.attrition",
    "TerminalAntenna": "skyfence.threats.jamming",
    "ViewSets": "skyfence.threats.viewsets",
    "compute_viewsets": "skyfence.threats.viewsets",
    "debris_cloud": "skyfence.threats.debris",
    "draw_metrics": "skyfence.threats.montecarlo",
    "j_over_s_db": "skyfence.threats.jamming",
    "jamming_map": "skyfence.threats.jamming",
    "poisson_check": "skyfence.threats.montecarlo",
    "radio_horizon_km": "skyfence.threats.jamming",
    "reachability": "skyfence.threats.ground",
    "resilience_curve": "skyfence.threats.montecarlo",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'skyfence.threats' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
