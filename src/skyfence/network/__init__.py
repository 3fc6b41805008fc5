"""Network layer: ground segment, ISL/GSL links, routing, latency, Hypatia import/export.

Submodules (imported lazily so that ``skyfence.network.hypatia`` stays light):

``ground``      gateways and PoPs (status filters, add/remove sites, countries)
``links``       ISL topologies (``+grid``, ``none``) and ground-to-satellite links
``routing``     per-time-step shortest paths: RTT, path, hops, path changes
``hypatia``     satgenpy inputs -> ``fstate_<t>.txt`` / ``gsl_if_bandwidth_<t>.txt``
``validation``  simulated against measured RTT (RIPE Atlas)

Places (``"Taipei"``, ``"25.03,121.56"``) are resolved by the gazetteer, :mod:`skyfence.earth.places`.
"""

from __future__ import annotations

import importlib
from typing import Any

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


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'skyfence.network' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
