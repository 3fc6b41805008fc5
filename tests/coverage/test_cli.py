"""``skyfence coverage`` end to end: real catalogs over real regions; bad input gives one line, nothing written."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

from skyfence.cli import app

runner = CliRunner()


def _skyfence(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "skyfence", *args], capture_output=True, text=True)


def test_taiwan_starlink_against_oneweb(data_file, tmp_path):
    starlink = data_file("tle/starlink_20250923.tle")
    oneweb = data_file("tle/oneweb_20250923.tle")
    out = tmp_path / "tw"
    result = runner.invoke(
        app,
        [
            "coverage",
            str(starlink),
            "--compare",
            str(oneweb),
            "--region",
            "TW",
            "--res",
            "5",
            "--start",
            "2025-09-23T12:00:00Z",
            "--duration",
            "2h",
            "--step",
            "60s",
            "--out",
            str(out),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["region"]["code"] == "TW"
    assert summary["cells"] > 100 and summary["steps"] == 121
    starlink_stats, oneweb_stats = summary["sources"]
    assert starlink_stats["satellites"] == 8325 and oneweb_stats["satellites"] == 651
    # Starlink's real 2025 constellation keeps Taiwan (22-25 N) continuously in view of several satellites.
    assert starlink_stats["coverage_fraction"] == 1.0
    assert starlink_stats["sats_in_view_mean"] > oneweb_stats["sats_in_view_mean"] > 1
    on_disk = json.loads((out / "summary.json").read_text())
    assert on_disk["sources"][0]["coverage_fraction"] == starlink_stats["coverage_fraction"]
    files = on_disk["sources"][0]["files"]
    for name in files.values():
        assert (out / name).stat().st_size > 0
    assert on_disk["maps"] and all((out / m).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for m in on_disk["maps"])
    import pyarrow.parquet as pq
    import xarray as xr

    table = pq.read_table(out / files["cells_parquet"])
    geo = json.loads(table.schema.metadata[b"geo"])
    assert geo["primary_column"] == "geometry" and table.num_rows == summary["cells"]
    with xr.open_dataset(out / files["dataset"]) as ds:
        assert ds["sats_in_view"].dims == ("time", "cell")
        assert ds["cell"].attrs["grid_name"] == "h3"
        assert ds["sats_in_view"].shape == (121, summary["cells"])
    geojson = json.loads((out / files["cells_geojson"]).read_text())
    assert len(geojson["features"]) == summary["cells"]
    assert np.isclose(geojson["features"][0]["properties"]["coverage_fraction"], 1.0)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--region", "Taiwn"], "did you mean"),
        (["--region", "TW", "--res", "16"], "resolution"),
        (["--region", "TW", "--min-elevation", "95"], "[0, 90)"),
        (["--region", "TW", "--step", "0s"], "step"),
        (["--region", "TW", "--start", "2026-01-02T00:00Z", "--end", "2026-01-01T00:00Z"], "before start"),
        (["--region", "TW", "--start", "yesterday"], "cannot read time"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(data_dir, tmp_path, skyfence_cli, args, needle):
    out = tmp_path / "never"
    proc = skyfence_cli("coverage", "starlink-550", "--duration", "10m", "--out", str(out), *args)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert needle in lines[0]
    assert "Traceback" not in proc.stderr
    assert not out.exists()
    assert not list(tmp_path.glob(".never*"))


def test_failure_while_writing_leaves_output_folder_untouched(tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("earlier run")

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("skyfence.report.figures.draw_cells", boom)
    result = runner.invoke(
        app,
        [
            "coverage",
            "oneweb",
            "--region",
            "world",
            "--res",
            "0",
            "--start",
            "2026-01-01T00:00Z",
            "--duration",
            "10m",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code != 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]
