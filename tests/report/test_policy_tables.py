"""Region semantics in the policy tables: a region's rows are that region, and only real changes are listed."""

from __future__ import annotations

import json
import re


def test_a_country_region_lists_only_itself_and_only_changes(example_reports):
    summary = json.loads((example_reports["ukraine"]["dir"] / "summary.json").read_text())
    regions = {r["spec"]: r for r in summary["regions"]}
    assert regions["UA"]["kind"] == "country"
    for variant in summary["variants"]:
        for unit in variant["policy"]:
            if unit["region_spec"] == "UA":
                assert [c["iso_a2"] for c in unit["countries"]] == ["UA"], unit["countries"]
    changes = [d for d in summary["policy_diff"] if d["region_spec"] == "UA"]
    assert changes
    for change in changes:
        assert [c["iso_a2"] for c in change["countries"]] == ["UA"]  # not Belarus, Hungary, Poland ...
        for transitions in [change["transitions"], *(c["transitions"] for c in change["countries"])]:
            for key, cells in transitions.items():
                before, after = key.split(" -> ")
                assert before != after and cells > 0, key
        assert sum(change["transitions"].values()) == change["cells_changed"]
        assert sum(c["cells"] for c in change["countries"]) <= change["cells_changed"]


def test_the_page_has_a_table_per_region_without_neighbours_or_non_changes(example_reports):
    html = (example_reports["ukraine"]["dir"] / "report.html").read_text()
    policy = html[html.index('<section id="policy">') : html.index("</section>", html.index('<section id="policy">'))]
    names = [r["name"] for r in json.loads((example_reports["ukraine"]["dir"] / "summary.json").read_text())["regions"]]
    assert re.findall(r"<h3>(.*?)</h3>", policy) == names
    for neighbour in ("Belarus", "Hungary", "Poland", "Moldova", "Romania", "Slovakia"):
        assert neighbour not in policy
    for label in ("denied by a rule", "served", "degraded service", "coming soon", "registered terminals only"):
        assert not re.search(rf"(?<![\w,]){re.escape(label)} → {re.escape(label)}(?![\w,])", policy), label
