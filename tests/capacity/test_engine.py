"""Physics properties of a capacity run on the real Starlink catalog over Taiwan (and around it)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skyfence.capacity.demand import DemandModel
from skyfence.capacity.engine import assign_generations, run_capacity
from skyfence.capacity.resources import generation_for_launch, get_generation
from skyfence.earth.regions import get_region
from skyfence.errors import InputError
from skyfence.orbits.sources import load_constellation
from skyfence.orbits.time import time_grid
from skyfence.orbits.walker import preset

START = np.datetime64("2026-08-18T12:00:00", "ns")
# enough demand that satellites and channels run out over Taipei, so allocation matters
HEAVY = DemandModel(take_rate=0.05, busy_hour_mbps=5.0, oversubscription=20.0)
_SETTINGS = settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def starlink(data_file):
    return load_constellation(data_file("tle/omm_csv_2026/starlink_20260818.csv.gz"))


@pytest.fixture(scope="module")
def taiwan():
    return get_region("TW").cells(5)


@pytest.fixture(scope="module")
def times():
    return time_grid(START, "20m", "60s")


@pytest.fixture(scope="module")
def clear(starlink, taiwan, times):
    return run_capacity(starlink, taiwan, times, rain_p=None, demand=HEAVY, keep_satellite_load=True)


def test_generations_from_the_catalog(starlink):
    names = assign_generations(starlink)
    counts = {n: int((names == n).sum()) for n in set(names.tolist())}
    assert set(counts) == {"starlink-v1.0", "starlink-v1.5", "starlink-v2-mini"}
    assert counts["starlink-v2-mini"] > counts["starlink-v1.5"] > counts["starlink-v1.0"] > 0
    assert list(
        generation_for_launch(
            ["STARLINK-1007", "STARLINK-3090", "STARLINK-30107", "ONEWEB-0012", "X"],
            ["2019-074A", "2021-082A", "2023-056A", "2019-010A", "2020-001A"],
        )
    ) == ["starlink-v1.0", "starlink-v1.5", "starlink-v2-mini", "oneweb-gen1", ""]


def test_unknown_generation_is_refused(starlink):
    with pytest.raises(InputError, match="unknown satellite generation"):
        assign_generations(starlink, "starlink-v9")
    with pytest.raises(InputError, match="generation"):
        assign_generations(preset("kuiper"))


@_SETTINGS
@given(p=st.floats(min_value=0.001, max_value=5.0))
def test_rain_can_only_lower_capacity(clear, starlink, taiwan, times, p):
    rain = run_capacity(starlink, taiwan, times, rain_p=p, demand=HEAVY)
    a = rain.dataset["offered_mbps"].to_numpy()
    b = clear.dataset["offered_mbps"].to_numpy()
    assert np.all(a <= b + 1e-3)
    if p <= 0.5:
        assert a.sum() < b.sum()  # a 99.5 %-availability rain fade at 11.7 GHz costs something over Taiwan
    up_rain = rain.dataset["offered_up_mbps"].to_numpy()
    up_clear = clear.dataset["offered_up_mbps"].to_numpy()
    assert np.all(up_rain <= up_clear + 1e-3)
    if p <= 0.5:
        assert up_rain.sum() < up_clear.sum()  # and at 14.25 GHz on the uplink


@_SETTINGS
@given(seed=st.integers(0, 2**32 - 1), keep=st.floats(min_value=0.05, max_value=0.95))
def test_more_satellites_never_lower_offered_capacity(starlink, taiwan, times, seed, keep):
    rng = np.random.default_rng(seed)
    small = np.flatnonzero(rng.random(len(starlink)) < keep)
    large = np.union1d(small, np.flatnonzero(rng.random(len(starlink)) < 0.5))
    few = run_capacity(starlink.subset(small), taiwan, times, rain_p=None, demand=HEAVY)
    many = run_capacity(starlink.subset(large), taiwan, times, rain_p=None, demand=HEAVY)
    for name in ("offered_mbps", "offered_up_mbps"):
        total_few = few.dataset[name].to_numpy().sum(axis=1)
        total_many = many.dataset[name].to_numpy().sum(axis=1)
        assert np.all(total_many >= total_few - 1e-3), name


def test_cells_outside_every_footprint_get_nothing(starlink, times):
    # the 53-deg and lower shells never rise above 25 deg south of 70 S; a sparse subset leaves most of
    # Taiwan without a satellite most of the time
    from skyfence.earth import cells as h3cells

    antarctic = get_region("AQ").cells(2)
    antarctic = antarctic[h3cells.cell_centers(antarctic)[0] < -70.0]
    inclined = starlink.subset(np.flatnonzero(starlink.satellites["inclination_deg"].to_numpy() < 54.0))
    none = run_capacity(inclined, antarctic, times, rain_p=None, population=np.full(len(antarctic), 1e5))
    assert float(none.dataset["offered_mbps"].max()) == 0.0
    assert float(none.dataset["offered_up_mbps"].max()) == 0.0
    assert np.isnan(none.statistics["mbps_per_user_median"]) or none.statistics["mbps_per_user_median"] == 0.0
    sparse = starlink.subset(np.arange(0, len(starlink), 900))
    cells = get_region("TW").cells(5)
    result = run_capacity(sparse, cells, times, rain_p=None, demand=HEAVY)
    from skyfence.coverage.engine import run_coverage

    seen = run_coverage(sparse, cells, times, min_elevation_deg=25.0).counts
    assert seen is not None
    dark = seen["sats_in_view"].to_numpy() == 0
    assert dark.any()
    assert np.all(result.dataset["offered_mbps"].to_numpy()[dark] == 0.0)
    assert np.all(result.dataset["offered_up_mbps"].to_numpy()[dark] == 0.0)


def test_capacity_is_conserved(clear):
    load = clear.satellite_load_mbps
    assert load is not None
    offered = clear.dataset["offered_mbps"].to_numpy()
    # every Mb/s a cell gets comes from one satellite, and no satellite gives more than its limit
    np.testing.assert_allclose(offered.sum(axis=1), load.sum(axis=1), rtol=1e-4)
    assert np.all(load <= clear.satellite_limits_mbps[None, :] * (1 + 1e-5) + 1e-3)
    assert np.all(offered.sum(axis=1) <= clear.satellite_limits_mbps.sum())
    assert float(offered.max()) > 0.0
    # the uplink: no more than the satellites' limits, and no cell more than one beam per uplink channel
    up = clear.dataset["offered_up_mbps"].to_numpy()
    assert np.all(up.sum(axis=1) <= clear.satellite_limits_mbps.sum())
    gen = get_generation("starlink-v2-mini")
    from skyfence.capacity.modcod import frontier_arrays

    best_beam = gen.up_channel_mhz / (1 + gen.rolloff) * float(frontier_arrays()[1].max())
    assert float(up.max()) <= gen.up_n_channels * best_beam
    assert float(up.max()) > 0.0


def test_served_never_exceeds_demand_or_offered(clear):
    ds = clear.dataset
    assert np.all(ds["served_mbps"] <= ds["demand_mbps"] + 1e-3)
    assert np.all(ds["served_mbps"] <= ds["offered_mbps"] + 1e-3)
    frac = ds["served_fraction"].to_numpy()
    assert np.nanmin(frac) >= 0.0 and np.nanmax(frac) <= 1.0 + 1e-6
    # a cell never gets two co-frequency beams
    assert int(ds["beams"].max()) <= 8


def test_dataset_layout(clear, times, taiwan):
    ds = clear.dataset
    assert ds["offered_mbps"].dims == ("time", "cell")
    assert ds.sizes == {"time": len(times), "cell": len(taiwan)}
    for key in ("mbps_per_user_median", "mbps_per_user_p10", "share_above_25_mbps", "share_above_100_mbps"):
        assert key in clear.statistics
    for key in ("offered_up_gbps_mean", "mbps_per_user_up_median", "mbps_per_user_up_p10"):
        assert key in clear.statistics
    assert ds["mbps_per_user_up"].dims == ("time", "cell")
    # the uplink gets less than the downlink per user, as every measurement of Starlink shows
    assert clear.statistics["mbps_per_user_up_median"] < clear.statistics["mbps_per_user_median"]


def test_extra_interference_is_one_more_term(starlink, taiwan, times, clear):
    def jam(chunk_times, _slice):
        return np.full((len(chunk_times), len(taiwan)), 10.0)  # J/N = +10 dB everywhere

    jammed = run_capacity(starlink, taiwan, times, rain_p=None, demand=HEAVY, extra_interference=jam)
    assert float(jammed.dataset["offered_mbps"].sum()) < float(clear.dataset["offered_mbps"].sum())
    assert np.nanmax(jammed.dataset["sinr_db"]) < np.nanmax(clear.dataset["sinr_db"])
    # a downlink jammer leaves the uplink alone (uplink jamming is threats.jamming_capacity's)
    np.testing.assert_array_equal(jammed.dataset["offered_up_mbps"], clear.dataset["offered_up_mbps"])


def test_bad_inputs(starlink, taiwan, times):
    with pytest.raises(InputError, match="rain_p"):
        run_capacity(starlink, taiwan, times, rain_p=6.0)
    with pytest.raises(InputError, match="take_rate"):
        DemandModel(take_rate=1.5)
    with pytest.raises(InputError, match="freq_down_ghz"):
        run_capacity(starlink, taiwan, times, generation_overrides={"starlink-v1.5": {"freq_down_ghz": 80.0}})
    with pytest.raises(InputError, match="terminal_eirp_dbw"):
        run_capacity(starlink, taiwan, times, generation_overrides={"starlink-v1.5": {"terminal_eirp_dbw": -3.0}})
    with pytest.raises(InputError, match="uplink_ratio"):
        DemandModel(uplink_ratio=-0.1)


def test_gso_arc_table_against_brute_force():
    from skyfence.capacity.kernel import _GSO_GRID, _GSO_RADIUS_KM, _gso_sky_table
    from skyfence.earth.geodesy import WGS84_A_KM, WGS84_E2, enu_basis, geodetic_to_ecef

    lat = 25.0
    table = _gso_sky_table(np.array([lat]), WGS84_A_KM, WGS84_E2, _GSO_RADIUS_KM)[0]
    ground = geodetic_to_ecef(lat, 0.0, 0.0).reshape(3)
    east, north, up = enu_basis(lat, 0.0).reshape(3, 3)
    lam = np.radians(np.arange(-180, 180, 0.05))
    arc = np.stack([_GSO_RADIUS_KM * np.cos(lam), _GSO_RADIUS_KM * np.sin(lam), 0 * lam], axis=1) - ground
    arc /= np.linalg.norm(arc, axis=1, keepdims=True)
    rng = np.random.default_rng(7)
    for _ in range(200):
        az, el = rng.uniform(0, 2 * np.pi), np.arcsin(rng.uniform(0.3, 1.0))
        v = np.cos(el) * np.sin(az) * east + np.cos(el) * np.cos(az) * north + np.sin(el) * up
        exact = np.degrees(np.arccos(np.clip((arc @ v).max(), -1, 1)))
        half = (_GSO_GRID - 1) / 2
        ia, ib = int((v @ east + 1) * half + 0.5), int((v @ north + 1) * half + 0.5)
        assert abs(float(table[ia, ib]) - exact) < 1.0  # 0.01 grid in direction cosines
    # seen from 25 N the arc culminates due south at about 59.6 deg elevation: zenith is ~30 deg away
    assert 29.0 < float(table[(_GSO_GRID - 1) // 2, (_GSO_GRID - 1) // 2]) < 32.0
