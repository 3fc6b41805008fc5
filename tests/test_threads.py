"""The thread budget (skyfence._threads): numba's threads and the BLAS pool are capped for a block and given back
after it, the overlap thread of the streaming pipelines carries the budget on (or is not started under one core),
and the positions those pipelines stream do not depend on it."""

from __future__ import annotations

import threading

import numba
import numpy as np
import pytest
from threadpoolctl import threadpool_info

from skyfence._threads import compute_threads, overlap_pool, thread_budget

TWO = int(numba.config.NUMBA_NUM_THREADS) >= 2


def _blas_threads() -> list[int]:
    return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]


def test_a_budget_of_one_caps_numba_and_blas_and_gives_them_back():
    before, blas_before = compute_threads(), _blas_threads()
    with thread_budget(1) as n:
        assert n == 1 and compute_threads() == 1
        assert all(t == 1 for t in _blas_threads())
    assert compute_threads() == before and _blas_threads() == blas_before
    with thread_budget(None) as n:  # no budget: nothing changes
        assert n == before == compute_threads()


def test_a_budget_is_at_least_one_and_at_most_numbas_pool():
    with pytest.raises(ValueError, match="at least 1"), thread_budget(0):
        pass
    with thread_budget(10_000) as n:
        assert n == int(numba.config.NUMBA_NUM_THREADS)


def test_one_core_runs_the_pipeline_on_the_calling_thread():
    with thread_budget(1), overlap_pool("test") as pool:
        future = pool.submit(threading.get_ident)
        assert future.result() == threading.get_ident()
        failed = pool.submit(lambda: 1 / 0)  # an error comes back through result(), as from a thread
        with pytest.raises(ZeroDivisionError):
            failed.result()


@pytest.mark.skipif(not TWO, reason="numba has one thread on this machine")
def test_the_overlap_thread_gets_the_callers_budget():
    with thread_budget(2), overlap_pool("test") as pool:
        ident, threads = pool.submit(lambda: (threading.get_ident(), numba.get_num_threads())).result()
    assert ident != threading.get_ident() and threads == 2


def test_positions_do_not_depend_on_the_budget():
    from skyfence.orbits.propagate import iter_positions
    from skyfence.orbits.time import time_grid
    from skyfence.orbits.walker import preset

    constellation = preset("starlink-gen1")
    times = time_grid("2026-08-18T12:00:00Z", "20m", "60s")

    def positions(threads):
        with thread_budget(threads):
            return np.concatenate(
                [c.position_itrf_km for c in iter_positions(constellation, times, chunk_steps=5)], axis=1
            )

    np.testing.assert_array_equal(positions(1), positions(None))
