"""The CLI reads at 80 columns: ``data list``, ``coverage`` (table and JSON), ``policy check --explain``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

POLICY = Path(__file__).parents[1] / "examples" / "policies" / "real_world_2026.toml"


def _skyfence(*args: str, columns: int = 80) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": str(columns), "TERM": "xterm-256color"}
    proc = subprocess.run([sys.executable, "-m", "skyfence", *args], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    return proc


def _too_long(text: str, limit: int = 80) -> list[str]:
    return [line for line in text.splitlines() if len(line) > limit]


@pytest.mark.parametrize(
    "args",
    [
        ("data", "list"),
        ("coverage", "starlink-550", "--region", "TW", "--res", "3", "--duration", "10m", "--compare", "oneweb"),
        ("coverage", "starlink-550", "--region", "TW", "--res", "3", "--duration", "10m", "--json"),
        ("policy", "check", str(POLICY), "--lat", "50.45", "--lon", "30.52", "--explain"),
        ("policy", "check", str(POLICY), "--lat", "25.03", "--lon", "121.56", "--explain"),
    ],
    ids=["data-list", "coverage", "coverage-json", "policy-explain-kyiv", "policy-explain-taipei"],
)
def test_no_line_exceeds_80_columns(data_dir, args):
    proc = _skyfence(*args)
    assert proc.stdout.strip()
    assert _too_long(proc.stdout) == []


def test_data_list_shows_the_upstream_url(data_dir):
    from skyfence import data

    lines = _skyfence("data", "list").stdout.splitlines()
    offset = next(line.index("data date, where it is") for line in lines if "upstream" in line)
    right = "".join(line[offset:].strip() for line in lines)  # URLs fold over lines inside their column
    for ds in data.list_datasets():
        assert ds.url in right, ds.name
    wide = _skyfence("data", "list", "--wide").stdout
    for ds in data.list_datasets():
        assert ds.url in wide, ds.name


def test_wide_shows_one_row_per_dataset(data_dir):
    from skyfence import data

    proc = _skyfence("data", "list", "--wide", columns=80)
    rows = [line for line in proc.stdout.splitlines() if any(ds.name in line for ds in data.list_datasets())]
    assert len(rows) == len(data.list_datasets())


def test_progress_goes_to_stderr_as_plain_lines_when_stdout_is_not_a_terminal(data_dir, tmp_path):
    small = Path(__file__).parent / "data" / "scenarios" / "small.toml"
    env = {**os.environ, "SKYFENCE_CACHE_DIR": str(tmp_path / "cache"), "COLUMNS": "80"}
    proc = subprocess.run(
        [sys.executable, "-m", "skyfence", "assess", str(small), "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert lines[0] == "skyfence: 7 unit(s) to run"
    assert any(line.startswith("[1/7] coverage: starlink-550 over TW") for line in lines)
    assert all("\x1b[" not in line and "\r" not in line for line in lines)  # no escape codes, no redraws
    assert "unit(s) computed" in proc.stdout and "[1/7]" not in proc.stdout


def test_capacity_figures_are_never_cut_at_80_columns(data_dir):
    proc = _skyfence("capacity", "starlink_omm_20260818", "--region", "TW", "--duration", "10m", "--step", "5m")
    assert _too_long(proc.stdout) == []
    assert "…" not in proc.stdout  # a squeezed column would print "23,56…" for the population
    assert "23,568,378" in proc.stdout and "uplink per active user, median [Mb/s]" in proc.stdout
