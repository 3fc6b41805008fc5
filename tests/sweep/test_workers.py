"""A worker parses an element catalog once for all its points, and reads it again when the file changes; the
worker set-up imports and reads the inputs of a sweep's points before the first one runs."""

from __future__ import annotations

import os
from pathlib import Path

from skyfence.orbits.tle import write_tle
from skyfence.orbits.walker import preset
from skyfence.scenario.schema import scenario_from_dict
from skyfence.scenario.units import Context
from skyfence.sweep.workers import warm_up

SCENARIO = {
    "name": "memo",
    "time": {"start": "2026-01-01T00:00:00Z", "duration": "4m", "step": "120s"},
    "coverage": {"res": 2},
    "constellations": [{"name": "oneweb", "source": "oneweb.tle"}],
    "regions": [{"spec": "TW"}],
}


def _constellation(base: Path):
    ctx = Context(scenario_from_dict(SCENARIO, source="test"), base)
    return ctx.constellation(ctx.scenario.constellations[0])


def test_a_catalog_is_parsed_once_per_process_until_it_changes(tmp_path, data_dir):
    catalog = write_tle(preset("oneweb"), tmp_path / "oneweb.tle")
    first = _constellation(tmp_path)
    assert _constellation(tmp_path) is first  # a second point (a new Context) gets the same catalog
    assert len(first) == len(preset("oneweb"))
    stat = catalog.stat()
    os.utime(catalog, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # the file is rewritten
    again = _constellation(tmp_path)
    assert again is not first and len(again) == len(first)


def test_warm_up_reads_the_points_catalog_before_the_first_point(tmp_path, data_dir):
    write_tle(preset("oneweb"), tmp_path / "oneweb.tle")
    seconds = warm_up(SCENARIO, str(tmp_path))
    assert seconds >= 0
    from skyfence.scenario import units

    assert any(key[0] == str((tmp_path / "oneweb.tle").resolve()) for key in units._CATALOGS)
    assert warm_up({"name": "broken"}, str(tmp_path)) >= 0  # left to the first point to report


def test_local_workers_keep_dasks_thread_settings_but_not_its_malloc_trim():
    from skyfence.sweep.execute import local_cluster, worker_environment

    env = worker_environment()
    assert "MALLOC_TRIM_THRESHOLD_" not in env and str(env.get("OMP_NUM_THREADS")) == "1"
    with local_cluster(1) as cluster:
        (nanny,) = cluster.workers.values()
        assert "MALLOC_TRIM_THRESHOLD_" not in nanny.pre_spawn_env
        assert nanny.pre_spawn_env["OPENBLAS_NUM_THREADS"] == "1"
        assert nanny.config["distributed"]["worker"]["profile"]["interval"] == "100ms"
