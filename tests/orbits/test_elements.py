"""Tests for skyfence.orbits.elements: TLE/OMM readers and writers.

Small inputs are built here from three CelesTrak Starlink element sets
(GROUP=starlink, 2025-09-23; the first records of ``tle/starlink_20250923.tle``
in the data mirror).  Real catalogs come from ``SKYFENCE_DATA_DIR`` (see
tests/conftest.py and the mirror's PROVENANCE.md section 1).
"""

from __future__ import annotations

import gzip
import io
import itertools
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
from sgp4 import omm
from sgp4.api import Satrec, SatrecArray

from skyfence.errors import ElementsError, InputError
from skyfence.orbits.constellation import Constellation, SkippedRecord
from skyfence.orbits.elements import (
    OMM_FIELDS,
    read_elements,
    read_omm_records,
    read_tle_text,
    write_omm,
    write_tle,
)

TLE_LINES = [
    "STARLINK-1008           ",
    "1 44714U 19074B   25266.17900924 -.00000055  00000+0  15232-4 0  9991",
    "2 44714  53.0533 218.6047 0001564  98.0837 262.0330 15.06390214323500",
    "STARLINK-1010           ",
    "1 44716U 19074D   25266.00002315  .00176532  00000+0  96304-3 0  9993",
    "2 44716  53.0500 167.3434 0009101  64.6661 100.2816 15.78833073  5957",
    "STARLINK-1011           ",
    "1 44717U 19074E   25266.33336806  .00252952  00000+0  20797-2 0  9998",
    "2 44717  53.0522 219.6810 0007207  65.9960 262.5371 15.69095475  5866",
]
TLE_TEXT = "\n".join(TLE_LINES) + "\n"

# CelesTrak GP CSV (GROUP=starlink, 2026-08-18), first rows of tle/omm_csv_2026/starlink_20260818.csv.gz.
OMM_CSV = (
    ",".join(OMM_FIELDS) + "\r\n"
    "STARLINK-1008,2019-074B,2026-08-18T04:52:11.887104,15.60544980,.00057434,53.1478,129.5796,62.4170,297.7426,"
    "0,U,44714,999,37386,.91150244E-3,.7687E-3,0\r\n"
    "STARLINK-1012,2019-074F,2026-08-18T04:46:20.692704,15.60908112,.00021497,53.1504,129.8942,101.2952,258.8303,"
    "0,U,44718,999,37385,.87540322E-3,.74784E-3,0\r\n"
    "SARAMAGO,2026-067CY,2026-08-18T02:57:07.123968,15.20920255,.00089929,97.4631,187.9764,138.9732,221.2181,"
    "0,U,100000,999,2111,.31165628E-3,.6833E-4,0\r\n"
)

SATREC_ATTRS = (
    "inclo", "nodeo", "ecco", "argpo", "mo", "no_kozai", "bstar", "ndot", "nddot", "jdsatepoch", "jdsatepochF",
    "satnum", "revnum", "elnum",
)  # fmt: skip


def checksum(line: str) -> str:
    """``line`` with column 69 set to its modulo-10 checksum (digits + 1 per '-')."""
    total = sum(int(c) if c.isdigit() else c == "-" for c in line[:68])
    return line[:68] + str(total % 10)


def put(line: str, col: int, text: str) -> str:
    """Overwrite 1-based column ``col`` onwards with ``text`` and fix the checksum."""
    return checksum(line[: col - 1] + text + line[col - 1 + len(text) :])


def positions_km(satrecs, jd: float, fr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    e, r, _ = SatrecArray(list(satrecs)).sgp4(np.full(len(fr), jd), fr)
    return e, r


def assert_same_satrecs(a, b) -> None:
    assert len(a) == len(b)
    for sa, sb in zip(a, b, strict=True):
        for attr in SATREC_ATTRS:
            assert getattr(sa, attr) == getattr(sb, attr), attr


# ------------------------------------------------------------------------------------------------------------------
# TLE reading


def test_read_tle_text_three_line() -> None:
    c = read_tle_text(TLE_TEXT)
    assert isinstance(c, Constellation)
    assert len(c) == 3 and c.skipped == ()
    assert list(c.satellites["norad_id"]) == [44714, 44716, 44717]
    assert list(c.satellites["name"]) == ["STARLINK-1008", "STARLINK-1010", "STARLINK-1011"]
    assert list(c.satellites["intl_designator"]) == ["2019-074B", "2019-074D", "2019-074E"]
    assert c.source == "<string>"
    assert c.satellites["inclination_deg"][0] == pytest.approx(53.0533)
    # the satrecs are exactly what Satrec.twoline2rv (and so skyfield's EarthSatellite) makes
    assert_same_satrecs(c.satrecs, [Satrec.twoline2rv(TLE_LINES[i], TLE_LINES[i + 1]) for i in (1, 4, 7)])


def test_two_line_zero_names_blank_lines_and_crlf() -> None:
    text = "\r\n".join(
        ["", TLE_LINES[1], TLE_LINES[2], "", "0 STARLINK-1010", TLE_LINES[4], TLE_LINES[5], "  ", *TLE_LINES[6:], ""]
    )
    c = read_tle_text(text, name="mixed")
    assert c.name == "mixed"
    assert list(c.satellites["name"]) == ["", "STARLINK-1010", "STARLINK-1011"]
    assert_same_satrecs(c.satrecs, read_tle_text(TLE_TEXT).satrecs)


@pytest.mark.parametrize(
    ("designator", "expected"),
    [("98067A  ", "1998-067A"), ("57001B  ", "1957-001B"), ("19074ABC", "2019-074ABC"), ("        ", "")],
)
def test_international_designator(designator: str, expected: str) -> None:
    line1 = put(TLE_LINES[1], 10, designator)
    c = read_tle_text(f"{line1}\n{TLE_LINES[2]}\n")
    assert c.satellites["intl_designator"][0] == expected


def test_alpha5_catalog_numbers_read_and_write(tmp_path: Path) -> None:
    line1 = put(TLE_LINES[1], 3, "A4714")
    line2 = put(TLE_LINES[2], 3, "A4714")
    c = read_tle_text(f"X\n{line1}\n{line2}\n")
    assert c.satellites["norad_id"][0] == 104714
    assert c.satrecs[0].satnum == 104714
    out = write_tle(c, tmp_path / "alpha.tle")
    assert out.read_text().splitlines() == ["X", line1, line2]


def test_read_elements_file_name_and_gzip(tmp_path: Path) -> None:
    plain = tmp_path / "starlink_test.tle"
    plain.write_text(TLE_TEXT)
    packed = tmp_path / "starlink_test.tle.gz"
    packed.write_bytes(gzip.compress(TLE_TEXT.encode()))
    a = read_elements(plain)
    b = read_elements(str(packed))
    assert a.name == b.name == "starlink_test"
    assert a.source == str(plain) and b.source == str(packed)
    assert_same_satrecs(a.satrecs, b.satrecs)


def test_format_detection_by_content_and_explicit(tmp_path: Path) -> None:
    for text, fmt in ((TLE_TEXT, "tle"), (OMM_CSV, "omm-csv")):
        path = tmp_path / f"noext_{fmt}.dat"
        path.write_text(text, newline="")
        sniffed = read_elements(path)
        explicit = read_elements(path, format=fmt)
        assert len(sniffed) == len(explicit) == 3
        assert sniffed.name == f"noext_{fmt}.dat"
    gz_without_suffix = tmp_path / "cache_blob"
    gz_without_suffix.write_bytes(gzip.compress(OMM_CSV.encode()))
    assert len(read_elements(gz_without_suffix)) == 3
    with pytest.raises(InputError, match="format"):
        read_elements(tmp_path / "noext_tle.dat", format="kvn")


# ------------------------------------------------------------------------------------------------------------------
# Broken TLE records: the error names the file, the line and the field; skip_invalid keeps the rest


def _broken_tle(kind: str) -> tuple[list[str], int, str]:
    """The three records with record 2 (file lines 4-6) broken; returns lines, bad line number, field."""
    lines = list(TLE_LINES)
    if kind == "checksum":
        lines[5] = lines[5][:68] + str((int(lines[5][68]) + 1) % 10)
        return lines, 6, "checksum"
    if kind == "line2_number":
        lines[5] = put(lines[5], 1, "3")
        return lines, 6, "line_number"
    if kind == "line1_number":
        lines[4] = put(lines[4], 1, "7")
        return lines, 5, "line_number"
    if kind == "missing_line2":
        del lines[5]
        return lines, 5, "line_number"
    if kind == "inclination":
        lines[5] = put(lines[5], 9, "200.0000")
        return lines, 6, "inclination"
    if kind == "eccentricity":
        lines[5] = put(lines[5], 27, "00x9101")
        return lines, 6, "eccentricity"
    if kind == "catalog_mismatch":
        lines[5] = put(lines[5], 3, "44715")
        return lines, 6, "catalog_number"
    if kind == "length":
        lines[4] = lines[4][:60]
        return lines, 5, "length"
    if kind == "epoch":
        lines[4] = put(lines[4], 21, "400.00002315")
        return lines, 5, "epoch"
    if kind == "bstar":
        lines[4] = put(lines[4], 54, " 9x304-3")
        return lines, 5, "bstar"
    raise AssertionError(kind)


BROKEN_TLE = [
    "checksum", "line2_number", "line1_number", "missing_line2", "inclination", "eccentricity", "catalog_mismatch",
    "length", "epoch", "bstar",
]  # fmt: skip


@pytest.mark.parametrize("kind", BROKEN_TLE)
def test_broken_tle_record_is_reported_precisely(tmp_path: Path, kind: str) -> None:
    lines, bad_line, field = _broken_tle(kind)
    path = tmp_path / f"broken_{kind}.tle"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ElementsError) as info:
        read_elements(path)
    error = info.value
    assert isinstance(error, ValueError)
    assert (error.source, error.line, error.field) == (str(path), bad_line, field)
    text = str(error)
    assert f"broken_{kind}.tle:{bad_line}" in text
    assert f"field {field}" in text
    assert "\n" not in text

    c = read_elements(path, skip_invalid=True)
    assert list(c.satellites["norad_id"]) == [44714, 44717]
    assert list(c.satellites["name"]) == ["STARLINK-1008", "STARLINK-1011"]
    assert c.skipped == (SkippedRecord(str(path), f"line {bad_line}", field, error.message),)


def test_orphan_lines_and_names() -> None:
    text = "\n".join([TLE_LINES[2], "LONELY NAME", *TLE_LINES[3:6], "TRAILING NAME"])
    with pytest.raises(ElementsError, match="does not follow a line 1") as info:
        read_tle_text(text)
    assert info.value.line == 1
    c = read_tle_text(text, skip_invalid=True)
    assert list(c.satellites["name"]) == ["STARLINK-1010"]
    assert [s.location for s in c.skipped] == ["line 1", "line 2", "line 6"]


def test_sgp4_rejection_is_an_invalid_record() -> None:
    # 17.5 rev/day puts the mean orbit inside the Earth: SGP4 flags it (error 6) at initialisation.
    bad = put(TLE_LINES[5], 53, "17.50000000")
    text = "\n".join([*TLE_LINES[:5], bad, *TLE_LINES[6:]])
    with pytest.raises(ElementsError, match="SGP4") as info:
        read_tle_text(text, source="decayed.tle")
    assert info.value.field == "sgp4" and info.value.line == 5
    c = read_tle_text(text, skip_invalid=True)
    assert len(c) == 2 and c.skipped[0].field == "sgp4"


def test_empty_missing_and_all_invalid(tmp_path: Path) -> None:
    empty = tmp_path / "empty.tle"
    empty.write_text("\n\n")
    with pytest.raises(ElementsError, match="no TLE records") as info:
        read_elements(empty)
    assert "empty.tle" in str(info.value)
    missing = tmp_path / "nowhere.csv"
    with pytest.raises(ElementsError, match="not found") as info:
        read_elements(missing)
    assert info.value.source == str(missing) and "nowhere.csv" in str(info.value)
    garbage = tmp_path / "garbage.tle"
    garbage.write_text("\n".join(put(line, 1, "9") if line[0] in "12" else line for line in TLE_LINES))
    with pytest.raises(ElementsError, match="no valid TLE records"):
        read_elements(garbage, skip_invalid=True)


# ------------------------------------------------------------------------------------------------------------------
# OMM reading


def _sgp4_omm(text: str) -> list[Satrec]:
    sats = []
    for fields in omm.parse_csv(io.StringIO(text)):
        sat = Satrec()
        omm.initialize(sat, fields)
        sats.append(sat)
    return sats


def test_omm_csv_matches_sgp4_omm_initialize(tmp_path: Path) -> None:
    path = tmp_path / "three.csv"
    path.write_text(OMM_CSV, newline="")
    c = read_elements(path)
    assert list(c.satellites["norad_id"]) == [44714, 44718, 100000]
    assert list(c.satellites["intl_designator"]) == ["2019-074B", "2019-074F", "2026-067CY"]
    assert_same_satrecs(c.satrecs, _sgp4_omm(OMM_CSV))
    fr = np.linspace(0.0, 1.0, 9)
    e1, r1 = positions_km(c.satrecs, 2461270.5, fr)
    e2, r2 = positions_km(_sgp4_omm(OMM_CSV), 2461270.5, fr)
    assert not e1.any() and not e2.any()
    np.testing.assert_array_equal(r1, r2)


def test_omm_epoch_spellings_give_the_same_epoch() -> None:
    base = dict(next(iter(omm.parse_csv(io.StringIO(OMM_CSV)))))
    variants = ["2026-08-18T04:52:11.887104", "2026-08-18T04:52:11.887104Z", "2026-08-18 04:52:11.8871040"]
    jds = []
    for epoch in variants:
        c = read_omm_records([{**base, "EPOCH": epoch}])
        jds.append((c.satrecs[0].jdsatepoch, c.satrecs[0].jdsatepochF))
    assert len(set(jds)) == 1
    whole = read_omm_records([{**base, "EPOCH": "2026-08-18T04:52:11"}]).satrecs[0]
    assert whole.jdsatepochF * 86400 == pytest.approx(4 * 3600 + 52 * 60 + 11, abs=1e-6)


def test_read_omm_records_numbers_and_lowercase_keys() -> None:
    rows = list(omm.parse_csv(io.StringIO(OMM_CSV)))
    typed = [
        {k.lower(): (float(v) if k in ("MEAN_MOTION", "INCLINATION", "BSTAR") else v) for k, v in row.items()}
        for row in rows
    ]
    typed[0]["norad_cat_id"] = 44714
    c = read_omm_records(typed, source="api", name="typed")
    assert (c.name, c.source, len(c)) == ("typed", "api", 3)
    assert_same_satrecs(c.satrecs, _sgp4_omm(OMM_CSV))


def _omm_json(rows: list[dict]) -> str:
    return json.dumps(rows)


def _omm_xml(rows: list[dict]) -> str:
    """CelesTrak FORMAT=xml layout (one omm per object) -- what sgp4.omm.parse_xml reads."""
    meta = ("OBJECT_NAME", "OBJECT_ID")
    mean = (
        "EPOCH",
        "MEAN_MOTION",
        "ECCENTRICITY",
        "INCLINATION",
        "RA_OF_ASC_NODE",
        "ARG_OF_PERICENTER",
        "MEAN_ANOMALY",
    )
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n<ndm>\n']
    for row in rows:
        tle = [k for k in row if k not in meta + mean]

        def tags(keys, row=row):
            return "".join(f"\n<{k}>{row[k]}</{k}>" for k in keys if k in row)

        out.append(
            '<omm id="CCSDS_OMM_VERS" version="2.0"><header/><body><segment>'
            f"<metadata>{tags(meta)}<CENTER_NAME>EARTH</CENTER_NAME></metadata>"
            f"<data><meanElements>{tags(mean)}</meanElements><tleParameters>{tags(tle)}</tleParameters></data>"
            "</segment></body></omm>\n"
        )
    out.append("</ndm>\n")
    return "".join(out)


@pytest.mark.parametrize("suffix", ["json", "xml"])
def test_omm_json_and_xml_match_csv(tmp_path: Path, suffix: str) -> None:
    rows = [dict(r) for r in omm.parse_csv(io.StringIO(OMM_CSV))]
    path = tmp_path / f"three.{suffix}"
    path.write_text(_omm_json(rows) if suffix == "json" else _omm_xml(rows))
    c = read_elements(path)
    assert list(c.satellites["name"]) == ["STARLINK-1008", "STARLINK-1012", "SARAMAGO"]
    assert_same_satrecs(c.satrecs, _sgp4_omm(OMM_CSV))
    if suffix == "xml":
        assert_same_satrecs(c.satrecs, [_init(f) for f in omm.parse_xml(io.StringIO(path.read_text()))])


def _init(fields) -> Satrec:
    sat = Satrec()
    omm.initialize(sat, fields)
    return sat


def test_omm_csv_missing_column_reported_once(tmp_path: Path) -> None:
    lines = OMM_CSV.split("\r\n")
    header = lines[0].split(",")
    drop = header.index("INCLINATION")
    text = "\r\n".join(",".join(c for i, c in enumerate(line.split(",")) if i != drop) for line in lines)
    path = tmp_path / "noinc.csv"
    path.write_text(text, newline="")
    for skip in (False, True):
        with pytest.raises(ElementsError) as info:
            read_elements(path, skip_invalid=skip)
        assert (info.value.line, info.value.field) == (1, "INCLINATION")
        assert str(info.value).startswith(f"{path}:1: field INCLINATION:")
        assert str(info.value).count("INCLINATION") == 3  # field, message, hint -- once, not per record


def test_omm_csv_bad_epoch(tmp_path: Path) -> None:
    text = OMM_CSV.replace("2026-08-18T04:46:20.692704", "2026-08-18T25:46:20")
    path = tmp_path / "badepoch.csv"
    path.write_text("\r\n" + text, newline="")  # a leading blank line: record 2 is file line 4
    with pytest.raises(ElementsError) as info:
        read_elements(path)
    assert (info.value.record, info.value.line, info.value.field) == (2, 4, "EPOCH")
    assert "badepoch.csv:4: field EPOCH: STARLINK-1012 NORAD 44718: EPOCH" in str(info.value)
    c = read_elements(path, skip_invalid=True)
    assert list(c.satellites["norad_id"]) == [44714, 100000]
    assert [(s.location, s.field) for s in c.skipped] == [("record 2 (line 4)", "EPOCH")]


def test_omm_json_non_numeric_mean_motion(tmp_path: Path) -> None:
    rows = [dict(r) for r in omm.parse_csv(io.StringIO(OMM_CSV))]
    rows[2]["MEAN_MOTION"] = "fast"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(rows))
    with pytest.raises(ElementsError) as info:
        read_elements(path)
    assert (info.value.record, info.value.field) == (3, "MEAN_MOTION")
    assert str(info.value).startswith(f"{path} record 3: field MEAN_MOTION: SARAMAGO NORAD 100000: MEAN_MOTION 'fast'")
    c = read_elements(path, skip_invalid=True)
    assert len(c) == 2 and [s.location for s in c.skipped] == ["record 3"]


@pytest.mark.parametrize(
    ("key", "value", "field"),
    [
        ("INCLINATION", "200", "INCLINATION"),
        ("ECCENTRICITY", "1.5", "ECCENTRICITY"),
        ("NORAD_CAT_ID", "12a", "NORAD_CAT_ID"),
        ("BSTAR", None, "BSTAR"),
        ("MEAN_MOTION", "nan", "MEAN_MOTION"),
    ],
)
def test_omm_xml_bad_field_points_at_its_line(tmp_path: Path, key: str, value: str | None, field: str) -> None:
    rows = [dict(r) for r in omm.parse_csv(io.StringIO(OMM_CSV))]
    if value is None:
        del rows[1][key]
    else:
        rows[1][key] = value
    path = tmp_path / "bad.xml"
    text = _omm_xml(rows)
    path.write_text(text)
    with pytest.raises(ElementsError) as info:
        read_elements(path)
    lines = text.splitlines()
    segment_line = [i for i, line in enumerate(lines, 1) if "<segment>" in line][1]
    expected = segment_line if value is None else lines.index(f"<{key}>{value}</{key}>") + 1
    assert (info.value.record, info.value.line, info.value.field) == (2, expected, field)
    assert f"bad.xml:{expected}: field {field}" in str(info.value)
    assert len(read_elements(path, skip_invalid=True)) == 2


def test_malformed_json_and_xml(tmp_path: Path) -> None:
    js = tmp_path / "cut.json"
    js.write_text('[\n{"OBJECT_NAME": "X",\n')
    with pytest.raises(ElementsError, match="not valid JSON") as info:
        read_elements(js)
    assert info.value.line == 3
    xml = tmp_path / "cut.xml"
    xml.write_text("<ndm>\n<omm>\n<body>\n</omm>")
    with pytest.raises(ElementsError, match="not well-formed XML") as info:
        read_elements(xml)
    assert info.value.line == 4


def test_nine_digit_norad_id_round_trips(tmp_path: Path) -> None:
    text = OMM_CSV.replace(",44718,", ",270000123,")
    src = tmp_path / "nine.csv"
    src.write_text(text, newline="")
    c = read_elements(src)
    assert list(c.satellites["norad_id"]) == [44714, 270000123, 100000]
    assert c.satrecs[1].satnum == 0  # Satrec cannot hold it; the table does
    fr = np.linspace(0.0, 1.0, 25)
    _, r0 = positions_km(c.satrecs, 2461270.5, fr)
    for fmt in ("csv", "json", "xml"):
        out = write_omm(c, tmp_path / f"nine_out.{fmt}")
        back = read_elements(out)
        assert list(back.satellites["norad_id"]) == [44714, 270000123, 100000]
        _, r1 = positions_km(back.satrecs, 2461270.5, fr)
        np.testing.assert_allclose(r1, r0, rtol=0, atol=1e-6)
    with pytest.raises(ElementsError, match=r"STARLINK-1012 \(NORAD 270000123\).*write OMM") as info:
        write_tle(c, tmp_path / "nine.tle")
    assert info.value.record == 2 and info.value.field == "NORAD_CAT_ID"
    assert not (tmp_path / "nine.tle").exists()


# ------------------------------------------------------------------------------------------------------------------
# Writers


def test_write_tle_round_trip_is_exact(tmp_path: Path) -> None:
    c = read_tle_text(TLE_TEXT)
    path = write_tle(c, tmp_path / "out.tle")
    lines = path.read_text().splitlines()
    assert lines == [line.rstrip() for line in TLE_LINES]  # CelesTrak's data lines byte for byte
    assert_same_satrecs(read_elements(path).satrecs, c.satrecs)


def test_write_tle_from_omm_and_gzip(tmp_path: Path) -> None:
    c = read_omm_records(omm.parse_csv(io.StringIO(OMM_CSV)))
    path = write_tle(c, tmp_path / "from_omm.tle.gz")
    text = gzip.decompress(path.read_bytes()).decode()
    assert text.splitlines()[7].startswith("1 A0000U 26067CY  26230.12299912")
    back = read_elements(path)
    assert list(back.satellites["norad_id"]) == [44714, 44718, 100000]
    assert list(back.satellites["intl_designator"]) == list(c.satellites["intl_designator"])
    # CelesTrak's OMM epochs sit on the TLE's 1e-8 day grid, so the TLE keeps them exactly
    assert [s.jdsatepochF for s in back.satrecs] == [s.jdsatepochF for s in c.satrecs]


@pytest.mark.parametrize("fmt", ["csv", "json", "xml"])
def test_write_omm_layout(tmp_path: Path, fmt: str) -> None:
    c = read_tle_text(TLE_TEXT)
    path = write_omm(c, tmp_path / f"out.{fmt}", format=fmt)
    text = path.read_bytes().decode()
    if fmt == "csv":
        assert text.split("\r\n")[0] == ",".join(OMM_FIELDS)
        rows = list(omm.parse_csv(io.StringIO(text)))
    elif fmt == "json":
        rows = json.loads(text)
        assert list(rows[0]) == list(OMM_FIELDS)
    else:
        rows = list(omm.parse_xml(io.StringIO(text)))
    assert rows[0]["OBJECT_ID"] == "2019-074B" and rows[0]["EPOCH"] == "2025-09-23T04:17:46.398336"
    # sgp4's own OMM reader accepts what we write and gets the same orbits.  Not bit-identical: the OMM path
    # hands sgp4init the epoch as one float of days since 1949 (ulp ~0.3 us, ~2 mm along-track), the TLE path
    # keeps a whole + fraction Julian date.
    fr = np.linspace(0.0, 1.0, 25)
    _, r0 = positions_km(c.satrecs, 2460941.5, fr)
    _, r1 = positions_km([_init(row) for row in rows], 2460941.5, fr)
    np.testing.assert_allclose(r1, r0, rtol=0, atol=5e-6)


def test_write_omm_format_from_extension_and_errors(tmp_path: Path) -> None:
    c = read_tle_text(TLE_TEXT)
    assert write_omm(c, tmp_path / "x.json.gz").read_bytes()[:2] == b"\x1f\x8b"
    assert json.loads(gzip.decompress((tmp_path / "x.json.gz").read_bytes()))[1]["NORAD_CAT_ID"] == 44716
    assert (write_omm(c, tmp_path / "x.omm")).read_text().startswith("OBJECT_NAME,")
    with pytest.raises(InputError):
        write_omm(c, tmp_path / "x.csv", format="kvn")
    with pytest.raises(InputError):
        write_omm(c, tmp_path / "x.csv", format="tle")


def test_writes_are_atomic_and_leave_no_temp_files(tmp_path: Path) -> None:
    target = tmp_path / "keep.tle"
    target.write_text("old content\n")
    os.chmod(target, 0o640)
    nine = read_elements(_write(tmp_path / "nine.csv", OMM_CSV.replace(",44718,", ",270000123,")))
    with pytest.raises(ElementsError):
        write_tle(nine, target)
    assert target.read_text() == "old content\n"
    write_tle(read_tle_text(TLE_TEXT), target)
    assert target.read_text().startswith("STARLINK-1008\n")
    assert target.stat().st_mode & 0o777 == 0o640  # an overwritten file keeps its permissions
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.tle", "nine.csv"]


def _write(path: Path, text: str) -> Path:
    path.write_text(text, newline="")
    return path


def test_names_that_look_like_data_lines_survive(tmp_path: Path) -> None:
    lines = list(TLE_LINES)
    lines[0] = "0 1 WEIRD NAME"  # Space-Track style name line whose name starts with "1 "
    c = read_tle_text("\n".join(lines))
    assert c.satellites["name"][0] == "1 WEIRD NAME"
    back = read_elements(write_tle(c, tmp_path / "weird.tle"))
    assert back.satellites["name"][0] == "1 WEIRD NAME"


# ------------------------------------------------------------------------------------------------------------------
# Real catalogs (SKYFENCE_DATA_DIR)

# PROVENANCE.md section 1d: counts per group and snapshot; manifest_YYYYMMDD.json has the other dates.
PROVENANCE_COUNTS = {
    "20260712": {"starlink": 10737, "oneweb": 651, "kuiper": 393, "qianfan": 200, "guowang": 173, "active": 15987},
    "20260818": {"starlink": 10926, "oneweb": 651, "kuiper": 391, "qianfan": 238, "guowang": 191, "active": 16344},
}
OMM_SNAPSHOTS = [
    (group, date)
    for date in ("20260712", "20260722", "20260811", "20260813", "20260818")
    for group in ("starlink", "oneweb", "kuiper", "qianfan", "guowang")
] + [("active", "20260818")]


@pytest.mark.parametrize(("group", "date"), OMM_SNAPSHOTS, ids=[f"{g}_{d}" for g, d in OMM_SNAPSHOTS])
def test_real_omm_csv_snapshots_load_and_propagate(data_file, group: str, date: str) -> None:
    c = read_elements(data_file(f"tle/omm_csv_2026/{group}_{date}.csv.gz"))
    manifest = json.loads(data_file(f"tle/omm_csv_2026/manifest_{date}.json").read_text())
    expected = manifest["groups"][group]["count"]
    assert expected == PROVENANCE_COUNTS.get(date, {}).get(group, expected)
    assert (len(c), c.skipped, c.name) == (expected, (), f"{group}_{date}")
    assert c.satellites["norad_id"].is_unique
    # every satellite at its own epoch + 1 h ...
    assert all(sat.sgp4_tsince(60.0)[0] == 0 for sat in c.satrecs)
    # ... and the whole catalog at once at its median epoch + 1 h
    epochs = np.array([s.jdsatepoch for s in c.satrecs]) + np.array([s.jdsatepochF for s in c.satrecs])
    jd = np.floor(np.median(epochs) - 0.5) + 0.5
    fr = np.median(epochs) - jd + 1.0 / 24.0
    e, r, _ = c.satrec_array.sgp4(np.array([jd]), np.array([fr]))
    assert not e.any()
    radius_km = np.linalg.norm(r[:, 0], axis=-1)
    assert np.all(radius_km > 6378.0)


def test_real_omm_csv_equals_sgp4_omm(data_file) -> None:
    path = data_file("tle/omm_csv_2026/starlink_20260818.csv.gz")
    c = read_elements(path)
    text = gzip.decompress(path.read_bytes()).decode()
    reference = _sgp4_omm(text)
    assert_same_satrecs(c.satrecs, reference)
    fr = np.linspace(0.0, 1.0, 5)
    e1, r1 = positions_km(c.satrecs, 2461270.5, fr)
    e2, r2 = positions_km(reference, 2461270.5, fr)
    np.testing.assert_array_equal(e1, e2)
    np.testing.assert_array_equal(r1, r2)


def _tle_pairs(path: Path) -> list[tuple[str, str]]:
    lines = [line.rstrip() for line in path.read_text().splitlines() if line.strip()]
    return [(a, b) for a, b in itertools.pairwise(lines) if a.startswith("1 ") and b.startswith("2 ")]


def test_real_tle_equals_skyfield_earth_satellite(data_file) -> None:
    from skyfield.api import EarthSatellite, load

    path = data_file("tle/starlink_20250923.tle")
    c = read_elements(path)
    assert (len(c), c.skipped, c.name) == (8325, (), "starlink_20250923")
    ts = load.timescale()
    models = [EarthSatellite(l1, l2, ts=ts).model for l1, l2 in _tle_pairs(path)]
    assert len(models) == 8325
    fr = np.linspace(0.0, 1.0, 7)
    e1, r1 = positions_km(c.satrecs, 2460941.5, fr)
    e2, r2 = positions_km(models, 2460941.5, fr)
    np.testing.assert_array_equal(e1, e2)
    ok = e1 == 0
    assert ok.mean() > 0.99
    assert np.max(np.abs(r1[ok] - r2[ok])) <= 1e-6


@pytest.mark.parametrize(
    "name", ["tle/starlink_20250727.tle", "tle/oneweb_20250923.tle", "tle/starlink_20230529_idp.tle.gz"]
)
def test_real_tle_files_load(data_file, name: str) -> None:
    expected = {"starlink_20250727": 7996, "oneweb_20250923": 651, "starlink_20230529_idp": 4168}
    c = read_elements(data_file(name))
    assert len(c) == expected[c.name] and c.skipped == ()


def test_real_tle_round_trip(data_file, tmp_path: Path) -> None:
    path = data_file("tle/starlink_20250923.tle")
    c = read_elements(path)
    out = write_tle(c, tmp_path / "rt.tle")
    assert [line for line in out.read_text().splitlines() if line[:2] in ("1 ", "2 ")] == [
        x for pair in _tle_pairs(path) for x in pair
    ]
    back = read_elements(out)
    assert_same_satrecs(back.satrecs, c.satrecs)
    assert back.satellites[["norad_id", "name", "intl_designator"]].equals(
        c.satellites[["norad_id", "name", "intl_designator"]]
    )


@pytest.mark.parametrize("fmt", ["csv", "json", "xml"])
def test_real_omm_round_trip(data_file, tmp_path: Path, fmt: str) -> None:
    c = read_elements(data_file("tle/omm_csv_2026/active_20260818.csv.gz"))
    assert (c.satellites["norad_id"] > 99999).any()
    out = write_omm(c, tmp_path / f"active.{fmt}.gz", format=fmt)
    back = read_elements(out)
    assert back.satellites[["norad_id", "name", "intl_designator"]].equals(
        c.satellites[["norad_id", "name", "intl_designator"]]
    )
    fr = np.linspace(0.0, 1.0, 13)  # a day in 2-hour steps
    e1, r1 = positions_km(c.satrecs, 2461270.5, fr)
    e2, r2 = positions_km(back.satrecs, 2461270.5, fr)
    np.testing.assert_array_equal(e1, e2)
    ok = e1 == 0
    assert np.max(np.abs(r1[ok] - r2[ok])) < 1e-6  # km: well under 1 mm


def test_real_active_catalog_alpha5_tle_round_trip(data_file, tmp_path: Path) -> None:
    c = read_elements(data_file("tle/omm_csv_2026/active_20260818.csv.gz"))
    back = read_elements(write_tle(c, tmp_path / "active.tle"))
    assert back.satellites["norad_id"].equals(c.satellites["norad_id"])
    text = (tmp_path / "active.tle").read_text()
    assert re.search(r"^1 A0000U ", text, re.MULTILINE)
