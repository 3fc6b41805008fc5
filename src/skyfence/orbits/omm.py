"""OMM: read and write CCSDS Orbit Mean-Elements Messages (CSV, JSON, XML) as CelesTrak serves them.

Records are converted with the unit conversions and the WGS-72 constants of ``sgp4.omm.initialize`` and passed to
``Satrec.sgp4init``.  Format: CCSDS 502.0-B-3; T.S. Kelso, "A New Way to Obtain GP Data (aka TLEs)", celestrak.org
(2020).  See :mod:`skyfence.orbits.elements` for units and errors.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from xml.parsers import expat
from xml.sax.saxutils import escape as _xml_escape

from sgp4.api import WGS72, Satrec

from skyfence.errors import ElementsError, InputError
from skyfence.orbits._records import (
    _INTL_COSPAR,
    MAX_OMM_CATALOG_NUMBER,
    MAX_TLE_CATALOG_NUMBER,
    _Bad,
    _Collector,
    _default_name,
    _format_arg,
    _format_from_name,
    _in_range,
    _rows,
    _sgp4_check,
    _write_atomic,
)
from skyfence.orbits.constellation import Constellation

__all__ = ["MAX_OMM_CATALOG_NUMBER", "OMM_FIELDS", "OMM_REQUIRED", "read_omm_records", "write_omm"]

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

# Constants of sgp4.omm.initialize, spelled the same way so the floats are identical.
_EPOCH0 = datetime(1949, 12, 31)
_TO_RADIANS = math.pi / 180.0
_NDOT_UNITS = 1036800.0 / math.pi  # rev/day^2 per rad/min^2
_NDDOT_UNITS = 2985984000.0 / 2.0 / math.pi  # rev/day^3 per rad/min^3
_XPDOTP = 1440.0 / (2.0 * math.pi)  # rev/day per rad/min (sgp4.exporter)
_JD_EPOCH0 = 2433281.5  # Julian date of 1949-12-31T00:00 UTC, sgp4init's epoch origin
_OMM_EPOCH = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?Z?$")


def _omm_value(fields: Mapping[str, Any], key: str) -> Any:
    value = fields.get(key)
    if isinstance(value, str):
        value = value.strip()
        if not value:
            return None
    return value


def _omm_present(fields: Mapping[str, Any], key: str, default: Any) -> Any:
    """The stripped value of ``key``, else ``default``; a required key (no default) that is missing is an error."""
    value = _omm_value(fields, key)
    if value is None:
        if default is not None:
            return default
        raise _Bad(key, f"{key} is missing or empty", f"every OMM record needs {', '.join(OMM_REQUIRED)}")
    return value


def _omm_float(fields: Mapping[str, Any], key: str, default: float | None = None) -> float:
    value = _omm_present(fields, key, default)
    if default is not None and value is default:
        return default
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
    value = _omm_present(fields, key, default)
    if default is not None and value is default:
        return default
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
# The NDM/XML OMM groups the same fields as metadata, mean elements and TLE parameters, in OMM_FIELDS' order.
_XML_META = OMM_FIELDS[:2]
_XML_MEAN = OMM_FIELDS[2:9]
_XML_TLE = OMM_FIELDS[9:]


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
