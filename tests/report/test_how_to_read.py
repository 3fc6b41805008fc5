""" "How to read this": only the terms a report uses, each defined with the run's own values; the threats section
says why capacity moves little under attack; findings cover every region; people affected add up."""

from __future__ import annotations

import json

from skyfence.report.html import capacity_saturation, glossary

BASE = {
    "time": {"start": "2026-08-18T12:00:00Z", "end": "2026-08-18T18:00:00Z", "step": "60s", "steps": 361},
    "coverage_settings": {"res": 5, "min_elevation_deg": 25.0, "min_sats": 1},
    "variants": [{"name": "before", "title": "Before", "coverage": [], "latency": [], "policy": []}],
    "diff": [],
    "policy_diff": [],
}


def _terms(summary: dict) -> dict[str, str]:
    return dict(glossary(summary))


def test_a_coverage_only_run_defines_coverage_terms_and_nothing_it_does_not_show():
    terms = _terms(BASE)
    assert list(terms) == ["Coverage", "H3 cell", "Satellites in view", "Gap"]
    assert "the run's 6 h (every 60s)" in terms["Satellites in view"] and "day" not in terms["Satellites in view"]
    assert "resolution 5: each about 253 km²" in terms["H3 cell"]


def test_capacity_threats_and_jamming_bring_their_terms_with_the_run_values():
    threat = {"capacity": {"cases": {}}, "jammed_share_mean": 0.25, "reachability": []}
    summary = {
        **BASE,
        "capacity_settings": {
            "take_rate": 0.01,
            "busy_hour_mbps": 2.5,
            "oversubscription": 20.0,
            "plan_peak_mbps": 220,
        },
        "scenario": {"resolved": {"montecarlo": {"draws": 20}}},
        "variants": [
            BASE["variants"][0],
            {"name": "attack", "title": "Attack", "coverage": [], "latency": [], "policy": [], "threats": [threat]},
        ],
        "diff": [{"delta_coverage_fraction": 0.0}],
    }
    terms = _terms(summary)
    assert "1 % here" in terms["Take rate"] and "2.5 Mb/s" in terms["Busy hour"]
    assert "one in 20 is active" in terms["20:1 contention"] and "active user" in terms["20:1 contention"]
    assert "decibels" in terms["J/S and dB"]
    assert "drawn 20 times" in terms["Monte Carlo draws"]
    assert "Percentage points" in terms["pp"] and "Variant" in terms and "Colours" in terms
    assert "Who may be served" not in terms and "Round-trip time (RTT)" not in terms


def test_the_capacity_caveat_names_the_beam_cap_and_the_unmodelled_gateway_capacity():
    text = capacity_saturation()
    assert "at most 8 beams at once" in text and "no landing capacity" in text


def test_example_reports_define_what_they_use(example_reports):
    """Ukraine has a policy section and latency: it defines who may be served and RTT, and no capacity terms."""
    html = (example_reports["ukraine"]["dir"] / "report.html").read_text()
    howto = html[html.index('id="how-to-read"') : html.index("</dl>", html.index('id="how-to-read"'))]
    assert "<dt>Who may be served</dt>" in howto and "<dt>Round-trip time (RTT)</dt>" in howto
    assert "<dt>Take rate</dt>" not in howto and "mean over the day" not in howto


def test_people_affected_by_a_policy_change_add_up_in_the_findings(example_reports):
    """Ukraine's 2024 -> 2026 front line: the people affected are those losing service plus those who stay served at
    another status (served -> degraded), and the finding says both."""
    summary = json.loads((example_reports["ukraine"]["dir"] / "summary.json").read_text())
    for change in summary["policy_diff"]:
        parts = [change.get(k) or 0 for k in ("people_gaining_service", "people_losing_service")]
        parts += [change.get(k) or 0 for k in ("people_still_served", "people_still_unserved")]
        assert sum(parts) == change["people"], change
    front = [f for f in summary["findings"] if f["topic"] == "policy" and "people in cities are affected" in f["text"]]
    assert front
    for finding in front:
        keys = {n["key"].rsplit(".", 1)[-1]: n["value"] for n in finding["numbers"]}
        named = [v for k, v in keys.items() if k.startswith("people_")]
        assert sum(named) == keys["people"], finding["text"]


def test_threat_findings_cover_every_region():
    """asat_debris runs Taiwan and Ukraine: a threat's finding is written for each region, not the first only."""
    from types import SimpleNamespace

    from skyfence.scenario.findings import _threats

    def threat(region: str, spec: str) -> SimpleNamespace:
        return SimpleNamespace(
            region_spec=spec, region=region, label="Starlink", satellites_lost_mean=12.0, satellites=9000,
            debris=[{"shell": 1}], threats=[{"kind": "debris"}], before={"coverage_fraction": 1.0},
            after={"coverage_fraction": {"mean": 0.99}}, jammed_share_mean=None, capacity=None, reachability=[],
        )  # fmt: skip

    variant = SimpleNamespace(
        name="after", title="After one year", threats=[threat("Taiwan", "TW"), threat("Ukraine", "UA")]
    )
    summary = SimpleNamespace(regions=[SimpleNamespace(spec="TW")], variants=[variant])
    texts = [s.finding().text for s in _threats(summary)]
    assert any("over Taiwan" in t for t in texts) and any("over Ukraine" in t for t in texts)
