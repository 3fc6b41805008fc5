"""Capacity before and after threats, through one mechanism (CapacityCase), against independent re-runs:
satellites removed from the input, gateways removed from the ground file, and the limits (no gateway: nothing)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skyfence.capacity.demand import DemandModel
from skyfence.orbits.time import time_grid

HEAVY = DemandModel(take_rate=0.05, busy_hour_mbps=5.0)


@pytest.fixture(scope="module")
def taiwan():
    from skyfence.earth.regions import get_region

    return get_region("TW").cells(5)


@pytest.fixture(scope="module")
def hour():
    return time_grid("2025-09-23T12:00:00Z", "1h", "300s")


@pytest.fixture(scope="module")
def segment():
    from skyfence.network.ground import load_ground_segment

    return load_ground_segment("starlink_ground_stations").exclude_gateways_in(["TW"])


def _same(a, b) -> None:
    for name in ("offered_mbps", "served_mbps", "mbps_per_user"):
        np.testing.assert_allclose(a.dataset[name].to_numpy(), b.dataset[name].to_numpy(), rtol=1e-6, atol=1e-4)
    for key, value in a.statistics.items():
        assert b.statistics[key] == pytest.approx(value, rel=1e-6, abs=1e-9, nan_ok=True), key


def test_removing_satellites_equals_a_run_without_them(starlink, taiwan, hour, segment):
    """k of n satellites masked in one pass == an independent run on the catalog with those satellites deleted."""
    from skyfence.capacity.engine import CapacityCase, run_capacity, run_capacity_cases

    rng = np.random.default_rng(7)
    gone = [rng.random(len(starlink)) < f for f in (0.1, 0.5)]
    cases = [CapacityCase("before", ground=segment)] + [
        CapacityCase(f"f{i}", removed_satellites=g, ground=segment) for i, g in enumerate(gone)
    ]
    results = run_capacity_cases(starlink, taiwan, hour, cases, rain_p=None, demand=HEAVY)
    for g, masked in zip(gone, results[1:], strict=True):
        rerun = run_capacity(starlink.subset(~g), taiwan, hour, rain_p=None, demand=HEAVY, ground=segment)
        _same(rerun, masked)
        assert masked.statistics["served_fraction"] <= results[0].statistics["served_fraction"] + 1e-12
    assert results[2].statistics["served_gbps_mean"] < results[1].statistics["served_gbps_mean"]


def test_lost_gateways_equal_a_ground_segment_without_them(starlink, taiwan, hour, segment):
    """A GroundAttack on the gateways of Japan and the Philippines == a ground segment built without them."""
    from skyfence.capacity.engine import run_capacity
    from skyfence.network.ground import GroundSegment
    from skyfence.threats.capacity_impact import capacity_impact
    from skyfence.threats.ground import GroundAttack

    attacked, removed = GroundAttack(gateways_in=("JP", "PH")).apply(segment)
    assert removed["gateways"]
    sites = segment.sites
    keep = ~((sites["kind"] == "gateway") & sites["country"].isin(["JP", "PH"]))
    without = GroundSegment(sites[keep].reset_index(drop=True), segment.source)
    independent = run_capacity(starlink, taiwan, hour, rain_p=None, demand=HEAVY, ground=without)
    impact = capacity_impact(
        starlink, taiwan, hour, ground=segment, attacked_ground=attacked, gateway_curve=False, rain_p=None, demand=HEAVY
    )
    row = impact.cases.set_index("case").loc["ground"]
    assert row["served_fraction"] == pytest.approx(independent.statistics["served_fraction"], rel=1e-9)
    assert row["mbps_per_user_median"] == pytest.approx(independent.statistics["mbps_per_user_median"], rel=1e-9)
    before = impact.cases.set_index("case").loc["before"]
    assert row["served_fraction"] <= before["served_fraction"] + 1e-12


def test_no_gateway_left_means_no_capacity_and_the_curve_falls(starlink, taiwan, hour, segment):
    """Limit: with every gateway lost nothing is delivered (lasers need somewhere to land); the curve against
    gateways lost never rises, nearest-first is never better than a random order at the same count."""
    from skyfence.threats.capacity_impact import gateway_steps, gateways_lost_curve

    curve = gateways_lost_curve(starlink, taiwan, hour, segment, orders=2, rain_p=None, demand=HEAVY)
    n = len(segment.gateways)
    assert sorted(set(curve["gateways_lost"])) == gateway_steps(n)
    last = curve[curve["gateways_lost"] == n]
    assert (last["served_fraction"] == 0).all() and (last["service_coverage"] == 0).all()
    first = curve[curve["gateways_lost"] == 0]
    assert (first["service_coverage"] > 0.99).all()
    for _, part in curve.groupby(["order", "draw"]):
        part = part.sort_values("gateways_lost")
        for metric in ("served_fraction", "service_coverage", "mbps_per_user_median"):
            assert np.all(np.diff(part[metric].to_numpy()) <= 1e-9), metric
    nearest = curve[curve["order"] == "nearest first"].set_index("gateways_lost")["served_fraction"]
    rand = curve[curve["order"] == "random order"].groupby("gateways_lost")["served_fraction"].min()
    assert np.all(nearest.to_numpy() <= rand.loc[nearest.index].to_numpy() + 1e-9)


def test_bent_pipe_capacity_needs_a_gateway_in_view(starlink, taiwan, hour, segment):
    """The 2025 catalog's v1.0 satellites have no lasers: lose every gateway within 3,000 km of Taiwan and their
    share goes, while the laser satellites keep serving (independent: a run on the v1.0 satellites alone)."""
    from skyfence.capacity.engine import assign_generations, run_capacity
    from skyfence.network.ground import great_circle_km
    from skyfence.threats.ground import GroundAttack

    gens = assign_generations(starlink)
    bent = gens == "starlink-v1.0"
    assert bent.any() and (~bent).any()
    gw = segment.gateways
    near = gw["name"][great_circle_km(23.7, 121.0, gw["lat_deg"].to_numpy(), gw["lon_deg"].to_numpy()) < 3000.0]
    far, _ = GroundAttack(sites=tuple(near)).apply(segment)
    only_bent_far = run_capacity(starlink.subset(bent), taiwan, hour, rain_p=None, demand=HEAVY, ground=far)
    assert only_bent_far.statistics["served_gbps_mean"] == 0.0
    only_bent = run_capacity(starlink.subset(bent), taiwan, hour, rain_p=None, demand=HEAVY, ground=segment)
    assert only_bent.statistics["served_gbps_mean"] > 0.0
    lasers_far = run_capacity(starlink.subset(~bent), taiwan, hour, rain_p=None, demand=HEAVY, ground=far)
    assert lasers_far.statistics["served_gbps_mean"] > 0.0


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    f1=st.floats(0.0, 1.0),
    f2=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**31),
    k1=st.integers(0, 40),
    k2=st.integers(0, 40),
)
def test_more_attack_never_improves_capacity(oneweb_preset, small_cells, small_times, f1, f2, seed, k1, k2):
    """Monotonicity of every capacity metric (clear sky, a Walker preset: fast): more satellites lost and more
    gateways lost together never improve any figure (Hypothesis; one pass, three nested cases).  Jamming and rain
    with the real catalog: tests/threats/test_capacity_monotone.py."""
    from skyfence.capacity.engine import CapacityCase, run_capacity_cases
    from skyfence.earth import cells as h3cells
    from skyfence.network.ground import load_ground_segment
    from skyfence.threats.capacity_impact import CAPACITY_METRICS, _figures, gateways_by_distance
    from skyfence.threats.ground import GroundAttack

    low, high = sorted((f1, f2))
    few, many = sorted((k1, k2))
    u = np.random.default_rng(seed).random(len(oneweb_preset))
    ground = load_ground_segment("starlink_ground_stations")
    lat, lon = h3cells.cell_centers(np.unique(small_cells))
    order = gateways_by_distance(ground, lat, lon)
    cases = [CapacityCase("none", ground=ground)]
    for frac, k in ((low, few), (high, many)):
        attacked = GroundAttack(sites=tuple(order[:k])).apply(ground)[0]
        cases.append(CapacityCase("x", removed_satellites=u < frac, ground=attacked))
    results = [_figures(r) for r in run_capacity_cases(oneweb_preset, small_cells, small_times, cases, rain_p=None)]
    for weaker, stronger in itertools.pairwise(results):
        for metric in CAPACITY_METRICS:
            a, b = weaker[metric], stronger[metric]
            if np.isnan(a) or np.isnan(b):
                continue
            assert b <= a + 1e-9, (metric, a, b)
