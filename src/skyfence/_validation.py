"""The one translator from a pydantic ``ValidationError`` to a one-line problem: the key path as a user writes it
(``rules[3].zone``), what is wrong, and a hint.  Policies, scenarios, service settings, CLI options and the API's
problem details all use it.

>>> from pydantic import BaseModel, ConfigDict, Field, ValidationError
>>> class Step(BaseModel):
...     model_config = ConfigDict(extra="forbid")
...     seconds: int = Field(ge=0)
>>> try:
...     Step.model_validate({"seconds": -1, "unit": "s"})
... except ValidationError as error:
...     print(first_problem(error))
seconds: Input should be greater than or equal to 0 (got -1) (also: unit: unknown key 'unit')
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from skyfence.errors import SkyfenceError

__all__ = ["Problem", "describe", "first_problem", "key_path", "loads_toml", "problems", "quoted", "read_toml"]

#: A caller's own wording for some errors: pydantic's error dict → (message, hint), or None for the default.
Custom = Callable[[Mapping[str, Any], tuple], "tuple[str, str | None] | None"]

_SCALARS = (str, int, float, bool, type(None))


@dataclass(frozen=True)
class Problem:
    """One validation problem: ``field`` (key path, "" at the top level), ``message`` and an optional ``hint``."""

    field: str
    message: str
    hint: str | None = None

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


def quoted(value: str, limit: int = 80) -> str:
    """A user's value for a message: in single quotes, at most ``limit`` characters, control characters as ``?`` --
    and no Python escaping, so a backslash stays one backslash (``repr`` doubled it, and JSON doubled that again).

    >>> print(quoted("zones/Taiwan's coast.geojson"))
    'zones/Taiwan's coast.geojson'
    """
    shown = "".join(c if c.isprintable() else "?" for c in value[:limit])
    return f"'{shown}{'…' if len(value) > limit else ''}'"


def key_path(loc: Iterable[object]) -> str:
    """``('rules', 3, 'zone')`` -> ``rules[3].zone`` (pydantic's ``loc`` as a user writes it).

    >>> key_path(("body", "fixes", 3, "lat_deg"))
    'body.fixes[3].lat_deg'
    """
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _real_loc(loc: Sequence[Any], data: Any) -> tuple:
    """Drop the union tags and type names pydantic puts into ``loc``: keep the keys that exist in ``data``.

    A last element that is not in the input is kept: it is the missing or unknown key itself.
    """
    kept = []
    current: Any = data
    for position, part in enumerate(loc):
        if isinstance(current, dict) and part in current:
            kept.append(part)
            current = current[part]
        elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            kept.append(part)
            current = current[part]
        elif position == len(loc) - 1 and isinstance(current, dict) and isinstance(part, str):
            kept.append(part)
    return tuple(kept)


def describe(
    error: Mapping[str, Any], *, data: Any = None, custom: Custom | None = None, echo_input: bool = True
) -> Problem:
    """One pydantic error dict (an item of ``ValidationError.errors()``) as a :class:`Problem`.

    ``data`` (the validated input) lets the key path skip pydantic's union tags; ``custom`` rewords some errors;
    ``echo_input=False`` never repeats the offending value (secrets, request bodies).
    """
    loc = tuple(error.get("loc", ()))
    if data is not None:
        loc = _real_loc(loc, data)
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    value = error.get("input")
    hint = None
    worded = custom(error, loc) if custom is not None else None
    if worded is not None:
        message, hint = worded
    elif kind == "extra_forbidden":
        message = f"unknown key {str(loc[-1]) if loc else '?'!r}"
    elif kind == "missing":
        message = "required key is missing"
    elif kind == "literal_error" and echo_input:
        message = f"{value!r} is not allowed; allowed values: {ctx.get('expected', '')}"
    elif kind == "union_tag_invalid":
        message = f"unknown {ctx.get('discriminator', 'tag')} {ctx.get('tag')!r}; allowed: {ctx.get('expected_tags')}"
    elif kind == "json_invalid":
        message = f"invalid JSON: {ctx.get('error', 'cannot parse')}"
    elif kind == "value_error" and getattr(ctx.get("error"), "message", None) is not None:
        # a skyfence error raised inside a validator: its own field continues the key path (``time.duration``)
        inner = ctx["error"]
        message, hint = inner.message, inner.hint
        where, named = key_path(loc), inner.field or ""
        if named and not named.startswith("-") and named not in (where, where.rsplit(".", 1)[-1]):
            loc = tuple(named.split(".")) if named.startswith(f"{where}.") else (*loc, named)
    elif kind in ("value_error", "assertion_error"):
        message = str(error.get("msg", "invalid value"))
        message = message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    else:
        message = str(error.get("msg", "invalid value"))
        if echo_input and isinstance(value, _SCALARS) and len(repr(value)) <= 80:
            message += f" (got {value!r})"
    return Problem(key_path(loc), message, hint)


def problems(error: Any, **options: Any) -> list[Problem]:
    """Every problem of a ``ValidationError`` (or of a list of its error dicts); options as :func:`describe`."""
    items = error.errors() if hasattr(error, "errors") else list(error)
    return [describe(item, **options) for item in items]


def first_problem(error: Any, *, shown: int = 3, **options: Any) -> Problem:
    """The first problem, its message listing the next few (up to ``shown``) and counting the rest: the one line a
    user sees.  Options as :func:`describe`."""
    found = problems(error, **options)
    first = found[0]
    if len(found) > 1:
        listed = "; ".join(str(p) for p in found[1 : 1 + shown])
        rest = len(found) - 1 - shown
        more = f"; and {rest} more" if rest > 0 else ""
        return Problem(first.field, f"{first.message} (also: {listed}{more})", first.hint)
    return first


def read_toml(path: str | os.PathLike[str], *, what: str = "file", error: type[SkyfenceError] | None = None) -> dict:
    """Parse a UTF-8 TOML file.  Every way it can fail is one ``error`` (default :class:`InputError`) naming the
    file -- missing, a directory, not UTF-8, or a syntax error with its line -- never a traceback."""
    from skyfence.errors import InputError

    error = error or InputError
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{what} not found", source=source, hint="check the path") from None
    except IsADirectoryError:
        raise error(f"is a directory, not a {what}", source=source) from None
    except UnicodeDecodeError:
        raise error("not a UTF-8 text file", source=source, hint="TOML must be UTF-8") from None
    return loads_toml(text, source=source, error=error)


def loads_toml(text: str, *, source: str, error: type[SkyfenceError] | None = None) -> dict:
    """Parse TOML text; a syntax error is one ``error`` naming ``source`` and the line."""
    from skyfence.errors import InputError

    error = error or InputError
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        line = int(found.group(1)) if found else None
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc)) or "invalid TOML"
        raise error(f"invalid TOML: {message}", source=source, line=line) from None
    except RecursionError:
        raise error(
            "invalid TOML: nested too deeply",
            source=source,
            hint="arrays and tables may nest a few levels, not thousands",
        ) from None
