"""One call per variant: before/after with bands, outage map, resilience curve, jamming sweep, debris, reachability;
scenario threat specs -> plan with key paths in errors."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from skyfence.errors import InputError
from skyfence.threats.assess import ThreatPlan, assess_threats
from skyfence.threats.attrition import SatelliteAttack
from skyfence.threats.debris import AsatEvent
from skyfence.threats.jamming import JammerSite


def test_assess_threats_on_a_preset(oneweb_preset, small_cells, small_times):
    plan = ThreatPlan(
        attacks=(SatelliteAttack(planes=(0, 1, 2), fraction=0.5),),
        debris=((AsatEvent(alt_km=1200.0, lethal_size_m=0.002), 365.0),),
        jammers=(JammerSite("j", 24.0, 120.0, 60.0, height_m=2000.0),),
        jammer_eirp_sweep_dbw=(40.0, 80.0),
        draws=4,
        curve_fractions=(0.0, 0.5, 0.9),
    )
    result = assess_threats(oneweb_preset, small_cells, small_times, plan)
    after = result.after.set_index("metric")
    assert after.loc["sats_in_view_mean", "mean"] < result.before["sats_in_view_mean"]
    assert after.loc["sats_in_view_mean", "p05"] <= after.loc["sats_in_view_mean", "p95"]
    assert np.all(result.per_cell["coverage_loss"] >= 0)
    assert result.satellites_lost["min"] >= 3 * 49 * 0.5 - 1  # half of three planes at least
    curve = result.curve[result.curve["metric"] == "coverage_fraction"].sort_values("intensity")
    assert np.all(np.diff(curve["mean"]) <= 1e-12)  # common random numbers: monotone
    jam = result.jamming_curve.sort_values("eirp_dbw")
    assert list(jam["eirp_dbw"]) == [40.0, 60.0, 80.0]
    assert np.all(np.diff(jam["mean_jammed_share"]) >= 0)
    assert set(result.debris["shell"]) >= {0}
    doc = result.to_json()
    assert doc["after"]["coverage_fraction"]["draws"] == 4


def test_jammers_of_mixed_eirp_are_reported_as_a_range_not_a_mean_of_decibels(oneweb_preset, small_cells):
    """Review item 17: one 80 dBW and five 70 dBW jammers were reported as 71.67 dBW "as listed", the arithmetic
    mean of decibels, a power no jammer has.  The row now says "mixed (70-80 dBW)", with the bounds and the power
    mean (74.0 dBW) under names that say what they are, and no single EIRP."""
    from skyfence.orbits.time import time_grid
    from skyfence.threats.jamming import eirp_summary

    sites = [JammerSite("big", 24.5, 119.5, 80.0)] + [
        JammerSite(f"j{i}", 24.0 + 0.2 * i, 119.0, 70.0) for i in range(5)
    ]
    summary = eirp_summary(sites)
    assert summary["eirp_dbw"] is None
    assert (summary["eirp_min_dbw"], summary["eirp_max_dbw"]) == (70.0, 80.0)
    assert summary["eirp_power_mean_dbw"] == pytest.approx(10 * np.log10((1e8 + 5e7) / 6), abs=1e-9)
    assert round(summary["eirp_power_mean_dbw"], 1) == 74.0
    assert summary["eirp_label"] == "mixed (70\u201380 dBW)"
    assert eirp_summary(sites[1:])["eirp_dbw"] == 70.0 and eirp_summary(sites[1:])["eirp_label"] == "70 dBW"

    plan = ThreatPlan(jammers=tuple(sites), jammer_eirp_sweep_dbw=(60.0,), draws=1)
    result = assess_threats(oneweb_preset, small_cells, time_grid("2026-01-01T00:00:00Z", "20m", "600s"), plan)
    rows = result.to_json()["jamming"]
    listed = [r for r in rows if r["as_listed"]]
    assert len(listed) == 1 and len(rows) == 2
    (row,) = listed
    assert row["eirp_dbw"] is None and row["eirp_label"] == "mixed (70\u201380 dBW)"
    assert (row["eirp_min_dbw"], row["eirp_max_dbw"]) == (70.0, 80.0)
    assert row["eirp_power_mean_dbw"] == pytest.approx(74.0, abs=0.05)  # the power mean, not 71.7
    swept = [r for r in rows if not r["as_listed"]]
    assert [r["eirp_dbw"] for r in swept] == [60.0] and swept[0]["eirp_label"] == "60 dBW"


def _scenario(tmp_path, body: str):
    from skyfence.scenario.schema import load_scenario

    path = tmp_path / "s.toml"
    head = """
        name = "t"
        [time]
        start = "2026-01-01T00:00:00Z"
        duration = "1h"
        [[constellations]]
        name = "oneweb"
        source = "oneweb"
        [[regions]]
        spec = "TW"
        [[variants]]
        name = "v"
    """
    path.write_text(textwrap.dedent(head) + textwrap.dedent(body))
    return load_scenario(path)


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ('[[variants.threats]]\nkind = "attrition"\nfraction = 1.5\n', "variants[0].threats[0].fraction"),
        (
            '[[variants.threats]]\nkind = "jamming"\njammers = [{ lat = 25.0, lon = 400.0, eirp_dbw = 40 }]\n',
            "variants[0].threats[0].jammers[0].lon",
        ),
        (
            '[[variants.threats]]\nkind = "jamming"\njammers = [{ lat = 25.0, lon = 119.0, eirp_dbw = 40, schedule = '
            '[["2026-01-02T00:00:00Z", "2026-01-01T00:00:00Z"]] }]\n',
            "variants[0].threats[0].jammers[0]",
        ),
        ('[[variants.threats]]\nkind = "laser"\n', "variants[0].threats[0]"),
    ],
)
def test_bad_threat_specs_name_the_key(tmp_path, body, key):
    with pytest.raises(InputError) as info:
        _scenario(tmp_path, body)
    assert key in str(info.value) and "\n" not in str(info.value)


def test_catalog_names_are_checked_with_the_key_path(tmp_path, oneweb_preset):
    from skyfence.scenario.threat_specs import threat_plan

    scenario, base = _scenario(tmp_path, '[[variants.threats]]\nkind = "attrition"\nshells = [5]\n')
    variant = scenario.variants[0]
    with pytest.raises(InputError) as info:
        threat_plan(variant.threats, oneweb_preset, constellation_name="oneweb", base=base, key="variants[0].threats")
    assert info.value.field == "variants[0].threats[0].shells"
    scenario, base = _scenario(tmp_path, '[[variants.threats]]\nkind = "attrition"\nnorad_ids = [123456789]\n')
    with pytest.raises(InputError) as info:
        threat_plan(
            scenario.variants[0].threats,
            oneweb_preset,
            constellation_name="oneweb",
            base=base,
            key="variants[0].threats",
        )
    assert info.value.field == "variants[0].threats[0].norad_ids"


def test_examples_load():
    from pathlib import Path

    from skyfence.scenario.schema import load_scenario

    examples = Path(__file__).resolve().parents[2] / "examples"
    for name in ("taiwan_blockade", "ukraine_ew", "asat_debris"):
        scenario, _ = load_scenario(examples / f"{name}.toml")
        assert any(v.threats for v in scenario.resolved_variants())
