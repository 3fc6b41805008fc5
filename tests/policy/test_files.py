"""Policy files: validation errors name the file, the key path and the allowed values; ids; includes; conflicts."""

from __future__ import annotations

import json

import pytest

from skyfence.errors import PolicyError
from skyfence.policy import load_policy
from tests.policy.conftest import HEADER

RULE = """
[[rules]]
id = "ukraine"
kind = "jurisdiction"
zone = "ukraine"
action = "allow"
priority = 10
"""
ZONES = """
[zones.ukraine]
countries = ["UA"]
"""


def _error(path) -> PolicyError:
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    text = str(caught.value)
    assert "\n" not in text
    assert str(path.parent) in text  # the file (the policy or an included one) is named
    return caught.value


@pytest.mark.parametrize(
    "name", ["real_world_2026", "operator_serves_taiwan", "frontline_geofence_2024", "frontline_geofence_2026"]
)
def test_examples_validate_with_stable_ids(load_example, examples, name):
    policy = load_example(name)
    assert len(policy.id) == 64
    assert load_policy(examples / f"{name}.toml").id == policy.id
    assert policy.default == "deny"


def test_id_ignores_layout_and_comments_but_not_content(data_dir, write_policy):
    one = write_policy(HEADER + ZONES + RULE, "a.toml")
    # same content: comments, blank lines, key order and an explicit default value change nothing
    two = write_policy(
        "# a comment\n" + RULE.replace("priority = 10", 'priority = 10\nreason = ""') + "\n\n" + ZONES + HEADER,
        "b.toml",
    )
    three = write_policy(HEADER + ZONES + RULE.replace("priority = 10", "priority = 11"), "c.toml")
    a, b, c = load_policy(one), load_policy(two), load_policy(three)
    assert a.id == b.id
    assert a.id != c.id


def test_polygon_content_is_part_of_the_id(data_dir, write_policy, tmp_path):
    square = {"type": "Polygon", "coordinates": [[[30, 50], [31, 50], [31, 51], [30, 51], [30, 50]]]}
    (tmp_path / "fence.geojson").write_text(json.dumps(square))
    text = HEADER + '[zones.fence]\nfiles = ["fence.geojson"]\n' + RULE.replace('"ukraine"', '"fence"')
    first = load_policy(write_policy(text)).id
    square["coordinates"][0][2] = [31, 51.5]
    (tmp_path / "fence.geojson").write_text(json.dumps(square))
    assert load_policy(write_policy(text)).id != first


def test_unknown_iso_code_names_the_key_and_suggests(data_dir, write_policy):
    path = write_policy(HEADER + '[zones.ukraine]\ncountries = ["UKR", "UX"]\n' + RULE)
    error = _error(path)
    assert error.field == "zones.ukraine.countries[1]"
    assert "unknown ISO code 'UX'" in str(error)
    assert "UA (Ukraine)" in str(error)  # close matches offered


def test_rule_naming_an_undefined_zone(data_dir, write_policy):
    path = write_policy(
        HEADER
        + ZONES
        + RULE
        + RULE.replace('"ukraine"\nkind', '"u2"\nkind').replace('zone = "ukraine"', 'zone = "donbas"')
    )
    error = _error(path)
    assert error.field == "rules[1].zone"
    assert "unknown zone 'donbas'; defined zones: ukraine" in str(error)


def test_equal_priority_conflicting_rules_are_rejected(data_dir, write_policy):
    deny = (
        RULE.replace('id = "ukraine"', 'id = "no-kyiv"')
        .replace('"allow"', '"deny"')
        .replace('zone = "ukraine"', 'zone = "kyiv"')
    )
    kyiv = '[zones.kyiv]\nregions = ["occupied:ua:2026-08-22"]\n'
    error = _error(write_policy(HEADER + ZONES + kyiv + RULE + deny))
    assert "rules[0] ('ukraine', allow) and rules[1] ('no-kyiv', deny) have the same priority 10" in str(error)
    assert error.field == "rules[1].priority"
    # a different priority makes the precedence explicit: accepted
    assert load_policy(write_policy(HEADER + ZONES + kyiv + RULE + deny.replace("10", "20"), "ok.toml"))


def test_equal_priority_rules_on_touching_countries_are_fine(data_dir, write_policy):
    russia = (
        RULE.replace('"ukraine"\nkind', '"russia"\nkind')
        .replace('zone = "ukraine"', 'zone = "russia"')
        .replace('"allow"', '"deny"')
    )
    policy = load_policy(write_policy(HEADER + ZONES + '[zones.russia]\ncountries = ["RU"]\n' + RULE + russia))
    # different plans or whitelist requirements also keep two rules apart
    assert policy.engine().explain(55.75, 37.6).decision == "deny"


def test_conflict_check_respects_plans_and_periods(data_dir, write_policy):
    deny = RULE.replace('id = "ukraine"', 'id = "no-aviation"').replace('"allow"', '"deny"')
    assert load_policy(
        write_policy(
            HEADER
            + ZONES
            + RULE.replace("priority", 'plans = ["roam"]\npriority')
            + deny.replace("priority", 'plans = ["aviation"]\npriority'),
            "p.toml",
        )
    )
    assert load_policy(
        write_policy(
            HEADER
            + ZONES
            + RULE.replace("priority", "valid_until = 2025-12-31\npriority")
            + deny.replace("priority", "valid_from = 2026-01-01\npriority"),
            "t.toml",
        )
    )
    error = _error(
        write_policy(
            HEADER
            + ZONES
            + RULE.replace("priority", "valid_until = 2026-01-01\npriority")
            + deny.replace("priority", "valid_from = 2026-01-01\npriority"),
            "x.toml",
        )
    )
    assert "same priority" in str(error)  # valid_until is inclusive: both hold on 2026-01-01


def test_self_intersecting_polygon_is_an_error_naming_the_file(data_dir, write_policy, tmp_path):
    bowtie = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {},
                "geometry": {"type": "Polygon", "coordinates": [[[30, 50], [31, 51], [31, 50], [30, 51], [30, 50]]]},
            }
        ],
    }
    (tmp_path / "front.geojson").write_text(json.dumps(bowtie))
    path = write_policy(HEADER + '[zones.front]\nfiles = ["front.geojson"]\n' + RULE.replace('"ukraine"', '"front"'))
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    text = str(caught.value)
    assert "front.geojson" in text and "features[0]: invalid polygon (Self-intersection" in text
    assert caught.value.field == "zones.front.files[0]"


def test_missing_default_is_required(data_dir, write_policy):
    error = _error(write_policy(HEADER.replace('default = "deny"\n', "") + ZONES + RULE))
    assert error.field == "policy.default"
    assert "required" in str(error) and "allow, deny or degrade" in str(error)


@pytest.mark.parametrize(
    ("old", "new", "field", "needle"),
    [
        (
            'action = "allow"',
            'action = "permit"',
            "rules[0].action",
            "'permit' is not allowed; allowed values: 'allow'",
        ),
        (
            'kind = "jurisdiction"',
            'kind = "fence"',
            "rules[0]",
            "unknown rule kind 'fence'; allowed kinds: jurisdiction",
        ),
        ("priority = 10", "priorty = 10", "rules[0].priorty", "did you mean priority"),
        ("priority = 10", 'priority = "high"', "rules[0].priority", "got 'high'"),
        ("priority = 10", 'priority = 10\nvalid_from = "soon"', "rules[0].valid_from", "is not a date"),
    ],
)
def test_schema_errors_name_the_key_path(data_dir, write_policy, old, new, field, needle):
    error = _error(write_policy(HEADER + ZONES + RULE.replace(old, new)))
    assert error.field == field
    assert needle in str(error)


def test_toml_syntax_error_names_the_line(write_policy):
    error = _error(write_policy(HEADER + "[[rules]\n"))
    assert error.line == 8 and "invalid TOML" in str(error)  # HEADER is 7 lines


def test_unknown_plan_and_operator(data_dir, write_policy):
    error = _error(write_policy(HEADER + ZONES + RULE.replace("priority", 'plans = ["rooam"]\npriority')))
    assert error.field == "rules[0].plans[0]" and "did you mean 'roam'" in str(error)
    error = _error(
        write_policy(HEADER + ZONES + RULE.replace("priority", 'operators = ["oneweb"]\npriority'), "o.toml")
    )
    assert "unknown operator 'oneweb'" in str(error)


def test_licence_history_follows_the_state_machine(data_dir, write_policy):
    licence = """
[[licences]]
countries = ["TW"]
state = "granted"
history = [{ state = "applied", on = 2025-01-01 }, { state = "granted", on = 2025-06-01 }]
"""
    error = _error(write_policy(HEADER + ZONES + licence + RULE))
    assert error.field == "licences[0].history[1].state"
    assert "cannot go from applied to granted; allowed next states: pending_regulatory, denied" in str(error)


def test_includes_resolve_relative_paths_and_detect_cycles(data_dir, write_policy):
    write_policy('include = ["b.toml"]\n[zones.ukraine]\ncountries = ["UA"]\n', "shared/a.toml")
    write_policy('include = ["a.toml"]\n[zones.poland]\ncountries = ["PL"]\n', "shared/b.toml")
    error = _error(write_policy('include = ["shared/a.toml"]\n' + HEADER + RULE))
    assert "include cycle: a.toml → b.toml → a.toml" in str(error)
    write_policy('[zones.poland]\ncountries = ["PL"]\n', "shared/b.toml")
    policy = load_policy(write_policy('include = ["shared/a.toml"]\n' + HEADER + RULE, "ok.toml"))
    assert sorted(policy.spec.zones) == ["poland", "ukraine"]
    error = _error(write_policy('include = ["shared/a.toml"]\n' + HEADER + ZONES + RULE, "dup.toml"))
    assert "zone 'ukraine' is defined twice" in str(error)


def test_included_files_hold_only_zones(data_dir, write_policy):
    write_policy(RULE, "shared/rules.toml")
    error = _error(write_policy('include = ["shared/rules.toml"]\n' + HEADER + ZONES + RULE))
    assert "rules.toml" in str(error) and "not allowed in an included file" in str(error)


def test_status_overrides_and_unknown_feed(data_dir, write_policy):
    text = (
        HEADER + ZONES + '[statuses]\nsource = "starlink_availability_20260723"\n[statuses.countries]\n'
        'TW = "launched"\nUA = { status = "coming_soon", expected = "Starting in 2027" }\n' + RULE
    )
    policy = load_policy(write_policy(text))
    assert policy.statuses["TW"].status == "launched"
    assert policy.statuses["UA"].expected == "Starting in 2027"
    assert policy.statuses["RU"].status == "blacklisted"
    error = _error(write_policy(text.replace("starlink_availability_20260723", "feed.json"), "f.toml"))
    assert error.field == "statuses.source" and "starlink_availability_20250821" in str(error)


def test_cell_set_zones_and_layer_errors(data_dir, write_policy):
    import h3

    kyiv_cell = h3.latlng_to_cell(50.45, 30.52, 6)
    text = HEADER + f'[zones.cells]\ncells = ["{kyiv_cell}"]\n' + RULE.replace('"ukraine"', '"cells"')
    policy = load_policy(write_policy(text))
    assert policy.engine().explain(50.45, 30.52).rule_id == "cells"
    assert policy.engine().explain(50.0, 30.0).rule_id == "default"
    error = _error(write_policy(text.replace(kyiv_cell, "not-a-cell"), "bad.toml"))
    assert error.field == "zones.cells.cells[0]" and "not an H3 cell" in str(error)
    error = _error(write_policy(HEADER.replace('pov = "DEU"', 'pov = "DEU"\nscale = "50m"') + ZONES + RULE, "s.toml"))
    assert "no country layer for pov=DEU at scale '50m'" in str(error)


WHITELIST = """
[[rules]]
id = "ua-whitelist"
kind = "whitelist"
zone = "ukraine"
priority = 20
terminals_file = "enrolled.txt"
"""


def test_terminals_file_is_read_and_part_of_the_id(data_dir, write_policy, tmp_path):
    (tmp_path / "enrolled.txt").write_text("# verified\nUT-1\nUT-2  # a comment\n\n")
    path = write_policy(HEADER + ZONES + RULE + WHITELIST)
    policy = load_policy(path)
    assert policy.spec.rules[1].terminals == ["UT-1", "UT-2"]
    kyiv = {"lat_deg": 50.45, "lon_deg": 30.52}
    assert policy.explain(**kyiv, terminal="UT-2").decision == "allow"
    assert policy.explain(**kyiv, terminal="UT-3").decision == "deny"
    (tmp_path / "enrolled.txt").write_text("UT-1\n")
    assert load_policy(path).id != policy.id  # membership is content
    (tmp_path / "enrolled.txt").unlink()
    assert _error(path).field == "rules[1].terminals_file"


def test_suspended_licences_and_registry_sources(data_dir, write_policy):
    licence = """
[[licences]]
countries = ["UA"]
state = "suspended"
history = [{state = "applied", on = 2026-01-01}, {state = "pending_regulatory", on = 2026-02-01},
           {state = "granted", on = 2026-03-01}, {state = "suspended", on = 2026-06-01}]

[[rules]]
id = "licensed"
kind = "licence"
action = "allow"
"""
    policy = load_policy(write_policy(HEADER + ZONES + licence))
    kyiv = {"lat_deg": 50.45, "lon_deg": 30.52}
    assert policy.explain(**kyiv, time="2026-04-01T00:00:00Z").decision == "allow"  # granted then
    assert policy.explain(**kyiv, time="2026-08-22T00:00:00Z").decision == "deny"  # suspended since June
    registry = HEADER.replace("[policy]", '[policy]\nlicences_from = "registry"')
    error = _error(write_policy(registry + ZONES + licence, "registry.toml"))
    assert error.field == "licences[0]"
    listed = HEADER.replace("[policy]", '[policy]\nwhitelists_from = "registry"')
    rule = WHITELIST.replace('terminals_file = "enrolled.txt"', 'terminals = ["UT-1"]')
    assert _error(write_policy(listed + ZONES + RULE + rule, "listed.toml")).field == "rules[1].terminals"
