"""Prometheus metrics in the text exposition format (version 0.0.4), kept in process.

Request counters and latency histograms are labelled by the route *template* (``/api/v1/terminals/{terminal_id}``),
never by the raw path, so the number of series stays bounded.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable
from typing import Final

__all__ = ["LATENCY_BUCKETS_S", "Metrics"]

LATENCY_BUCKETS_S: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def _labels(pairs: Iterable[tuple[str, str]]) -> str:
    body = ",".join(f'{name}="{_escape(value)}"' for name, value in pairs)
    return "{" + body + "}" if body else ""


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


class Metrics:
    """Counters and histograms with a thread-safe :meth:`render`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: dict[tuple[str, str, str], float] = defaultdict(float)
        self._latency: dict[tuple[str, str], list[float]] = {}
        self._counters: dict[tuple[str, tuple[tuple[str, str], ...]], float] = defaultdict(float)
        self._help: dict[str, str] = {}

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        with self._lock:
            self._requests[(method, route, str(status))] += 1
            hist = self._latency.setdefault((method, route), [0.0] * (len(LATENCY_BUCKETS_S) + 2))
            for i, bound in enumerate(LATENCY_BUCKETS_S):
                if seconds <= bound:
                    hist[i] += 1
            hist[-2] += 1  # count (the +Inf bucket)
            hist[-1] += seconds  # sum

    def inc(self, name: str, amount: float = 1.0, help_text: str = "", **labels: str) -> None:
        with self._lock:
            self._counters[(name, tuple(sorted(labels.items())))] += amount
            if help_text:
                self._help.setdefault(name, help_text)

    def render(self) -> str:
        """All series in the Prometheus text format."""
        with self._lock:
            lines = [
                "# HELP skyfence_http_requests_total HTTP requests by method, route template and status.",
                "# TYPE skyfence_http_requests_total counter",
            ]
            for (method, route, status), count in sorted(self._requests.items()):
                labels = _labels([("method", method), ("route", route), ("status", status)])
                lines.append(f"skyfence_http_requests_total{labels} {count:g}")
            lines += [
                "# HELP skyfence_http_request_duration_seconds HTTP request latency by method and route template.",
                "# TYPE skyfence_http_request_duration_seconds histogram",
            ]
            for (method, route), hist in sorted(self._latency.items()):
                base = [("method", method), ("route", route)]
                for bound, count in zip(LATENCY_BUCKETS_S, hist, strict=False):
                    labels = _labels([*base, ("le", repr(bound))])
                    lines.append(f"skyfence_http_request_duration_seconds_bucket{labels} {count:g}")
                lines.append(
                    f"skyfence_http_request_duration_seconds_bucket{_labels([*base, ('le', '+Inf')])} {hist[-2]:g}"
                )
                lines.append(f"skyfence_http_request_duration_seconds_count{_labels(base)} {hist[-2]:g}")
                lines.append(f"skyfence_http_request_duration_seconds_sum{_labels(base)} {hist[-1]:.6f}")
            names = sorted({name for name, _ in self._counters})
            for name in names:
                lines.append(f"# HELP {name} {self._help.get(name, name)}")
                lines.append(f"# TYPE {name} counter")
                for (series, pairs), value in sorted(self._counters.items()):
                    if series == name:
                        lines.append(f"{name}{_labels(pairs)} {value:g}")
        return "\n".join(lines) + "\n"
