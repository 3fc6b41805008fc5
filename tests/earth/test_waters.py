"""Territorial seas (UNCLOS Art. 3: 12 nmi) on the real Natural Earth layers, against a brute-force reference.

The reference is independent of the construction: the geodesic distance (Karney, pyproj.Geod) from a point to every
vertex of each country's boundary densified to 0.005° (the error of a vertex distance against the segment distance
is under 2 m at 22 km).  A sea point nearer than 12 nmi to some coast is in the nearest coast's territorial sea
(UNCLOS Art. 15, median line); farther than 12 nmi from every coast it is in none.  Points within 0.5 km of the
12-nmi line or of the median line are skipped (the belt is drawn with 32 segments a circle and a 100 m coast
simplification).
"""

from __future__ import annotations

import numpy as np
import pyproj
import pytest
import shapely
from typer.testing import CliRunner

from skyfence.earth import regions, waters

_GEOD = pyproj.Geod(ellps="WGS84")
_LIMIT_KM = 12 * 1.852
_BAND_KM = 0.5


def _reference(lat: float, lon: float, pov: str) -> list[tuple[float, str]]:
    """(distance [km], ISO code) to each nearby country's boundary, nearest first."""
    table = regions.countries(pov)
    out = []
    for shift in (-360.0, 0.0, 360.0):  # across the antimeridian
        window = (lon + shift - 1.5, lat - 1.0, lon + shift + 1.5, lat + 1.0)
        for row in table.itertuples():
            if row.iso_a2 == "AQ":
                continue
            line = shapely.clip_by_rect(shapely.boundary(row.geometry), *window)
            xy = shapely.get_coordinates(shapely.segmentize(line, 0.005))
            if len(xy):
                _, _, d = _GEOD.inv(np.full(len(xy), lon + shift), np.full(len(xy), lat), xy[:, 0], xy[:, 1])
                out.append((float(d.min()) / 1000.0, str(row.iso_a2)))
    best: dict[str, float] = {}
    for d, code in out:
        best[code] = min(d, best.get(code, np.inf))
    return sorted((d, c) for c, d in best.items())


def _code(lat: float, lon: float, pov: str) -> str | None:
    row = int(waters.lookup_waters(lat, lon, pov=pov)[0])
    return None if row < 0 else str(waters.territorial_seas(pov).table.iloc[row]["code"])


# the review's points (trial 2, item 3): a port, a bay behind a flood barrier, a roadstead, a city missing from the
# 1:50m polygons; all within 12 nmi of the coast in both layers
@pytest.mark.parametrize(
    ("lat", "lon", "code"),
    [(43.05, 131.85, "RU"), (59.95, 29.9, "RU"), (27.1, 56.3, "IR"), (64.7337, 177.5089, "RU")],
)
@pytest.mark.parametrize("pov", ["default", "DEU"])
def test_report_points_are_territorial_sea(lat, lon, code, pov):
    assert regions.lookup_country(lat, lon, pov=pov)[()] == ""
    assert _code(lat, lon, pov) == code


def test_off_nampo_is_korean_at_1_10m_and_just_outside_at_1_50m():
    # 11.8 nmi from the 1:10m coast, 12.2 nmi from the generalised 1:50m coast: the scale decides, honestly
    assert _code(38.9, 124.9, "DEU") == "KP"
    assert _reference(38.9, 124.9, "default")[0][0] > _LIMIT_KM
    assert _code(38.9, 124.9, "default") is None


@pytest.mark.parametrize(
    ("lat", "lon", "pov", "code"),
    [
        (45.30, 36.55, "DEU", "UA"),  # Kerch Strait, nearer the Crimean shore (Crimea in UA in the German view)
        (45.25, 36.52, "DEU", "UA"),
        (45.30, 36.55, "default", "RU"),  # the same water in the default view: both shores RU
        (26.67, 56.43, "DEU", "IR"),  # Strait of Hormuz, mid-channel: 10.4 nmi from Iran, 17.3 from Oman
        (65.77, -168.99, "DEU", "RU"),  # Bering Strait between the Diomedes: median line, nearer Big Diomede
        (65.80, -168.30, "DEU", "US"),
        (44.5, -30.0, "default", None),  # mid-Atlantic
    ],
)
def test_held_out_straits(lat, lon, pov, code):
    assert _code(lat, lon, pov) == code


def test_thirty_nmi_off_a_coast_is_beyond_every_territorial_sea():
    # due west of Cabo da Roca (38.78 N, 9.50 W), 30 nmi out
    lon, lat, _ = _GEOD.fwd(-9.50, 38.78, 270.0, 30 * 1852.0)
    assert _reference(lat, lon, "default")[0][0] > 25 * 1.852
    assert _code(lat, lon, "default") is None


@pytest.mark.parametrize(
    ("pov", "box"),
    [
        ("default", (22.0, 59.0, 30.5, 60.8)),  # Gulf of Finland: FI, EE, RU, median lines
        ("default", (176.5, -19.5, 180.0, -15.5)),  # Fiji, west of the antimeridian
        ("default", (-180.0, -19.5, -178.0, -15.5)),  # Fiji, east of it
        ("DEU", (35.8, 44.8, 37.6, 45.7)),  # Kerch Strait, UA and RU shores
    ],
)
def test_random_points_match_the_nearest_coast_reference(pov, box):
    rng = np.random.default_rng(20261201)
    lon = rng.uniform(box[0], box[2], 400)
    lat = rng.uniform(box[1], box[3], 400)
    land = regions.lookup_country(lat, lon, pov=pov) != ""
    checked = 0
    for y, x in zip(lat[~land], lon[~land], strict=True):
        nearest = _reference(float(y), float(x), pov)
        d0 = nearest[0][0] if nearest else np.inf
        d1 = nearest[1][0] if len(nearest) > 1 else np.inf
        if abs(d0 - _LIMIT_KM) < _BAND_KM or (d1 < _LIMIT_KM and d1 - d0 < _BAND_KM):
            continue
        expected = nearest[0][1] if d0 < _LIMIT_KM else None
        assert _code(float(y), float(x), pov) == expected, (y, x, nearest[:3])
        checked += 1
    assert checked >= 40


def test_antarctica_has_no_territorial_sea():
    assert "AQ" not in set(waters.territorial_seas("default").table["code"])
    assert _code(-77.8, 166.0, "default") is None  # McMurdo Sound


def test_cached_on_disk_and_reread_identically(tmp_path, monkeypatch):
    first = waters.territorial_seas("default").table
    file = waters._cache_file("ne_admin0_50m")
    assert file is not None and file.is_file()
    again = waters._read_cache(file)
    assert again is not None and list(again["code"]) == list(first["code"])
    assert all(shapely.equals_exact(again["geometry"], first["geometry"], 0.0))


def test_region_lookup_names_the_territorial_sea():
    from skyfence.cli import app

    found = regions.region_lookup(64.7337, 177.5089)
    assert found["country"]["iso_a2"] == ""
    assert found["territorial_sea"]["iso_a2"] == "RU"
    assert "12 nmi of the Natural Earth 1:50m coast" in found["territorial_sea"]["basis"]
    assert regions.region_lookup(25.04, 121.56)["territorial_sea"] is None
    out = CliRunner().invoke(app, ["region", "lookup", "43.05", "131.85"], env={"COLUMNS": "200"}).output
    assert "territorial sea of RU (Russia)" in out
    out = CliRunner().invoke(app, ["region", "lookup", "44.5", "-30"], env={"COLUMNS": "200"}).output
    assert "beyond every territorial sea" in out
