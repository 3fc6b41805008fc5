"""``skyfence policy ...`` end to end through the real entry point (errors: one line, non-zero exit, no file)."""

from __future__ import annotations

import json
import sys

import numpy as np
import pandas as pd
import pytest
import typer

import skyfence.cli as cli
from skyfence.cli import policy as policy_cli


@pytest.fixture
def run(monkeypatch, capsys):
    """Run ``skyfence ARGS`` through :func:`skyfence.cli.main`; return (exit code, stdout, stderr)."""
    if "policy" not in {group.name for group in cli.app.registered_groups}:
        root = typer.Typer(pretty_exceptions_enable=False, add_completion=False)
        root.add_typer(policy_cli.app, name="policy")

        @root.callback()
        def _root() -> None:
            """skyfence (test entry point)."""

        monkeypatch.setattr(cli, "app", root)

    def invoke(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["skyfence", *map(str, args)])
        with pytest.raises(SystemExit) as done:
            cli.main()
        captured = capsys.readouterr()
        return int(done.value.code or 0), captured.out, captured.err

    return invoke


def test_validate(run, examples, data_dir):
    code, out, _ = run("policy", "validate", examples / "real_world_2026.toml", "--json")
    assert code == 0
    summary = json.loads(out)
    assert summary["valid"] and len(summary["policy"]["id"]) == 64
    assert [r["id"] for r in summary["rules"][:2]] == ["occupied-territory", "blacklisted"]
    assert "XS" in summary["statuses"]["without_polygon"]
    code, out, _ = run("policy", "validate", examples / "frontline_geofence_2026.toml")
    assert code == 0 and "valid" in out


def test_validate_says_what_comes_from_the_registry(run, examples, data_dir, tmp_path):
    code, out, _ = run("policy", "validate", examples / "registry_driven.toml", "--json")
    assert code == 0 and json.loads(out)["from_registry"] == ["licences", "whitelists"]
    code, out, _ = run("policy", "validate", examples / "registry_driven.toml")
    assert code == 0 and "skyfence policy export" in " ".join(out.split())
    mixed = tmp_path / "mixed.toml"
    source = (examples / "registry_driven.toml").read_text()
    mixed.write_text(source + '\n[[licences]]\ncountries = ["TW"]\nstate = "granted"\n')
    code, _, err = run("policy", "validate", mixed)
    assert code != 0 and "licences[0]" in err and 'licences_from = "registry"' in err


def test_check_json_has_decision_rule_and_reason(run, examples, data_dir):
    code, out, _ = run(
        "policy",
        "check",
        examples / "real_world_2026.toml",
        "--lat",
        48.0159,
        "--lon",
        37.8028,
        "--whitelisted",
        "--json",
    )
    assert code == 0
    answer = json.loads(out)
    assert answer["decision"] == "deny" and answer["rule"] == "occupied-territory"
    assert "occupied" in answer["reason"] and "rules" not in answer
    code, out, _ = run(
        "policy",
        "check",
        examples / "real_world_2026.toml",
        "--lat",
        50.45,
        "--lon",
        30.52,
        "--plan",
        "roam",
        "--speed-kmh",
        120,
        "--whitelisted",
        "--explain",
        "--json",
    )
    answer = json.loads(out)
    assert (answer["decision"], answer["rule"]) == ("deny", "ukraine-speed-cutoff")
    assert len(answer["rules"]) == 14 and sum(r["decided"] for r in answer["rules"]) == 1
    code, out, _ = run(
        "policy", "check", examples / "real_world_2026.toml", "--lat", 50.45, "--lon", 30.52, "--explain"
    )
    assert code == 0 and "DENY" in out and "ukraine-whitelist" in out


def test_evaluate_csv_to_parquet(run, examples, data_dir, tmp_path):
    fixes = tmp_path / "fixes.csv"
    pd.DataFrame(
        {
            "terminal": ["a", "b", "c"],
            "lat": [50.45, 48.0159, 52.52],
            "lon": [30.52, 37.8028, 13.405],
            "whitelisted": ["true", "true", "false"],
            "plan": ["residential", "roam", "residential"],
            "time": ["2026-08-22T10:00:00Z"] * 3,
        }
    ).to_csv(fixes, index=False)
    out = tmp_path / "decisions.parquet"
    code, stdout, _ = run("policy", "evaluate", examples / "real_world_2026.toml", fixes, "--out", out, "--json")
    assert code == 0
    summary = json.loads(stdout)
    assert summary["decisions"] == {"allow": 2, "deny": 1, "degrade": 0}
    table = pd.read_parquet(out)
    assert list(table["decision"].astype(str)) == ["allow", "deny", "allow"]
    assert list(table["rule_id"].astype(str)) == ["licensed-service", "occupied-territory", "launched"]
    assert list(table["terminal"]) == ["a", "b", "c"] and table["reason"].notna().all()


def test_bad_fix_row_is_one_line_and_writes_nothing(run, examples, data_dir, tmp_path):
    fixes = tmp_path / "fixes.parquet"
    pd.DataFrame({"lat": [50.0, 51.0, np.nan], "lon": [30.0, 30.0, 30.0]}).to_parquet(fixes)
    out = tmp_path / "decisions.parquet"
    code, _, err = run("policy", "evaluate", examples / "real_world_2026.toml", fixes, "--out", out)
    assert code == 1
    assert err.count("\n") == 1 and "fixes.parquet record 3: field lat: lat is empty or NaN" in err
    assert not out.exists()


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"lat,lon\n50.45,30.52\n", "is not a Parquet file (its PAR1 magic bytes are missing)"),
        (b"", "is empty (0 bytes), not a Parquet file"),
    ],
    ids=["csv-named-parquet", "empty"],
)
def test_a_fixes_file_that_is_not_parquet_is_one_line(run, examples, data_dir, tmp_path, content, why):
    fixes = tmp_path / "fake.parquet"
    fixes.write_bytes(content)
    out = tmp_path / "decisions.parquet"
    code, _, err = run("policy", "evaluate", examples / "real_world_2026.toml", fixes, "--out", out)
    assert code == 1 and err.count("\n") == 1 and "Traceback" not in err
    assert f"fake.parquet: {why}" in err
    assert not out.exists()


def test_check_refuses_a_registration_country_that_is_not_an_iso_code(run, examples, data_dir):
    args = ("policy", "check", examples / "real_world_2026.toml", "--lat", "25.04", "--lon", "121.56")
    code, _, err = run(*args, "--registered-in", "XX")
    assert code == 1 and err.count("\n") == 1
    assert "field --registered-in: 'XX' is not an assigned ISO 3166-1 alpha-2 code" in err
    code, out, _ = run(*args, "--registered-in", "tw", "--json")
    assert code == 0 and '"registered_in": "TW"' in out


def test_csv_errors_name_the_line_and_list_the_other_bad_lines(run, examples, data_dir, tmp_path):
    """A CSV problem names its line (1-based, the header is line 1) and lists the next bad lines; a value of an
    option names the option, not a row."""
    policy = examples / "real_world_2026.toml"
    out = tmp_path / "d.parquet"
    bad = tmp_path / "bad.csv"
    bad.write_text("lat,lon\n1,2\n95,3\n1,4\n-96,4\n")
    code, _, err = run("policy", "evaluate", policy, bad, "--out", out)
    assert code == 1 and err.count("\n") == 1
    assert "bad.csv:3: field lat: lat is 95 deg, outside the valid range [-90, 90] deg" in err
    assert "(2 bad rows in all: lines 3, 5)" in err
    bad.write_text("lat,lon\n48.0,37.8\n48.0,abc\n")
    code, _, err = run("policy", "evaluate", policy, bad, "--out", out)
    assert code == 1 and "bad.csv:3: field lon: lon is 'abc', not a number" in err
    code, _, err = run("policy", "check", policy, "--lat", "148", "--lon", "10")
    assert code == 1 and "field --lat: 148 deg is outside the valid range [-90, 90] deg" in err and "row" not in err
    assert not out.exists()


def test_bad_policy_is_one_line(run, data_dir, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[policy]\nname = "x"\noperator = "starlink"\ndefault = "deny"\n[zones.z]\ncountries = ["XX"]\n'
        '[[rules]]\nkind = "jurisdiction"\nzone = "z"\naction = "deny"\n'
    )
    code, _, err = run("policy", "validate", bad)
    assert code == 1 and err.count("\n") == 1
    assert "bad.toml: field zones.z.countries[0]: unknown ISO code 'XX'" in err


def test_a_registry_driven_policy_decided_offline_says_the_registry_was_not_read(run, examples, data_dir, tmp_path):
    """Trial: `policy check registry_driven.toml` printed DENY and never said the registry was not consulted."""
    where = ("--lat", "25.04", "--lon", "121.56")
    code, out, err = run("policy", "check", examples / "registry_driven.toml", *where)
    assert code == 0 and out.startswith("DENY  rule default")
    assert err.count("\n") == 1 and "licences and whitelists" in err and "not consulted" in err and "--db" in err
    code, out, err = run("policy", "check", examples / "real_world_2026.toml", *where, "--db", tmp_path / "none.db")
    assert code == 0 and "--db not read" in err and not (tmp_path / "none.db").exists()
    code, _, err = run("policy", "map", examples / "registry_driven.toml", "--out", tmp_path / "map", "--res", "1")
    assert code == 0 and "not consulted" in err and "skyfence policy export --db URL" in err


def test_import_availability_writes_loadable_statuses(run, data_dir, tmp_path):
    out = tmp_path / "statuses.toml"
    code, stdout, _ = run("policy", "import-availability", "starlink_availability_20260723", "--out", out, "--json")
    assert code == 0
    summary = json.loads(stdout)
    assert summary["statuses"]["TW"] == {"status": "coming_soon", "expected": "Service date is unknown at this time"}
    assert summary["by_feed_status"]["exclude"] == 3
    assert 'UA = { status = "exclude" }' in out.read_text()
    # the feed's word "exclude" is explained where it is listed (trial: "exclude" yet served)
    code, stdout, _ = run("policy", "import-availability", "starlink_availability_20260723")
    assert code == 0
    (row,) = [line for line in stdout.splitlines() if line.lstrip("│ ").startswith("exclude ")]
    assert "CY, GE, UA" in row and "served in parts" in row, stdout


def test_map_and_diff(run, examples, data_dir, tmp_path):
    out = tmp_path / "map"
    code, stdout, _ = run(
        "policy",
        "map",
        examples / "frontline_geofence_2026.toml",
        "--operator",
        "starlink",
        "--region",
        "UA",
        "--res",
        4,
        "--out",
        out,
        "--json",
    )
    assert code == 0
    summary = json.loads(stdout)
    assert set(summary["cells_by_availability"]) >= {"served", "denied", "degraded"}
    assert {p.name for p in out.iterdir()} >= {
        "cells.geojson",
        "cells.parquet",
        "countries.geojson",
        "map.png",
        "summary.json",
    }
    code, stdout, _ = run(
        "policy",
        "diff",
        examples / "frontline_geofence_2024.toml",
        examples / "frontline_geofence_2026.toml",
        "--region",
        "UA",
        "--res",
        4,
        "--json",
        "--out",
        tmp_path / "diff",
    )
    assert code == 0
    diff = json.loads(stdout)
    assert diff["cells"]["changed"] > 0 and diff["population"]["people"] > 0
    assert (tmp_path / "diff" / "changed_cells.geojson").exists()
    code, _, err = run(
        "policy", "map", examples / "frontline_geofence_2026.toml", "--operator", "oneweb", "--out", tmp_path / "nope"
    )
    assert code == 1 and "operator 'oneweb' is not in the policy" in err and not (tmp_path / "nope").exists()


@pytest.mark.parametrize(
    ("time", "why"), [("2026-02-31T00:00Z", "day is out of range for month"), ("tomorrow", "cannot read time")]
)
def test_a_bad_time_is_one_line_naming_the_option_and_the_format(run, examples, data_dir, time, why):
    """It used to pass pandas' several sentences of advice (format='mixed', dayfirst ...) through."""
    code, _, err = run("policy", "check", examples / "real_world_2026.toml", "--lat", 25, "--lon", 121, "--time", time)
    assert code != 0 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert "--time" in err and why in err and "ISO 8601" in err and "You might want" not in err


@pytest.mark.parametrize(
    ("option", "value", "words"),
    [
        ("--alt-m", -5000, "--alt-m: -5000 m is outside the valid range [-1000, 100000] m"),
        ("--alt-m", 1e6, "--alt-m: 1e+06 m is outside the valid range [-1000, 100000] m"),
        ("--speed-kmh", 10_001, "--speed-kmh: 10001 km/h is outside the valid range [0, 10000] km/h"),
    ],
)
def test_check_refuses_a_fix_outside_the_api_range(run, examples, data_dir, option, value, words):
    """Trial 2, #13: ``--alt-m -5000`` was decided while the API refused ``alt_m`` -5000; one range for both now
    (skyfence._validation.FIX_ALT_M, FIX_SPEED_KMH)."""
    code, out, err = run(
        "policy", "check", examples / "real_world_2026.toml", "--lat", 50.45, "--lon", 30.52, option, value
    )
    assert code != 0 and out == ""
    assert words in " ".join(err.split()) and "Traceback" not in err


def test_check_decides_a_fast_aircraft_by_the_motion_rule(run, examples, data_dir):
    """A dish at 6,000 km/h and 20 km (a fast jet) is physically plausible: decided, denied by the envelope."""
    code, out, _ = run(
        "policy",
        "check",
        examples / "real_world_2026.toml",
        "--lat",
        50.45,
        "--lon",
        30.52,
        "--plan",
        "aviation",
        "--speed-kmh",
        6000,
        "--alt-m",
        20_000,
        "--json",
    )
    assert code == 0
    assert (json.loads(out)["decision"], json.loads(out)["rule"]) == ("deny", "aviation-envelope")
