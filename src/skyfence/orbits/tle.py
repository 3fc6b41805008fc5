"""TLE: read and write NORAD two- and three-line element sets.

Columns, implied decimal points and the modulo-10 checksum follow the Space-Track "Basic Description of the Two
Line Element Set Format" and Vallado, Crawford, Hujsak & Kelso, "Revisiting Spacetrack Report #3", AIAA 2006-6753
(2006).  Lines are validated here (so an error names the line and the field), then parsed by
``sgp4.api.Satrec.twoline2rv`` -- the call ``skyfield.api.EarthSatellite`` makes.  See :mod:`skyfence.orbits.elements`
for the formats and errors.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from sgp4.api import Satrec
from sgp4.exporter import export_tle

from skyfence.errors import ElementsError
from skyfence.orbits._records import (
    MAX_TLE_CATALOG_NUMBER,
    _Bad,
    _Collector,
    _cospar_from_tle,
    _default_name,
    _in_range,
    _rows,
    _sgp4_check,
    _tle_from_cospar,
    _write_atomic,
    clip,
)
from skyfence.orbits.constellation import Constellation

__all__ = ["MAX_TLE_CATALOG_NUMBER", "read_tle_text", "write_tle"]

_ALPHA5_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # 10 .. 33; I and O are not used


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
                    _Bad("line_number", f"name line {clip(pending[1])!r} is not followed by lines 1 and 2", None),
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
            _Bad("line_number", f"name line {clip(pending[1])!r} is not followed by lines 1 and 2", None),
            line=pending[0],
        )
    return out.build(name or _default_name(source), "TLE")


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
