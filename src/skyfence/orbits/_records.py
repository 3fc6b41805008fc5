"""Shared machinery of the element readers and writers (:mod:`~skyfence.orbits.tle`, :mod:`~skyfence.orbits.omm`).

Bad records are collected (or raised) by ``_Collector``; format names and file extensions are resolved by
``_format_arg`` and ``_format_from_name``; writers go through ``_write_atomic``.
"""

from __future__ import annotations

import gzip
import io
import math
import os
import re
from collections.abc import Iterator
from pathlib import Path

from sgp4.api import SGP4_ERRORS, Satrec

from skyfence._io import atomic_path
from skyfence.errors import ElementsError, InputError
from skyfence.orbits.constellation import Constellation, SkippedRecord

_FORMATS = ("tle", "omm-csv", "omm-json", "omm-xml")
_FORMAT_ALIASES = {"csv": "omm-csv", "json": "omm-json", "xml": "omm-xml", "3le": "tle", "2le": "tle"}
_EXTENSIONS = {
    ".tle": "tle",
    ".txt": "tle",
    ".3le": "tle",
    ".2le": "tle",
    ".csv": "omm-csv",
    ".json": "omm-json",
    ".xml": "omm-xml",
}


#: Largest catalog number a TLE can hold (Alpha-5 ``Z9999``) and an OMM ``NORAD_CAT_ID`` can hold (9 digits).
MAX_TLE_CATALOG_NUMBER = 339_999
MAX_OMM_CATALOG_NUMBER = 999_999_999


_INTL_TLE = re.compile(r"^(\d{2})(\d{3})([A-Z]{1,3})$")
_INTL_COSPAR = re.compile(r"^(\d{4})-(\d{3})([A-Z]{1,3})$")


class _Bad(Exception):
    """A problem with one record, before its location in the file is attached."""

    def __init__(self, field: str | None, message: str, hint: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.hint = hint
        self.line = line


class _Collector:
    """Satrecs and metadata of the good records; the bad ones raised or recorded as skipped."""

    def __init__(self, source: str, skip_invalid: bool) -> None:
        self.source = source
        self.skip_invalid = skip_invalid
        self.satrecs: list[Satrec] = []
        self.norad_ids: list[int] = []
        self.names: list[str] = []
        self.intl: list[str] = []
        self.skipped: list[SkippedRecord] = []

    def add(self, satrec: Satrec, norad_id: int, name: str, intl: str) -> None:
        self.satrecs.append(satrec)
        self.norad_ids.append(norad_id)
        self.names.append(name)
        self.intl.append(intl)

    def bad(self, bad: _Bad, *, line: int | None = None, record: int | None = None) -> None:
        line = bad.line if bad.line is not None else line
        error = ElementsError(bad.message, source=self.source, line=line, record=record, field=bad.field, hint=bad.hint)
        if not self.skip_invalid:
            raise error
        if record is not None:
            location = f"record {record}" + (f" (line {line})" if line is not None else "")
        else:
            location = f"line {line}" if line is not None else "?"
        self.skipped.append(SkippedRecord(self.source, location, bad.field, bad.message))

    def build(self, name: str, what: str) -> Constellation:
        if not self.satrecs:
            if self.skipped:
                first = self.skipped[0]
                raise ElementsError(
                    f"no valid {what} records: all {len(self.skipped)} were invalid, first at {first.location}: "
                    f"{first.reason}",
                    source=self.source,
                    field=first.field,
                    hint="fix the records or check that this is the right file",
                )
            raise ElementsError(
                f"no {what} records found",
                source=self.source,
                hint="the file is empty or holds no TLE or OMM (JSON, CSV, XML) records; check that it is the "
                "right file",
            )
        return Constellation.from_satrecs(
            name,
            self.satrecs,
            norad_ids=self.norad_ids,
            names=self.names,
            intl_designators=self.intl,
            source=self.source,
            skipped=self.skipped,
        )


def _sgp4_check(satrec: Satrec) -> None:
    if satrec.error:
        message = SGP4_ERRORS.get(satrec.error, f"error code {satrec.error}")
        raise _Bad("sgp4", f"SGP4 rejects this element set at epoch: {message}", "the element set is not usable")


def _in_range(value: float, lo: float, hi: float, field: str, what: str, unit: str, hi_open: bool = False) -> None:
    ok = lo <= value < hi if hi_open else lo <= value <= hi
    if not ok:  # also catches NaN
        bracket = ")" if hi_open else "]"
        raise _Bad(
            field,
            f"{what} {value:g}{unit} is outside [{lo:g}, {hi:g}{bracket}",
            "the value is not physical; check the column alignment or get a fresh element set",
        )


def _default_name(source: str) -> str:
    """``starlink_20260818`` for ``/x/starlink_20260818.csv.gz``; ``elements`` for ``<string>``."""
    if not source or source.startswith("<"):
        return "elements"
    base = Path(source).name
    if base.lower().endswith(".gz"):
        base = base[:-3]
    stem, ext = os.path.splitext(base)
    return stem if ext.lower() in _EXTENSIONS and stem else base


def _cospar_from_tle(raw: str) -> str:
    """``"98067A"`` -> ``"1998-067A"`` (years 57-99 are 19xx, others 20xx); other text is returned stripped."""
    raw = raw.strip()
    match = _INTL_TLE.match(raw)
    if not match:
        return raw
    yy = int(match.group(1))
    return f"{1900 + yy if yy >= 57 else 2000 + yy}-{match.group(2)}{match.group(3)}"


def _tle_from_cospar(designator: str) -> str:
    """``"1998-067A"`` -> ``"98067A"``; short designators already in TLE style pass through; others -> ``""``."""
    designator = (designator or "").strip()
    match = _INTL_COSPAR.match(designator)
    if match:
        return f"{match.group(1)[2:]}{match.group(2)}{match.group(3)}"
    return designator if len(designator) <= 8 and designator.isascii() and designator.isalnum() else ""


def _format_arg(format: str | None) -> str | None:
    if format is None:
        return None
    key = format.strip().lower()
    key = _FORMAT_ALIASES.get(key, key)
    if key not in _FORMATS:
        raise InputError(
            f"unknown element format {format!r}",
            field="format",
            hint=f"use one of {', '.join(_FORMATS)} or None to detect it",
        )
    return key


def _format_from_name(path: Path) -> str | None:
    base = path.name.lower()
    if base.endswith(".gz"):
        base = base[:-3]
    return _EXTENSIONS.get(os.path.splitext(base)[1])


def _write_atomic(path: str | os.PathLike[str], payload: str) -> Path:
    """Write ``payload`` (UTF-8; gzipped when the name ends in ``.gz``) to ``path`` atomically."""
    target = Path(path)
    data = payload.encode("utf-8")
    if target.name.lower().endswith(".gz"):
        buffer = io.BytesIO()
        with gzip.GzipFile(filename=target.name[:-3], mode="wb", fileobj=buffer, mtime=0) as gz:
            gz.write(data)
        data = buffer.getvalue()
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return target


def _rows(constellation: Constellation) -> Iterator[tuple[Satrec, int, str, str]]:
    table = constellation.satellites
    yield from zip(
        constellation.satrecs,
        (int(x) for x in table["norad_id"]),
        ("" if n is None or (isinstance(n, float) and math.isnan(n)) else str(n) for n in table["name"]),
        ("" if d is None or (isinstance(d, float) and math.isnan(d)) else str(d) for d in table["intl_designator"]),
        strict=True,
    )


def clip(text: str, limit: int = 60) -> str:
    """``text`` as an error message may echo it: at most ``limit`` characters, control characters shown as ``?``."""
    shown = "".join(c if c.isprintable() else "?" for c in text[:limit])
    return shown + ("…" if len(text) > limit else "")
