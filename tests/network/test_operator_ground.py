"""The ground segment follows the operator: Starlink's gateways for Starlink, and for an operator the data has no
gateways for (OneWeb, Kuiper ...) a clear error asking for them -- never Starlink's list in silence."""

from __future__ import annotations

import json

import pytest

from skyfence.errors import InputError


@pytest.mark.parametrize(
    ("source", "key", "label"),
    [
        ("starlink_omm_20260818", "STARLINK", "Starlink"),
        ("starlink-gen1", "STARLINK", "Starlink"),
        ("oneweb_omm_20260818", "ONEWEB", "OneWeb"),
        ("kuiper_omm_20260818", "KUIPER", "Kuiper"),
        ("guowang_omm_20260818", "HULIANWANG", "Guowang"),
    ],
)
def test_operator_is_read_from_the_catalog_names(data_dir, source, key, label):
    from skyfence.network.ground import operator_ground, operator_of
    from skyfence.orbits.sources import load_constellation

    constellation = load_constellation(source)
    assert operator_of(constellation) == (key, label)
    if key == "STARLINK":
        assert operator_ground(constellation) == "starlink_ground_stations"
    else:
        assert operator_ground(constellation, required=False) is None
        with pytest.raises(InputError, match=f"no ground segment is known for {label}") as raised:
            operator_ground(constellation, field="--ground")
        assert raised.value.field == "--ground"


def test_latency_route_asks_for_oneweb_gateways_and_uses_starlinks_for_starlink(data_dir, skyfence_cli):
    route = ("latency", "route", "--from", "Taipei", "--duration", "0s")
    ran = skyfence_cli(*route[:2], "oneweb_omm_20260818", *route[2:])
    lines = ran.stderr.strip().splitlines()
    assert ran.returncode == 1 and len(lines) == 1, ran.stderr
    assert "field --ground: no ground segment is known for OneWeb" in lines[0] and "--ground FILE" in lines[0]
    # on purpose, Starlink's list still serves OneWeb; Starlink's own catalog gets it by default
    ran = skyfence_cli(*route[:2], "oneweb_omm_20260818", *route[2:], "--ground", "starlink_ground_stations")
    assert ran.returncode == 0, ran.stderr
    ran = skyfence_cli(*route[:2], "starlink-550", *route[2:], "--json")
    assert ran.returncode == 0, ran.stderr
    from skyfence.network.ground import load_ground_segment

    starlink_sites = set(load_ground_segment("starlink_ground_stations").sites["name"])
    (used,) = json.loads(ran.stdout)["summary"]["gateways"]
    assert used["name"] in starlink_sites and used["country"] == "JP"  # Taiwan has none: traffic lands in Japan


def test_czml_draws_no_starlink_sites_for_oneweb(data_dir, skyfence_cli, tmp_path):
    out = tmp_path / "oneweb.czml"
    ran = skyfence_cli("export", "czml", "oneweb_omm_20260818", "--duration", "2m", "--out", out, "--json")
    assert ran.returncode == 0, ran.stderr
    summary = json.loads(ran.stdout)
    assert summary["sites"] == 0 and "no ground segment for OneWeb" in summary["note"]
    ran = skyfence_cli("export", "czml", "oneweb_omm_20260818", "--duration", "2m", "--out", out, "--gsl")
    assert ran.returncode == 1 and "field --ground: no ground segment is known for OneWeb" in ran.stderr
    ran = skyfence_cli("export", "czml", "starlink-550", "--duration", "2m", "--out", tmp_path / "s.czml", "--json")
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["sites"] > 100  # Starlink's operational gateways and PoPs


def test_assess_refuses_latency_of_oneweb_over_starlinks_default_gateways(data_dir, skyfence_cli, tmp_path):
    """The scenario's ground segment defaults to Starlink's list: latency of OneWeb over it is refused at once
    (naming the file and key), unless ground.sites names a list on purpose."""
    import shutil
    from pathlib import Path

    examples = Path(__file__).parents[2] / "examples"
    shutil.copytree(examples / "policies", tmp_path / "policies")  # the scenario's policy files are relative
    text = (examples / "taiwan.toml").read_text()
    oneweb = text.replace('constellations = ["starlink", "starlink-gen1"]', 'constellations = ["starlink", "oneweb"]')
    assert oneweb != text
    scenario = tmp_path / "taiwan_oneweb.toml"
    scenario.write_text(oneweb)
    ran = skyfence_cli("assess", scenario, "--out", tmp_path / "out")
    lines = ran.stderr.strip().splitlines()
    assert ran.returncode == 1 and len(lines) == 1, ran.stderr
    assert f"{scenario.name}: field latency.constellations: latency of 'oneweb': no ground segment" in lines[0]
    assert not (tmp_path / "out").exists()
