"""People affected by a policy change (issue 11, item 11): no double counting, never above the population.

The Taiwan diff used to report 26,394,699 people affected -- above Taiwan's ~23.4 million -- because GeoNames lists
metro areas next to their own districts (Taipei 7.9 M with Neihu inside it; New Taipei City 4.0 M with Banqiao
inside it) and some places twice (Changhua / Chang-hua, same population), and the diff summed them all.
"""

from __future__ import annotations

import pandas as pd

from skyfence.earth.places import city_table, distinct_cities
from skyfence.policy import diff_policies

#: Taiwan's population, Ministry of the Interior household registration, end of 2024: 23,400,220.
TAIWAN_POPULATION = 23_400_220


def test_the_gazetteer_counts_each_place_once():
    every = city_table(distinct=False)
    distinct = city_table()
    taiwan = set(distinct[distinct["country"] == "TW"]["name"])
    assert {"Taipei", "Kaohsiung", "Taichung", "Tainan", "Hsinchu"} <= taiwan
    assert not {"New Taipei City", "Banqiao", "Neihu", "Fengshan"} & taiwan  # inside Taipei / Kaohsiung
    assert len({"Changhua", "Chang-hua"} & taiwan) <= 1  # one place, two spellings
    assert distinct[distinct["country"] == "TW"]["population"].sum() < TAIWAN_POPULATION
    assert every[every["country"] == "TW"]["population"].sum() > TAIWAN_POPULATION  # the raw table double counts


def test_distinct_cities_keeps_far_apart_places_and_drops_twins():
    frame = pd.DataFrame(
        {
            "name": ["Big", "District", "Twin A", "Twin B", "Far"],
            "country": ["XX"] * 5,
            "lat_deg": [0.0, 0.05, 10.0, 10.01, 20.0],
            "lon_deg": [0.0, 0.05, 10.0, 10.01, 20.0],
            "population": [3_000_000, 200_000, 50_000, 50_000, 40_000],
        }
    )
    assert list(distinct_cities(frame)["name"]) == ["Big", "Twin A", "Far"]
    other_country = frame.assign(country=["XX", "YY", "XX", "XX", "XX"])
    assert "District" in set(distinct_cities(other_country)["name"])  # borders are not crossed


def _distinct_all_pairs(frame: pd.DataFrame) -> pd.DataFrame:
    """The rule of :func:`distinct_cities` over every pair of the same country: the reference its pair search
    (each entry's own footprint, plus twins) must reproduce exactly."""
    import numpy as np

    from skyfence.earth.places import FOOTPRINT_DENSITY_PER_KM2, _city_geometry, _kept

    i, j = np.triu_indices(len(frame), k=1)
    keep = _kept(i, j, *_city_geometry(frame, FOOTPRINT_DENSITY_PER_KM2))
    return frame[keep].reset_index(drop=True)


def test_distinct_cities_decides_as_over_every_pair():
    """The pair search looks only inside each entry's own footprint (and for twins), not every pair within the
    largest footprint (2.2 GB for GeoNames' finer lists in `latency world`): the same entries must survive --
    on a dense synthetic region with metros, towns, equal populations and two countries, and on two dense
    countries of the real gazetteer (TW, NL)."""
    import numpy as np

    rng = np.random.default_rng(7)
    n = 1500
    frame = pd.DataFrame(
        {
            "name": [f"p{k}" for k in range(n)],
            "country": rng.choice(["XX", "YY"], n, p=[0.8, 0.2]),
            "lat_deg": 24.0 + rng.random(n) * 1.5,
            "lon_deg": 120.0 + rng.random(n) * 1.5,
            "population": rng.choice([500, 5_000, 5_000, 50_000, 800_000, 8_000_000], n).astype(float),
        }
    )
    expected = _distinct_all_pairs(frame)
    assert 0 < len(expected) < n  # the rule drops some and keeps some
    pd.testing.assert_frame_equal(distinct_cities(frame), expected)
    every = city_table(distinct=False)
    dense = every[every["country"].isin(["TW", "NL"])].reset_index(drop=True)
    pd.testing.assert_frame_equal(distinct_cities(dense), _distinct_all_pairs(dense))


def test_taiwan_people_affected_is_below_its_population(real_world, load_example):
    result = diff_policies(real_world, load_example("operator_serves_taiwan"), res=2)
    people = result.population
    assert 10_000_000 < people["people"] <= TAIWAN_POPULATION  # before: 26,394,699
    assert int(result.countries.loc[result.countries["iso_a2"] == "TW", "population"].iloc[0]) == people["people"]


def test_no_country_is_counted_above_its_population():
    import numpy as np

    from skyfence.policy.availability import _capped

    table = pd.DataFrame({"country": ["AA", "AA", "BB"], "population": [800, 700, 50]})
    assert _capped(table, np.array([True, True, True]), {"AA": 1000.0, "BB": 10_000.0}) == {"AA": 1000, "BB": 50}
