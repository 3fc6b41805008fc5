"""Rate limits per API key: an in-process token bucket (one server process; a shared store is future work)."""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

__all__ = ["RateLimiter"]


class RateLimiter:
    """``rate_per_s`` sustained requests per key with bursts of up to ``burst``; idle buckets are forgotten.

    :meth:`take` returns 0 when the request may go ahead, else the seconds to wait (the ``Retry-After`` value).
    At most ``max_keys`` buckets are kept (least recently used dropped first), so memory stays bounded.
    """

    def __init__(
        self,
        rate_per_s: float,
        burst: int,
        *,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate_per_s <= 0 or burst < 1:
            raise ValueError("rate_per_s must be > 0 and burst >= 1")
        self.rate_per_s = float(rate_per_s)
        self.burst = float(burst)
        self.max_keys = max_keys
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: str, cost: float = 1.0) -> int:
        """Spend ``cost`` tokens of ``key``'s bucket; 0 if allowed, else whole seconds until it would be."""
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.pop(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate_per_s)
            if tokens >= cost:
                self._buckets[key] = (tokens - cost, now)
                wait = 0
            else:
                self._buckets[key] = (tokens, now)
                wait = max(1, math.ceil((cost - tokens) / self.rate_per_s))
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        return wait
