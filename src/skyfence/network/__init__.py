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
    "AccessModel": "skyfence.network.access",
    "DEFAULT_FIBRE_FACTOR": "skyfence.network.routing",
    "DEFAULT_STEP": "skyfence.network.routing",
    "GroundSegment": "skyfence.network.ground",
    "LaserModel": "skyfence.network.lasers",
    "LatencyResult": "skyfence.network.routing",
    "access_routes": "skyfence.network.access",
    "country_latency": "skyfence.network.country",
    "generate_dynamic_state": "skyfence.network.hypatia",
    "latency": "skyfence.network.routing",
    "load_ground_segment": "skyfence.network.ground",
    "load_pop_assignment": "skyfence.network.pops",
    "read_hypatia_inputs": "skyfence.network.hypatia",
    "resolve_place": "skyfence.earth.places",
}
__all__ = [  # noqa: RUF022 -- plain sorted(), as tests/network/test_hypatia.py checks
    "AccessModel",
    "DEFAULT_FIBRE_FACTOR",
    "DEFAULT_STEP",
    "GroundSegment",
    "LaserModel",
    "LatencyResult",
    "access_routes",
    "country_latency",
    "generate_dynamic_state",
    "latency",
    "load_ground_segment",
    "load_pop_assignment",
    "read_hypatia_inputs",
    "resolve_place",
]
__getattr__, __dir__ = lazy_exports(__name__, _WHERE)

if TYPE_CHECKING:  # let type checkers and IDEs see the real objects
    from skyfence.earth.places import resolve_place
    from skyfence.network.access import AccessModel, access_routes
    from skyfence.network.country import country_latency
    from skyfence.network.ground import GroundSegment, load_ground_segment
    from skyfence.network.hypatia import generate_dynamic_state, read_hypatia_inputs
    from skyfence.network.lasers import LaserModel
    from skyfence.network.pops import load_pop_assignment
    from skyfence.network.routing import DEFAULT_FIBRE_FACTOR, DEFAULT_STEP, LatencyResult, latency
