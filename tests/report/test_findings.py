"""Key findings: every number equals summary.json, no template blanks, each names its variant."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest

from skyfence.scenario.findings import format_value


def _lookup(summary: dict, key: str):
    node = summary
    for part in key.split("."):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def _labels(summary: dict) -> list[str]:
    """Names that may carry digits of their own (titles, labels, regions, policies, terminals, exit points)."""
    names = [v["title"] for v in summary["variants"]] + [c["label"] for c in summary["constellations"]]
    names += [r["name"] for r in summary["regions"]] + [p["name"] for p in summary["policies"]]
    for v in summary["variants"]:
        names += [u["region"] for u in v["coverage"] + v["policy"]]
        for u in v["latency"]:
            for t in u["terminals"]:
                names += [t["terminal"]] + [p["name"] for p in t["pops"]]
    return sorted(set(names), key=len, reverse=True)


class _Spans(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.spans: list[dict] = []
        self._open: dict | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "span" and dict(attrs).get("data-finding") is not None:
            self._open = {**dict(attrs), "text": ""}

    def handle_data(self, data):
        if self._open is not None:
            self._open["text"] += data

    def handle_endtag(self, tag):
        if tag == "span" and self._open is not None:
            self.spans.append(self._open)
            self._open = None


@pytest.mark.parametrize("name", ["taiwan", "ukraine"])
def test_every_number_in_the_key_findings_equals_summary_json(example_reports, name):
    folder = example_reports[name]["dir"]
    summary = json.loads((folder / "summary.json").read_text())
    findings = summary["findings"]
    assert 3 <= len(findings) <= 8
    labels = _labels(summary)
    titles = {v["name"]: v["title"] for v in summary["variants"]}
    for finding in findings:
        numbers = finding["numbers"]
        assert finding["text"] == finding["template"].format(*(n["text"] for n in numbers))
        assert titles[finding["variant"]] in finding["text"]  # each sentence names its variant
        for number in numbers:
            assert float(_lookup(summary, number["key"])) == number["value"], number
            assert number["text"] == format_value(number["value"], number["kind"]), number
        literal = re.sub(r"\{\d+\}", "", finding["template"])
        for label in labels:
            literal = literal.replace(label, "")
        assert not re.search(r"\d", literal), f"a number outside the summary: {finding['template']!r}"
        assert "None" not in finding["text"] and "nan" not in finding["text"].lower()
    # The page shows the same sentences, each number marked with its key and value.
    parser = _Spans()
    parser.feed((folder / "report.html").read_text())
    assert len(parser.spans) == sum(len(f["numbers"]) for f in findings)
    for span in parser.spans:
        assert float(_lookup(summary, span["data-key"])) == float(span["data-value"])


def test_taiwan_findings_say_what_was_found(example_reports):
    summary = json.loads((example_reports["taiwan"]["dir"] / "summary.json").read_text())
    text = " ".join(f["text"] for f in summary["findings"])
    topics = {f["topic"] for f in summary["findings"]}
    assert topics == {"coverage", "latency", "policy"}
    assert "covers all of Taiwan all of the time" in text
    assert "traffic from Taipei" in text and "Tokyo" in text
    assert "'coming soon'" in text
    gateway = [f for f in summary["findings"] if f["variant"] == "taiwan_gateway" and f["topic"] == "latency"]
    assert gateway and "cuts the median round-trip time to" in gateway[0]["text"]
    # Findings get quoted without the table's note: every RTT a finding quotes says it is propagation only.
    for finding in summary["findings"]:
        if "round-trip time" in finding["text"]:
            assert "propagation only: a lower bound" in finding["text"], finding["text"]
