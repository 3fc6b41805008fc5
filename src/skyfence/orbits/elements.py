"""Read and write orbital element sets: TLE (two/three-line) and OMM (CSV, JSON, XML).

Every reader returns a :class:`~skyfence.orbits.constellation.Constellation`
whose ``satrecs`` are built exactly the way the reference code builds them, so
positions are bit-identical to what other tools compute from the same file:

* **TLE** lines are validated here (so an error names the line and the field),
  then parsed by ``sgp4.api.Satrec.twoline2rv`` -- the call
  ``skyfield.api.EarthSatellite`` makes.
* **OMM** records are converted with the unit conversions and the WGS-72
  constants of ``sgp4.omm.initialize`` and passed to ``Satrec.sgp4init``.

Formats
-------
TLE
    NORAD two-line element sets, optionally preceded by a name line (plain or
    ``"0 NAME"``), as distributed by CelesTrak and Space-Track.  Columns,
    implied decimal points and the modulo-10 checksum follow the Space-Track
    "Basic Description of the Two Line Element Set Format" and Vallado, Crawford,
    Hujsak & Kelso, "Revisiting Spacetrack Report #3", AIAA 2006-6753 (2006).
    Catalog numbers above 99999 use the Alpha-5 scheme (``A0000`` = 100000 ...
    ``Z9999`` = 339999; letters I and O are not used).
OMM
    CCSDS Orbit Mean-Elements Message (CCSDS 502.0-B-3, "Orbit Data Messages")
    with SGP4 mean elements, in the three encodings CelesTrak serves (T.S. Kelso,
    "A New Way to Obtain GP Data (aka TLEs)", celestrak.org, 2020): CSV with a
    header row, JSON (a list of objects) and XML (``ndm/omm/body/segment``).
    Units: ``EPOCH`` UTC ISO 8601; ``MEAN_MOTION`` [rev/day]; angles [deg];
    ``ECCENTRICITY`` [-]; ``BSTAR`` [1/earth radii]; ``MEAN_MOTION_DOT``
    [rev/day^2] (already divided by 2, as in the TLE); ``MEAN_MOTION_DDOT``
    [rev/day^3] (already divided by 6).  ``NORAD_CAT_ID`` may have up to nine
    digits; SGP4 itself only stores numbers up to 339999, so larger ones are
    initialised with satellite number 0 and kept in ``satellites["norad_id"]``.

Errors are :class:`~skyfence.errors.ElementsError` with ``source`` (the file),
``line`` (1-based line in the file) or ``record`` (1-based record: CSV data
row, JSON object, XML segment; CSV and XML errors carry the file line too),
``field`` and a ``hint``.  With ``skip_invalid=True`` bad records are left out
and listed in :attr:`Constellation.skipped` instead.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from xml.parsers import expat
from xml.sax.saxutils import escape as _xml_escape

from sgp4.api import SGP4_ERRORS, WGS72, Satrec
from sgp4.exporter import export_tle

from skyfence._io import atomic_path
from skyfence.errors import ElementsError, InputError
from skyfence.orbits.constellation import Constellation, SkippedRecord

__all__ = [
    "OMM_FIELDS",
    "read_elements",
    "read_omm_records",
    "read_tle_text",
    "write_omm",
    "write_tle",
]

#: CelesTrak OMM column names, in CelesTrak's CSV order (what :func:`write_omm` writes).
OMM_FIELDS: tuple[str, ...] = (
    "OBJECT_NAME",
    "OBJECT_ID",
    "EPOCH",
    "MEAN_MOTION",
    "ECCENTRICITY",
    "INCLINATION",
    "RA_OF_ASC_NODE",
    "ARG_OF_PERICENTER",
    "MEAN_ANOMALY",
    "EPHEMERIS_TYPE",
    "CLASSIFICATION_TYPE",
    "NORAD_CAT_ID",
    "ELEMENT_SET_NO",
    "REV_AT_EPOCH",
    "BSTAR",
    "MEAN_MOTION_DOT",
    "MEAN_MOTION_DDOT",
)

#: OMM fields without which no SGP4 element set can be built.  The others
#: default to: names ``""``, ``CLASSIFICATION_TYPE`` ``"U"``, the integers and
#: the mean-motion derivatives (unused by SGP4 propagation) ``0``.
OMM_REQUIRED: tuple[str, ...] = (
    "EPOCH",
    "MEAN_MOTION",
    "ECCENTRICITY",
    "INCLINATION",
    "RA_OF_ASC_NODE",
    "ARG_OF_PERICENTER",
    "MEAN_ANOMALY",
    "NORAD_CAT_ID",
    "BSTAR",
)

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

# Constants of sgp4.omm.initialize, spelled the same way so the floats are identical.
_EPOCH0 = datetime(1949, 12, 31)
_TO_RADIANS = math.pi / 180.0
_NDOT_UNITS = 1036800.0 / math.pi  # rev/day^2 per rad/min^2
_NDDOT_UNITS = 2985984000.0 / 2.0 / math.pi  # rev/day^3 per rad/min^3
_XPDOTP = 1440.0 / (2.0 * math.pi)  # rev/day per rad/min (sgp4.exporter)
_JD_EPOCH0 = 2433281.5  # Julian date of 1949-12-31T00:00 UTC, sgp4init's epoch origin

_ALPHA5_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # 10 .. 33; I and O are not used
_INTL_TLE = re.compile(r"^(\d{2})(\d{3})([A-Z]{1,3})$")
_INTL_COSPAR = re.compile(r"^(\d{4})-(\d{3})([A-Z]{1,3})$")
_OMM_EPOCH = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?Z?$")


# --------------------------------------------------------------------------------------------------------------------
# Shared machinery


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
                hint="the file is empty or not in this format; pass format= if the detection guessed wrong",
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


# --------------------------------------------------------------------------------------------------------------------
# TLE


def _checksum(line: str) -> int:
    """Modulo-10 TLE checksum of columns 1-68: digits count their value, ``-`` counts 1, all else 0."""
    total = 0
    for c in line[:68]:
        if "0" <= c <= "9":
            total += ord(c) - 48
        elif c == "-":
            total += 1
    return total % 10


def _catalog_number(text: str) -> int:
    """Decode a 5-column catalog number, Alpha-5 included; ``ValueError`` if malformed."""
    first = text[:1]
    if first in _ALPHA5_LETTERS and first:
        tail = text[1:]
        if len(tail) != 4 or not tail.isdigit():
            raise ValueError(text)
        return (10 + _ALPHA5_LETTERS.index(first)) * 10000 + int(tail)
    stripped = text.strip()
    if not stripped.isdigit() or not stripped.isascii():
        raise ValueError(text)
    return int(stripped)


def _to_alpha5(number: int) -> str:
    if number < 100000:
        return f"{number:05d}"
    head, tail = divmod(number, 10000)
    return f"{_ALPHA5_LETTERS[head - 10]}{tail:04d}"


def _implied_exponent(field: str) -> float:
    """``" 15232-4"`` -> 0.15232e-4 (sign, 5 mantissa digits with an implied leading point, signed exponent)."""
    sign, mantissa, exp_sign, exp_digit = field[0], field[1:6], field[6], field[7]
    mantissa = mantissa.replace(" ", "0")
    if sign not in " +-" or exp_sign not in " +-" or not mantissa.isdigit() or not exp_digit.isdigit():
        raise ValueError(field)
    value = int(mantissa) * 10.0 ** ((-int(exp_digit) if exp_sign == "-" else int(exp_digit)) - 5)
    return -value if sign == "-" else value


def _number(text: str, field: str, what: str, hint: str) -> float:
    try:
        if "_" in text:  # float() accepts "1_0"; element files do not
            raise ValueError(text)
        value = float(text)
    except ValueError:
        raise _Bad(field, f"{what} {text.strip()!r} is not a number", hint) from None
    return value


def _in_range(value: float, lo: float, hi: float, field: str, what: str, unit: str, hi_open: bool = False) -> None:
    ok = lo <= value < hi if hi_open else lo <= value <= hi
    if not ok:  # also catches NaN
        bracket = ")" if hi_open else "]"
        raise _Bad(
            field,
            f"{what} {value:g}{unit} is outside [{lo:g}, {hi:g}{bracket}",
            "the value is not physical; check the column alignment or get a fresh element set",
        )


_SEPARATORS_1 = (1, 8, 17, 32, 43, 52, 61, 63)
_SEPARATORS_2 = (1, 7, 16, 25, 33, 42, 51)
_COLUMN_HINT = "TLE fields sit in fixed columns; check for a missing or extra character"


def _check_common(line: str, number: str, lineno: int) -> None:
    """Length, line number and checksum of one TLE data line."""
    if len(line) != 69:
        raise _Bad(
            "length",
            f"line {number} has {len(line)} characters, expected 69",
            "a TLE line is exactly 69 characters, the last one the checksum",
            lineno,
        )
    if not line.isascii():
        raise _Bad("characters", f"line {number} contains non-ASCII characters", "TLE lines are plain ASCII", lineno)
    if line[0] != number:
        raise _Bad("line_number", f"line starts with {line[0]!r}, expected {number!r}", None, lineno)
    last = line[68]
    if not last.isdigit():
        raise _Bad("checksum", f"checksum character {last!r} is not a digit", None, lineno)
    expected = _checksum(line)
    if int(last) != expected:
        raise _Bad(
            "checksum",
            f"checksum is {last} but columns 1-68 sum to {expected} (mod 10)",
            "the line was altered or truncated; get a fresh copy of the element set",
            lineno,
        )


def _validate_tle(line1: str, line2: str, l1: int, l2: int) -> tuple[int, str]:
    """Check a TLE record column by column; return (catalog number, COSPAR designator).

    Raises :class:`_Bad` carrying the file line of the offending line.
    """
    _check_common(line1, "1", l1)
    _check_common(line2, "2", l2)
    for cols, line, lineno in ((_SEPARATORS_1, line1, l1), (_SEPARATORS_2, line2, l2)):
        for col in cols:
            if line[col] != " ":
                raise _Bad("columns", f"column {col + 1} should be blank but holds {line[col]!r}", _COLUMN_HINT, lineno)
    # ---- line 1
    try:
        catalog = _catalog_number(line1[2:7])
    except ValueError:
        raise _Bad(
            "catalog_number",
            f"catalog number {line1[2:7]!r} is neither 5 digits nor Alpha-5 (letter A-Z without I/O + 4 digits)",
            None,
            l1,
        ) from None
    classification = line1[7]
    if not (classification == " " or "A" <= classification <= "Z"):
        raise _Bad("classification", f"classification {classification!r} is not a letter (U, C or S)", None, l1)
    year, day = line1[18:20], line1[20:32]
    if not year.isdigit():
        raise _Bad("epoch", f"epoch year {year!r} is not two digits", None, l1)
    try:
        day_value = float(day)
    except ValueError:
        day_value = float("nan")
    if not 1.0 <= day_value < 367.0:
        raise _Bad(
            "epoch", f"epoch day-of-year {day.strip()!r} is not a number in [1, 367)", "format YYDDD.DDDDDDDD", l1
        )
    try:
        _number(line1[33:43], "mean_motion_dot", "first derivative of mean motion", "e.g. ' .00001234'")
    except _Bad as bad:
        bad.line = l1
        raise
    for field, start, stop, what in (
        ("mean_motion_ddot", 44, 52, "second derivative of mean motion"),
        ("bstar", 53, 61, "BSTAR drag term"),
    ):
        text = line1[start:stop]
        try:
            _implied_exponent(text)
        except ValueError:
            raise _Bad(
                field,
                f"{what} {text!r} is not in the form ' 12345-6' (sign, 5 digits with implied leading point, exponent)",
                None,
                l1,
            ) from None
    if not (line1[62] == " " or line1[62].isdigit()):
        raise _Bad("ephemeris_type", f"ephemeris type {line1[62]!r} is not a digit", None, l1)
    if line1[64:68].strip() and not line1[64:68].strip().isdigit():
        raise _Bad("element_set_number", f"element set number {line1[64:68]!r} is not a number", None, l1)
    # ---- line 2
    if line2[2:7] != line1[2:7]:
        raise _Bad(
            "catalog_number",
            f"catalog number {line2[2:7]!r} on line 2 does not match {line1[2:7]!r} on line 1",
            "lines 1 and 2 of different satellites were mixed up",
            l2,
        )
    try:
        for field, start, stop, what, hi in (
            ("inclination", 8, 16, "inclination", 180.0),
            ("raan", 17, 25, "right ascension of the ascending node", 360.0),
            ("arg_perigee", 34, 42, "argument of perigee", 360.0),
            ("mean_anomaly", 43, 51, "mean anomaly", 360.0),
        ):
            value = _number(line2[start:stop], field, what, "angles are decimal degrees, e.g. ' 53.0533'")
            _in_range(value, 0.0, hi, field, what, " deg")
        ecc = line2[26:33]
        if not ecc.replace(" ", "0").isdigit():
            raise _Bad(
                "eccentricity",
                f"eccentricity {ecc!r} is not 7 digits",
                "the eccentricity is written without '0.', e.g. '0001564' for 0.0001564",
            )
        mean_motion = _number(line2[52:63], "mean_motion", "mean motion", "revolutions per day, e.g. '15.06390214'")
        if not (mean_motion > 0.0 and math.isfinite(mean_motion)):
            raise _Bad("mean_motion", f"mean motion {mean_motion:g} rev/day is not positive", None)
        revs = line2[63:68].strip()
        if revs and not revs.isdigit():
            raise _Bad("rev_number", f"revolution number {line2[63:68]!r} is not a number", None)
    except _Bad as bad:
        bad.line = l2
        raise
    return catalog, _cospar_from_tle(line1[9:17])


_L1, _L2, _DATA, _NAME = 1, 2, 3, 4


def _line_kind(text: str) -> int:
    first = text[0]
    second = text[1:2]
    if second in ("", " "):
        if first == "1":
            return _L1
        if first == "2":
            return _L2
        if first.isdigit() and len(text) >= 60:
            return _DATA  # a data line with a wrong line number
    return _NAME


def _split_lines(text: str) -> list[str]:
    if "\n" not in text and "\r" in text:  # classic Mac line ends
        return text.split("\r")
    return text.split("\n")


def read_tle_text(
    text: str,
    *,
    source: str = "<string>",
    skip_invalid: bool = False,
    name: str | None = None,
) -> Constellation:
    """Parse two- or three-line element sets from a string.

    A record is an optional name line (``NAME`` or ``0 NAME``) followed by
    line 1 and line 2; blank lines, trailing blanks and CRLF line ends are
    tolerated.  Each record is checked column by column (length 69, line
    number, modulo-10 checksum, blank separators, Alpha-5 catalog number
    agreeing between the two lines, epoch ``YYDDD.DDDDDDDD``, inclination in
    [0, 180] deg, node, perigee and anomaly in [0, 360] deg, eccentricity
    digits, mean motion > 0 rev/day, implied-exponent fields) and then parsed
    with ``sgp4.api.Satrec.twoline2rv`` (WGS-72), so positions equal
    ``skyfield.api.EarthSatellite``'s.  TLE layout: Space-Track "Basic
    Description of the Two Line Element Set Format"; Vallado et al. (2006),
    AIAA 2006-6753.

    Parameters
    ----------
    text
        The TLE text.
    source
        Name used in errors and stored as :attr:`Constellation.source`.
    skip_invalid
        Leave bad records out (listed in :attr:`Constellation.skipped`)
        instead of raising on the first one.
    name
        Constellation name; default derived from ``source``.

    Raises
    ------
    ElementsError
        A bad record (``line`` = file line, ``field`` e.g. ``"checksum"``),
        or no valid record at all.
    """
    out = _Collector(source, skip_invalid)
    lines = [(i, s.rstrip()) for i, s in enumerate(_split_lines(text.removeprefix("\ufeff")), start=1)]
    lines = [(i, s) for i, s in lines if s]
    kinds = [_line_kind(s) for _, s in lines]
    n = len(lines)
    k = 0
    pending: tuple[int, str] | None = None  # (line, name)
    while k < n:
        lineno, line = lines[k]
        kind = kinds[k]
        next_kind = kinds[k + 1] if k + 1 < n else None
        if kind == _NAME:
            if pending is not None:
                out.bad(
                    _Bad("line_number", f"name line {pending[1]!r} is not followed by lines 1 and 2", None),
                    line=pending[0],
                )
            name_text = line[2:] if line.startswith("0 ") else line
            pending = (lineno, name_text.strip())
            k += 1
            continue
        sat_name = pending[1] if pending else ""
        pending = None
        who = f"{sat_name}: " if sat_name else ""
        if kind == _L1 and next_kind == _L2:
            line2no, line2 = lines[k + 1]
            k += 2
            try:
                catalog, cospar = _validate_tle(line, line2, lineno, line2no)
                satrec = Satrec.twoline2rv(line, line2)
                try:
                    _sgp4_check(satrec)
                except _Bad as bad:
                    bad.line = lineno
                    raise
            except _Bad as bad:
                if sat_name:
                    bad.message = f"{sat_name}: {bad.message}"
                out.bad(bad)
                continue
            out.add(satrec, catalog, sat_name, cospar)
        elif kind == _L1:
            if next_kind == _DATA:  # line 2 with a wrong line number: report it, skip both
                bad_no, bad_line = lines[k + 1]
                out.bad(_Bad("line_number", f"{who}line starts with {bad_line[0]!r}, expected '2'", None), line=bad_no)
                k += 2
            else:
                found = {None: "the end of the file", _L1: "another line 1", _NAME: "a name line"}[next_kind]
                out.bad(
                    _Bad(
                        "line_number",
                        f"{who}line 1 (catalog {line[2:7].strip()!r}) is not followed by a line 2 (found {found})",
                        "every element set needs line 1 and line 2 right after each other",
                    ),
                    line=lineno,
                )
                k += 1
        elif kind == _L2:
            out.bad(
                _Bad(
                    "line_number",
                    f"line 2 (catalog {line[2:7].strip()!r}) does not follow a line 1",
                    "every element set needs line 1 and line 2 right after each other",
                ),
                line=lineno,
            )
            k += 1
        else:  # _DATA: a 69-column data line whose line number is neither 1 nor 2
            expected = "'1'" if next_kind == _L2 else "'1' or '2'"
            out.bad(_Bad("line_number", f"{who}line starts with {line[0]!r}, expected {expected}", None), line=lineno)
            k += 2 if next_kind == _L2 else 1
    if pending is not None:
        out.bad(
            _Bad("line_number", f"name line {pending[1]!r} is not followed by lines 1 and 2", None), line=pending[0]
        )
    return out.build(name or _default_name(source), "TLE")


# --------------------------------------------------------------------------------------------------------------------
# OMM


def _omm_value(fields: Mapping[str, Any], key: str) -> Any:
    value = fields.get(key)
    if isinstance(value, str):
        value = value.strip()
        if not value:
            return None
    return value


def _omm_float(fields: Mapping[str, Any], key: str, default: float | None = None) -> float:
    value = _omm_value(fields, key)
    if value is None:
        if default is not None:
            return default
        raise _Bad(key, f"{key} is missing or empty", f"every OMM record needs {', '.join(OMM_REQUIRED)}")
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise _Bad(key, f"{key} {value!r} is not a number", None)
    try:
        if isinstance(value, str) and "_" in value:  # float() accepts "1_0"; element files do not
            raise ValueError(value)
        number = float(value)
    except ValueError:
        raise _Bad(key, f"{key} {value!r} is not a number", None) from None
    if not math.isfinite(number):
        raise _Bad(key, f"{key} {value!r} is not a finite number", None)
    return number


def _omm_int(fields: Mapping[str, Any], key: str, default: int | None = None) -> int:
    value = _omm_value(fields, key)
    if value is None:
        if default is not None:
            return default
        raise _Bad(key, f"{key} is missing or empty", f"every OMM record needs {', '.join(OMM_REQUIRED)}")
    if isinstance(value, bool):
        raise _Bad(key, f"{key} {value!r} is not an integer", None)
    if isinstance(value, int):
        return value
    try:
        if isinstance(value, float):
            if not value.is_integer():
                raise ValueError(value)
            return int(value)
        if isinstance(value, str) and "_" in value:
            raise ValueError(value)
        return int(value)
    except (TypeError, ValueError):
        raise _Bad(key, f"{key} {value!r} is not an integer", None) from None


def _omm_epoch_days(fields: Mapping[str, Any]) -> float:
    """Days since 1949-12-31T00:00 UTC, computed exactly as ``sgp4.omm.initialize`` does."""
    value = _omm_value(fields, "EPOCH")
    if value is None:
        raise _Bad("EPOCH", "EPOCH is missing or empty", "give the epoch as UTC YYYY-MM-DDThh:mm:ss[.ffffff]")
    match = _OMM_EPOCH.match(value) if isinstance(value, str) else None
    hint = "give the epoch as UTC YYYY-MM-DDThh:mm:ss[.ffffff][Z]"
    if not match:
        raise _Bad("EPOCH", f"EPOCH {value!r} is not an ISO 8601 UTC date-time", hint)
    y, mo, d, h, mi, s, frac = match.groups()
    try:
        whole = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s)) - _EPOCH0
    except ValueError as exc:
        raise _Bad("EPOCH", f"EPOCH {value!r} is not a valid date-time ({exc})", hint) from None
    frac = frac or ""
    scale = 10 ** len(frac)
    # An exact rational divided once (correctly rounded), like timedelta.total_seconds() in sgp4.omm.
    seconds = ((whole.days * 86400 + whole.seconds) * scale + int(frac or "0")) / scale
    return seconds / 86400.0


def _omm_satrec(fields: Mapping[str, Any]) -> tuple[Satrec, int, str, str]:
    """Build a WGS-72 satrec from one OMM record the way ``sgp4.omm.initialize`` does."""
    norad_id = _omm_int(fields, "NORAD_CAT_ID")
    if not 0 <= norad_id <= MAX_OMM_CATALOG_NUMBER:
        raise _Bad("NORAD_CAT_ID", f"NORAD_CAT_ID {norad_id} is outside [0, {MAX_OMM_CATALOG_NUMBER}]", None)
    name = str(_omm_value(fields, "OBJECT_NAME") or "")
    object_id = str(_omm_value(fields, "OBJECT_ID") or "")
    epoch = _omm_epoch_days(fields)
    mean_motion = _omm_float(fields, "MEAN_MOTION")
    if not mean_motion > 0.0:
        raise _Bad("MEAN_MOTION", f"MEAN_MOTION {mean_motion:g} rev/day is not positive", None)
    ecc = _omm_float(fields, "ECCENTRICITY")
    _in_range(ecc, 0.0, 1.0, "ECCENTRICITY", "ECCENTRICITY", "", hi_open=True)
    angles = {}
    for key, hi in (
        ("INCLINATION", 180.0),
        ("RA_OF_ASC_NODE", 360.0),
        ("ARG_OF_PERICENTER", 360.0),
        ("MEAN_ANOMALY", 360.0),
    ):
        angles[key] = _omm_float(fields, key)
        _in_range(angles[key], 0.0, hi, key, key, " deg")
    bstar = _omm_float(fields, "BSTAR")
    ndot = _omm_float(fields, "MEAN_MOTION_DOT", 0.0)
    nddot = _omm_float(fields, "MEAN_MOTION_DDOT", 0.0)
    ephtype = _omm_int(fields, "EPHEMERIS_TYPE", 0)
    elnum = _omm_int(fields, "ELEMENT_SET_NO", 0)
    revnum = _omm_int(fields, "REV_AT_EPOCH", 0)
    for key, value in (("EPHEMERIS_TYPE", ephtype), ("ELEMENT_SET_NO", elnum), ("REV_AT_EPOCH", revnum)):
        if not 0 <= value < 2**31:
            raise _Bad(key, f"{key} {value} is negative or too large", None)
    classification = str(_omm_value(fields, "CLASSIFICATION_TYPE") or "U")[:1]

    sat = Satrec()
    sat.classification = classification
    sat.intldesg = object_id[2:].replace("-", "") if _INTL_COSPAR.match(object_id) else ""
    sat.ephtype = ephtype
    sat.elnum = elnum
    sat.revnum = revnum
    try:
        sat.sgp4init(
            WGS72,
            "i",
            norad_id if norad_id <= MAX_TLE_CATALOG_NUMBER else 0,
            epoch,
            bstar,
            ndot / _NDOT_UNITS,
            nddot / _NDDOT_UNITS,
            ecc,
            angles["ARG_OF_PERICENTER"] * _TO_RADIANS,
            angles["INCLINATION"] * _TO_RADIANS,
            angles["MEAN_ANOMALY"] * _TO_RADIANS,
            mean_motion / 720.0 * math.pi,
            angles["RA_OF_ASC_NODE"] * _TO_RADIANS,
        )
    except (ValueError, TypeError, OverflowError) as exc:
        raise _Bad("sgp4", f"SGP4 cannot initialise this element set: {exc}", None) from None
    _sgp4_check(sat)
    return sat, norad_id, name, object_id


def _describe(fields: Mapping[str, Any]) -> str:
    norad = _omm_value(fields, "NORAD_CAT_ID")
    obj = _omm_value(fields, "OBJECT_NAME")
    parts = [str(p) for p in (obj, norad and f"NORAD {norad}") if p]
    return " ".join(parts)


_OmmItem = tuple[int, "int | None", Mapping[str, Any], "Mapping[str, int] | None"]


def _collect_omm(items: Iterable[_OmmItem], out: _Collector) -> None:
    """Feed (record, line, fields, per-field lines) through :func:`_omm_satrec` into ``out``."""
    for record, line, fields, field_lines in items:
        try:
            if not isinstance(fields, Mapping):
                raise _Bad(None, f"expected an object with OMM fields, got {type(fields).__name__}", None)
            satrec, norad_id, sat_name, object_id = _omm_satrec(fields)
        except _Bad as bad:
            who = _describe(fields) if isinstance(fields, Mapping) else ""
            if who:
                bad.message = f"{who}: {bad.message}"
            if field_lines and bad.field is not None and bad.field in field_lines:
                bad.line = field_lines[bad.field]
            out.bad(bad, line=line, record=record)
            continue
        out.add(satrec, norad_id, sat_name, object_id)


def _normalise_keys(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {str(k).strip().upper(): v for k, v in fields.items()} if isinstance(fields, Mapping) else fields


def read_omm_records(
    records: Iterable[Mapping[str, Any]],
    *,
    source: str = "<records>",
    skip_invalid: bool = False,
    name: str | None = None,
) -> Constellation:
    """Build a constellation from OMM records (dicts keyed by CelesTrak/CCSDS field names).

    Keys are matched case-insensitively; values may be strings or numbers.
    Required: ``EPOCH`` (UTC, ``YYYY-MM-DDThh:mm:ss[.f...][Z]``),
    ``MEAN_MOTION`` [rev/day] (> 0), ``ECCENTRICITY`` [0, 1),
    ``INCLINATION`` [0, 180] deg, ``RA_OF_ASC_NODE``, ``ARG_OF_PERICENTER``,
    ``MEAN_ANOMALY`` [0, 360] deg, ``NORAD_CAT_ID`` (up to 9 digits) and
    ``BSTAR`` [1/earth radii].  Optional: ``OBJECT_NAME``, ``OBJECT_ID``
    (``"1998-067A"``), ``CLASSIFICATION_TYPE`` (``"U"``),
    ``EPHEMERIS_TYPE``, ``ELEMENT_SET_NO``, ``REV_AT_EPOCH``,
    ``MEAN_MOTION_DOT`` [rev/day^2], ``MEAN_MOTION_DDOT`` [rev/day^3] (0).

    The satrec is made exactly as ``sgp4.omm.initialize`` makes it (WGS-72,
    same unit conversions), except that a ``NORAD_CAT_ID`` above 339999 --
    which ``Satrec.sgp4init`` refuses -- is passed as 0; the true number is
    in ``satellites["norad_id"]``.  Format: CCSDS 502.0-B-3 (OMM); CelesTrak,
    "A New Way to Obtain GP Data".

    Raises
    ------
    ElementsError
        ``record`` = 1-based position in ``records``; ``field`` = the OMM key.
    """
    out = _Collector(source, skip_invalid)
    _collect_omm(((i, None, _normalise_keys(r), None) for i, r in enumerate(records, start=1)), out)
    return out.build(name or _default_name(source), "OMM")


def _missing_columns(header: Iterable[str]) -> list[str]:
    present = set(header)
    return [key for key in OMM_REQUIRED if key not in present]


def _read_omm_csv(text: str, out: _Collector) -> None:
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    header_line = 0
    record = 0
    items: list[_OmmItem] = []
    try:
        for row in reader:
            if not row or all(not cell.strip() for cell in row):
                continue
            if header is None:
                header = [cell.strip().upper().lstrip("\ufeff") for cell in row]
                header_line = reader.line_num
                missing = _missing_columns(header)
                if missing:
                    many = "s" if len(missing) > 1 else ""
                    raise ElementsError(
                        f"header lacks column{many} {', '.join(missing)}",
                        source=out.source,
                        line=header_line,
                        field=missing[0],
                        hint=f"an OMM CSV needs the columns {', '.join(OMM_REQUIRED)} (CelesTrak FORMAT=csv)",
                    )
                continue
            record += 1
            if len(row) != len(header):
                bad = _Bad(None, f"row has {len(row)} values but the header has {len(header)} columns", None)
                out.bad(bad, line=reader.line_num, record=record)
                continue
            items.append((record, reader.line_num, dict(zip(header, row, strict=True)), None))
    except csv.Error as exc:
        raise ElementsError(f"not readable as CSV: {exc}", source=out.source, line=reader.line_num) from None
    _collect_omm(items, out)


def _read_omm_json(text: str, out: _Collector) -> None:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ElementsError(
            f"not valid JSON: {exc.msg} (column {exc.colno})",
            source=out.source,
            line=exc.lineno,
            hint="an OMM JSON file is a list of objects (CelesTrak FORMAT=json)",
        ) from None
    if isinstance(data, Mapping):
        data = [data]
    if not isinstance(data, list):
        raise ElementsError(
            f"expected a JSON list of OMM objects, found {type(data).__name__}",
            source=out.source,
            hint="an OMM JSON file is a list of objects (CelesTrak FORMAT=json)",
        )
    _collect_omm(((i, None, _normalise_keys(r), None) for i, r in enumerate(data, start=1)), out)


_XML_GROUPS = frozenset({"metadata", "meanElements", "tleParameters"})


def _parse_omm_xml(data: bytes, source: str) -> list[_OmmItem]:
    """Segments of a CCSDS OMM/NDM XML document, with the file line of each segment and field.

    Reads the leaf elements of ``metadata``, ``meanElements`` and
    ``tleParameters`` in every ``segment`` (what ``sgp4.omm.parse_xml``
    reads); namespace prefixes are ignored.
    """
    parser = expat.ParserCreate()
    parser.buffer_text = True
    items: list[_OmmItem] = []
    stack: list[str] = []
    text: list[str] = []
    current: dict[str, Any] | None = None
    lines: dict[str, int] = {}
    segment_line = 0

    def start(tag: str, _attrs: dict[str, str]) -> None:
        nonlocal current, lines, segment_line
        tag = tag.rsplit(":", 1)[-1]
        stack.append(tag)
        text.clear()
        if tag == "segment":
            current, lines, segment_line = {}, {}, parser.CurrentLineNumber
        elif current is not None and len(stack) >= 2 and stack[-2] in _XML_GROUPS:
            lines[tag.upper()] = parser.CurrentLineNumber

    def end(tag: str) -> None:
        nonlocal current
        tag = tag.rsplit(":", 1)[-1]
        stack.pop()
        if tag == "segment" and current is not None:
            items.append((len(items) + 1, segment_line, current, lines))
            current = None
        elif current is not None and stack and stack[-1] in _XML_GROUPS and tag != "COMMENT":
            current[tag.upper()] = "".join(text)
        text.clear()

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text.append
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise ElementsError(
            f"not well-formed XML: {expat.ErrorString(exc.code)} (column {exc.offset + 1})",
            source=source,
            line=exc.lineno,
            hint="an OMM XML file is a CCSDS NDM document as CelesTrak serves with FORMAT=xml",
        ) from None
    return items


def _read_omm_xml(data: bytes, out: _Collector) -> None:
    _collect_omm(_parse_omm_xml(data, out.source), out)


# --------------------------------------------------------------------------------------------------------------------
# Files


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


def _sniff(text: str) -> str:
    head = text.lstrip("\ufeff \t\r\n")
    if head[:1] in ("[", "{"):
        return "omm-json"
    if head[:1] == "<":
        return "omm-xml"
    first = head.split("\n", 1)[0].upper()
    if "," in first and ("NORAD_CAT_ID" in first or "OBJECT_NAME" in first or "MEAN_MOTION" in first):
        return "omm-csv"
    return "tle"


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _read_bytes(path: Path, source: str) -> bytes:
    hint = None
    if "\n" in source:
        hint = "this looks like element text, not a path; use read_tle_text() for strings"
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ElementsError("file not found", source=source, hint=hint or "check the path") from None
    except IsADirectoryError:
        raise ElementsError("is a folder, not an element file", source=source, hint=hint) from None
    except OSError as exc:
        raise ElementsError(f"cannot read the file: {exc.strerror or exc}", source=source, hint=hint) from None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise ElementsError(f"corrupt gzip file: {exc}", source=source, hint="download it again") from None
    return raw


def read_elements(
    source: str | os.PathLike[str],
    *,
    format: str | None = None,
    skip_invalid: bool = False,
    name: str | None = None,
) -> Constellation:
    """Read a TLE or OMM file (optionally gzipped) into a :class:`Constellation`.

    Parameters
    ----------
    source
        Path of the file.  Gzip files (``.gz`` or gzip magic bytes) are
        decompressed transparently.
    format
        ``"tle"``, ``"omm-csv"``, ``"omm-json"`` or ``"omm-xml"`` (also
        ``"csv"``, ``"json"``, ``"xml"``); ``None`` detects it from the
        extension after ``.gz`` is stripped (``.tle``/``.txt``/``.3le`` TLE,
        ``.csv``, ``.json``, ``.xml`` OMM) or, failing that, from the content.
    skip_invalid
        Leave invalid records out (listed in :attr:`Constellation.skipped`)
        instead of raising on the first one.
    name
        Constellation name; default the file name without ``.gz`` and the
        format extension (``starlink_20260818``).

    Returns
    -------
    Constellation
        Satellites in file order, shells found from the elements,
        ``source=str(source)``.

    Raises
    ------
    ElementsError
        The file is missing or unreadable, a record is invalid (file, line
        or record, field), or there is no valid record.
    InputError
        ``format`` is not a known format name.

    See :func:`read_tle_text` and :func:`read_omm_records` for the rules and
    references of each format.
    """
    fmt = _format_arg(format)
    path = Path(source)
    src = str(source)
    raw = _read_bytes(path, src)
    fmt = fmt or _format_from_name(path)
    out = _Collector(src, skip_invalid)
    if fmt == "omm-xml" or (fmt is None and raw.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"<"):
        _read_omm_xml(raw, out)
        return out.build(name or _default_name(src), "OMM")
    text = _decode(raw)
    fmt = fmt or _sniff(text)
    if fmt == "tle":
        return read_tle_text(text, source=src, skip_invalid=skip_invalid, name=name or _default_name(src))
    if fmt == "omm-csv":
        _read_omm_csv(text, out)
    else:
        _read_omm_json(text, out)
    return out.build(name or _default_name(src), "OMM")


# --------------------------------------------------------------------------------------------------------------------
# Writers


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


def _tle_lines(satrec: Satrec, norad_id: int, intl: str) -> tuple[str, str]:
    """Line 1 and 2 for one satellite (``sgp4.exporter.export_tle`` plus catalog, designator and revs fixed up)."""
    if not 0 <= norad_id <= MAX_TLE_CATALOG_NUMBER:
        raise _Bad(
            "NORAD_CAT_ID",
            f"catalog number {norad_id} does not fit a TLE (at most {MAX_TLE_CATALOG_NUMBER}, Alpha-5 'Z9999')",
            "write OMM instead: write_omm(constellation, 'file.csv')",
        )
    jd = satrec.jdsatepoch + satrec.jdsatepochF
    if not 2435839.5 <= jd < 2472364.5:  # 1957-01-01 .. 2057-01-01
        raise _Bad(
            "EPOCH", f"epoch (JD {jd:.5f}) is outside 1957-2056, which two-digit TLE years cover", "write OMM instead"
        )
    try:
        line1, line2 = export_tle(satrec)
    except (ValueError, TypeError) as exc:
        raise _Bad(None, f"sgp4.exporter cannot format it: {exc}", "write OMM instead") from None
    # export_tle's own layout of columns 1-18 (satnum_str, classification, padded intldesg) ...
    own_class = getattr(satrec, "classification", "U").strip() or "U"
    prefix1 = f"1 {satrec.satnum_str}{own_class} {getattr(satrec, 'intldesg', ''):8} "
    tail1 = line1[len(prefix1) :]  # ... so that this is columns 19-69: epoch .. checksum
    revs = str(satrec.revnum).rjust(5)
    if not line1.startswith(prefix1) or len(tail1) != 51 or len(line2) != 7 + 56 + len(revs) + 1:
        raise _Bad(
            None,
            f"a value does not fit its TLE column (sgp4.exporter gave {line1!r} / {line2!r})",
            "write OMM instead",
        )
    classification = str(getattr(satrec, "classification", "U") or "U")[:1]
    if not (classification == " " or "A" <= classification <= "Z"):
        classification = "U"
    catalog = _to_alpha5(norad_id)
    ephtype = int(getattr(satrec, "ephtype", 0)) % 10
    elnum = int(getattr(satrec, "elnum", 0)) % 10000
    if tail1[26:34] == " 00000-0":  # export_tle spells a zero second derivative "-0"; CelesTrak writes "+0"
        tail1 = f"{tail1[:26]} 00000+0{tail1[34:]}"
    body1 = f"1 {catalog}{classification} {_tle_from_cospar(intl):8} {tail1[:44]}{ephtype} {elnum:4d}"
    body2 = f"2 {catalog}{line2[7:63]}{int(satrec.revnum) % 100000:5d}"
    return body1 + str(_checksum(body1)), body2 + str(_checksum(body2))


def write_tle(constellation: Constellation, path: str | os.PathLike[str]) -> Path:
    """Write ``constellation`` as a three-line TLE file (name line, line 1, line 2), atomically.

    Element values are formatted by ``sgp4.exporter.export_tle`` (fixed
    columns, implied decimal points; precision as the format allows: epoch
    1e-8 day, angles 1e-4 deg, eccentricity 1e-7, mean motion 1e-8 rev/day,
    BSTAR five digits).  Catalog numbers come from
    ``satellites["norad_id"]``: above 99999 in Alpha-5; above 339999 they
    cannot be written.  A satellite without a name gets a two-line record.
    ``.gz`` paths are gzipped.  Every line is re-validated before writing, so
    nothing unreadable is written.  Format: Space-Track "Basic Description of
    the Two Line Element Set Format"; Vallado et al. (2006), AIAA 2006-6753.

    Raises
    ------
    ElementsError
        A satellite cannot be expressed as a TLE (``field`` names why); the
        message names the satellite.  Nothing is written then.
    """
    out: list[str] = []
    for index, (satrec, norad_id, sat_name, intl) in enumerate(_rows(constellation)):
        try:
            line1, line2 = _tle_lines(satrec, norad_id, intl)
            _validate_tle(line1, line2, 1, 2)
        except _Bad as bad:
            who = f"{sat_name} (NORAD {norad_id})" if sat_name else f"NORAD {norad_id}"
            raise ElementsError(
                f"satellite {index + 1}, {who}, cannot be written as a TLE: {bad.message}",
                source=str(path),
                record=index + 1,
                field=bad.field,
                hint=bad.hint or "write OMM instead (write_omm), which has no fixed column widths",
            ) from None
        sat_name = " ".join(sat_name.split())
        if sat_name:
            if len(sat_name) > 1 and sat_name[0].isdigit() and sat_name[1] == " ":
                sat_name = "0 " + sat_name  # keep it from reading as a data line; "0 " is stripped on reading
            out.append(sat_name)
        out.append(line1)
        out.append(line2)
    return _write_atomic(path, "".join(f"{row}\n" for row in out))


def _num(value: float) -> float:
    """Round to 15 significant digits: drops the last-bit noise of degree/radian round trips."""
    return float(f"{value:.15g}")


def _epoch_text(satrec: Satrec) -> str:
    """Epoch as ``YYYY-MM-DDThh:mm:ss.ffffff`` UTC, rounded to the microsecond (CelesTrak's precision)."""
    offset = satrec.jdsatepoch - _JD_EPOCH0
    days = math.floor(offset)
    micro = round(((offset - days) + satrec.jdsatepochF) * 86400e6)
    return (_EPOCH0 + timedelta(days=days, microseconds=micro)).strftime("%Y-%m-%dT%H:%M:%S.%f")


def _omm_dict(satrec: Satrec, norad_id: int, sat_name: str, intl: str) -> dict[str, Any]:
    """One CelesTrak-style OMM record; unit conversions as ``sgp4.exporter.export_omm``."""
    classification = str(getattr(satrec, "classification", "U") or "U")[:1]
    if not classification.strip() or not classification.isprintable():
        classification = "U"
    return {
        "OBJECT_NAME": sat_name,
        "OBJECT_ID": intl,
        "EPOCH": _epoch_text(satrec),
        "MEAN_MOTION": _num(satrec.no_kozai * _XPDOTP),
        "ECCENTRICITY": _num(satrec.ecco),
        "INCLINATION": _num(satrec.inclo / _TO_RADIANS),
        "RA_OF_ASC_NODE": _num(satrec.nodeo / _TO_RADIANS),
        "ARG_OF_PERICENTER": _num(satrec.argpo / _TO_RADIANS),
        "MEAN_ANOMALY": _num(satrec.mo / _TO_RADIANS),
        "EPHEMERIS_TYPE": int(getattr(satrec, "ephtype", 0)),
        "CLASSIFICATION_TYPE": classification,
        "NORAD_CAT_ID": norad_id,
        "ELEMENT_SET_NO": int(getattr(satrec, "elnum", 0)),
        "REV_AT_EPOCH": int(satrec.revnum),
        "BSTAR": _num(satrec.bstar),
        "MEAN_MOTION_DOT": _num(satrec.ndot * _NDOT_UNITS),
        "MEAN_MOTION_DDOT": _num(satrec.nddot * _NDDOT_UNITS),
    }


def _csv_text(records: list[dict[str, Any]]) -> str:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")  # CelesTrak's CSV uses CRLF
    writer.writerow(OMM_FIELDS)
    for rec in records:
        writer.writerow([repr(v) if isinstance(v, float) else v for v in rec.values()])
    return buffer.getvalue()


def _json_text(records: list[dict[str, Any]]) -> str:
    if not records:
        return "[]\n"
    return "[\n" + ",\n".join(json.dumps(rec, allow_nan=False, ensure_ascii=False) for rec in records) + "\n]\n"


_XML_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<ndm xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xsi:noNamespaceSchemaLocation="https://sanaregistry.org/r/ndmxml_unqualified/ndmxml-2.0.0-master-2.0.xsd">\n'
)
_XML_META = ("OBJECT_NAME", "OBJECT_ID")
_XML_MEAN = (
    "EPOCH",
    "MEAN_MOTION",
    "ECCENTRICITY",
    "INCLINATION",
    "RA_OF_ASC_NODE",
    "ARG_OF_PERICENTER",
    "MEAN_ANOMALY",
)
_XML_TLE = (
    "EPHEMERIS_TYPE",
    "CLASSIFICATION_TYPE",
    "NORAD_CAT_ID",
    "ELEMENT_SET_NO",
    "REV_AT_EPOCH",
    "BSTAR",
    "MEAN_MOTION_DOT",
    "MEAN_MOTION_DDOT",
)


def _xml_text(records: list[dict[str, Any]]) -> str:
    def tags(rec: dict[str, Any], keys: tuple[str, ...]) -> str:
        return "".join(
            f"<{k}>{_xml_escape(repr(rec[k]) if isinstance(rec[k], float) else str(rec[k]))}</{k}>" for k in keys
        )

    parts = [_XML_HEAD]
    for rec in records:
        parts.append(
            '<omm id="CCSDS_OMM_VERS" version="2.0">'
            "<header><CREATION_DATE/><ORIGINATOR/></header><body><segment>"
            f"<metadata>{tags(rec, _XML_META)}<CENTER_NAME>EARTH</CENTER_NAME><REF_FRAME>TEME</REF_FRAME>"
            "<TIME_SYSTEM>UTC</TIME_SYSTEM><MEAN_ELEMENT_THEORY>SGP4</MEAN_ELEMENT_THEORY></metadata>"
            f"<data><meanElements>{tags(rec, _XML_MEAN)}</meanElements>"
            f"<tleParameters>{tags(rec, _XML_TLE)}</tleParameters></data>"
            "</segment></body></omm>\n"
        )
    parts.append("</ndm>\n")
    return "".join(parts)


_WRITERS: dict[str, Callable[[list[dict[str, Any]]], str]] = {
    "omm-csv": _csv_text,
    "omm-json": _json_text,
    "omm-xml": _xml_text,
}


def write_omm(constellation: Constellation, path: str | os.PathLike[str], format: str | None = None) -> Path:
    """Write ``constellation`` as CelesTrak-style OMM, atomically.

    Parameters
    ----------
    path
        Output file; ``.gz`` gzips it.
    format
        ``"csv"``, ``"json"`` or ``"xml"`` (or ``"omm-csv"`` ...); ``None``
        takes it from the extension (``.csv``/``.json``/``.xml``, after
        ``.gz``) and falls back to CSV.

    The 17 fields of :data:`OMM_FIELDS` are written in CelesTrak's order:
    CSV with a header row and CRLF line ends, JSON as a list of objects, XML
    as a CCSDS NDM with one ``omm`` per satellite (the layout
    ``sgp4.omm.parse_xml`` reads).  Units as in the module docstring; floats
    to 15 significant digits, ``EPOCH`` to the microsecond (TLE-derived epochs
    are whole microseconds, so nothing is lost for them).  ``NORAD_CAT_ID``
    and the names come from ``satellites``, the elements from the satrecs, so
    nine-digit catalog numbers survive.  Format: CCSDS 502.0-B-3; CelesTrak,
    "A New Way to Obtain GP Data".

    Raises
    ------
    InputError
        ``format`` is not a known OMM encoding.
    """
    fmt = _format_arg(format) or _format_from_name(Path(path)) or "omm-csv"
    if fmt == "tle":
        if format is not None:
            raise InputError(
                f"write_omm cannot write format {format!r}", field="format", hint="use write_tle() for TLE files"
            )
        fmt = "omm-csv"
    records = [_omm_dict(*row) for row in _rows(constellation)]
    try:
        payload = _WRITERS[fmt](records)
    except ValueError as exc:  # NaN elements
        raise ElementsError(
            f"cannot write a non-finite element value: {exc}",
            source=str(path),
            hint="propagate-only satrecs with NaN elements cannot be exported",
        ) from None
    return _write_atomic(path, payload)
