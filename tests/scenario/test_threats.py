"""``[[variants.threats]]`` end to end: the threats section of the report equals summary.json; outage maps and
resilience curves are drawn; a bad threat fails with one line naming its key and writes nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCENARIO = Path(__file__).parents[1] / "data" / "scenarios" / "threats_small.toml"


def _assess(scenario: Path, out: Path, cache: Path) -> subprocess.CompletedProcess:
    env = {**__import__("os").environ, "SKYFENCE_CACHE_DIR": str(cache)}
    return subprocess.run(
        [sys.executable, "-m", "skyfence", "assess", str(scenario), "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
    )


@pytest.fixture(scope="module")
def threats_run(tmp_path_factory, data_dir) -> Path:
    """One run of the small threat scenario, shared by the tests that read its report."""
    tmp = tmp_path_factory.mktemp("threats")
    out = tmp / "report"
    proc = _assess(SCENARIO, out, tmp / "cache")
    assert proc.returncode == 0, proc.stderr
    return out


def test_threat_section_maps_and_curves(threats_run, data_dir):
    out = threats_run
    summary = json.loads((out / "summary.json").read_text())
    today, attacked = summary["variants"]
    assert today["threats"] == []
    (threat,) = attacked["threats"]
    assert threat["satellites_lost_mean"] > 0
    assert threat["after"]["sats_in_view_mean"]["mean"] < threat["before"]["sats_in_view_mean"]
    assert threat["after"]["sats_in_view_mean"]["draws"] == 3
    assert [row["eirp_dbw"] for row in threat["jamming"]] == [50.0, 70.0, 80.0]
    assert threat["debris"] and threat["reachability"][0]["terminal"] == "Taipei"
    assert threat["removed_ground"]["gateways"]  # Japan's gateways
    html = (out / "report.html").read_text()
    assert 'id="threats"' in html and "Threats and resilience" in html
    key = "variants.1.threats.0.after.coverage_fraction.mean"
    assert f'data-key="{key}"' in html
    maps = {p.name for p in (out / "maps").iterdir()}
    assert {"threat_outage__TW.png", "threat_resilience__TW.png", "threat_jamming__TW.png"} <= maps
    # capacity before and after each threat and all of them; the curve against gateways lost ends at zero
    cap = threat["capacity"]
    assert set(cap["cases"]) == {"before", "jamming", "satellites", "ground", "all"}
    assert cap["after_case"] == "all"
    assert not cap["settings"]["source"].startswith("/")  # no absolute path of this machine (issue #27)
    assert str(data_dir) not in (out / "summary.json").read_text()
    before, after = cap["cases"]["before"], cap["cases"]["all"]
    assert after["served_fraction"] < before["served_fraction"]
    assert cap["cases"]["jamming"]["served_fraction"] < before["served_fraction"]
    nearest = [p for p in cap["gateway_curve"] if p["order"] == "nearest first"]
    assert nearest[0]["gateways_lost"] == 0
    assert nearest[-1]["served_fraction"] == 0.0 and nearest[0]["served_fraction"] > 0.0
    for case in ("before", "all"):
        key = f"variants.1.threats.0.capacity.cases.{case}.mbps_per_user_median"
        assert f'data-key="{key}"' in html
    assert {"threat_capacity__TW.png", "threat_gateways_curve__TW.png"} <= maps
    findings = [f for f in summary["findings"] if f["topic"] == "threats"]
    assert findings and "Mb/s" in findings[0]["text"]
    for number in findings[0]["numbers"]:  # every number of the sentence is the one in summary.json
        value = summary
        for part in number["key"].split("."):
            value = value[int(part)] if isinstance(value, list) else value[part]
        assert value == number["value"], number["key"]
    assert any(m.startswith("threats__") and m.endswith("__coverage_loss.cells.json") for m in maps)  # dashboard


def _at(summary: dict, key: str):
    value = summary
    for part in key.split("."):
        value = value[int(part)] if isinstance(value, list) else value[part]
    return value


def test_attacked_variant_is_one_state_in_every_section(threats_run):
    """Review item 4: the attacked variant removes Japan's gateways; its latency table, threats section, key finding
    and the variant diff all give the network after the attacks, and the diff's deltas are the finding's numbers."""
    summary = json.loads((threats_run / "summary.json").read_text())
    today, attacked = summary["variants"]
    (threat,) = attacked["threats"]
    assert threat["removed_ground"]["gateways"] and all("Japan" in g for g in threat["removed_ground"]["gateways"])
    # the latency table: after the attacks, no Japanese gateway or PoP, the threats section's RTT
    (lat,) = attacked["latency"]
    assert lat["state"] == "after attacks" and lat["unit"] == threat["unit"]
    (terminal,) = lat["terminals"]
    assert terminal["gateways"] and not [g for g in terminal["gateways"] if g["country"] == "JP"]
    assert terminal["median_rtt_ms"] == threat["reachability"][0]["median_rtt_after_ms"]
    assert [g["name"] for g in terminal["gateways"]][:5] == threat["reachability"][0]["gateways_after"]
    assert today["latency"][0]["state"] == "no attack"
    assert today["latency"][0]["terminals"][0]["median_rtt_ms"] == threat["reachability"][0]["median_rtt_before_ms"]
    assert attacked["coverage"][0]["state"] == "before attacks"
    # the diff: each delta is after minus before of the key finding's own numbers
    (finding,) = [f for f in summary["findings"] if f["topic"] == "threats"]
    numbers = {n["key"]: n["value"] for n in finding["numbers"]}
    diff = {(d["kind"], d["state"]): d for d in summary["diff"] if d["variant"] == "attacked"}
    lat_row = diff[("latency", "after attacks")]
    rtt = "variants.1.threats.0.reachability.0.median_rtt_{}_ms"
    assert lat_row["delta_median_rtt_ms"] == pytest.approx(numbers[rtt.format("after")] - numbers[rtt.format("before")])
    assert lat_row["delta_median_rtt_ms"] > 5.0
    cap_row = diff[("capacity", "after attacks")]
    cases = "variants.1.threats.0.capacity.cases.{}.{}"
    for metric in ("served_fraction", "users_with_service", "mbps_per_user_median"):
        delta = _at(summary, cases.format("all", metric)) - _at(summary, cases.format("before", metric))
        assert cap_row[f"delta_{metric}"] == pytest.approx(delta), metric
        if cases.format("all", metric) in numbers:  # quoted in the finding: the same numbers
            assert numbers[cases.format("all", metric)] - numbers[cases.format("before", metric)] == pytest.approx(
                delta
            )
    assert cap_row["delta_served_fraction"] < 0 and cap_row["delta_users_with_service"] < 0
    cov_row = diff[("coverage", "after attacks")]
    assert cov_row["delta_sats_in_view_mean"] == pytest.approx(
        threat["after"]["sats_in_view_mean"]["mean"] - today["coverage"][0]["sats_in_view_mean"]
    )
    # the report says the same: no "every variant gives the same numbers", the state is shown
    html = (threats_run / "report.html").read_text()
    assert "Every variant gives the same numbers as the first" not in html
    assert "after attacks" in html and "Δ users with service" in html


def test_unknown_threat_target_is_one_line_and_writes_nothing(tmp_path, data_dir):
    bad = tmp_path / "bad.toml"
    text = SCENARIO.read_text().replace('kind = "attrition"\n', 'kind = "attrition"\nshells = [7]\n', 1)
    bad.write_text(text)
    out = tmp_path / "report"
    proc = _assess(bad, out, tmp_path / "cache")
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]  # progress lines come first; the error is one line
    assert last.startswith("error:") and "variants[1].threats[0].shells" in last, proc.stderr
    assert "Traceback" not in proc.stderr
    assert not out.exists()
