"""Network layer: ground segment, ISL/GSL links, routing, latency, Hypatia import/export.

Submodules (names resolve on first use, so ``skyfence.network.hypatia`` stays light):

``ground``      gateways and PoPs (status filters, add/remove sites, countries)
``links``       ISL topologies (``+grid``, ``none``) and ground-to-satellite links
``routing``     per-time-step shortest paths: RTT, path, hops, path changes (propagation only)
``access``      the realistic model: 15 s reconfiguration, selection policy, processing, scheduling -> p5/p50/p95
``lasers``      laser availability per satellite generation, per-hop delay, dropout, routing objective
``pops``        the operator's country -> PoP assignment, PoP locations, backbone and gateway inference
``country``     per-country latency as a product (table, world map, GeoJSON, GeoParquet)
``hypatia``     satgenpy inputs -> ``fstate_<t>.txt`` / ``gsl_if_bandwidth_<t>.txt``
``validation``  simulated against measured RTT (RIPE Atlas)

Places (``"Taipei"``, ``"25.03,121.56"``) are resolved by the gazetteer, :mod:`skyfence.earth.places`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from skyfence._lazy import lazy_exports

_WHERE = {
    "DEFAULT_FIBRE_FACTOR": "skyfence.network.routing",
    "DEFAULT_STEP": "skyfence.network.routing",
    "GroundSegment": "skyfence.network.ground",
    "LatencyResult": "skyfence.network.routing",
    "generate_dynamic_state": "skyfence.network.hypatia",
    "latency": "skyfence.network.routing",
    "load_ground_segment": "skyfence.network.ground",
    "read_hypatia_inputs": "skyfence.network.hypatia",
    "resolve_place": "skyfence.earth.places",
}
__all__ = [
    "DEFAULT_FIBRE_FACTOR",
    "DEFAULT_STEP",
    "GroundSegment",
    "LatencyResult",
    "generate_dynamic_state",
    "latency",
    "load_ground_segment",
    "read_hypatia_inputs",
    "resolve_place",
]
__getattr__, __dir__ = lazy_exports(__name__, _WHERE)

if TYPE_CHECKING:  # let type checkers and IDEs see the real objects
    from skyfence.earth.places import resolve_place
    from skyfence.network.ground import GroundSegment, load_ground_segment
    from skyfence.network.hypatia import generate_dynamic_state, read_hypatia_inputs
    from skyfence.network.routing import DEFAULT_FIBRE_FACTOR, DEFAULT_STEP, LatencyResult, latency
