"""``skyfence capacity`` end to end; bad input gives one line naming the option, and nothing is written."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


def _skyfence(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "skyfence", *args], capture_output=True, text=True)


def test_taiwan_end_to_end(data_file, tmp_path):
    catalog = data_file("tle/omm_csv_2026/starlink_20260818.csv.gz")
    out = tmp_path / "tw"
    done = _skyfence(
        "capacity",
        str(catalog),
        "--region",
        "TW",
        "--rain-p",
        "0.1",
        "--take-rate",
        "0.02",
        "--start",
        "2026-08-18T12:00:00Z",
        "--duration",
        "10m",
        "--out",
        str(out),
        "--json",
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    stats = summary["statistics"]
    assert 0.0 < stats["served_fraction"] <= 1.0
    assert stats["offered_gbps_mean"] > 0.0
    assert summary["settings"]["generations"] == "starlink-v1.0,starlink-v1.5,starlink-v2-mini"
    for name in ("summary.json", "capacity.nc", "capacity_cells.csv", "mbps_per_user.png", "served_fraction.png"):
        assert (out / name).stat().st_size > 0
    import xarray as xr

    with xr.open_dataset(out / "capacity.nc") as ds:
        assert ds["mbps_per_user"].dims == ("time", "cell")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--rain-p", "7"], "--rain-p"),
        (["--rain-p", "0.0001"], "--rain-p"),
        (["--take-rate", "1.5"], "--take-rate"),
        (["--take-rate", "-0.1"], "--take-rate"),
        (["--generation", "starlink-v9"], "--generation"),
        (["--oversubscription", "0"], "--oversubscription"),
        (["--freq-ghz", "80"], "--freq-ghz"),
        # an average per subscriber above what the plan gives one user (2,500 Mb/s gave 1,042 Tb/s of demand)
        (["--busy-hour-mbps", "2500"], "field --busy-hour-mbps: busy-hour rate 2500 Mb/s per subscriber is above"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(skyfence_cli, tmp_path, args, needle):
    out = tmp_path / "never"
    ran = skyfence_cli("capacity", "starlink-550", "--region", "TW", "--duration", "5m", "--out", out, *args)
    assert ran.returncode != 0
    lines = [line for line in ran.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in ran.stderr
    assert not out.exists()
