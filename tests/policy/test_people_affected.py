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
