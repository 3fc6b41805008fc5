"""``skyfence sweep`` end to end, and bad input as one line: an unknown axis key, an empty range, a sweep of more
than 10^6 points without --yes, an unreachable scheduler (within 10 s, not a hang)."""

from __future__ import annotations

import shutil
import socket
import time
from pathlib import Path

import pandas as pd
import pytest

DATA = Path(__file__).parents[1] / "data" / "sweeps"


@pytest.fixture
def folder(tmp_path: Path, data_dir) -> Path:
    shutil.copy(DATA / "tiny_attrition.toml", tmp_path / "tiny_attrition.toml")
    return tmp_path


def _sweep_file(folder: Path, axes: str, extra: str = "") -> Path:
    path = folder / "sweep.toml"
    path.write_text(f'scenario = "tiny_attrition.toml"\n{extra}\n{axes}')
    return path


def _one_line(ran) -> str:
    assert ran.returncode != 0
    assert "Traceback" not in ran.stderr
    lines = [line for line in ran.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1, ran.stderr
    return lines[0]


def test_sweep_cli_writes_table_plots_and_ranking(folder, skyfence_cli, tmp_path):
    path = _sweep_file(
        folder,
        '[[axes]]\nkey = "coverage.min_elevation_deg"\nvalues = [25, 40]\n',
        '[rank]\nmetric = "coverage.sats_in_view_mean"\n',
    )
    out = tmp_path / "out"
    ran = skyfence_cli("sweep", path, "--out", out, "--serial", env={"SKYFENCE_CACHE_DIR": str(tmp_path / "c")})
    assert ran.returncode == 0, ran.stderr
    frame = pd.read_parquet(out / "results.parquet")
    assert list(frame["coverage.min_elevation_deg"]) == [25, 40]
    # a higher elevation mask sees fewer satellites
    assert frame["coverage.sats_in_view_mean"].iloc[0] > frame["coverage.sats_in_view_mean"].iloc[1]
    ranking = pd.read_csv(out / "ranking.csv")
    assert list(ranking["coverage.min_elevation_deg"]) == [25, 40]
    assert (out / "plots" / "coverage.sats_in_view_mean__coverage.min_elevation_deg.png").is_file()
    assert "2 point(s), 2 computed" in ran.stdout
    html = (out / "report.html").read_text()
    assert "Ranking" in html and "plots/coverage.sats_in_view_mean__coverage.min_elevation_deg.png" in html


def test_unknown_key_is_one_line(folder, skyfence_cli, tmp_path):
    path = _sweep_file(folder, '[[axes]]\nkey = "coverage.min_elevation"\nvalues = [25]\n')
    line = _one_line(skyfence_cli("sweep", path, "--out", tmp_path / "out", "--serial"))
    assert "axes[0].key" in line and "'coverage.min_elevation' is not a scenario key" in line
    assert "did you mean coverage.min_elevation_deg" in line
    assert not (tmp_path / "out").exists()


def test_index_past_the_base_and_bad_value_are_one_line(folder, skyfence_cli, tmp_path):
    path = _sweep_file(folder, '[[axes]]\nkey = "variants[3].threats[0].fraction"\nvalues = [0.1]\n')
    line = _one_line(skyfence_cli("sweep", path, "--out", tmp_path / "out"))
    assert "variants[3] does not exist" in line
    path = _sweep_file(folder, '[[axes]]\nkey = "variants[0].threats[0].fraction"\nvalues = [0.1, 1.5]\n')
    line = _one_line(skyfence_cli("sweep", path, "--out", tmp_path / "out"))
    assert "axes[0]" in line and "= 1.5" in line and "fraction" in line


def test_empty_range_is_one_line(folder, skyfence_cli, tmp_path):
    path = _sweep_file(
        folder, '[[axes]]\nkey = "coverage.min_elevation_deg"\nrange = { start = 40, stop = 10, step = 5 }\n'
    )
    line = _one_line(skyfence_cli("sweep", path, "--out", tmp_path / "out"))
    assert "axes[0].range" in line and "empty range" in line


def test_a_million_points_need_yes(folder, skyfence_cli, tmp_path):
    axes = (
        '[[axes]]\nkey = "coverage.min_elevation_deg"\nrange = { start = 0, stop = 80, num = 1001 }\n'
        '[[axes]]\nkey = "variants[0].threats[0].fraction"\nrange = { start = 0, stop = 1, num = 1001 }\n'
    )
    line = _one_line(skyfence_cli("sweep", _sweep_file(folder, axes), "--out", tmp_path / "out"))
    assert "1,002,001 points" in line and "--yes" in line


def test_unreachable_scheduler_is_one_line_within_10_s(folder, skyfence_cli, tmp_path):
    with socket.socket() as probe:  # a port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    path = _sweep_file(folder, '[[axes]]\nkey = "coverage.min_elevation_deg"\nvalues = [25]\n')
    started = time.monotonic()
    ran = skyfence_cli("sweep", path, "--out", tmp_path / "out", "--scheduler", f"tcp://127.0.0.1:{port}")
    elapsed = time.monotonic() - started
    line = _one_line(ran)
    assert f"cannot reach the Dask scheduler at tcp://127.0.0.1:{port}" in line
    assert elapsed < 10.0


def test_sweep_on_a_running_scheduler_by_address(folder, skyfence_cli, tmp_path):
    from distributed import LocalCluster

    path = _sweep_file(folder, '[[axes]]\nkey = "coverage.min_elevation_deg"\nvalues = [25, 40]\n')
    with LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address="127.0.0.1:0"
    ) as cluster:
        ran = skyfence_cli(
            "sweep",
            path,
            "--out",
            tmp_path / "out",
            "--scheduler",
            cluster.scheduler_address,
            env={"SKYFENCE_CACHE_DIR": str(tmp_path / "c")},
        )
    assert ran.returncode == 0, ran.stderr
    assert f"dask scheduler {cluster.scheduler_address}, 1 worker(s)" in ran.stdout + ran.stderr
    frame = pd.read_parquet(tmp_path / "out" / "results.parquet")
    assert list(frame["coverage.min_elevation_deg"]) == [25, 40]
