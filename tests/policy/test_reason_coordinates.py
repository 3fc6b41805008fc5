"""Reasons print positions to 1e-7 degrees (about 1 cm), so an ALLOW just outside a zone and a DENY on its edge never
print the same point (review trial 2, item 10: 9.999999 and 10.0 both printed as 10.00000)."""

from __future__ import annotations

import json

import numpy as np
from typer.testing import CliRunner

from skyfence.cli import app
from skyfence.policy import loads_policy
from skyfence.policy.results import format_point

SQUARE = {"type": "Polygon", "coordinates": [[[10, 10], [20, 10], [20, 20], [10, 20], [10, 10]]]}
POLICY = """
[policy]
name = "square"
operator = "op"
default = "allow"

[operators.op]
name = "Operator"

[zones.square]
files = ["square.geojson"]

[[rules]]
id = "square"
kind = "jurisdiction"
zone = "square"
action = "deny"
priority = 10
reason = "inside the square"
"""


def _policy(tmp_path):
    (tmp_path / "square.geojson").write_text(json.dumps(SQUARE), encoding="utf-8")
    (tmp_path / "square.toml").write_text(POLICY, encoding="utf-8")
    return loads_policy(POLICY, base_dir=tmp_path)


def test_format_point_tells_a_centimetre_apart():
    assert format_point(10.0, 15.0) == "10.0000000, 15.0000000"
    assert format_point(9.999999, 15.0) == "9.9999990, 15.0000000"
    assert format_point(-0.00000004, 179.99999994) == "-0.0000000, 179.9999999"


def test_edge_deny_and_outside_allow_print_different_points(tmp_path):
    decisions = _policy(tmp_path).engine().evaluate(lat=np.array([10.0, 9.999999]), lon=np.array([15.0, 15.0]))
    assert list(decisions.labels) == ["deny", "allow"]
    first, second = decisions.reasons_of([0, 1])
    assert "(at 10.0000000, 15.0000000 (CM))" in first
    assert "(at 9.9999990, 15.0000000 (CM))" in second


def test_policy_check_prints_the_same_digits(tmp_path):
    _policy(tmp_path)
    out = CliRunner().invoke(
        app,
        ["policy", "check", str(tmp_path / "square.toml"), "--lat", "9.999999", "--lon", "15"],
        env={"COLUMNS": "200"},
    )
    assert out.exit_code == 0 and "(at 9.9999990, 15.0000000 (CM))" in " ".join(out.output.split())
