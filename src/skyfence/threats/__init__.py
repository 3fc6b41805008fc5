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
``jamming_capacity``  jammers as one more term of the capacity layer's C/(N+I): MODCOD fall-back, uplink beams
``assess``      one call per scenario variant: before/after with bands, outage maps, curves, losses, reachability
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from skyfence._lazy import lazy_exports

_WHERE = {
    "AsatEvent": "skyfence.threats.debris",
    "Engagement": "skyfence.threats.attrition",
    "GroundAttack": "skyfence.threats.ground",
    "JammerSite": "skyfence.threats.jamming",
    "SatelliteAttack": "skyfence.threats.attrition",
    "TerminalAntenna": "skyfence.threats.jamming",
    "ThreatAssessment": "skyfence.threats.assess",
    "ThreatPlan": "skyfence.threats.assess",
    "ViewSets": "skyfence.threats.viewsets",
    "assess_threats": "skyfence.threats.assess",
    "compute_viewsets": "skyfence.threats.viewsets",
    "debris_cloud": "skyfence.threats.debris",
    "draw_metrics": "skyfence.threats.montecarlo",
    "j_over_s_db": "skyfence.threats.jamming",
    "jamming_map": "skyfence.threats.jamming",
    "poisson_check": "skyfence.threats.montecarlo",
    "radio_horizon_km": "skyfence.threats.jamming",
    "reachability": "skyfence.threats.ground",
    "resilience_curve": "skyfence.threats.montecarlo",
    "run_jammed_capacity": "skyfence.threats.jamming_capacity",
}
__all__ = [
    "AsatEvent",
    "Engagement",
    "GroundAttack",
    "JammerSite",
    "SatelliteAttack",
    "TerminalAntenna",
    "ThreatAssessment",
    "ThreatPlan",
    "ViewSets",
    "assess_threats",
    "compute_viewsets",
    "debris_cloud",
    "draw_metrics",
    "j_over_s_db",
    "jamming_map",
    "poisson_check",
    "radio_horizon_km",
    "reachability",
    "resilience_curve",
    "run_jammed_capacity",
]
__getattr__, __dir__ = lazy_exports(__name__, _WHERE)

if TYPE_CHECKING:  # let type checkers and IDEs see the real objects
    from skyfence.threats.assess import ThreatAssessment, ThreatPlan, assess_threats
    from skyfence.threats.attrition import Engagement, SatelliteAttack
    from skyfence.threats.debris import AsatEvent, debris_cloud
    from skyfence.threats.ground import GroundAttack, reachability
    from skyfence.threats.jamming import JammerSite, TerminalAntenna, j_over_s_db, jamming_map, radio_horizon_km
    from skyfence.threats.jamming_capacity import run_jammed_capacity
    from skyfence.threats.montecarlo import draw_metrics, poisson_check, resilience_curve
    from skyfence.threats.viewsets import ViewSets, compute_viewsets
