"""ASGI middleware: body size limit (413), content type (415), a queue for large bodies, and request metrics.

Large bodies (above ``large_body_bytes``, or chunked) queue for one of ``large_in_flight`` slots before they are
read: a flood of 10,000-fix batches then waits its turn instead of crowding out small posts in the event loop and
the thread pool, and the memory held by bodies in flight stays bounded (see :mod:`skyfence.service.core.budget`).

Pure ASGI (no ``BaseHTTPMiddleware``) so request bodies stream through untouched and nothing is buffered twice.
"""

from __future__ import annotations

import asyncio
import email.message
import re
import time
from collections.abc import Iterable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from skyfence.service.core.metrics import Metrics
from skyfence.service.core.problems import ProblemError, problem_response, quoted

__all__ = ["GuardMiddleware", "MetricsMiddleware"]

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def _has_nul(scope: Scope) -> bool:
    """A NUL in the path or query (PostgreSQL cannot store or compare text with NUL characters)."""
    query = scope.get("query_string", b"").lower()
    return "\x00" in scope["path"] or b"%00" in query or b"\x00" in query


def _is_json(content_type: str) -> bool:
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (subtype == "json" or subtype.endswith("+json"))


def _is_csv(content_type: str) -> bool:
    return content_type.split(";", 1)[0].strip().lower() == "text/csv"


def _is_form(content_type: str) -> bool:
    return content_type.split(";", 1)[0].strip().lower() == "application/x-www-form-urlencoded"


def _smaller(path: str) -> str:
    """How to send less to ``path``."""
    if "/telemetry/" in path:
        return "send fewer fixes per batch"
    if "/whitelists/" in path:
        return "send fewer terminals a request: split the list over several requests"
    if path.startswith(("/api/v1/policies", "/api/v1/map/policy-diff")):
        return "keep big zones in files under the server's policy directory and include them"
    return "send a smaller body"


class PayloadTooLarge(ProblemError):
    def __init__(self, limit: int, path: str = "") -> None:
        super().__init__(
            413,
            f"the request body exceeds {limit} bytes ({_smaller(path)})",
            kind="payload-too-large",
        )


class GuardMiddleware:
    """Refuse bodies over ``max_body_bytes`` (413), bodies that are not JSON (or form data on ``form_paths``; JSON or
    CSV on paths matching ``csv_paths``) (415) and NUL characters in API URLs (400)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        form_paths: Iterable[str] = (),
        csv_paths: str | None = None,
        large_body_bytes: int | None = None,
        large_in_flight: int = 2,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.form_paths = frozenset(form_paths)
        self.csv_paths = re.compile(csv_paths) if csv_paths else None
        self.large_body_bytes = large_body_bytes
        self.large_in_flight = large_in_flight
        self._large_gate: asyncio.Semaphore | None = None  # made in the server's event loop, on first use

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"].startswith("/api/") and _has_nul(scope):
            await self._reply(scope, send, 400, "NUL characters are not allowed in the URL", "bad-request")
            return
        if scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        length_text = _header(scope, b"content-length")
        chunked = (_header(scope, b"transfer-encoding") or "").lower() == "chunked"
        try:
            length = int(length_text) if length_text is not None else None
        except ValueError:
            length = None
        if length_text is not None and (length is None or length < 0):
            await self._reply(scope, send, 400, "the Content-Length header is not a number", "bad-request")
            return
        if length is not None and length > self.max_body_bytes:
            too_large = PayloadTooLarge(self.max_body_bytes, scope["path"])
            await self._reply(scope, send, 413, too_large.detail, "payload-too-large")
            return
        has_body = chunked or (length or 0) > 0
        if has_body:
            content_type = _header(scope, b"content-type") or ""
            wants_form = scope["path"] in self.form_paths
            takes_csv = self.csv_paths is not None and self.csv_paths.fullmatch(scope["path"]) is not None
            if takes_csv and _is_csv(content_type):
                pass
            elif not (_is_form(content_type) if wants_form else _is_json(content_type)):
                if wants_form:
                    expected = "application/x-www-form-urlencoded"
                else:
                    expected = "application/json or text/csv" if takes_csv else "application/json"
                shown = quoted(content_type) if content_type else "none"
                await self._reply(
                    scope,
                    send,
                    415,
                    f"Content-Type {shown} is not accepted here (accepted: {expected})",
                    "unsupported-media-type",
                )
                return
        seen = 0
        limit = self.max_body_bytes

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise PayloadTooLarge(limit, scope["path"])
            return message

        large = self.large_body_bytes is not None and (chunked or (length or 0) > self.large_body_bytes)
        if not large:
            await self.app(scope, limited_receive, send)
            return
        if self._large_gate is None:
            self._large_gate = asyncio.Semaphore(self.large_in_flight)
        async with self._large_gate:  # big bodies wait here, unread; small requests never do
            await self.app(scope, limited_receive, send)

    @staticmethod
    async def _reply(scope: Scope, send: Send, status: int, detail: str, kind: str) -> None:
        from starlette.requests import Request

        response = problem_response(Request(scope), status, detail, kind=kind)
        await response(scope, _drain_receive, send)


async def _drain_receive() -> Message:  # the response never reads the body
    return {"type": "http.disconnect"}


def _route_template(scope: Scope) -> str:
    """``/api/v1/terminals/{terminal_id}`` for ``/api/v1/terminals/7``; ``<unmatched>`` when no route matched.

    Routers may report their template without the prefix they were included under, so the prefix is taken from
    the request path (every path parameter here is one segment, so the segment counts line up).
    """
    route: Any = scope.get("route")
    template = getattr(route, "path", None)
    if not template:
        return "<unmatched>"
    actual = scope["path"].strip("/").split("/")
    tail = template.strip("/").split("/")
    if len(tail) > len(actual):
        return template
    return "/" + "/".join(actual[: len(actual) - len(tail)] + tail)


class MetricsMiddleware:
    """Count requests and time them, labelled by route template."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def observed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        finally:
            template = _route_template(scope)
            self.metrics.observe_request(scope["method"], template, status, time.perf_counter() - started)
