"""H3 cell helpers: antimeridian, poles, containment modes, vectorised conversions.

Reference areas come from the closed-form area of a latitude/longitude
quadrangle on the WGS-84 ellipsoid (Snyder 1987, *Map Projections -- A Working
Manual*, USGS PP 1395, eq. 3-12 for the authalic ``q``), not from our code.
"""

from __future__ import annotations

import doctest
import math

import h3
import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import MultiPolygon, Polygon, box

from skyfence.earth import cells as cells_mod
from skyfence.earth.cells import (
    cell_area_km2,
    cell_centers,
    cells_to_polygons,
    points_to_cells,
    polygon_to_cells,
    split_antimeridian,
    validate_resolution,
)
from skyfence.earth.regions import geodesic_area_km2
from skyfence.errors import InputError

WGS84_A_KM = 6378.137
WGS84_F = 1 / 298.257223563
#: h3's sphere (h3 C library, ``EARTH_RADIUS_KM``: the WGS-84 authalic radius).
H3_EARTH_RADIUS_KM = 6371.007180918475
#: Surface of the WGS-84 ellipsoid [km²] (GeographicLib documentation, Karney 2013).
WGS84_SURFACE_KM2 = 510_065_621.724


def _quadrangle_km2(lat1: float, lat2: float, dlon_deg: float) -> float:
    """Area [km²] of the lon/lat box [lat1, lat2] × dlon on WGS-84 (Snyder 1987 eq. 3-12)."""
    e2 = WGS84_F * (2 - WGS84_F)
    e = math.sqrt(e2)

    def q(lat):
        s = math.sin(math.radians(lat))
        return (1 - e2) * (s / (1 - e2 * s * s) - math.log((1 - e * s) / (1 + e * s)) / (2 * e))

    return 0.5 * WGS84_A_KM**2 * math.radians(dlon_deg) * (q(lat2) - q(lat1))


ANTIMERIDIAN_BOX = Polygon([(170, -20), (-170, -20), (-170, -10), (170, -10)])  # a GeoJSON ring 170 → -170


def all_cells(res: int) -> np.ndarray:
    return np.sort(np.asarray(h3.api.numpy_int.uncompact_cells(h3.api.numpy_int.get_res0_cells(), res)))


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize("res", [-1, 16, 1.5, True, "6", None])
def test_bad_resolution_is_an_input_error(res):
    with pytest.raises(InputError, match="0 to 15") as info:
        validate_resolution(res)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("res", [0, 7, 15, np.int64(5)])
def test_good_resolution_passes(res):
    assert validate_resolution(res) == int(res)


def test_unknown_containment_is_an_input_error():
    with pytest.raises(InputError, match="containment"):
        polygon_to_cells(box(0, 0, 1, 1), 3, containment="inside")


def test_non_polygon_is_an_input_error():
    with pytest.raises(InputError, match="LineString"):
        polygon_to_cells(shapely.LineString([(0, 0), (1, 1)]), 3)


def test_empty_geometry_gives_no_cells():
    result = polygon_to_cells(Polygon(), 5)
    assert result.dtype == np.uint64 and result.size == 0


def test_docstring_examples():
    assert doctest.testmod(cells_mod).failed == 0


# --------------------------------------------------------------------------- antimeridian


def test_split_antimeridian_cuts_a_crossing_box():
    parts = split_antimeridian(ANTIMERIDIAN_BOX)
    assert isinstance(parts, MultiPolygon)
    bounds = sorted(tuple(round(v, 9) for v in p.bounds) for p in parts.geoms)
    assert bounds == [(-180, -20, -170, -10), (170, -20, 180, -10)]


def test_split_antimeridian_leaves_ordinary_polygons_alone():
    polygon = box(10, 10, 20, 20)
    assert split_antimeridian(polygon) is polygon


def test_split_antimeridian_accepts_continuous_longitudes():
    # the same box written in [0, 360): 170 … 190
    parts = split_antimeridian(box(170, -20, 190, -10))
    assert shapely.equals(parts, split_antimeridian(ANTIMERIDIAN_BOX))


def test_antimeridian_box_cells_lie_on_both_sides_and_keep_the_area():
    cells = polygon_to_cells(ANTIMERIDIAN_BOX, 4)
    lat, lon = cell_centers(cells)
    assert (lon > 179).any() and (lon < -179).any()
    assert not (np.abs(lon) < 160).any()  # nothing wrapped the long way round
    assert ((lat > -20.5) & (lat < -9.5)).all()
    expected = _quadrangle_km2(-20, -10, 20)
    assert geodesic_area_km2(split_antimeridian(ANTIMERIDIAN_BOX)) == pytest.approx(expected, rel=1e-4)
    assert cell_area_km2(cells).sum() == pytest.approx(expected, rel=0.02)


def test_antimeridian_box_results_are_sorted_unique_uint64():
    for containment in ("center", "overlap", "full", "bbox_overlap"):
        cells = polygon_to_cells(ANTIMERIDIAN_BOX, 3, containment=containment)
        assert cells.dtype == np.uint64
        assert cells.size and np.all(cells[1:] > cells[:-1])


def test_containment_modes_nest():
    full = set(polygon_to_cells(ANTIMERIDIAN_BOX, 3, containment="full").tolist())
    center = set(polygon_to_cells(ANTIMERIDIAN_BOX, 3).tolist())
    overlap = set(polygon_to_cells(ANTIMERIDIAN_BOX, 3, containment="overlap").tolist())
    assert full < center < overlap


def test_overlap_includes_cells_straddling_the_antimeridian():
    # the east half of the box only touches cells centred west of 180° through their straddling edge
    east = box(175, -20, 180, -15)
    _, lon = cell_centers(polygon_to_cells(east, 4, containment="overlap"))
    assert (lon < -179).any()


def test_fiji_like_parts_split_by_the_data_give_the_same_cells_as_one_crossing_ring():
    halves = MultiPolygon([box(175, -20, 180, -15), box(-180, -20, -178, -15)])
    ring = Polygon([(175, -20), (-178, -20), (-178, -15), (175, -15)])
    np.testing.assert_array_equal(polygon_to_cells(halves, 4), polygon_to_cells(ring, 4))


# --------------------------------------------------------------------------- poles


@pytest.mark.parametrize(
    "cap",
    [
        Polygon([(0, 80), (90, 80), (180, 80), (-90, 80)]),  # a ring winding once around the pole
        Polygon([(-180, 80), (-90, 80), (0, 80), (90, 80), (180, 80), (180, 90), (-180, 90)]),  # plate carrée
        box(-180, 80, 180, 90),
    ],
)
def test_north_polar_cap(cap):
    cells = polygon_to_cells(cap, 3)
    lat, _ = cell_centers(cells)
    assert (lat > 79).all()
    assert h3.str_to_int(h3.latlng_to_cell(90, 0, 3)) in cells  # the cell holding the pole
    expected = _quadrangle_km2(80, 90, 360)
    assert geodesic_area_km2(split_antimeridian(cap)) == pytest.approx(expected, rel=1e-3)
    assert cell_area_km2(polygon_to_cells(cap, 5)).sum() == pytest.approx(expected, rel=0.02)


def test_south_polar_cap_ring():
    cap = Polygon([(0, -80), (-90, -80), (180, -80), (90, -80)])
    lat, _ = cell_centers(polygon_to_cells(cap, 3))
    assert (lat < -79).all()
    assert cell_area_km2(polygon_to_cells(cap, 4)).sum() == pytest.approx(_quadrangle_km2(-90, -80, 360), rel=0.02)


def test_antarctica_style_cap_with_seam_edges():
    # Natural Earth draws Antarctica down the ±180° seam, along -90°, and back up
    ring = [(lon, -70.0) for lon in np.arange(-180, 181, 10)] + [(180, -90), (-180, -90)]
    cells = polygon_to_cells(Polygon(ring), 3)
    lat, _ = cell_centers(cells)
    assert (lat < -69).all()
    assert cell_area_km2(cells).sum() == pytest.approx(_quadrangle_km2(-90, -70, 360), rel=0.02)


def test_world_box_gives_every_cell():
    np.testing.assert_array_equal(polygon_to_cells(box(-180, -90, 180, 90), 1), all_cells(1))


# --------------------------------------------------------------------------- cells → polygons & numbers


@pytest.mark.parametrize("res", [0, 1, 2])
def test_cell_polygons_tile_the_plane_and_hold_their_centres(res):
    cells = all_cells(res)
    polygons = cells_to_polygons(cells)
    assert shapely.is_valid(polygons).all()
    lat, lon = cell_centers(cells)
    assert all(shapely.contains_xy(p, x, y) for p, x, y in zip(polygons, lon, lat, strict=True))
    # a partition of the lon/lat rectangle: areas add up to 360 × 180 with no overlap
    assert shapely.area(polygons).sum() == pytest.approx(360 * 180, rel=1e-9)
    assert shapely.area(shapely.union_all(polygons)) == pytest.approx(360 * 180, rel=1e-9)
    straddling = [p for p in polygons if isinstance(p, MultiPolygon)]
    assert straddling, "some cells straddle ±180°"
    for p in straddling:
        xs = [q.bounds[0] for q in p.geoms] + [q.bounds[2] for q in p.geoms]
        assert min(xs) == -180 or max(xs) == 180


def test_cell_areas_sum_to_h3_sphere():
    total = cell_area_km2(all_cells(1)).sum()
    assert total == pytest.approx(4 * math.pi * H3_EARTH_RADIUS_KM**2, rel=1e-9)
    assert total == pytest.approx(WGS84_SURFACE_KM2, rel=1e-6)  # authalic sphere: same surface


def test_cell_polygon_geodesic_areas_sum_to_the_ellipsoid():
    polygons = cells_to_polygons(all_cells(1))
    assert sum(geodesic_area_km2(p) for p in polygons) == pytest.approx(WGS84_SURFACE_KM2, rel=1e-6)


def test_hex_strings_are_accepted():
    cell = h3.latlng_to_cell(25.033, 121.565, 6)
    lat, lon = cell_centers([cell])
    assert (lat[0], lon[0]) == pytest.approx(h3.cell_to_latlng(cell))
    assert cell_area_km2([cell])[0] == pytest.approx(h3.cell_area(cell, unit="km^2"))


def test_invalid_cell_is_an_input_error():
    with pytest.raises(InputError):
        cell_centers(np.array([12345], dtype=np.uint64))
    with pytest.raises(InputError):
        cell_centers(["not-a-cell"])


def test_points_to_cells_matches_h3_and_broadcasts():
    rng = np.random.default_rng(1)
    lat = rng.uniform(-90, 90, (20, 3))
    lon = rng.uniform(-360, 360, (20, 3))
    result = points_to_cells(lat, lon, 7)
    assert result.shape == (20, 3) and result.dtype == np.uint64
    expected = [h3.str_to_int(h3.latlng_to_cell(a, b, 7)) for a, b in zip(lat.ravel(), lon.ravel(), strict=True)]
    np.testing.assert_array_equal(result.ravel(), expected)
    assert points_to_cells(np.array([10.0, np.nan]), 5.0, 3)[1] == 0
    assert points_to_cells(0.0, [0.0, 1.0, 2.0], 3).shape == (3,)


def test_points_to_cells_rejects_bad_latitude():
    with pytest.raises(InputError, match="latitude"):
        points_to_cells([95.0], [0.0], 3)


# --------------------------------------------------------------------------- properties


def _random_box(lon0, width, lat0, height) -> Polygon:
    """A GeoJSON-style box from lon0 eastwards, written in [-180, 180] (so it may cross the antimeridian)."""
    lon1 = (lon0 + width + 180.0) % 360.0 - 180.0
    return Polygon([(lon0, lat0), (lon1, lat0), (lon1, lat0 + height), (lon0, lat0 + height)])


_BOXES = dict(
    lon0=st.floats(-180, 179.9),
    width=st.floats(1.0, 60.0),
    lat0=st.floats(-80.0, 70.0),
    height=st.floats(1.0, 10.0),
    res=st.integers(2, 4),
)


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(**_BOXES)
def test_property_cells_keep_the_area_within_the_cell_size_bound(lon0, width, lat0, height, res):
    polygon = _random_box(lon0, width, lat0, height)
    expected = _quadrangle_km2(lat0, lat0 + height, width)
    cells = polygon_to_cells(polygon, res)
    edge_km = h3.average_hexagon_edge_length(res, unit="km")
    parallels = math.cos(math.radians(lat0)) + math.cos(math.radians(lat0 + height))
    perimeter_km = 2 * height * 111.2 + width * 111.32 * parallels
    bound = 2.0 * perimeter_km * edge_km + 0.01 * expected  # boundary band + sphere vs ellipsoid
    assert abs(cell_area_km2(cells).sum() - expected) <= bound


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(**_BOXES, seed=st.integers(0, 2**32 - 1))
def test_property_overlap_cells_cover_every_point_inside(lon0, width, lat0, height, res, seed):
    polygon = _random_box(lon0, width, lat0, height)
    overlap = polygon_to_cells(polygon, res, containment="overlap")
    rng = np.random.default_rng(seed)
    lat = rng.uniform(lat0, lat0 + height, 2000)
    lon = (lon0 + rng.uniform(0, width, 2000) + 180.0) % 360.0 - 180.0
    # h3 cell edges are great-circle arcs, our polygons straight lon/lat lines: keep clear of the edge by that gap
    clear = (lat > lat0 + 0.05) & (lat < lat0 + height - 0.05)
    inside = points_to_cells(lat[clear], lon[clear], res)
    assert np.isin(inside, overlap).all()
    center = polygon_to_cells(polygon, res)
    assert np.isin(center, overlap).all()


@pytest.mark.parametrize("containment", ["center", "overlap"])
def test_tiling_a_detailed_polygon_changes_nothing(containment):
    circle = shapely.Point(30, 50).buffer(12, quad_segs=1024)  # 4,096 vertices, 24° across: cut into 5° tiles
    direct = h3.api.numpy_int.h3shape_to_cells_experimental(
        h3.geo_to_h3shape(circle.__geo_interface__), 4, contain=containment
    )
    np.testing.assert_array_equal(polygon_to_cells(circle, 4, containment=containment), np.unique(direct))
