"""Geometries shared between threads: every GEOS predicate on them runs under one process-wide lock.

Natural Earth layers (:func:`skyfence.earth.regions.countries`, read once per process), the disputed areas and
the parts of a compiled policy (:class:`skyfence.policy.zones.Geography`, whose country parts *are* the layer's
geometries) are prepared once (``shapely.prepare``) and then reached from several threads at once in the service:
request threads (FastAPI runs sync endpoints in a pool), ingestion's policy evaluator, the dashboard's map
warm-up thread.  A prepared geometry is not safe to use from two threads at once (GEOS issue #825; the fix,
GEOS PR #826, is unmerged): it builds its point-in-area index and its segment index lazily on first use, and
its segment intersector and prepared relate keep mutable state *per call*, so warming a geometry up once is not
enough either.  With shapely 2.2 / GEOS 3.14.1, four threads calling ``shapely.intersects_xy`` on one freshly
prepared 20,000-vertex polygon crashed the process (SIGSEGV or glibc heap corruption) within 16 rounds in 10 of
10 runs; two single-threaded warm-up queries stopped the point-in-polygon crashes, but ``intersects`` and
``covers`` with lines or polygons still crashed after any warm-up.  Predicates on geometries that are *not*
prepared ran 60 rounds without a crash: GEOS builds their indexes per call.

So: **a predicate whose first geometry may be prepared and shared** (``intersects_xy``, ``contains_xy``,
``intersects``, ``covers``, ``touches``, ``relate_pattern``, ...) runs inside ``with GEOS_LOCK:``, and so does
``shapely.prepare`` of a geometry other threads can see.  The lock is held for one predicate call (one policy
part, one country) at a time, never around anything that takes another lock.  Uncontended it costs nothing
measurable (``benchmarks/shared_geometry.py``: ingestion's decisions of 200 batches of 1,000 fixes took 0.332
CPU-s with it and 0.357 without in one run, 0.274 and 0.251 in another: noise either way); contended, one
thread's predicate waits for another's current call -- GEOS releases the GIL, so without the lock the two could
have overlapped on a second core.
``tests/earth/test_shared.py`` lists every predicate call in ``src/`` and checks that each holds the lock or
works on a geometry its function made itself.
"""

from __future__ import annotations

import threading
from typing import Final

__all__ = ["GEOS_LOCK"]

#: Held around every GEOS predicate on a geometry that several threads may share (see the module notes).
GEOS_LOCK: Final = threading.Lock()
