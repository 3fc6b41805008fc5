"""Sweeps: the same table serially, on a 2-worker LocalCluster and after a worker is killed; a resumed sweep
computes only the missing points (the runner's cache counters say so); points expand in a fixed order."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pandas as pd
import pytest

from skyfence.sweep.execute import run_sweep
from skyfence.sweep.results import results_table, write_outputs
from skyfence.sweep.spec import load_sweep

SWEEP = Path(__file__).parents[1] / "data" / "sweeps" / "tiny.toml"


@pytest.fixture(scope="module")
def sweep(data_dir):
    return load_sweep(SWEEP)


@pytest.fixture(scope="module")
def serial(sweep, tmp_path_factory):
    """The reference: every point run serially in this process on an empty cache."""
    cache = tmp_path_factory.mktemp("serial-cache")
    run = run_sweep(sweep, serial=True, cache_root=cache)
    return run, results_table(sweep, run)


@pytest.fixture(scope="module")
def cluster():
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0", host="127.0.0.1"
        ) as local,
        Client(local, set_as_default=False) as client,
    ):
        yield client


def test_points_expand_in_order_with_seeds(sweep):
    points = list(sweep.points())
    assert sweep.size == len(points) == 3 * 2
    assert [p.params["loss_fraction"] for p in points] == [0.0, 0.0, 0.2, 0.2, 0.4, 0.4]
    assert [p.seed for p in points] == [11, 12] * 3
    threat = points[3].scenario["variants"][0]["threats"][0]
    assert threat == {"kind": "attrition", "fraction": 0.2, "seed": 12}


def test_serial_table_is_tidy_and_attrition_bites(serial, sweep, tmp_path):
    run, frame = serial
    assert list(frame["point"]) == list(range(6))
    assert list(frame.columns[:4]) == ["point", "repetition", "seed", "loss_fraction"]
    lost = frame.groupby("loss_fraction")["threats.satellites_lost_mean"].mean()
    assert lost[0.0] == 0 and 0 < lost[0.2] < lost[0.4]
    # twice the fraction removes about twice the satellites seen from the region
    assert lost[0.4] / lost[0.2] == pytest.approx(2.0, rel=0.2)
    # capacity after the loss (the threat unit's capacity "after" case) falls with it; before it does not
    offered = frame.groupby("loss_fraction")["threats.capacity.after.offered_gbps_mean"].mean()
    assert offered[0.0] > offered[0.2] > offered[0.4] > 0
    assert frame["threats.capacity.before.offered_gbps_mean"].nunique() == 1
    # the shared coverage and capacity units once; a threat unit per point
    assert run.cache_misses == 2 + 6
    summary = write_outputs(tmp_path, sweep, run, frame)
    assert (tmp_path / "results.parquet").is_file()
    assert "plots/threats.after.sats_in_view_mean__loss_fraction.png" in summary["plots"]
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "results.parquet"), frame)


def test_local_cluster_gives_the_serial_table(serial, sweep, cluster, tmp_path):
    run = run_sweep(sweep, client=cluster, cache_root=tmp_path)
    assert {r.worker for r in run.results.values()} <= set(cluster.scheduler_info()["workers"])
    # every worker was set up before its first point (docs/sweeps.md): one core per point, all cores serially
    assert all(seconds is not None for seconds in cluster.run(_set_up_seconds).values())
    # the first point runs alone, so the coverage unit every point shares is computed once, not by both workers
    assert run.cache_misses == serial[0].cache_misses
    pd.testing.assert_frame_equal(results_table(sweep, run), serial[1], check_exact=True)
    assert _parquet_bytes(results_table(sweep, run)) == _parquet_bytes(serial[1])  # the files, byte for byte


def _set_up_seconds(dask_worker) -> float | None:
    return dask_worker.plugins["skyfence-sweep-setup"].seconds


def test_one_core_per_point_gives_the_same_table(serial, sweep, tmp_path):
    run = run_sweep(sweep, serial=True, cache_root=tmp_path, threads=1)
    pd.testing.assert_frame_equal(results_table(sweep, run), serial[1], check_exact=True)


def _parquet_bytes(frame: pd.DataFrame) -> bytes:
    import io

    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)  # as write_outputs writes results.parquet
    return buffer.getvalue()


def test_a_killed_worker_is_retried_and_the_table_is_identical(serial, sweep, cluster, tmp_path):
    pids = cluster.run(os.getpid)  # worker address -> process id
    victim = sorted(pids)[0]
    killed: list[int] = []

    def kill_once(result, run) -> None:
        if not killed and len(run.results) == 2:  # after the first point (run alone), with points in flight
            killed.append(len(run.results))
            os.kill(pids[victim], signal.SIGKILL)

    run = run_sweep(sweep, client=cluster, cache_root=tmp_path, on_point=kill_once)
    assert killed and killed[0] < sweep.size  # killed in the middle of the sweep
    pd.testing.assert_frame_equal(results_table(sweep, run), serial[1], check_exact=True)
    assert _parquet_bytes(results_table(sweep, run)) == _parquet_bytes(serial[1])
    assert victim not in cluster.scheduler_info()["workers"] or pids[victim] != cluster.run(os.getpid).get(victim)


def test_resume_computes_only_the_missing_points(serial, sweep, tmp_path):
    class Interrupted(Exception):
        pass

    def stop_after_two(result, run) -> None:
        if len(run.results) == 2:
            raise Interrupted

    with pytest.raises(Interrupted):
        run_sweep(sweep, serial=True, cache_root=tmp_path, on_point=stop_after_two)
    resumed = run_sweep(sweep, serial=True, cache_root=tmp_path)
    first_two = [resumed.results[i] for i in (0, 1)]
    rest = [resumed.results[i] for i in range(2, 6)]
    assert all(r.cache_misses == 0 for r in first_two)  # done before the interruption: read, not recomputed
    assert all(r.cache_misses == 1 for r in rest)  # each missing point computes its own threat unit only
    assert resumed.points_computed == 4
    full = serial[0]
    interrupted_misses = sum(full.results[i].cache_misses for i in (0, 1))
    assert resumed.cache_misses + interrupted_misses == full.cache_misses
    pd.testing.assert_frame_equal(results_table(sweep, resumed), serial[1], check_exact=True)
    again = run_sweep(sweep, serial=True, cache_root=tmp_path)
    assert again.cache_misses == 0 and again.points_computed == 0


def test_report_shows_the_answer_first_with_readable_headers_and_the_rankings_unit(serial, tmp_path):
    """A threat sweep's answer is the service after the attacks: its columns come first, named for a reader with
    their units (not ``threats.after.coverage_fraction``), shares in %, and the ranking says what it ranks by."""
    import shutil
    from html.parser import HTMLParser

    shutil.copy(SWEEP.parent / "tiny_attrition.toml", tmp_path / "tiny_attrition.toml")
    ranked = tmp_path / "ranked.toml"
    ranked.write_text(SWEEP.read_text() + '\n[rank]\nmetric = "threats.capacity.after.served_fraction"\n')
    sweep = load_sweep(ranked)
    run, frame = serial

    class Headers(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.tables: list[list[str]] = []
            self.rows: list[list[str]] = []
            self._th: str | None = None
            self._td: str | None = None

        def handle_starttag(self, tag, attrs):
            if tag == "table":
                self.tables.append([])
                self.rows.append([])
            self._th = "" if tag == "th" else self._th
            self._td = "" if tag == "td" else self._td

        def handle_data(self, data):
            if self._th is not None:
                self._th += data
            if self._td is not None:
                self._td += data

        def handle_endtag(self, tag):
            if tag == "th" and self._th is not None:
                self.tables[-1].append(self._th.strip())
                self._th = None
            if tag == "td" and self._td is not None:
                self.rows[-1].append(self._td.strip())
                self._td = None

    out = tmp_path / "out"
    write_outputs(out, sweep, run, frame)
    html = (out / "report.html").read_text()
    parser = Headers()
    parser.feed(html)
    ranking, against = parser.tables[:2]
    served = "after the attacks, capacity: busy-hour demand served [%]"
    assert ranking == ["rank", "loss fraction (0-1)", served, "points (runs)"]
    assert f"By {served}, highest first" in html
    # the first ranked row, in %: the mean over its runs of the raw share times 100
    best = frame.groupby("loss_fraction")["threats.capacity.after.served_fraction"].mean().max()
    assert float(parser.rows[0][2]) == pytest.approx(100 * best, rel=1e-3)
    assert against[0] == "loss fraction (0-1)"
    assert against[1] == "after the attacks: coverage (share of time) [%]"
    assert all(not h.startswith(("coverage.", "threats.", "capacity.")) for h in ranking + against)
    first_before = next(i for i, h in enumerate(against) if h.startswith("before the attacks"))
    assert all(h.startswith("after the attacks") for h in against[1:first_before])


def test_sweep_report_has_sources_licences_caveat_and_reproduction(sweep, serial, tmp_path):
    """A capacity sweep says why capacity moves little; like a scenario report it lists its data sources with their
    licences, the assumptions and how to reproduce it; a plot's alt text says what it
    shows, in words, and its axis is named with its unit."""
    import re

    run, frame = serial
    out = tmp_path / "out"
    write_outputs(out, sweep, run, frame)
    html = (out / "report.html").read_text()
    assert "Why capacity moves little" in html and "at most 8 beams at once" in html
    # the OneWeb preset is synthetic: the boundaries are the data read (public domain, said as such)
    assert "Data sources and licences" in html and "<code>ne_admin0_50m</code>" in html
    assert "public domain" in html.lower() and "GeoNames" in html
    assert "Assumptions" in html and "Reproducing this report" in html and "tiny_attrition.toml" in html
    assert re.search(r"alt='Line chart of [^']+ against loss fraction \(0-1\)", html)
    assert "alt='plots/" not in html and "<h2>Against loss fraction (0-1)</h2>" in html


def test_plots_of_shares_and_counts_start_at_zero_with_both_bands_named(serial, tmp_path):
    """Satellites in view after random losses (2 repetitions a point): the axis starts at 0 (a fall from 15.8 to 14.5
    must not look like a collapse) and the two bands are told apart in the legend."""
    from skyfence.sweep.results import _plot

    _, frame = serial
    ylim, legend = _plot(frame, "loss_fraction", "threats.after.sats_in_view_mean", [], tmp_path / "p.png", "")
    assert ylim[0] == 0.0 and ylim[1] > frame["threats.after.sats_in_view_mean"].max()
    assert any("95 % CI of the mean" in t for t in legend) and any("5-95 % of draws" in t for t in legend)
    assert (tmp_path / "p.png").stat().st_size > 0
