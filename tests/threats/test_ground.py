"""Ground-segment and link losses fed to routing: unreachable is an output, licences revoke gateways, bad names."""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest

from skyfence.earth.places import resolve_place
from skyfence.errors import InputError
from skyfence.orbits.time import time_grid
from skyfence.threats.ground import GroundAttack, licence_revoked_countries, reachability


@pytest.fixture(scope="module")
def ground(data_dir):
    from skyfence.network.ground import load_ground_segment

    return load_ground_segment()


@pytest.fixture(scope="module")
def times():
    return time_grid("2025-09-23T12:00Z", "4m", "60s")


def test_removing_every_gateway_is_unreachable_not_an_exception(starlink, ground, times):
    every = tuple(sorted(set(ground.gateways["country"]) - {""}))
    attack = GroundAttack(gateways_in=every, sites=tuple(ground.gateways["name"][ground.gateways["country"] == ""]))
    results, removed = reachability(starlink, [resolve_place("Taipei")], [None], times, ground, attack=attack)
    summary = results[0].summary()
    assert summary["reachable_share"] == 0.0 and summary["median_rtt_ms"] is None
    assert len(removed["gateways"]) == len(ground.gateways)
    json.dumps(results[0].to_dict(), allow_nan=False)  # strict JSON: null, never NaN


def test_gateways_reachable_from_taipei_removed_gives_unreachable(starlink, ground, times):
    """Bent pipe: only gateways within one satellite's reach of Taipei serve it; remove exactly those."""
    before, _ = reachability(starlink, [resolve_place("Taipei")], [None], times, ground, isl="none")
    used = sorted({g["name"] for g in before[0].summary()["gateways"]})
    assert used
    from skyfence.network.ground import great_circle_km

    gw = ground.gateways
    near = gw["name"][great_circle_km(25.05, 121.53, gw["lat_deg"], gw["lon_deg"]) < 2500].tolist()
    after, removed = reachability(
        starlink, [resolve_place("Taipei")], [None], times, ground, attack=GroundAttack(sites=tuple(near)), isl="none"
    )
    assert set(used) <= set(removed["gateways"])
    assert after[0].summary()["reachable_share"] == 0.0


def test_cable_cut_takes_pops_and_their_gateways(ground):
    country = ground.pops["country"].value_counts().index[0]
    segment, removed = GroundAttack(cables_cut_in=(country,)).apply(ground)
    dead = set(ground.pops["name"][ground.pops["country"] == country])
    assert dead == set(removed["pops"])
    homed = set(ground.gateways["name"][ground.gateways["home_pop"].isin(dead)])
    assert homed <= set(removed["gateways"])
    assert not set(segment.sites["name"]) & (dead | homed)
    assert set(segment.gateways["home_pop"]) <= set(segment.pops["name"])  # no gateway left pointing at a dead PoP


def test_unknown_site_names_the_key(ground):
    with pytest.raises(InputError) as info:
        GroundAttack(sites=("Atlantis gateway",)).apply(ground)
    assert info.value.field == "sites"
    with pytest.raises(InputError) as info:
        GroundAttack(cables_cut=(ground.gateways["name"].iloc[0],)).apply(ground)  # a gateway is not a PoP
    assert info.value.field == "cables_cut"


def test_revoked_licence_removes_that_countrys_gateways(ground, tmp_path):
    from skyfence.policy import load_policy

    path = tmp_path / "revoked.toml"
    path.write_text(
        textwrap.dedent("""
        [policy]
        name = "revoked in Japan"
        operator = "starlink"
        default = "allow"

        [[licences]]
        countries = ["JP"]
        state = "revoked"
        history = [
          { state = "applied", on = 2020-01-01 },
          { state = "pending_regulatory", on = 2020-06-01 },
          { state = "granted", on = 2021-01-01 },
          { state = "revoked", on = 2026-03-01 },
        ]

        [[rules]]
        id = "everyone"
        kind = "jurisdiction"
        zone = "world"
        action = "allow"

        [zones.world]
        regions = ["world"]
    """)
    )
    policy = load_policy(path)
    assert licence_revoked_countries(policy, np.datetime64("2026-06-01")) == ["JP"]
    assert licence_revoked_countries(policy, np.datetime64("2025-06-01")) == []
    segment, removed = GroundAttack(licence_revoked=True).apply(ground, policy=policy, at=np.datetime64("2026-06-01"))
    jp = set(ground.gateways["name"][ground.gateways["country"] == "JP"])
    assert jp and jp <= set(removed["gateways"]) and removed["licence_revoked_in"] == ["JP"]
    assert "JP" not in set(segment.gateways["country"])
    with pytest.raises(InputError) as info:
        GroundAttack(licence_revoked=True).apply(ground)
    assert info.value.field == "licence_revoked"


def test_isl_failures_never_shorten_routes(starlink, ground, times):
    taipei = [resolve_place("Taipei")]
    ok, _ = reachability(starlink, taipei, [None], times, ground)
    half, _ = reachability(
        starlink, taipei, [None], times, ground, attack=GroundAttack(isl_failure_fraction=0.5, seed=1)
    )
    a, b = ok[0].rtt_ms, half[0].rtt_ms
    both = np.isfinite(a) & np.isfinite(b)
    assert np.all(b[both] >= a[both] - 1e-9)
    assert np.isfinite(b).sum() <= np.isfinite(a).sum()
    with pytest.raises(InputError) as info:
        GroundAttack(isl_failure_fraction=2.0)
    assert info.value.field == "isl_failure_fraction"
