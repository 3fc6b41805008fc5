"""How many cores one computation may use: numba's threads, the BLAS/OpenMP pools, and the one overlap thread.

A kernel over satellites x cells x time uses :func:`numba.get_num_threads` threads (numba's parallel loops), numpy's
BLAS its own pool, and the streaming pipelines (:func:`skyfence.orbits.propagate.iter_positions`, the visibility
and capacity kernels) one more thread that runs the compiled kernel of one time chunk while SGP4 -- which holds the
GIL -- works on the next.  By default all of them use every core.  :func:`thread_budget` caps them for a block:
a sweep point on a Dask worker runs with the worker's share of the cores (one when there are as many workers as
cores), so N workers on N cores do not run N x N threads, and a plain loop given the same budget does exactly
the same work on the same number of cores (docs/sweeps.md).

numba's setting is per thread (:func:`numba.set_num_threads`); :func:`overlap_pool` hands it on to the overlap
thread, and with a budget of one there is no overlap thread: the pipeline runs each kernel on the calling thread.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any

__all__ = ["compute_threads", "overlap_pool", "thread_budget"]


def compute_threads() -> int:
    """The cores this thread's kernels may use: numba's thread count here (all cores unless capped)."""
    import numba

    return int(numba.get_num_threads())


@contextlib.contextmanager
def thread_budget(threads: int | None) -> Iterator[int]:
    """Cap numba's threads (on this thread, and through :func:`overlap_pool` on the pipelines it starts) and the
    BLAS/OpenMP pools (process-wide, via threadpoolctl) at ``threads`` for the block; ``None`` changes nothing.
    Yields the budget in force.  Results do not depend on it: every parallel loop writes its own time steps."""
    if threads is None:
        yield compute_threads()
        return
    import numba
    from threadpoolctl import threadpool_limits

    if threads < 1:
        raise ValueError(f"a thread budget is at least 1, got {threads}")
    n = min(int(threads), int(numba.config.NUMBA_NUM_THREADS))  # type: ignore[attr-defined]
    previous = numba.get_num_threads()
    numba.set_num_threads(n)
    try:
        with threadpool_limits(limits=n):
            yield n
    finally:
        numba.set_num_threads(previous)


class _Inline(Executor):
    """An executor that runs each call at once on the calling thread (the pipeline of a one-core budget)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as error:  # handed to the caller through result(), as a thread pool would
            future.set_exception(error)
        return future


@contextlib.contextmanager
def overlap_pool(name: str) -> Iterator[Executor]:
    """The executor a streaming pipeline runs its compiled kernels on while SGP4 runs here: one thread with this
    thread's numba budget when the budget is two or more cores, else this thread itself (no second core)."""
    import numba

    n = compute_threads()
    if n <= 1:
        yield _Inline()
        return
    with ThreadPoolExecutor(
        max_workers=1, thread_name_prefix=name, initializer=numba.set_num_threads, initargs=(n,)
    ) as pool:
        yield pool
