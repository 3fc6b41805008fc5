"""``skyfence fleet synth`` → ``skyfence detect`` → ``skyfence detect evaluate`` end to end; errors are one line."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
POLICY = str(ROOT / "examples/policies/real_world_2026.toml")


def test_synth_detect_evaluate(tmp_path, data_dir, skyfence_cli):
    _skyfence = skyfence_cli
    spec = tmp_path / "fleet.toml"
    spec.write_text(
        "[fleet]\nseed = 2\ndays = 0.1\n[classes.residential]\ncount = 5\n[classes.drone]\ncount = 4\n"
        "[classes.black_market]\ncount = 3\n"
    )
    fixes, alerts = tmp_path / "fixes.parquet", tmp_path / "alerts.parquet"
    made = _skyfence("fleet", "synth", str(spec), "--out", str(fixes), "--json")
    assert made.returncode == 0, made.stderr
    summary = json.loads(made.stdout)
    assert summary["terminals"] == 12 and summary["classes"]["drone"]["terminals"] == 4
    ran = _skyfence("detect", str(fixes), "--policy", POLICY, "--out", str(alerts), "--json")
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["alerts"] == len(pd.read_parquet(alerts))
    scored = _skyfence("detect", "evaluate", str(fixes), str(alerts), "--json")
    assert scored.returncode == 0, scored.stderr
    result = json.loads(scored.stdout)
    drone = next(r for r in result["classes"] if r["class"] == "drone")
    assert drone["recall"] == 1.0 and result["legit"]["alerted"] == 0
    table = _skyfence("detect", "evaluate", str(fixes), str(alerts))
    assert "Detection by class" in table.stdout and "legitimate terminals with any alert: 0 of 5" in table.stdout
    assert "spoof offset [km]" in table.stdout  # "[km]" was eaten as rich markup
    assert "prec. precision" in " ".join(table.stdout.split())  # abbreviated headers have a legend
    # the median time to detect, in fixes and in hours (issue #15), not only in --json
    assert "median time to detect" in " ".join(table.stdout.split())
    drone_row = next(line for line in table.stdout.splitlines() if line.strip().startswith("drone"))
    hours = f"{drone['median_hours_to_detect']:.2f}"
    assert drone_row.split()[-2:] == [f"{drone['median_fixes_to_detect']:g}", hours]
    assert max(len(line) for line in table.stdout.splitlines()) <= 80 and "…" not in table.stdout


def test_errors_are_one_line(tmp_path, skyfence_cli):
    _skyfence = skyfence_cli
    spec = tmp_path / "bad.toml"
    spec.write_text("[classes.tank]\ncount = 1\n")
    bad = _skyfence("fleet", "synth", str(spec), "--out", str(tmp_path / "x.parquet"))
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
    assert "field classes.tank: unknown class 'tank'" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.parquet").exists()
    fixes = tmp_path / "f.parquet"
    pd.DataFrame({"terminal_id": [1], "time": pd.to_datetime(["2026-08-22T00:00Z"]), "lat_deg": [50.0]}).to_parquet(
        fixes
    )
    missing = _skyfence("detect", str(fixes), "--policy", POLICY, "--out", str(tmp_path / "a.parquet"))
    assert missing.returncode != 0 and "missing column(s) lon_deg" in missing.stderr
    assert "Traceback" not in missing.stderr
    no_policy = _skyfence("detect", str(fixes), "--out", str(tmp_path / "a.parquet"))
    assert no_policy.returncode != 0 and "--policy" in no_policy.stderr
    unlabelled = _skyfence("detect", "evaluate", str(fixes), str(fixes))
    assert unlabelled.returncode != 0 and "missing truth column" in unlabelled.stderr
    fake = tmp_path / "fake.parquet"
    fake.write_text("terminal_id,lat_deg\n1,50.0\n")
    not_parquet = _skyfence("detect", "evaluate", str(fixes), str(fake))
    assert not_parquet.returncode != 0 and "Traceback" not in not_parquet.stderr
    assert "fake.parquet: is not a Parquet file" in not_parquet.stderr


def test_a_bad_used_in_names_the_file_and_prints_no_blank_line(tmp_path, skyfence_cli):
    """A used_in area is checked while synthesising: the error used to lack the file, after a blank line."""
    spec = tmp_path / "fleet.toml"
    spec.write_text(
        "[fleet]\nseed = 2\ndays = 0.1\n[classes.black_market]\ncount = 3\n"
        'used_in = ["occupied:ua:2026-08-22", "RUS", "BY"]\n'
    )
    bad = skyfence_cli("fleet", "synth", str(spec), "--out", str(tmp_path / "x.parquet"))
    assert bad.returncode != 0 and "Traceback" not in bad.stderr and bad.stdout == "", (bad.stdout, bad.stderr)
    assert bad.stderr.startswith("error: ") and len(bad.stderr.splitlines()) == 1, bad.stderr
    assert f"{spec}: field classes.black_market.used_in: unknown area 'RUS'" in bad.stderr
    assert not (tmp_path / "x.parquet").exists()
