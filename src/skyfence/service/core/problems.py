"""Errors as RFC 9457 problem details (``application/problem+json``).

Every error response carries ``type``, ``title``, ``status``, ``detail`` (one line naming what is wrong and the
fix) and ``instance`` (the request path); validation errors add ``errors``, one entry per offending field, named
like ``body.fixes[3].lat_deg``.  A body that is not JSON -- malformed, not UTF-8 or nested too deeply -- is a 422
``validation-error`` on field ``body`` on every route (:func:`invalid_json`), never the body itself; every JSON body is
read by :func:`parse_json`, which also refuses a key repeated in an object.  Bad input is
always 4xx: a request the service cannot parse, validate or store is the client's problem; 5xx means a bug or an
unavailable database.
"""

from __future__ import annotations

import json
import logging
import re
from http import HTTPStatus
from pathlib import Path
from typing import Any, Final

import jiter
from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from skyfence._validation import problems, quoted
from skyfence.errors import SkyfenceError

__all__ = [
    "PROBLEM_MEDIA_TYPE",
    "FieldProblem",
    "Problem",
    "ProblemError",
    "install_problem_handlers",
    "invalid_json",
    "parse_json",
    "problem_response",
    "problem_type",
    "quoted",
    "scrub_paths",
]

log = logging.getLogger("skyfence.service")

PROBLEM_MEDIA_TYPE: Final = "application/problem+json"
_TYPE_PREFIX: Final = "urn:skyfence:problem:"


class FieldProblem(BaseModel):
    """One invalid field: where (``body.fixes[3].lat_deg``, ``query.limit``) and what is wrong."""

    field: str
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem detail."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "urn:skyfence:problem:validation-error",
                    "title": "Request validation failed",
                    "status": 422,
                    "detail": "body.fixes[3].lat_deg: Input should be less than or equal to 90",
                    "instance": "/api/v1/telemetry/batches",
                    "errors": [
                        {"field": "body.fixes[3].lat_deg", "message": "Input should be less than or equal to 90"}
                    ],
                }
            ]
        }
    )

    type: str = Field(
        description="URN naming the kind of problem, `urn:skyfence:problem:<kind>` for every problem "
        "(e.g. `forbidden`, `not-found`, `validation-error`)."
    )
    title: str = Field(description="Short summary of the kind of problem.")
    status: int = Field(ge=400, le=599, description="The HTTP status code.")
    detail: str | None = Field(None, description="What went wrong with this request, and how to fix it.")
    instance: str | None = Field(None, description="The request path.")
    errors: list[FieldProblem] | None = Field(None, description="Invalid fields (validation errors only).")


class ProblemError(HTTPException):
    """Raise anywhere in a request to answer with a problem body."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        kind: str | None = None,
        title: str | None = None,
        headers: dict[str, str] | None = None,
        errors: list[FieldProblem] | None = None,
    ) -> None:
        super().__init__(status_code=status, detail=detail, headers=headers)
        self.kind = kind
        self.title = title or HTTPStatus(status).phrase
        self.errors = errors


_ABSOLUTE: Final = re.compile(r"(?<![\w.:/-])(?!/api/)(?:/[^\s/'\"(),;:]+){2,}/?")


def scrub_paths(text: str, *roots: Path | str | None) -> str:
    """``text`` without server paths: paths under ``roots`` become relative to them, any other absolute path (two
    components or more) becomes its last component.  Problem details pass through this.

    The working directory is deliberately not a root: a path the caller sent would come back relative to it, and
    comparing the two would tell the caller where the server runs (trial report #10)."""
    for root in roots:
        if root is None:
            continue
        prefix = str(Path(root).resolve()) if Path(root).exists() else str(root)
        if len(prefix) > 1:
            text = text.replace(prefix + "/", "").replace(prefix, ".")
    return _ABSOLUTE.sub(lambda match: Path(match.group(0)).name or "/", text)


#: The kind of a problem raised without one, by status (plain HTTP errors: 403, 404, 405 from routing ...).
_KIND_OF_STATUS: Final = {
    400: "bad-request",
    401: "unauthorised",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "validation-error",
    429: "rate-limited",
    500: "internal-error",
    503: "unavailable",
}


def problem_type(status: int, kind: str | None = None) -> str:
    """``urn:skyfence:problem:<kind>``; without a kind, the kind of the status (one scheme for every problem)."""
    if not kind:
        kind = _KIND_OF_STATUS.get(status) or HTTPStatus(status).phrase.lower().replace(" ", "-").replace("'", "")
    return f"{_TYPE_PREFIX}{kind}"


def problem_response(
    request: Request | None,
    status: int,
    detail: str | None,
    *,
    kind: str | None = None,
    title: str | None = None,
    headers: dict[str, str] | None = None,
    errors: list[FieldProblem] | None = None,
) -> JSONResponse:
    """A ``application/problem+json`` response."""
    problem = Problem(
        type=problem_type(status, kind),
        title=title or HTTPStatus(status).phrase,
        status=status,
        detail=None if detail is None else scrub_paths(" ".join(str(detail).split())),
        instance=None if request is None else request.url.path,
        errors=errors,
    )
    return JSONResponse(
        problem.model_dump(mode="json", exclude_none=True),
        status_code=status,
        headers=headers,
        media_type=PROBLEM_MEDIA_TYPE,
    )


def invalid_json(reason: str) -> RequestValidationError:
    """The error of a body that is not JSON (``reason`` says why and how to fix it): a 422 ``validation-error`` on
    field ``body``, the answer FastAPI gives a malformed JSON body, so every way a body can fail to parse -- on any
    route, whoever parses it -- reads the same."""
    return RequestValidationError(
        [{"type": "json_invalid", "loc": ("body",), "msg": "JSON decode error", "input": {}, "ctx": {"error": reason}}]
    )


_REPEATED: Final = re.compile(
    r'Detected duplicate key "(?P<key>.*)" at line (?P<line>\d+) column (?P<column>\d+)', re.DOTALL
)


class _RepeatedKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """The standard library parser's ``object_pairs_hook``: the object, or :class:`_RepeatedKey`."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _RepeatedKey(key)
            seen.add(key)
    return obj


def _key_at(text: str, after_colon: int) -> tuple[int, str] | None:
    """Where the key whose value starts at ``after_colon`` (just after its ``:``) opens its quote, and the key;
    ``None`` if the text does not read so there."""
    i = after_colon - 1
    while i >= 0 and text[i] in " \t\r\n":
        i -= 1
    if i < 0 or text[i] != ":":
        return None
    i -= 1
    while i >= 0 and text[i] in " \t\r\n":
        i -= 1
    if i < 0 or text[i] != '"':
        return None
    for j in range(i - 1, -1, -1):
        if text[j] == '"':
            slashes = 0
            while j - slashes > 0 and text[j - slashes - 1] == "\\":
                slashes += 1
            if slashes % 2 == 0:
                try:
                    return j, json.loads(text[j : i + 1])
                except ValueError:
                    return None
    return None


def _repeated_key(text: str, found: re.Match[str] | None, key: str) -> json.JSONDecodeError:
    """The error of a key repeated in an object of ``text``: at the repeated key where jiter's ``found`` says
    (a line, and a column in UTF-8 bytes just after the key's ``:``), else where ``key`` is written the second
    time."""
    if found is not None:
        lines = text.split("\n")
        line = int(found["line"])
        if line <= len(lines):
            head = lines[line - 1].encode("utf-8", "surrogatepass")[: int(found["column"]) - 1]
            column = len(head.decode("utf-8", "replace"))
            located = _key_at(text, sum(len(lines[k]) + 1 for k in range(line - 1)) + column)
            if located is not None:
                position, key = located
                return json.JSONDecodeError(_repeated_message(key), text, position)
    written = json.dumps(key)
    first = text.find(written)
    position = max(0, text.find(written, first + 1) if first >= 0 else 0)
    return json.JSONDecodeError(_repeated_message(key), text, position)


def _repeated_message(key: str) -> str:
    return f"duplicate key {quoted(key)} in one object"


def parse_json(body: bytes) -> Any:
    """A JSON request body as Python values: the one parser of every route (FastAPI's body parameters through
    :class:`skyfence.service.api.common.JsonRoute`, and the routes that read their body themselves).

    A key repeated in an object is refused, as :class:`json.JSONDecodeError` naming the key and where it is written
    the second time: parsers disagree on which copy counts (the first or the last), so a gateway or logger in front
    of the service could read another fix than the one decided (trial 2, #8).  The fast path is jiter (pydantic's
    JSON parser, in Rust), which checks the keys as it parses; a body it refuses -- not UTF-8 (a BOM, UTF-16),
    nested too deeply, a lone surrogate, or not JSON -- goes to the standard library, which answers every such body
    as it always did (a line and a column, ``RecursionError``, ``UnicodeDecodeError``) and checks the keys too.
    """
    try:
        return jiter.from_json(body, catch_duplicate_keys=True)
    except ValueError as error:
        found = _REPEATED.fullmatch(str(error))
        if found is not None:  # the body is well-formed UTF-8 up to there
            raise _repeated_key(body.decode("utf-8", "replace"), found, found["key"]) from None
    try:
        return json.loads(body, object_pairs_hook=_unique_keys)
    except _RepeatedKey as repeated:
        text = body.decode(json.detect_encoding(body), "surrogatepass")
        try:
            jiter.from_json(text.encode("utf-8", "surrogatepass"), catch_duplicate_keys=True)
            found = None
        except ValueError as error:
            found = _REPEATED.fullmatch(str(error))
        raise _repeated_key(text, found, repeated.key) from None


def _unparsable(cause: BaseException | None) -> str | None:
    """Why a body FastAPI could not read as JSON failed (``None``: not a JSON parse failure)."""
    if isinstance(cause, RecursionError):
        return "nested too deeply (flatten it: a few levels of arrays and objects are enough)"
    if isinstance(cause, UnicodeDecodeError):
        return f"not UTF-8 text (byte {cause.start}; send the body encoded as UTF-8)"
    if isinstance(cause, ValueError):
        return "cannot be parsed (send one well-formed JSON document)"
    return None


def _json_positions(error: RequestValidationError) -> RequestValidationError:
    """FastAPI's malformed-JSON error puts the character offset into ``loc`` (``body[12]``, read as an array index):
    name the field ``body`` and say the line and column instead."""
    errors = list(error.errors())
    if not any(e.get("type") == "json_invalid" and len(e.get("loc", ())) > 1 for e in errors):
        return error
    document = error.body if isinstance(error.body, str) else ""
    fixed = []
    for e in errors:
        loc = tuple(e.get("loc", ()))
        if e.get("type") == "json_invalid" and len(loc) == 2 and isinstance(loc[1], int):
            position = loc[1]
            line = document.count("\n", 0, position) + 1
            column = position - document.rfind("\n", 0, position)
            reason = f"{(e.get('ctx') or {}).get('error', 'cannot parse')} at line {line}, column {column}"
            e = {**e, "loc": ("body",), "ctx": {"error": reason}}
        fixed.append(e)
    return RequestValidationError(fixed)


def _validation_problems(error: RequestValidationError) -> list[FieldProblem]:
    # request bodies may hold secrets (passwords, keys): never repeat an input value
    return [FieldProblem(field=p.field or "body", message=p.message) for p in problems(error, echo_input=False)]


def _is_json_request(request: Request) -> bool:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return kind in ("", "application/json") or (kind.startswith("application/") and kind.endswith("+json"))


def install_problem_handlers(app: FastAPI) -> None:
    """Route every error through :func:`problem_response`."""

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if isinstance(exc, ProblemError):
            return problem_response(
                request,
                exc.status_code,
                exc.detail,
                kind=exc.kind,
                title=exc.title,
                headers=dict(exc.headers) if exc.headers else None,
                errors=exc.errors,
            )
        reason = _unparsable(exc.__cause__) if exc.status_code == 400 and _is_json_request(request) else None
        if reason is not None:  # FastAPI's own "error parsing the body" (a 400): the same 422 as malformed JSON
            return await _invalid(request, invalid_json(reason))
        detail = exc.detail if isinstance(exc.detail, str) else None
        headers = getattr(exc, "headers", None)
        return problem_response(request, exc.status_code, detail, headers=dict(headers) if headers else None)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = _validation_problems(_json_positions(exc))
        first = f"{problems[0].field}: {problems[0].message}" if problems else "the request is invalid"
        more = f" (and {len(problems) - 1} more problem(s), see errors)" if len(problems) > 1 else ""
        return problem_response(
            request, 422, first + more, kind="validation-error", title="Request validation failed", errors=problems
        )

    @app.exception_handler(SkyfenceError)
    async def _skyfence(request: Request, exc: SkyfenceError) -> JSONResponse:
        errors = [FieldProblem(field=exc.field, message=scrub_paths(exc.message))] if exc.field else None
        if len(exc.problems) > 1:  # every problem, not only the first (the detail says how many more there are)
            errors = [
                FieldProblem(
                    field=p.field or "body", message=scrub_paths(p.message + (f" ({p.hint})" if p.hint else ""))
                )
                for p in exc.problems
            ]
        return problem_response(request, 422, str(exc), kind="invalid-input", title="Invalid input", errors=errors)

    @app.exception_handler(IntegrityError)
    async def _conflict(request: Request, exc: IntegrityError) -> JSONResponse:
        log.info("integrity error on %s: %s", request.url.path, exc.orig)
        return problem_response(
            request, 409, "the change conflicts with stored data (a duplicate or a row still in use)", kind="conflict"
        )

    @app.exception_handler(OperationalError)
    async def _busy(request: Request, exc: OperationalError) -> JSONResponse:
        log.warning("database unavailable on %s: %s", request.url.path, exc.orig)
        return problem_response(
            request,
            503,
            "the database is busy or unreachable; retry after a moment",
            kind="database-unavailable",
            headers={"Retry-After": "1"},
        )

    @app.exception_handler(PoolTimeoutError)
    async def _pool(request: Request, exc: PoolTimeoutError) -> JSONResponse:
        return problem_response(
            request,
            503,
            "the server is saturated; retry after a moment",
            kind="database-unavailable",
            headers={"Retry-After": "1"},
        )

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(request, 500, "internal error (a bug: please report it with the request)")
