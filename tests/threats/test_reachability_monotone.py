"""Property (issue #14): more attack never shortens a route or makes a terminal reachable that was not --
satellites and ground sites lost together, nested attacks drawn at random, on the real catalog from Taipei."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st

from skyfence.earth.places import resolve_place
from skyfence.orbits.time import time_grid


class _Fixture(dict):
    """Fixture values with a short repr (Hypothesis prints the test's arguments on failure)."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {', '.join(self)}>"


@pytest.fixture(scope="module")
def system(starlink):
    from skyfence.network.ground import load_ground_segment
    from skyfence.threats.capacity_impact import gateways_by_distance

    ground = load_ground_segment()
    taipei = resolve_place("Taipei")
    return _Fixture(
        starlink=starlink,
        ground=ground,
        taipei=taipei,
        times=time_grid("2025-09-23T12:00Z", "4m", "60s"),
        order=gateways_by_distance(ground, np.array([taipei.lat_deg]), np.array([taipei.lon_deg])),
        pops=sorted(ground.pops["name"].astype(str)),
        u=np.random.default_rng(14).random(len(starlink)),
    )


@settings(max_examples=10, deadline=None)
@given(
    f=st.lists(st.floats(0.0, 0.9), min_size=2, max_size=2),
    k=st.lists(st.integers(0, 40), min_size=2, max_size=2),
    p=st.lists(st.integers(0, 6), min_size=2, max_size=2),
    pop_seed=st.integers(0, 2**16),
)
def test_more_attack_never_shortens_a_route(system, f, k, p, pop_seed):
    from skyfence.threats.ground import GroundAttack, reachability

    (f_a, f_b), (k_a, k_b), (p_a, p_b) = sorted(f), sorted(k), sorted(p)
    pops = [system["pops"][i] for i in np.random.default_rng(pop_seed).permutation(len(system["pops"]))]
    results = []
    for frac, n_gw, n_pop in ((f_a, k_a, p_a), (f_b, k_b, p_b)):
        attack = GroundAttack(sites=tuple(system["order"][:n_gw]) + tuple(pops[:n_pop]))
        removed = system["u"] < frac
        (route,), _ = reachability(
            system["starlink"],
            [system["taipei"]],
            [None],
            system["times"],
            system["ground"],
            attack=attack,
            removed_satellites=removed,
        )
        results.append(route.rtt_ms)
    a, b = (np.where(np.isnan(r), np.inf, r) for r in results)
    note(f"A: {f_a:.3f} of satellites, {k_a} gateways, {p_a} PoPs; B: {f_b:.3f}, {k_b}, {p_b}; RTT {a} -> {b}")
    assert np.all(b >= a - 1e-9)  # unreachable = infinite RTT: never reachable again under more attack
