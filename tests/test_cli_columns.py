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


def test_alerts_list_reads_at_80_columns():
    """`skyfence alerts list` at 80 columns (issue #23: the reason was a 9-character column, words broken as
    "operation/al", the header "acknowledg/ed"): short fields aligned, the reason and the acknowledgement indented
    below, wrapped at words.  A stand-in service on 127.0.0.1 (port 0) answers the one GET the command makes."""
    import http.server
    import json
    import threading

    reason = (
        "diversion suspected: 412 fixes in a high-risk place of another country (beam: 398); first activation "
        "there: yes; the terminal is operational in the occupied area"
    )
    items = [
        {
            "id": 7,
            "time": "2026-08-22T10:00:00Z",
            "kind": "diversion_suspected",
            "terminal_id": 123456,
            "score": 0.97,
            "reason": reason,
            "acknowledged_at": "2026-08-22T10:05:00.123456Z",
            "acknowledged_by": "key:0123456789abcdef",
        },
        {
            "id": 12,
            "time": "2026-08-22T11:30:00Z",
            "kind": "drone_suspected",
            "terminal_id": 9,
            "score": None,
            "reason": "drone suspected: ground speed 180-220 km/h from consecutive fixes; climb 12 m/s",
            "acknowledged_at": None,
            "acknowledged_by": None,
        },
    ]

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps({"items": items, "next_after": None}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        proc = _skyfence("alerts", "list", "--status", "all", "--url", url, "--key", "sfk_test")
    finally:
        server.shutdown()
        server.server_close()
    lines = proc.stdout.splitlines()
    assert _too_long(proc.stdout) == []
    assert lines[0].split() == ["id", "time", "(UTC)", "kind", "terminal", "score"]
    assert lines[1].split() == ["7", "2026-08-22", "10:00:00", "diversion_suspected", "123456", "0.97"]
    text = " ".join(proc.stdout.split())
    assert reason in text  # whole, its words unbroken
    assert "acknowledged 2026-08-22T10:05:00Z by key:0123456789abcdef" in text
    assert all(line.startswith("    ") for line in lines[2:5])  # the reason is indented under its alert
    assert "2 alert(s)" in lines[-1]


def test_time_step_progress_is_plain_lines_on_stderr_when_stdout_is_not_a_terminal(data_dir):
    """`coverage` (and `fleet synth`, `propagate`, `capacity`, `export czml`) used to print nothing at all for minutes
    when their output went to a file (issue #27): now a plain line on stderr every few seconds while it works."""
    env = {**os.environ, "COLUMNS": "80", "SKYFENCE_PROGRESS_EVERY_S": "0"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "skyfence",
            "coverage",
            "starlink-550",
            "--region",
            "TW",
            "--res",
            "3",
            "--duration",
            "20m",
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert any(line.startswith("skyfence: coverage starlink-550: ") and "/21 steps, " in line for line in lines)
    assert lines[-1].startswith("skyfence: coverage starlink-550: done in")
    assert all("\x1b[" not in line and "\r" not in line for line in lines)
    assert "skyfence:" not in proc.stdout


def test_plain_steps_every_few_seconds_and_silent_when_quick(capsys, monkeypatch):
    from skyfence.cli import _progress
    from skyfence.cli._progress import PlainSteps

    clock = iter(range(0, 1000, 3))  # each look at the clock: 3 s later
    monkeypatch.setattr(_progress.time, "monotonic", lambda: next(clock))
    with PlainSteps(every_s=10.0) as bar:
        task = bar.add_task("coverage x", total=10)
        for _ in range(10):
            bar.advance(task, 1)
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        "skyfence: coverage x: 4/10 steps, 12 s",
        "skyfence: coverage x: 8/10 steps, 24 s",
        "skyfence: coverage x: done in 33.0 s",
    ]
    with PlainSteps(every_s=1e9) as bar:  # a quick run: nothing, not even "done"
        bar.advance(bar.add_task("quick", total=None), 5)
    assert capsys.readouterr().err == ""
