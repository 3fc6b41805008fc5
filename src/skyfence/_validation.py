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
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from skyfence.errors import SkyfenceError

__all__ = [
    "BIDI_CONTROLS",
    "FIX_ALT_M",
    "FIX_SPEED_KMH",
    "Problem",
    "bidi_problem",
    "describe",
    "first_problem",
    "key_path",
    "loads_toml",
    "problems",
    "quoted",
    "read_toml",
]

#: The altitude of a terminal's fix [m, height above the WGS-84 ellipsoid] that the policy engine (``skyfence policy
#: check --alt-m``, fix tables) and the control plane's API (``alt_m`` of ``POST /api/v1/telemetry``) accept, one
#: range for both (trial 2, #13).  From below the lowest place a dish can see the sky -- the Dead Sea shore, 430 m
#: below sea level, where the geoid lies above the ellipsoid; the geoid is nowhere more than 106 m below it (EGM2008)
#: -- to the Karman line, 100 km: above every aircraft and balloon (the balloon record is 53 km), so a drone or an
#: airliner's dish is decided (by the in-motion rules), while a value beyond is a spacecraft or garbage, refused.
FIX_ALT_M: Final = (-1_000.0, 100_000.0)
#: The ground speed of a fix [km/h] both accept: up to above the fastest crewed aircraft (the X-15, 7,274 km/h in
#: 1967), so any aircraft is decided; faster is a missile or a spacecraft, not a user terminal, and is refused.
FIX_SPEED_KMH: Final = (0.0, 10_000.0)

#: Unicode's bidirectional formatting characters: embeddings and overrides (U+202A-202E), isolates (U+2066-2069)
#: and the directional marks (U+200E, U+200F, U+061C).  In a stored name or a file's text they make it display as
#: other text ("test hole\u202egnp.exe" shows as "test holeexe.png"; Trojan Source, CVE-2021-42574), so no name,
#: reason or file the tools read may carry them (Unicode TR 9 does not need them in any text that is stored here).
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
_BIDI_RE = re.compile("[" + "".join(sorted(BIDI_CONTROLS)) + "]")

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


def bidi_problem(text: str) -> str | None:
    """Why ``text`` may not be stored or read (a bidirectional control character, named with where it is), or
    ``None``.

    >>> bidi_problem("test hole\u202egnp.exe").split(", which")[0]
    'contains the bidirectional control U+202E RIGHT-TO-LEFT OVERRIDE (character 10)'
    >>> bidi_problem("Kyiv") is None
    True
    """
    found = _BIDI_RE.search(text)
    if found is None:
        return None
    import unicodedata

    char = found.group()
    line = text.count("\n", 0, found.start()) + 1
    column = found.start() - (text.rfind("\n", 0, found.start()) + 1) + 1
    where = f"character {found.start() + 1}" if line == 1 else f"line {line}, column {column}"
    return (
        f"contains the bidirectional control U+{ord(char):04X} {unicodedata.name(char)} ({where}), which makes text "
        "display as other text; remove it"
    )


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
    bidi = bidi_problem(text)
    if bidi is not None:  # every name a file gives (policies, scenarios, jammers) is then free of them
        found_at = _BIDI_RE.search(text)
        raise error(
            f"the text {bidi}", source=source, line=text.count("\n", 0, found_at.start() if found_at else 0) + 1
        )
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
