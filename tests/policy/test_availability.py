"""The operator's feed (import, exact round trip), the availability map and the diff of two policies."""

from __future__ import annotations

import json

import pytest

from skyfence.errors import PolicyError
from skyfence.policy import availability_map, diff_policies, feed_document, load_policy, read_feed, statuses_toml
from tests.policy.conftest import HEADER

FEEDS = {
    "starlink_availability_20250821": "availability/starlink_availability_20250821_starmonitor.json",
    "starlink_availability_20251020": "availability/starlink_availability_20251020_starmonitor.json",
    "starlink_availability_20251126": "availability/starlink_availability_20251126_starmonitor.json",
    "starlink_availability_20260723": "availability/starlink_availability_20260723_mission-control.json",
}
RULE = '\n[[rules]]\nkind = "status"\nstatuses = ["launched"]\naction = "allow"\n'


@pytest.mark.parametrize("dataset", sorted(FEEDS))
def test_real_feeds_import_and_round_trip_exactly(data_file, write_policy, dataset):
    original = json.loads(data_file(FEEDS[dataset]).read_text())
    feed = read_feed(dataset)
    assert len(feed.admin0) == 255
    # the statuses the feeds give for the contested places
    assert feed.admin0["TW"].status == "coming_soon"
    assert feed.admin0["TW"].expected == "Service date is unknown at this time"
    assert feed.admin0["UA"].status == "exclude"
    assert feed.admin0["RU"].status == "blacklisted" and feed.admin0["CN"].status == "blacklisted"
    assert feed_document(feed.admin0, feed.admin1) == original
    # through a policy file and back: the same statuses, raw values and expected texts (even empty ones)
    policy = load_policy(write_policy(HEADER + statuses_toml(feed.admin0) + RULE))
    assert policy.statuses == feed.admin0
    assert feed_document(policy.statuses)["admin0"] == original["admin0"]
    assert policy.statuses["IR"].expected == ""  # the feed's empty expected text survives


def test_feed_values_map_to_the_map_statuses(data_dir):
    old = read_feed("starlink_availability_20250821")
    assert (old.admin0["AQ"].status, old.admin0["AQ"].feed_status) == ("unknown", "faq")
    new = read_feed("starlink_availability_20260723")
    assert (new.admin0["BD"].status, new.admin0["BD"].feed_status) == ("launched", "available")
    assert new.admin0["US"].feed_status is None
    assert new.raw_counts()["available"] == 11 and new.counts()["launched"] == 155 + 11
    assert len(new.admin1) == 46


def test_bad_feed(tmp_path):
    feed = tmp_path / "feed.json"
    feed.write_text(json.dumps({"admin0": {"TW": {"status": "maybe"}}}))
    with pytest.raises(PolicyError) as caught:
        read_feed(feed)
    assert "unknown status 'maybe'" in str(caught.value) and caught.value.field == "admin0.TW.status"


def test_real_world_availability_map(real_world, tmp_path):
    amap = availability_map(real_world, res=2)
    countries = amap.countries.set_index("iso_a2")["availability"]
    assert countries["DE"] == "served"
    assert countries["TW"] == "coming_soon"
    assert countries["RU"] == "blacklisted" and countries["CN"] == "blacklisted"
    assert countries["UA"] == "registered_only"  # the whitelist: served to registered terminals only
    assert countries["IN"] == "pending_regulatory"
    assert countries["GE"] == "exclude"
    assert countries["IR"] == "denied"  # export control, whatever the map says (coming_soon)
    cells = amap.table
    assert len(cells) == 5882 and set(cells["availability"]) >= {"served", "no_rule", "blacklisted"}
    from skyfence.report.availability import write_availability_map

    files = write_availability_map(amap, tmp_path)
    assert (tmp_path / files["map_png"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    geojson = json.loads((tmp_path / files["cells_geojson"]).read_text())
    assert len(geojson["features"]) == len(cells)
    import pyarrow.parquet as pq

    table = pq.read_table(tmp_path / files["cells_parquet"])
    assert json.loads(table.schema.metadata[b"geo"])["primary_column"] == "geometry"
    countries_geojson = json.loads((tmp_path / files["countries_geojson"]).read_text())
    assert any(f["properties"]["iso_a2"] == "TW" for f in countries_geojson["features"])


def test_taiwan_diff_changes_only_taiwan(real_world, load_example):
    taiwan = load_example("operator_serves_taiwan")
    assert taiwan.engine().explain(25.033, 121.565).rule_id == "licensed-service"
    result = diff_policies(real_world, taiwan, res=2)
    assert list(result.countries["iso_a2"]) == ["TW"]
    assert (result.countries["from"][0], result.countries["to"][0]) == ("coming_soon", "served")
    assert set(result.cells["country"]) == {"TW"}
    people = result.population
    assert people["people"] > 10_000_000  # Taipei, New Taipei, Kaohsiung, Taichung ... (cities >= 15k)
    assert people["people_gaining_service"] == people["people"]
    assert "lower bound" in people["note"]


def test_front_line_diff_2024_to_2026(load_example):
    result = diff_policies(
        load_example("frontline_geofence_2024"), load_example("frontline_geofence_2026"), region="UA", res=5
    )
    assert len(result.cells) > 30
    assert set(result.cells["to"]) <= {"denied", "degraded", "served"}
    lost = {c["name"]: c for c in result.population["largest"]}
    assert lost["Pokrovsk"]["from"] == "served" and lost["Pokrovsk"]["to"] == "denied"
    assert result.population["people_losing_service"] > 100_000
    # every person affected is in exactly one part: the report's 284,034 were 0 gaining + 176,880 losing, and the
    # rest (served -> degraded near the line) is the third part, "still served"
    people = result.population
    parts = ("people_gaining_service", "people_losing_service", "people_still_served", "people_still_unserved")
    assert sum(people[k] for k in parts) == people["people"]
    assert people["people_still_served"] > 0 and people["people_gaining_service"] == 0


def test_whitelist_counts_as_lost_service_for_an_unregistered_terminal(load_example):
    """Front-line geofence 2024 -> the real-world 2026 whitelist over Ukraine: an ordinary, unregistered terminal (the
    point of view of every change) loses service in Kyiv, Kharkiv ... -- registered terminals only is no service for
    it -- so the people losing service are nearly all the people affected, not just the occupied front line."""
    result = diff_policies(load_example("frontline_geofence_2024"), load_example("real_world_2026"), region="UA", res=3)
    people = result.population
    assert people["people"] > 10_000_000
    assert people["people_losing_service"] > 0.9 * people["people"]
    assert people["people_gaining_service"] == 0
    assert "unregistered" in people["note"]
