"""An allow by a map status must not read as a licence (review trial 2, item 14): the explanation names the rules
that also matched and says when the licence played no part; a status override can be dated."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from skyfence.cli import app
from skyfence.policy import load_policy

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "policies"
TAIPEI = (25.04, 121.56)
BEFORE_GRANT = "2026-05-31T23:59:59Z"


@pytest.fixture(scope="module")
def undated(tmp_path_factory):
    """The example with its status override undated, as it was before the fix (the licence history unchanged)."""
    text = (EXAMPLES / "operator_serves_taiwan.toml").read_text(encoding="utf-8")
    dated = 'TW = { status = "launched", since = 2026-06-01 }'
    assert dated in text
    folder = tmp_path_factory.mktemp("undated")
    for name in ("shared",):
        (folder / name).symlink_to(EXAMPLES / name)
    file = folder / "serves_tw_undated.toml"
    file.write_text(text.replace(dated, 'TW = "launched"'), encoding="utf-8")
    return file


def test_undated_status_allow_before_the_grant_says_the_licence_played_no_part(undated):
    result = load_policy(undated).engine().explain(*TAIPEI, time=BEFORE_GRANT)
    assert (result.decision, result.rule_id) == ("allow", "launched")
    assert "pending_regulatory" in result.licence_note and "granted from 2026-06-01" in result.licence_note
    assert "the licence played no part" in result.licence_note
    out = CliRunner().invoke(
        app,
        ["policy", "check", str(undated), "--lat", "25.04", "--lon", "121.56", "--time", BEFORE_GRANT],
        env={"COLUMNS": "250"},
    )
    assert out.exit_code == 0 and "note: TW's licence of starlink is pending_regulatory" in out.output


def test_after_the_grant_the_licence_decides_and_the_status_rule_also_matched(undated):
    result = load_policy(undated).engine().explain(*TAIPEI, time="2026-06-02T00:00:00Z")
    assert (result.decision, result.rule_id) == ("allow", "licensed-service")
    assert result.also_matched == ["launched"] and result.licence_note == ""
    assert result.to_dict()["also_matched"] == ["launched"]


@pytest.mark.parametrize(
    ("time", "decision", "rule"),
    [
        (BEFORE_GRANT, "deny", "default"),
        ("2026-06-01T00:30:00+05:00", "deny", "default"),  # 2026-05-31T19:30Z: still before the grant
        ("2026-06-01T00:00:00Z", "allow", "licensed-service"),
    ],
)
def test_the_example_dates_its_status_override(time, decision, rule):
    result = load_policy(EXAMPLES / "operator_serves_taiwan.toml").engine().explain(*TAIPEI, time=time)
    assert (result.decision, result.rule_id) == (decision, rule)
    if decision == "deny":
        assert "from 2026-06-01" in result.reason


def test_a_status_allow_without_any_licence_says_so():
    result = load_policy(EXAMPLES / "real_world_2026.toml").engine().explain(48.85, 2.35, time="2026-08-22T12:00Z")
    assert (result.decision, result.rule_id, result.country) == ("allow", "launched", "FR")
    assert result.licence_note == (
        "the policy records no licence of starlink for FR (plan residential): rule 'launched' alone allows service here"
    )
