"""Regions on real data: Natural Earth countries (two points of view), disputed areas, DeepState, GeoJSON files.

Expected memberships are the point-in-polygon checks published with the data
(``shared/data/PROVENANCE.md`` §2 and §6): Simferopol is in Russia in the
default Natural Earth layers and in Ukraine in the German point of view; all
five DeepState polygons contain Simferopol, Donetsk and Mariupol but not Kyiv.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import h3
import numpy as np
import pytest
import shapely
from typer.testing import CliRunner

from skyfence.earth import regions
from skyfence.earth.cells import cell_area_km2, cell_centers, polygon_to_cells
from skyfence.earth.regions import Region, RegionWarning, get_region, lookup_country
from skyfence.errors import InputError, RegionError

TAIPEI = (25.033, 121.565)
SIMFEROPOL = (44.952, 34.102)
DONETSK = (48.0159, 37.8028)
MARIUPOL = (47.0971, 37.5434)
KYIV = (50.4501, 30.5234)
PRISTINA = (42.6629, 21.1655)
PARIS = (48.8566, 2.3522)
OSLO = (59.9139, 10.7522)
DEEPSTATE_DATES = ("2024-07-08", "2025-01-02", "2025-07-01", "2026-01-01", "2026-08-22")
#: Area of Taiwan (Taiwan, Penghu, Kinmen, Matsu) [km²], Ministry of the Interior, ROC: 36,197 km².
TAIWAN_AREA_KM2 = 36_197.0


@pytest.fixture(scope="module", autouse=True)
def mirror(data_dir: Path):
    """Every test here reads the real data mirror through ``skyfence.data.path``."""
    return data_dir


def _lookup(city, **kw) -> str:
    return str(lookup_country(city[0], city[1], **kw)[()])


# --------------------------------------------------------------------------- countries & points of view


def test_countries_table_has_iso_codes_and_no_minus_99():
    for pov, scale in (("default", "110m"), ("default", "50m"), ("DEU", "10m")):
        table = regions.countries(pov, scale)
        assert {"iso_a2", "iso_a3", "name", "geometry"} <= set(table.columns)
        assert not (table["iso_a2"] == "-99").any() and not (table["iso_a3"] == "-99").any()
        codes = set(table["iso_a2"])
        assert {"TW", "FR", "NO", "XK", "UA", "RU", "FJ"} <= codes, pov
        assert table.loc[table["iso_a2"] == "TW", "iso_a3"].iloc[0] == "TWN"  # Natural Earth ISO_A2 is CN-TW
        assert shapely.is_valid(table["geometry"].to_numpy()).all()


def test_countries_returns_a_copy():
    table = regions.countries()
    table.loc[:, "iso_a2"] = "ZZ"
    assert "ZZ" not in set(regions.countries()["iso_a2"])


def test_taipei_is_in_taiwan_in_every_layer():
    for pov, scale in (("default", "110m"), ("default", "50m"), ("DEU", None)):
        assert _lookup(TAIPEI, pov=pov, scale=scale) == "TW"


def test_simferopol_depends_on_the_point_of_view():
    assert _lookup(SIMFEROPOL) == "RU"
    assert _lookup(SIMFEROPOL, scale="110m") == "RU"
    assert _lookup(SIMFEROPOL, pov="DEU") == "UA"
    assert _lookup(SIMFEROPOL, pov="deu") == "UA"


def test_cities_with_minus_99_in_natural_earth():
    assert _lookup(PARIS) == "FR"
    assert _lookup(OSLO) == "NO"
    assert _lookup(PRISTINA) == "XK"
    assert _lookup(DONETSK) == "UA" and _lookup(KYIV) == "UA"


def test_lookup_is_vectorised_and_handles_sea_nan_and_wrapped_longitudes():
    lat = np.array([[TAIPEI[0], 0.0], [np.nan, SIMFEROPOL[0]]])
    lon = np.array([[TAIPEI[1], -30.0], [10.0, SIMFEROPOL[1] + 360.0]])
    codes = lookup_country(lat, lon)
    assert codes.shape == (2, 2)
    assert codes.tolist() == [["TW", ""], ["", "RU"]]


def test_bad_point_of_view_or_scale_is_an_input_error():
    with pytest.raises(InputError, match="point of view"):
        lookup_country(0.0, 0.0, pov="XYZ")
    with pytest.raises(InputError, match="10m"):
        regions.countries(pov="DEU", scale="50m")


def test_lookup_agrees_with_a_plain_shapely_loop():
    rng = np.random.default_rng(2024)
    n = 100_000
    lat = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))  # uniform on the sphere
    lon = rng.uniform(-180, 180, n)
    codes = lookup_country(lat, lon)
    assert 0.2 < (codes != "").mean() < 0.35  # land is ~29 % of the surface
    table = regions.countries()
    geometries = table["geometry"].to_numpy()
    bounds = shapely.bounds(geometries)
    sample = rng.choice(n, 3000, replace=False)
    for i in sample:
        point = shapely.Point(lon[i], lat[i])
        box_hit = (
            (bounds[:, 0] <= lon[i]) & (lon[i] <= bounds[:, 2]) & (bounds[:, 1] <= lat[i]) & (lat[i] <= bounds[:, 3])
        )
        owners = {table["iso_a2"].iloc[j] for j in np.flatnonzero(box_hit) if geometries[j].intersects(point)}
        assert codes[i] in (owners or {""}), (lat[i], lon[i], owners)


# --------------------------------------------------------------------------- get_region


@pytest.mark.parametrize("spec", ["TW", "tw", "TWN", "Taiwan", "TAIWAN", " taiwan "])
def test_taiwan_by_code_and_name(spec):
    region = get_region(spec)
    assert (region.code, region.kind, region.name, region.pov) == ("TW", "country", "Taiwan", "default")
    assert region.source == "ne_admin0_50m"
    assert region.contains(*TAIPEI)


def test_alpha3_and_pov_choose_the_layer():
    ukraine = get_region("UKR")
    assert ukraine.code == "UA" and not ukraine.contains(*SIMFEROPOL)
    ukraine_deu = get_region("UKR", pov="DEU")
    assert ukraine_deu.source == "ne_admin0_10m_deu" and ukraine_deu.pov == "DEU"
    assert ukraine_deu.contains(*SIMFEROPOL)


def test_a_code_selects_every_unit_with_it():
    australia = get_region("AU")
    assert australia.name == "Australia"
    table = regions.countries()
    territories = table.loc[table["adm0_a3"] == "IOA", "geometry"].iloc[0]  # Christmas, Cocos (Keeling) Is.
    point = territories.representative_point()
    assert australia.contains(point.y, point.x)
    assert _lookup((point.y, point.x)) == "AU"
    assert get_region("Indian Ocean Territories").code == "AU"


def test_taiwan_area_polygon_and_cells():
    region = get_region("TW")
    area = region.area_km2()
    assert area == pytest.approx(TAIWAN_AREA_KM2, rel=0.03)
    cells = region.cells(6)
    cells_area = sum(h3.cell_area(h3.int_to_str(c), unit="km^2") for c in cells.tolist())
    assert cells_area == pytest.approx(area, rel=0.02)


@pytest.mark.parametrize(("code", "res"), [("CH", 5), ("UA", 4), ("FJ", 6), ("RU", 3), ("AQ", 3), ("CL", 4)])
def test_country_cells_keep_the_area_within_the_cell_size_bound(code, res):
    region = get_region(code)
    area = region.area_km2()
    cells = region.cells(res)
    perimeter_km = sum(
        abs(regions._GEOD.geometry_length(shapely.segmentize(p.exterior, 0.25))) / 1e3
        for p in shapely.get_parts(region.geometry)
    )
    # boundary band of the cells, capped by the polygon's own area, plus 1 % for sphere vs ellipsoid
    bound = min(2.0 * perimeter_km * h3.average_hexagon_edge_length(res, unit="km"), area) + 0.01 * area
    assert abs(cell_area_km2(cells).sum() - area) <= bound


def test_fiji_cells_straddle_the_antimeridian():
    fiji = get_region("FJ")
    # Fiji's islands east of 180° (Lau group) are smaller than a res-4 cell (1,770 km²): no cell *centre*
    # falls on them, so take every cell touching Fiji at res 4, and cell centres at res 6 (36 km²)
    for res, containment in ((4, "overlap"), (6, "center")):
        lat, lon = cell_centers(fiji.cells(res, containment))
        assert (lon > 179).any() and (lon < -179).any(), (res, containment)
        assert not (np.abs(lon) < 170).any()
        # each centre is inside Fiji or within one cell (res 4 edge 26 km ≈ 0.24°) of it
        distance_deg = shapely.distance(fiji.geometry, shapely.points(lon, lat))
        assert (distance_deg < 0.3).all()
    inside = fiji.cells(6)
    lat, lon = cell_centers(inside)
    assert fiji.contains(lat, lon).all()


def test_antarctica_cells_are_south():
    lat, _ = cell_centers(get_region("AQ").cells(2))
    assert lat.size and (lat < -55).all()


def test_world():
    world = get_region("world")
    assert world.kind == "world"
    assert len(world.cells(0)) == 122
    assert world.area_km2() == pytest.approx(510_065_621.724, rel=1e-6)  # WGS-84 surface
    assert world.contains([0.0, 90.0, np.nan], [0.0, 10.0, 0.0]).tolist() == [True, True, False]
    with pytest.raises(InputError):
        world.cells(9)


def test_unknown_region_suggests_close_names():
    with pytest.raises(RegionError, match="did you mean Taiwan") as info:
        get_region("Taiwn")
    assert isinstance(info.value, ValueError)
    assert "\n" not in str(info.value)


def test_empty_region_spec():
    with pytest.raises(RegionError):
        get_region("  ")


# --------------------------------------------------------------------------- disputed & occupied


def test_disputed_crimea():
    crimea = get_region("disputed:Crimea")
    assert crimea.kind == "disputed" and crimea.source == "ne_disputed_10m"
    assert "Russia" in crimea.note and "Ukraine" in crimea.note
    assert crimea.contains(*SIMFEROPOL) and not crimea.contains(*KYIV)
    assert get_region("disputed:crimea").name == "Crimea"


def test_disputed_unknown_name_suggests():
    with pytest.raises(RegionError, match="disputed:Crimea"):
        get_region("disputed:Crimeaa")
    # nothing close: list disputed areas, never ISO codes (the user asked for a disputed area)
    with pytest.raises(RegionError, match=r"known disputed areas: disputed:Abkhazia, .*in all") as raised:
        get_region("disputed:Nowhere")
    assert "ISO code" not in str(raised.value)


def test_disputed_table():
    table = regions.disputed_areas()
    assert {"Crimea", "Donbass", "Abkhazia", "Transnistria", "Kuril Is."} <= set(table["name"])


def test_occupied_ukraine_2026_08_22():
    occupied = get_region("occupied:ua:2026-08-22")
    assert occupied.kind == "occupied" and occupied.source == "deepstate_20260822"
    assert occupied.contains(*DONETSK)
    assert not occupied.contains(*KYIV)


@pytest.mark.parametrize("day", DEEPSTATE_DATES)
def test_occupied_on_every_date_matches_provenance(day):
    occupied = get_region(f"occupied:ua:{day}")
    inside = occupied.contains(*np.array([SIMFEROPOL, DONETSK, MARIUPOL, KYIV]).T)
    assert inside.tolist() == [True, True, True, False]


def test_occupied_dates_and_latest():
    assert [d.isoformat() for d in regions.occupied_dates()] == list(DEEPSTATE_DATES)
    assert get_region("occupied:ua:latest").source == "deepstate_20260822"


def test_occupied_unknown_date_lists_available_dates():
    with pytest.raises(RegionError, match="2025-01-02") as info:
        get_region("occupied:ua:2025-01-01")
    assert "2026-08-22" in str(info.value)
    with pytest.raises(RegionError, match="YYYY-MM-DD"):
        get_region("occupied:ua:yesterday")
    with pytest.raises(RegionError, match="ua"):
        get_region("occupied:ge:2025-01-02")


# --------------------------------------------------------------------------- GeoJSON files


def _write(path: Path, obj) -> Path:
    path.write_text(json.dumps(obj) if not isinstance(obj, str) else obj, encoding="utf-8")
    return path


def _feature(geometry, **properties):
    return {"type": "Feature", "properties": properties, "geometry": geometry}


def test_geojson_crossing_the_antimeridian(tmp_path):
    ring = [[170, -20], [-170, -20], [-170, -10], [170, -10], [170, -20]]
    file = _write(
        tmp_path / "pacific.geojson",
        {"type": "FeatureCollection", "features": [_feature({"type": "Polygon", "coordinates": [ring]}, name="box")]},
    )
    region = get_region(str(file))
    assert (region.kind, region.name, region.code, region.source) == ("custom", "box", "pacific", str(file))
    assert region.contains(-15.0, 179.9) and region.contains(-15.0, -179.9) and not region.contains(-15.0, 0.0)
    cells = region.cells(4)
    _, lon = cell_centers(cells)
    assert (lon > 179).any() and (lon < -179).any() and not (np.abs(lon) < 160).any()
    assert cell_area_km2(cells).sum() == pytest.approx(region.area_km2(), rel=0.02)


def test_geojson_bare_geometry_and_feature(tmp_path):
    polygon = {"type": "Polygon", "coordinates": [[[120, 22], [122, 22], [122, 26], [120, 26], [120, 22]]]}
    bare = get_region(_write(tmp_path / "bare.json", polygon))
    feature = regions.region_from_geojson(_write(tmp_path / "f.geojson", _feature(polygon)), name="mine")
    assert bare.name == "bare" and feature.name == "mine"
    assert shapely.equals(bare.geometry, feature.geometry)
    assert bare.contains(*TAIPEI)


def test_geojson_union_of_features_and_null_geometry(tmp_path):
    a = {"type": "Polygon", "coordinates": [[[0, 0], [2, 0], [2, 2], [0, 2], [0, 0]]]}
    b = {"type": "Polygon", "coordinates": [[[1, 1], [3, 1], [3, 3], [1, 3], [1, 1]]]}
    file = _write(
        tmp_path / "u.geojson", {"type": "FeatureCollection", "features": [_feature(a), _feature(None), _feature(b)]}
    )
    region = get_region(file)
    assert region.geometry.is_valid
    assert region.geometry.area == pytest.approx(7.0)


def test_geojson_polar_cap_ring(tmp_path):
    ring = [[0, 80], [90, 80], [180, 80], [-90, 80], [0, 80]]
    region = get_region(_write(tmp_path / "arctic.geojson", {"type": "Polygon", "coordinates": [ring]}))
    lat, _ = cell_centers(region.cells(3))
    assert (lat > 79).all()
    assert region.contains(89.9, 123.0)


def test_bad_json_names_the_file(tmp_path):
    file = _write(tmp_path / "broken.geojson", '{"type": "FeatureCollection", "features": [')
    with pytest.raises(RegionError, match=r"broken\.geojson") as info:
        get_region(str(file))
    assert "not valid JSON" in str(info.value)


def test_non_polygon_feature_names_file_and_index(tmp_path):
    polygon = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}
    line = {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}
    file = _write(
        tmp_path / "mixed.geojson", {"type": "FeatureCollection", "features": [_feature(polygon), _feature(line)]}
    )
    with pytest.raises(RegionError, match=r"mixed\.geojson: field features\[1\]\.geometry: geometry is a LineString"):
        get_region(str(file))


def test_swapped_coordinates_are_caught(tmp_path):
    polygon = {"type": "Polygon", "coordinates": [[[25, 121], [25, 122], [26, 122], [25, 121]]]}
    with pytest.raises(RegionError, match="swapped"):
        get_region(_write(tmp_path / "swapped.geojson", polygon))


def test_malformed_ring_names_the_feature(tmp_path):
    polygon = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0]]]}
    file = _write(tmp_path / "short.geojson", {"type": "FeatureCollection", "features": [_feature(polygon)]})
    with pytest.raises(RegionError, match=r"short\.geojson: field features\[0\]\.geometry"):
        get_region(file)


def test_self_intersecting_polygon_is_repaired_with_a_warning(tmp_path):
    bowtie = {"type": "Polygon", "coordinates": [[[0, 0], [2, 2], [2, 0], [0, 2], [0, 0]]]}
    file = _write(tmp_path / "bowtie.geojson", {"type": "FeatureCollection", "features": [_feature(bowtie)]})
    with pytest.warns(RegionWarning, match=r"bowtie\.geojson: features\[0\].*make_valid"):
        region = get_region(file)
    assert region.geometry.is_valid
    assert region.geometry.area == pytest.approx(2.0)


def test_missing_file(tmp_path):
    with pytest.raises(RegionError, match="no such file"):
        get_region(str(tmp_path / "nope.geojson"))


# --------------------------------------------------------------------------- CLI


@pytest.fixture()
def runner():
    return CliRunner()


def test_cli_info_json(runner):
    from skyfence.cli.region import app

    result = runner.invoke(app, ["info", "TW", "--res", "6", "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert (info["code"], info["kind"], info["res"]) == ("TW", "country", 6)
    assert info["cells"] == len(get_region("TW").cells(6))
    assert info["cells_area_km2"] == pytest.approx(info["area_km2"], rel=0.02)
    assert info["mean_cell_area_km2"] == pytest.approx(h3.average_hexagon_area(6, unit="km^2"), rel=1e-3)


def test_cli_info_table(runner):
    from skyfence.cli.region import app

    result = runner.invoke(app, ["info", "disputed:Crimea", "--res", "4"])
    assert result.exit_code == 0, result.output
    assert "Crimea" in result.stdout and "Admin. by Russia" in result.stdout and "km²" in result.stdout


def test_cli_lookup_point_of_view(runner):
    from skyfence.cli.region import app

    default = json.loads(runner.invoke(app, ["lookup", "44.952", "34.102", "--json"]).stdout)
    german = json.loads(runner.invoke(app, ["lookup", "44.952", "34.102", "--pov", "DEU", "--json"]).stdout)
    assert default["country"] == {"iso_a2": "RU", "name": "Russia"}
    assert german["country"] == {"iso_a2": "UA", "name": "Ukraine"}
    assert [a["name"] for a in default["disputed"]] == ["Crimea"]
    assert default["occupied"]["inside"] is True


def test_cli_lookup_negative_coordinates(runner):
    from skyfence.cli.region import app

    result = runner.invoke(app, ["lookup", "-33.87", "151.21"])
    assert result.exit_code == 0, result.output
    assert "AU" in result.stdout and "outside" in result.stdout


def test_cli_errors_are_skyfence_errors(runner):
    from skyfence.cli.region import app

    result = runner.invoke(app, ["info", "Taiwn"])
    assert result.exit_code != 0 and isinstance(result.exception, RegionError)
    result = runner.invoke(app, ["lookup", "95", "0"])
    assert isinstance(result.exception, InputError)
    result = runner.invoke(app, ["info", "TW", "--res", "16"])
    assert isinstance(result.exception, InputError)


def test_cli_main_prints_one_line(monkeypatch, capsys):
    from skyfence.cli import main

    monkeypatch.setattr(sys, "argv", ["skyfence", "region", "info", "occupied:ua:2025-01-01"])
    with pytest.raises(SystemExit) as info:
        main()
    assert info.value.code == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "2025-01-02" in err and "Traceback" not in err


def test_region_is_a_plain_dataclass():
    region = Region("box", "BOX", "custom", shapely.box(0, 0, 1, 1), source="test")
    assert region.contains(0.5, 0.5) and not region.contains(1.5, 0.5)
    assert region.area_km2() == pytest.approx(12_308.8, rel=1e-3)  # 1°×1° at the equator on WGS-84
    assert len(polygon_to_cells(region.geometry, 5)) == len(region.cells(5))
    assert math.isclose(region.area_km2(), regions.geodesic_area_km2(region.geometry))
