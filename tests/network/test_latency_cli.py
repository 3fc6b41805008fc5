"""``skyfence latency country`` / ``latency world``: the two commands share one declaration of their options."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

SHORT = ("--duration", "15m", "--step", "15m", "--cities", "1")


def test_latency_country_json_reports_the_country_rtt(data_dir: Path, skyfence_cli) -> None:
    ran = skyfence_cli("latency", "country", "DE", *SHORT, "--json")
    assert ran.returncode == 0, ran.stderr
    result = json.loads(ran.stdout)
    row = result["countries"][0]
    assert row["iso_a2"] == "DE"
    assert row["terminals"] == "Berlin"
    assert result["settings"]["steps"] == 2
    # Germany has a PoP (Frankfurt) a few hundred km away: the RTT is tens of milliseconds, not hundreds.
    assert 10.0 < row["median_rtt_ms"] < 100.0
    assert row["p5_rtt_ms"] <= row["median_rtt_ms"] <= row["p95_rtt_ms"]


def test_every_site_is_named_city_comma_country(data_dir: Path, skyfence_cli) -> None:
    """inferred_gateways_at mixed "Accra, Ghana" with "Nairobi (nrbiken1)" (issue #28): the PoPs the operator's
    assignment adds to the ground-segment list are named like the list's own sites now."""
    ran = skyfence_cli("latency", "country", "KI", *SHORT, "--json")
    assert ran.returncode == 0, ran.stderr
    result = json.loads(ran.stdout)
    inferred = result["settings"]["inferred_gateways_at"]
    assert "Nairobi, Kenya" in inferred and "Accra, Ghana" in inferred
    assert all(", " in name and "(" not in name for name in inferred), inferred
    for row in result["countries"]:
        assert "(" not in row["pops"] and "(" not in row["gateway"].replace("(inferred gateway)", "")


def test_latency_world_writes_every_output_with_the_same_options(data_dir: Path, tmp_path: Path, skyfence_cli) -> None:
    out = tmp_path / "world"
    ran = skyfence_cli("latency", "world", "--countries", "DE,KI", *SHORT, "--out", out)
    assert ran.returncode == 0, ran.stderr
    table = pd.read_csv(out / "latency_by_country.csv")
    assert sorted(table["iso_a2"]) == ["DE", "KI"]
    # The shared options reached the library: one gazetteer city per country, two steps.
    assert (table["terminals"].str.count(";") == 0).all()
    for suffix in ("json", "geojson", "parquet", "png"):
        assert (out / f"latency_by_country.{suffix}").stat().st_size > 0


@pytest.mark.parametrize("command", [("country", "DE"), ("world", "--out", "unused")])
def test_shared_option_errors_are_one_line_for_both_commands(command, tmp_path: Path, skyfence_cli) -> None:
    ran = skyfence_cli("latency", *command, "--cities", "0")
    assert ran.returncode != 0
    assert "--cities 0 must be >= 1" in ran.stderr
    assert "Traceback" not in ran.stderr


def test_help_keeps_the_units_in_brackets(skyfence_cli) -> None:
    ran = skyfence_cli("latency", "country", "--help")
    assert ran.returncode == 0
    assert "[ms]" in ran.stdout  # rich markup would swallow an unescaped "[ms]"
    assert "--laser-hop-ms" in ran.stdout and "--json" in ran.stdout
