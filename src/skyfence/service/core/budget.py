"""Work-based limits on telemetry: fixes are charged, not requests, and the state is shared by every worker.

The request-rate limiter (:mod:`skyfence.service.core.ratelimit`) counts requests, so one key sending 10,000-fix
batches did 10,000 times the work of another sending one fix, at the same "rate".  Telemetry is therefore limited
by work, per role (terminals far below operators):

* **batch size**: at most ``max_batch_fixes`` per request (``terminal_max_batch_fixes`` for terminal keys);
* **fix budget**: a token bucket of fixes per key lineage (a key and its rotation successors) that refills at
  ``*_fixes_per_second`` up to ``*_fix_burst``.  Its state is a row of ``fix_budgets`` in the database, so every
  worker process (and every server on the same database) sees the same budget.  A request is admitted when the
  budget covers it (a read, before any work); the charge is made in the same write transaction that stores the
  fixes, so concurrent requests that were all admitted drive the budget into debt and the next ones wait until
  it has refilled -- the limit holds on average across workers without a lock around the decision step;
* **concurrency**: at most ``*_max_in_flight`` telemetry requests per key at once in each worker (429 beyond);
* **large bodies queue**: request bodies above ``large_body_bytes`` pass through a small gate
  (``large_requests_in_flight`` per worker) before they are read, so a flood of big batches waits its turn instead
  of crowding out small posts, and the memory held by bodies in flight stays bounded
  (:class:`~skyfence.service.core.middleware.GuardMiddleware`).
"""

from __future__ import annotations

import math
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from skyfence.service.core.config import Settings
from skyfence.service.core.problems import ProblemError
from skyfence.service.core.security import Principal
from skyfence.service.models import FixBudget

__all__ = ["InFlight", "RoleLimits", "charge", "check_budget", "limits_for"]


@dataclass(frozen=True)
class RoleLimits:
    """The telemetry limits of one role."""

    max_batch_fixes: int
    fixes_per_second: float
    fix_burst: int
    max_in_flight: int


def limits_for(settings: Settings, role: str) -> RoleLimits:
    if role == "terminal":
        return RoleLimits(
            settings.terminal_max_batch_fixes,
            settings.terminal_fixes_per_second,
            settings.terminal_fix_burst,
            settings.terminal_max_in_flight,
        )
    return RoleLimits(
        settings.max_batch_fixes,
        settings.operator_fixes_per_second,
        settings.operator_fix_burst,
        settings.operator_max_in_flight,
    )


#: The budget row's columns as :func:`check_budget` and :func:`charge` read them (a Core select: one row, no entity).
_BUDGET = select(FixBudget.tokens, FixBudget.updated_s)


def _refilled(row: Any, limits: RoleLimits, now: float) -> float:
    """Tokens in the bucket at ``now``: ``row`` has the columns of :data:`_BUDGET` (None: no row yet, a full one)."""
    if row is None:
        return float(limits.fix_burst)
    return min(float(limits.fix_burst), row.tokens + max(0.0, now - row.updated_s) * limits.fixes_per_second)


def check_budget(session: Session, settings: Settings, principal: Principal, n_fixes: int) -> None:
    """Refuse a batch over the key's fix budget (429), before any work is done (a read; see :func:`charge`)."""
    limits = limits_for(settings, principal.role)
    row = session.connection().execute(_BUDGET.where(FixBudget.scope == principal.scope)).first()
    available = _refilled(row, limits, time.time())
    if available < n_fixes:
        wait = max(1, math.ceil((n_fixes - available) / limits.fixes_per_second))
        raise ProblemError(
            429,
            f"fix budget of key {principal.key_id} exhausted: {n_fixes} fixes asked, {max(0, int(available))} "
            f"available, refilling at {limits.fixes_per_second:g} fixes/s for role {principal.role}; "
            f"retry in {wait} s",
            kind="rate-limited",
            headers={"Retry-After": str(wait)},
        )


def charge(session: Session, settings: Settings, principal: Principal, n_fixes: int) -> None:
    """Spend ``n_fixes`` of the key's budget inside the caller's write transaction (may go into debt).

    Core statements on the session's connection, not ORM entities: three small statements a batch, whose ORM
    bookkeeping (identity map, flush at commit) cost more than they do."""
    limits = limits_for(settings, principal.role)
    now = time.time()
    connection = session.connection()
    # Create the row if it is missing without racing another worker's first charge (ON CONFLICT DO NOTHING), then
    # lock it (PostgreSQL; SQLite writers are serialised already) and charge.
    insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    connection.execute(
        insert(FixBudget)
        .values(scope=principal.scope, tokens=float(limits.fix_burst), updated_s=now)
        .on_conflict_do_nothing(index_elements=["scope"])
    )
    row = connection.execute(_BUDGET.where(FixBudget.scope == principal.scope).with_for_update()).one()
    connection.execute(
        update(FixBudget)
        .where(FixBudget.scope == principal.scope)
        .values(tokens=_refilled(row, limits, now) - n_fixes, updated_s=now)
    )


class InFlight:
    """Telemetry requests in progress per key in this worker, capped per role (429 beyond the cap)."""

    def __init__(self) -> None:
        self._counts: defaultdict[str, int] = defaultdict(int)
        self._lock = threading.Lock()

    @contextmanager
    def slot(self, settings: Settings, principal: Principal) -> Iterator[None]:
        cap = limits_for(settings, principal.role).max_in_flight
        with self._lock:
            if self._counts[principal.scope] >= cap:
                raise ProblemError(
                    429,
                    f"key {principal.key_id} already has {cap} telemetry request(s) in progress, the most role "
                    f"{principal.role} may have; wait for an answer before sending more",
                    kind="rate-limited",
                    headers={"Retry-After": "1"},
                )
            self._counts[principal.scope] += 1
        try:
            yield
        finally:
            with self._lock:
                self._counts[principal.scope] -= 1
                if not self._counts[principal.scope]:
                    del self._counts[principal.scope]
