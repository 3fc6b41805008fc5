"""``skyfence threat ...`` end to end; bad input gives one line naming the key and a non-zero exit."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from skyfence.cli import app

runner = CliRunner()
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _skyfence(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "skyfence", *args], capture_output=True, text=True)


def test_js_and_horizon_hand_cases():
    result = runner.invoke(
        app,
        [
            "threat",
            "js",
            "--jammer-eirp-dbw",
            "40",
            "--jammer-km",
            "10",
            "--sat-km",
            "700",
            "--sidelobe-db",
            "30,40",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["js_db"] for r in rows] == [pytest.approx(13.9, abs=0.1), pytest.approx(3.9, abs=0.1)]
    result = runner.invoke(app, ["threat", "horizon", "--h1-m", "10", "--h2-m", "10"])
    assert result.exit_code == 0 and "26.1 km" in result.stdout


def test_attrition_on_a_preset_reports_before_and_after():
    result = runner.invoke(
        app,
        [
            "threat",
            "attrition",
            "oneweb",
            "--region",
            "TW",
            "--res",
            "3",
            "--start",
            "2026-01-01T00:00:00Z",
            "--duration",
            "2h",
            "--step",
            "120s",
            "--fraction",
            "0,0.5",
            "--draws",
            "3",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    cov = {r["intensity"]: r["mean"] for r in doc["after"] if r["metric"] == "coverage_fraction"}
    assert cov[0.0] == pytest.approx(doc["before"]["coverage_fraction"]) and cov[0.5] <= cov[0.0]


def test_debris_table_per_shell(data_file):
    result = runner.invoke(
        app, ["threat", "debris", "--alt-km", "500", "--source", str(data_file("tle/starlink_20250923.tle")), "--json"]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["model"].startswith("first-order") and doc["trackable_fragments"] > 1000
    assert sum(r["satellites"] for r in doc["shells"]) > 8000
    total = doc["total"]
    assert total["satellites"] == sum(r["satellites"] for r in doc["shells"])
    assert total["expected_losses_horizon"] == pytest.approx(sum(r["expected_losses_horizon"] for r in doc["shells"]))


def test_debris_table_reads_at_80_columns_with_a_total(data_file):
    """It wrapped mid-phrase ("over 365 / days") and gave no total (issue #27)."""
    import os

    env = {**os.environ, "COLUMNS": "80"}
    tle = str(data_file("tle/starlink_20250923.tle"))
    proc = subprocess.run(
        [sys.executable, "-m", "skyfence", "threat", "debris", "--source", tle, "--horizon-days", "365"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert max(len(line) for line in proc.stdout.splitlines()) <= 80 and "…" not in proc.stdout
    doc = json.loads(_skyfence("threat", "debris", "--source", tle, "--json").stdout)
    total = next(line for line in proc.stdout.splitlines() if line.split()[:1] == ["total"])
    assert total.split()[1:] == [
        f"{doc['total']['satellites']:,}",
        f"{doc['total']['expected_losses_per_day']:.4f}",
        f"{doc['total']['expected_losses_horizon']:.2f}",
    ]
    assert "losses in" in proc.stdout and "365 days" in proc.stdout


def test_decay_days_takes_none_as_its_help_says():
    """``--decay-days ... none = no decay``: ``none`` is accepted and means what the default means."""
    assert "none = no decay" in " ".join(runner.invoke(app, ["threat", "debris", "--help"]).output.split())
    plain = runner.invoke(app, ["threat", "debris", "--alt-km", "500", "--json"])
    none = runner.invoke(app, ["threat", "debris", "--alt-km", "500", "--decay-days", "none", "--json"])
    decaying = runner.invoke(app, ["threat", "debris", "--alt-km", "500", "--decay-days", "365", "--json"])
    assert none.exit_code == 0 and decaying.exit_code == 0, none.output + decaying.output
    assert json.loads(none.stdout)["event"]["decay_e_folding_days"] is None
    assert json.loads(none.stdout) == json.loads(plain.stdout)
    assert json.loads(decaying.stdout)["event"]["decay_e_folding_days"] == 365.0


def test_jam_map_writes_outputs(data_file, tmp_path):
    out = tmp_path / "jam"
    result = runner.invoke(
        app,
        [
            "threat",
            "jam",
            str(data_file("tle/starlink_20250923.tle")),
            "--jammers",
            str(EXAMPLES / "jammers" / "fujian_coast.toml"),
            "--region",
            "TW",
            "--start",
            "2025-09-23T12:00:00Z",
            "--duration",
            "10m",
            "--step",
            "300s",
            "--eirp-sweep-dbw",
            "40,70",
            "--out",
            str(out),
            "--capacity",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    rows = doc["sweep"]
    assert rows[1]["cells_ever_jammed"] >= rows[0]["cells_ever_jammed"]
    assert (out / "jammed_share.png").exists() and (out / "summary.json").exists()
    # capacity before and with the jammers as listed (70 dBW from the Fujian coast): less of the demand served
    before, jammed = doc["capacity"]
    assert (before["case"], jammed["case"]) == ("before", "jamming")
    assert jammed["served_fraction"] < before["served_fraction"]
    assert jammed["mbps_per_user_p10"] <= before["mbps_per_user_p10"]
    # The median Mb/s per user is over users and time steps, with the same weights as the share of users with
    # service: it is 0 exactly when fewer than half of the users keep service, and the jammers cut that share.
    for row in (before, jammed):
        assert (row["mbps_per_user_median"] == 0.0) == (row["users_with_service"] < 0.5)
    assert jammed["users_with_service"] < before["users_with_service"]
    assert before["users_with_service"] > 0.5 and before["mbps_per_user_median"] > 0.0
    for row in (before, jammed):
        assert row["share_above_25_mbps"] <= row["users_with_service"] <= 1.0


def test_jam_out_writes_what_its_help_promises(data_file, tmp_path):
    """--out writes the map, the per-cell GeoJSON and the summary, and says so; the map's colours read 0 % jammed as
    light (normal service), not black (a blackout)."""
    import matplotlib

    from skyfence.report.threat_figures import JAMMED_CMAP

    out = tmp_path / "jam"
    args = ["threat", "jam", str(data_file("tle/starlink_20250923.tle")), "--jammers"]
    args += [str(EXAMPLES / "jammers" / "fujian_coast.toml"), "--start", "2025-09-23T12:00:00Z"]
    result = runner.invoke(app, [*args, "--duration", "10m", "--step", "300s", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "wrote" in result.output and "jammed_share.geojson" in result.output
    doc = json.loads((out / "jammed_share.geojson").read_text())
    shares = [f["properties"]["jammed_share"] for f in doc["features"]]
    summary = json.loads((out / "summary.json").read_text())
    sweep = summary["sweep"]
    assert len(shares) == sweep[0]["cells"] and sum(s > 0 for s in shares) == sweep[0]["cells_ever_jammed"]
    assert 0 < sweep[0]["cells_ever_jammed"] < sweep[0]["cells"]  # the west coast jammed, the east not
    # the inputs are recorded like the other commands' (issue #27: there were none), with no absolute local path
    inputs = summary["inputs"]
    assert inputs["region"] == "TW" and inputs["res"] == 5 and inputs["steps"] == 3 and inputs["step"] == "300s"
    assert inputs["jammers_file"]["sha256"] and inputs["jammers_file"]["name"].endswith("jammers/fujian_coast.toml")
    assert "/tmp/" not in (out / "summary.json").read_text() and not inputs["source"].startswith("/")
    r, g, b, _ = matplotlib.colormaps[JAMMED_CMAP](0.0)
    assert 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.8  # 0 % is light
    r1, g1, b1, _ = matplotlib.colormaps[JAMMED_CMAP](1.0)
    assert 0.2126 * r1 + 0.7152 * g1 + 0.0722 * b1 < 0.4  # 100 % is dark


def test_gateways_curve_ends_unreachable(data_dir):
    """Service against gateways lost for the bent-pipe Gen1 preset: it falls from the start and ends at zero, and a
    terminal with every gateway gone is unreachable (an answer, not an exception)."""
    result = runner.invoke(
        app,
        [
            "threat",
            "gateways",
            "starlink-gen1",
            "--region",
            "TW",
            "--res",
            "3",
            "--start",
            "2026-01-01T00:00:00Z",
            "--duration",
            "20m",
            "--step",
            "600s",
            "--orders",
            "1",
            "--from",
            "Taipei",
            "--isl",
            "none",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    curve = json.loads(result.stdout)["curve"]
    first, last = curve[0], curve[-1]
    assert first["gateways_lost"] == 0 and first["served_fraction"] > 0 and first["reachable_share"] == 1.0
    assert last["gateways_left"] == 0 and last["served_fraction"] == 0.0 and last["service_coverage"] == 0.0
    assert last["reachable_share"] == 0.0 and last["median_rtt_ms"] is None
    served = [p["served_fraction"] for p in curve]
    assert all(b <= a + 1e-9 for a, b in itertools.pairwise(served))
    assert all(p["served_fraction"] <= p["served_fraction_random_max"] + 1e-9 for p in curve)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["threat", "attrition", "oneweb", "--fraction", "1.5", "--duration", "10m"], "fraction"),
        (["threat", "attrition", "oneweb", "--shell", "42", "--duration", "10m"], "shells"),
        (["threat", "attrition", "oneweb", "--norad", "999999", "--duration", "10m"], "norad_ids"),
        (["threat", "js", "--jammer-eirp-dbw", "40", "--jammer-km", "0", "--sat-km", "700"], "--jammer-km"),
        (["threat", "debris", "--alt-km", "20"], "--alt-km"),
        (["threat", "debris", "--decay-days", "soon"], "field --decay-days: expected a number of days or none"),
    ],
)
def test_bad_input_is_one_line(args, needle):
    proc = _skyfence(*args)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ("[[jammers]]\nlat = nan\nlon = 119.0\neirp_dbw = 40\n", "jammers[0].lat_deg"),
        ("[[jammers]]\nlat = 25.0\nlon = 119.0\neirp_dbw = 40\nbandwidth_mhz = -1\n", "jammers[0].bandwidth_mhz"),
        (
            '[[jammers]]\nlat = 25.0\nlon = 119.0\neirp_dbw = 40\nschedule = [["2026-01-02T00:00:00Z", '
            '"2026-01-01T00:00:00Z"]]\n',
            "jammers[0].schedule[0]",
        ),
    ],
)
def test_bad_jammer_file_is_one_line(tmp_path, body, needle):
    path = tmp_path / "j.toml"
    path.write_text(body)
    proc = _skyfence("threat", "jam", "oneweb", "--jammers", str(path), "--duration", "10m")
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and str(path) in lines[0]


def test_a_jammer_without_height_says_which_height_it_got(tmp_path):
    path = tmp_path / "j.toml"
    path.write_text('[[jammers]]\nname = "x"\nlat = 25.0\nlon = 119.0\neirp_dbw = 70\n')
    proc = _skyfence(
        "threat", "jam", "oneweb", "--jammers", str(path), "--region", "TW", "--res", "3", "--duration", "0s"
    )
    assert proc.returncode == 0, proc.stderr
    assert "note: j.toml: jammers[0] (x) give(s) no height_m: taken as 10 m above ground" in proc.stderr
    assert "1 jammer(s) 10 m above ground" in " ".join(proc.stdout.split())


def test_unknown_gateway_is_one_line(data_dir):
    proc = _skyfence("threat", "reach", "oneweb", "--from", "Taipei", "--remove-site", "Atlantis gateway")
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "sites" in lines[0] and "Atlantis" in lines[0]
