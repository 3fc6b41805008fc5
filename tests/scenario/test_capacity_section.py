"""The ``[capacity]`` scenario section: units per constellation, region and variant, the summary, the report
section with its maps, and one-line errors naming the key."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from skyfence.errors import InputError

SCENARIO = """
name = "capacity_small"
[time]
start = "2026-08-18T12:00:00Z"
duration = "10m"
step = "60s"
[coverage]
res = 5
[[constellations]]
name = "starlink"
source = "starlink_omm_20260818"
[[constellations]]
name = "oneweb"
source = "oneweb_omm_20260818"
[[regions]]
spec = "TW"
[capacity]
rain_p = 0.1
take_rate = 0.01
generations = {{ "oneweb" = "oneweb-gen1" }}
{extra}
[ground]
exclude_gateways_in = ["TW"]
[[variants]]
name = "no_taiwan_gateway"
[[variants]]
name = "taiwan_gateway"
[variants.ground]
add_sites = [{{ name = "Taipei gateway", kind = "gateway", lat = 25.05, lon = 121.53, country = "TW" }}]
"""


def _write(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "capacity_small.toml"
    path.write_text(SCENARIO.format(extra=extra))
    return path


@pytest.fixture(scope="module")
def run(data_dir, tmp_path_factory):
    from skyfence.report.html import write_report
    from skyfence.scenario.runner import run_scenario
    from skyfence.scenario.schema import load_scenario

    root = tmp_path_factory.mktemp("capacity_scenario")
    scenario, base = load_scenario(_write(root))
    result = run_scenario(scenario, base, cache_root=root / "cache")
    (root / "out").mkdir()
    write_report(root / "out", result)
    return root / "out"


def test_summary_has_capacity_per_variant(run):
    summary = json.loads((run / "summary.json").read_text())
    assert summary["capacity_settings"]["take_rate"] == 0.01
    without, with_gateway = summary["variants"]
    assert [u["constellation"] for u in without["capacity"]] == ["starlink", "oneweb"]
    for u in without["capacity"] + with_gateway["capacity"]:
        assert u["region_spec"] == "TW" and u["demand_gbps"] > 0
        assert 0.0 <= u["served_fraction"] <= 1.0
        assert u["mbps_per_user_median"] is not None
    assert "starlink-v2-mini" in without["capacity"][0]["generations"]
    assert without["capacity"][1]["generations"] == "oneweb-gen1"
    # a gateway in Taiwan can only add feeder capacity
    assert with_gateway["capacity"][0]["offered_gbps_mean"] >= without["capacity"][0]["offered_gbps_mean"] - 1e-6


def test_report_shows_the_capacity_section_and_maps(run):
    html = (run / "report.html").read_text()
    assert 'id="capacity"' in html
    summary = json.loads((run / "summary.json").read_text())
    value = summary["variants"][0]["capacity"][0]["mbps_per_user_median"]
    assert re.search(r'data-key="variants\.0\.capacity\.0\.mbps_per_user_median"[^>]*data-value="([^"]*)"', html)
    assert f'data-value="{float(value)!r}"' in html
    # the grid the beams are allocated on, one line per kind (review item 1): Starlink's footprint is a res-5 cell,
    # OneWeb's a res-3 one that its res-5 cells share
    grids = {u["label"]: u["footprint"] for u in summary["variants"][0]["capacity"]}
    assert any(g.endswith("H3 res 5; at most 8 beams each)") for g in grids.values()), grids
    assert any("H3 res 3" in g and "res-5 cells share their footprint's beams" in g for g in grids.values()), grids
    assert "Capacity grid: beams allocated per beam footprint" in html
    maps = sorted(p.name for p in (run / "maps").iterdir())
    assert any(m.startswith("capacity__TW__no_taiwan_gateway__mbps_per_user") for m in maps)
    assert any(m.startswith("capacity__TW__taiwan_gateway__served_fraction") for m in maps)
    assert any(
        m.startswith("capacity__") and m.endswith("__mbps_per_user_median.cells.json") for m in maps
    )  # dashboard


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ("busy_hour_mbps = -1", "capacity.busy_hour_mbps"),
        ("oversubscription = 0.5", "capacity.oversubscription"),
    ],
)
def test_bad_capacity_keys_name_the_key(tmp_path, extra, key):
    from skyfence.scenario.schema import load_scenario

    with pytest.raises(InputError, match=re.escape(key)):
        load_scenario(_write(tmp_path, extra))


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("take_rate = 0.01", "take_rate = 1.5", "capacity.take_rate"),
        ("rain_p = 0.1", "rain_p = 7", "capacity.rain_p"),
        ('"oneweb" = "oneweb-gen1"', '"oneweb" = "oneweb-gen9"', "capacity.generations"),
        ('"oneweb" = "oneweb-gen1"', '"kuiper" = "oneweb-gen1"', "capacity.generations"),
    ],
)
def test_bad_capacity_values_name_the_key(tmp_path, old, new, key):
    from skyfence.scenario.schema import load_scenario

    path = _write(tmp_path)
    path.write_text(path.read_text().replace(old, new))
    with pytest.raises(InputError, match=re.escape(key)):
        load_scenario(path)


def test_capacity_run_says_capacity_in_findings_and_assumptions(run):
    """A run with capacity answers its question in the key findings (share of the busy-hour demand carried) and its
    assumptions no longer claim "no ... capacity limits"."""
    summary = json.loads((run / "summary.json").read_text())
    capacity = [f for f in summary["findings"] if f["topic"] == "capacity"]
    assert capacity and "of Taiwan's busy-hour demand" in capacity[0]["text"]
    first = summary["variants"][0]["capacity"][0]
    numbers = {n["key"]: n["value"] for n in capacity[0]["numbers"]}
    assert numbers["variants.0.capacity.0.served_fraction"] == first["served_fraction"]
    # a served share means nothing without the demand it is a share of: the take rate leads the sentence
    demand = "at a 1% take rate (2.5 Mb/s per subscriber in the busy hour, one in 20 active at once), "
    assert demand in capacity[0]["text"]
    assert numbers["capacity_settings.take_rate"] == summary["capacity_settings"]["take_rate"] == 0.01
    html = (run / "report.html").read_text()
    assert "Capacity (computed in this run)" in html
    assert "beam or capacity limits." not in html.replace("without beam or capacity limits.", "")


def test_cables_cut_example_names_its_variants_and_constellations():
    from skyfence.scenario.schema import load_scenario

    scenario, _ = load_scenario(Path(__file__).resolve().parents[2] / "examples" / "taiwan_cables_cut.toml")
    assert all(v.title for v in scenario.variants)
    assert [c.label for c in scenario.constellations] == [
        "Starlink (today's satellites)",
        "Starlink Gen1 (as granted by the FCC)",
        "OneWeb",
    ]


def test_variant_table_compares_capacity_and_leaves_out_columns_no_variant_changes(run):
    """A ground-segment variant changes capacity, not coverage: the variant-against-variant table has the demand
    served columns and says the coverage columns (zero for every row) are left out."""
    summary = json.loads((run / "summary.json").read_text())
    rows = [d for d in summary["diff"] if d["kind"] == "capacity"]
    assert [(d["variant"], d["constellation"]) for d in rows] == [
        ("taiwan_gateway", "starlink"),
        ("taiwan_gateway", "oneweb"),
    ]
    with_gateway, without = summary["variants"][1]["capacity"][0], summary["variants"][0]["capacity"][0]
    assert rows[0]["delta_served_fraction"] == pytest.approx(
        with_gateway["served_fraction"] - without["served_fraction"]
    )
    html = (run / "report.html").read_text()
    table = " ".join(html[html.index('id="diff"') :].split())
    assert "Δ demand served" in table and "Δ coverage" not in table.split("</table>")[0].split("<tbody>")[0]
    assert "No variant differs from the first in coverage" in table


def test_cables_cut_in_takes_the_sites_of_the_country_and_rehomes_the_rest(data_dir):
    """The cables-cut example applies its cut to every variant: the Taipei gateway and PoP it adds have no path to
    the Internet, so they are not in the ground segment the units use, and the gateways abroad the Taipei PoP had
    drawn (three in the Philippines) are homed as without it: both variants' segments are the same."""
    from skyfence.scenario.schema import load_scenario
    from skyfence.scenario.units import Context

    scenario, base = load_scenario(Path(__file__).resolve().parents[2] / "examples" / "taiwan_cables_cut.toml")
    ctx = Context(scenario, base)
    for variant in scenario.resolved_variants():
        ground = variant.ground or scenario.ground
        assert ground.cables_cut_in == ["TW"]
        sites = ctx.ground(ground).sites
        assert not (sites["country"].astype(str) == "TW").any(), variant.name
    today, taipei = (v.ground or scenario.ground for v in scenario.variants)
    assert ctx.ground(today).sites.equals(ctx.ground(taipei).sites)
    uncut = ctx.ground(taipei.model_copy(update={"cables_cut_in": []})).sites
    assert {"Taipei gateway (hypothetical)", "Taipei PoP (hypothetical)"} <= set(uncut["name"])
    assert ctx.ground_key(taipei) != ctx.ground_key(taipei.model_copy(update={"cables_cut_in": []}))


def test_cables_cut_in_names_a_bad_country_code(tmp_path):
    from skyfence.scenario.schema import load_scenario

    path = _write(tmp_path)
    path.write_text(path.read_text().replace('exclude_gateways_in = ["TW"]', 'cables_cut_in = ["XX"]'))
    with pytest.raises(InputError, match=re.escape("ground.cables_cut_in")):
        load_scenario(path)
