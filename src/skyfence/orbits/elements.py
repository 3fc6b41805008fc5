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

Modules: :mod:`~skyfence.orbits.tle` and :mod:`~skyfence.orbits.omm` read and write one family each; this module
detects the format of a file and hands it to the right reader.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

from skyfence.data.store import note_file
from skyfence.errors import ElementsError
from skyfence.orbits._records import (
    _Collector,
    _default_name,
    _format_arg,
    _format_from_name,
)
from skyfence.orbits.constellation import Constellation
from skyfence.orbits.omm import OMM_FIELDS, _read_omm_csv, _read_omm_json, _read_omm_xml, read_omm_records, write_omm
from skyfence.orbits.tle import read_tle_text, write_tle

__all__ = [
    "OMM_FIELDS",
    "read_elements",
    "read_omm_records",
    "read_tle_text",
    "write_omm",
    "write_tle",
]


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
    if _looks_binary(raw):
        raise ElementsError(
            "is a binary file, not TLE or OMM text",
            source=source,
            hint="give a TLE (.tle, .txt) or OMM (.json, .csv, .xml) file, gzipped or not",
        )
    return raw


#: Bytes of text files: printable ASCII, tab, newlines, and everything from 0x80 on (UTF-8 or Latin-1 text).
_TEXT_BYTES = bytes(range(0x20, 0x7F)) + b"\t\n\r\f\x1a" + bytes(range(0x80, 0x100))


def _looks_binary(raw: bytes) -> bool:
    """A NUL, or more than 10 % control bytes, in the first 8 KiB (the test of file(1) and git, simplified)."""
    head = raw[:8192]
    if not head:
        return False
    if b"\x00" in head:
        return True
    return len(head.translate(None, _TEXT_BYTES)) > 0.1 * len(head)


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
    note_file(path, kind="elements")  # a dataset's file is named by the dataset instead
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
