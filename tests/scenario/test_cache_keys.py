"""Every scenario key either changes the cache key of some unit or is listed as presentation-only.

The bug this guards against: ``outputs.maps`` and a constellation's ``label`` changed outputs but were in no
key, so turning maps on after a run without them gave a cache hit with no maps.  Now units cache data only and
the report draws maps and labels; this test walks every key of the schema, changes it, and checks the plan.
"""

from __future__ import annotations

import copy
import json
import tomllib
import types
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel

from skyfence.scenario.schema import Scenario
from skyfence.scenario.units import PRESENTATION_ONLY

SMALL = Path(__file__).parents[1] / "data" / "scenarios" / "small.toml"


def _model_of(annotation) -> tuple[type[BaseModel] | None, bool]:
    """The pydantic model inside ``annotation`` (``X``, ``X | None``, ``list[X]``) and whether it is a list."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _model_of(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            model, many = _model_of(arg)
            if model is not None:
                return model, many
        return None, False
    if origin is list:
        model, _ = _model_of(typing.get_args(annotation)[0])
        return model, model is not None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    return None, False


def leaf_keys(model: type[BaseModel], prefix: str = "") -> set[str]:
    """Every leaf key path of a scenario, ``[]`` standing for the elements of a list."""
    keys = set()
    for name, info in model.model_fields.items():
        sub, many = _model_of(info.annotation)
        path = f"{prefix}{name}"
        if sub is None:
            keys.add(path)
        else:
            keys |= leaf_keys(sub, f"{path}[]." if many else f"{path}.")
    return keys


def _base(data_dir) -> dict:
    raw = tomllib.loads(SMALL.read_text())
    raw["constellations"][0]["shells"] = [1]
    raw["constellations"][0]["label"] = "Starlink shell 1"
    raw["regions"][0]["name"] = "Taiwan"
    raw["ground"] = {
        "sites": "starlink_ground_stations",  # named: latency.constellations may then list OneWeb too (on purpose)
        "exclude_gateways_in": ["TW"],
        "add_sites": [{"name": "Tainan PoP", "kind": "gateway", "lat": 23.0, "lon": 120.2, "country": "TW"}],
    }
    raw["variants"][0]["title"] = "Today"
    raw["variants"][0]["description"] = "as it is"
    raw["variants"][1]["threats"] = [
        {
            "kind": "attrition",
            "name": "half of what passes over",
            "fraction": 0.5,
            "engagement": {"region": "TW", "start": "2026-01-01T00:00:00Z", "end": "2026-01-01T01:00:00Z"},
        }
    ]
    raw["capacity"] = {"constellations": ["starlink-550"], "generations": {"starlink-550": "starlink-v1.0"}}
    return raw


def _at(raw: dict, path: str):
    """The dict holding the last part of ``path`` (first element of lists), created as needed."""
    node = raw
    parts = path.split(".")
    for part in parts[:-1]:
        name = part.removesuffix("[]")
        if part.endswith("[]"):
            node = node.setdefault(name, [{}])[0] if name != "variants" else node[name][1]
        else:
            node = node.setdefault(name, {})
    return node, parts[-1]


def _sites_file(tmp: Path) -> str:
    from skyfence import data

    document = json.loads(data.path("starlink_ground_stations").read_text())
    document["stations"] = document["stations"][1:]
    path = tmp / "sites.json"
    path.write_text(json.dumps(document))
    return str(path)


#: A changed value for every key path that is not presentation-only.
def _changes(tmp: Path) -> dict[str, typing.Any]:
    return {
        "time.start": "2026-01-02T00:00:00Z",
        "time.duration": "3h",
        "time.end": "2026-01-01T01:00:00Z",
        "time.step": "120s",
        "coverage.res": 3,
        "coverage.min_elevation_deg": 30.0,
        "coverage.min_sats": 2,
        "constellations[].source": "starlink-gen1",
        "constellations[].shells": None,
        "regions[].spec": "JP",
        "regions[].pov": "DEU",
        "ground.sites": _sites_file(tmp),
        "ground.exclude_gateways_in": [],
        "ground.add_sites[].name": "Somewhere",
        "ground.add_sites[].kind": "pop",
        "ground.add_sites[].lat": 10.0,
        "ground.add_sites[].lon": 10.0,
        "ground.add_sites[].country": "XX",
        "ground.cables_cut_in": ["TW"],
        "latency.terminals": ["Kaohsiung"],
        "latency.constellations": ["starlink-550", "oneweb"],
        "latency.step": "30s",
        "latency.duration": "20m",
        "latency.isl": "none",
        "policy.file": "../../../examples/policies/frontline_geofence_2026.toml",
        "policy.operator": "oneweb",
        "variants[].constellations": ["oneweb"],
        "variants[].ground.sites": _sites_file(tmp),
        "variants[].ground.exclude_gateways_in": ["JP"],
        "variants[].ground.add_sites[].name": "Elsewhere",
        "variants[].ground.add_sites[].kind": "pop",
        "variants[].ground.add_sites[].lat": 24.0,
        "variants[].ground.add_sites[].lon": 120.5,
        "variants[].ground.add_sites[].country": "JP",
        "variants[].ground.cables_cut_in": ["JP"],
        "variants[].policy.file": "../../../examples/policies/frontline_geofence_2026.toml",
        "variants[].policy.operator": "oneweb",
        "seed": 7,
        "montecarlo.draws": 5,
        "montecarlo.curve_fractions": [0.0, 0.5],
        "variants[].threats[].kind": {"kind": "debris", "alt_km": 500.0},  # a whole other kind of threat
        "variants[].threats[].norad_ids": [1],
        "variants[].threats[].shells": [0],
        "variants[].threats[].planes": [1],
        "variants[].threats[].plane_bin_deg": 10.0,
        "variants[].threats[].generations": ["starlink-v1.0"],
        "variants[].threats[].engagement.region": "JP",
        "variants[].threats[].engagement.start": "2026-01-01T00:30:00Z",
        "variants[].threats[].engagement.end": "2026-01-01T01:30:00Z",
        "variants[].threats[].engagement.min_elevation_deg": 30.0,
        "variants[].threats[].engagement.res": 3,
        "variants[].threats[].fraction": 0.25,
        "variants[].threats[].seed": 3,
        "variants[].threats[].constellations": ["oneweb"],
        "capacity.constellations": ["oneweb"],
        "capacity.res": 3,
        "capacity.rain_p": 0.5,
        "capacity.take_rate": 0.05,
        "capacity.busy_hour_mbps": 5.0,
        "capacity.oversubscription": 10.0,
        "capacity.plan_peak_mbps": 100.0,
        "capacity.gateway_min_elevation_deg": 30.0,
        "capacity.generations": {"starlink-550": "starlink-v1.5"},
    }


def _keys(raw: dict) -> set[str]:
    from skyfence.scenario.runner import plan

    return {unit.key for unit in plan(Scenario.model_validate(raw), SMALL.parent).units}


def test_every_schema_key_is_accounted_for(tmp_path):
    keys = leaf_keys(Scenario)
    changes = _changes(tmp_path)
    assert keys == set(changes) | PRESENTATION_ONLY, (
        "new scenario key: add it to PRESENTATION_ONLY (skyfence.scenario.units) or to the changes here"
    )
    assert not set(changes) & PRESENTATION_ONLY


def test_the_keys_for_labels_and_maps_are_presentation_only():
    assert {"outputs.maps", "constellations[].label", "variants[].title"} <= PRESENTATION_ONLY


@pytest.fixture(scope="module")
def base_keys(data_dir):
    raw = _base(data_dir)
    return raw, _keys(raw)


def test_each_key_changes_the_cache_key_or_is_presentation_only(base_keys, tmp_path):
    raw, before = base_keys
    unchanged = []
    for path, value in sorted(_changes(tmp_path).items()):
        edited = copy.deepcopy(raw)
        node, last = _at(edited, path)
        if path == "time.end":
            edited["time"].pop("duration")
        if path == "variants[].threats[].kind":
            edited["variants"][1]["threats"][0] = value
        else:
            node[last] = value
        if _keys(edited) == before:
            unchanged.append(path)
    assert unchanged == [], f"these keys change outputs but no cache key: {unchanged}"


def test_presentation_only_keys_leave_every_cache_key_alone(base_keys):
    raw, before = base_keys
    edits = {
        "name": "renamed",
        "title": "Another title",
        "description": "other words",
        "variants[].threats[].name": "another threat name",
        "constellations[].label": "Another label",
        "regions[].name": "Formosa",
        "variants[].title": "Another variant title",
        "variants[].description": "changed",
        "outputs.dir": "elsewhere",
        "outputs.maps": False,
        "variants[].name": "another_name",
    }
    for path, value in edits.items():
        edited = copy.deepcopy(raw)
        node, last = _at(edited, path)
        node[last] = value
        assert _keys(edited) == before, path


def test_turning_maps_on_after_a_run_without_them_draws_the_maps(data_dir, tmp_path):
    """The original bug: a run with ``outputs.maps = false`` cached units without maps, and a later run with maps
    hit that cache and wrote none.  Units now hold data only and the report draws the maps every time."""
    from skyfence._io import atomic_outputs
    from skyfence.report.html import write_report
    from skyfence.scenario.runner import run_scenario

    raw = tomllib.loads(SMALL.read_text())
    written = {}
    for maps in (False, True):
        raw["outputs"] = {"maps": maps}
        scenario = Scenario.model_validate(raw)
        result = run_scenario(scenario, SMALL.parent, cache_root=tmp_path / "cache")
        with atomic_outputs(tmp_path / f"out-{maps}") as staging:
            write_report(staging, result, maps=scenario.outputs.maps)
        written[maps] = (result, sorted(p.name for p in (tmp_path / f"out-{maps}" / "maps").iterdir()))
    (first, without), (second, with_maps) = written[False], written[True]
    assert first.cache_misses > 0 and second.cache_misses == 0  # the second run is all cache hits ...
    assert not any(name.startswith(("coverage__", "availability__")) for name in without)
    assert any(name.startswith("coverage__") for name in with_maps)  # ... and still has its maps
    layers = [name for name in with_maps if name.endswith(".cells.json")]  # the maps' values, for the dashboard
    assert layers and not any(name.endswith(".cells.json") for name in without)
    layer = json.loads((tmp_path / "out-True" / "maps" / layers[0]).read_text())
    assert len(layer["cells"]) == len(layer["values"]) > 0 and layer["title"] and layer["units"]
    assert "availability__TW.png" in with_maps
