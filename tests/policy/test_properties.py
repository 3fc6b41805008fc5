"""Property: near a geofence's edges the engine's fast path gives shapely's exact answer, everywhere.

The front-line policy of 2026 denies the occupied area (DeepState 2026-08-22) and degrades a 10 km band around
it.  Points are drawn within 1 km of either fence's edges -- anywhere along the ~2,000 km front and the coasts,
including on the edges themselves -- and decided by the tile index; the expected answer is computed directly
with ``shapely.intersects_xy`` on the same polygons (edges count as inside).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from skyfence.earth.regions import get_region
from skyfence.earth.waters import territorial_seas
from skyfence.policy import buffer_km

_M_PER_DEG = 111_320.0


@pytest.fixture(scope="module")
def front(load_example):
    policy = load_example("frontline_geofence_2026")
    occupied = get_region("occupied:ua:2026-08-22").geometry
    band = buffer_km(occupied, 10.0)
    # a country zone includes the country's territorial sea (skyfence.earth.waters, UNCLOS Art. 2-3)
    seas = territorial_seas("DEU").table
    ukraine = shapely.union_all([get_region("UA", pov="DEU").geometry, *seas[seas["code"] == "UA"]["geometry"]])
    for geometry in (occupied, band, ukraine):
        shapely.prepare(geometry)
    rings = {
        "occupied": shapely.line_merge(shapely.boundary(occupied)),
        "band": shapely.line_merge(shapely.boundary(band)),
    }
    return policy, occupied, band, ukraine, rings


def _expected(occupied, band, ukraine, lat, lon):
    rule = np.full(lat.shape, "default", dtype=object)
    rule[shapely.intersects_xy(ukraine, lon, lat)] = "ukraine"
    rule[shapely.intersects_xy(band, lon, lat)] = "front-line-band"
    rule[shapely.intersects_xy(occupied, lon, lat)] = "occupied-territory"
    return rule


offsets = st.tuples(
    st.floats(0.0, 1.0),  # where along the edge
    st.floats(0.0, 2.0 * math.pi),  # bearing of the offset
    st.one_of(st.just(0.0), st.floats(0.0, 1000.0)),  # offset [m]; 0 puts the point on the edge
)


@settings(max_examples=60, deadline=None)
@given(which=st.sampled_from(["occupied", "band"]), points=st.lists(offsets, min_size=1, max_size=150))
def test_points_near_geofence_edges_agree_with_shapely(front, which, points):
    policy, occupied, band, ukraine, rings = front
    ring = rings[which]
    fraction, bearing, metres = (np.array(v, dtype=float) for v in zip(*points, strict=True))
    on_edge = shapely.line_interpolate_point(ring, fraction, normalized=True)
    xy = shapely.get_coordinates(on_edge)
    lat = xy[:, 1] + metres * np.cos(bearing) / _M_PER_DEG
    lon = xy[:, 0] + metres * np.sin(bearing) / (_M_PER_DEG * np.cos(np.radians(xy[:, 1])))
    decisions = policy.engine().evaluate(lat=lat, lon=lon, method="index")
    assert list(np.asarray(decisions.rule_ids())) == list(_expected(occupied, band, ukraine, lat, lon))
    # a point inside (or on the edge of) the denied polygon is never allowed
    denied = shapely.intersects_xy(occupied, lon, lat)
    assert set(decisions.labels[denied]) <= {"deny"}


@settings(max_examples=25, deadline=None)
@given(vertex=st.integers(0, 10_000))
def test_vertices_of_the_denied_polygon_are_denied(front, vertex):
    policy, occupied, *_ = front
    coordinates = shapely.get_coordinates(occupied)
    lon, lat = coordinates[vertex % len(coordinates)]
    decisions = policy.engine().evaluate(lat=np.array([lat]), lon=np.array([lon]), method="index")
    assert decisions.labels[0] == "deny"
