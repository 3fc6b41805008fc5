"""WGS-84 conversions and look angles against skyfield and pyproj."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sgp4.api import Satrec
from skyfield.api import EarthSatellite, wgs84

from skyfence.earth.geodesy import ecef_to_geodetic, geodetic_to_ecef, look_angles
from skyfence.orbits.constellation import Constellation
from skyfence.orbits.propagate import propagate
from skyfence.orbits.time import skyfield_time, time_grid


def test_geodetic_matches_pyproj():
    from pyproj import Transformer

    rng = np.random.default_rng(7)
    lat = rng.uniform(-90, 90, 2000)
    lon = rng.uniform(-180, 180, 2000)
    h_km = rng.uniform(-0.5, 36000, 2000)
    xyz = geodetic_to_ecef(lat, lon, h_km)
    to_ecef = Transformer.from_crs("EPSG:4979", "EPSG:4978", always_xy=True)
    x, y, z = to_ecef.transform(lon, lat, h_km * 1000.0)
    np.testing.assert_allclose(xyz, np.stack([x, y, z], axis=-1) / 1000.0, rtol=0, atol=1e-9)


@settings(max_examples=300, deadline=None)
@given(
    st.floats(-90, 90, allow_nan=False),
    st.floats(-180, 180, allow_nan=False, exclude_min=True),
    st.floats(-0.4, 50000, allow_nan=False),
)
def test_geodetic_round_trip(lat, lon, h_km):
    la, lo, h = ecef_to_geodetic(geodetic_to_ecef(lat, lon, h_km))
    assert abs(h - h_km) < 1e-9
    assert abs(la - lat) < 1e-10
    if abs(lat) < 89.999999:
        assert abs((lo - lon + 180.0) % 360.0 - 180.0) < 1e-9


def test_nan_in_nan_out():
    lat, _, h = ecef_to_geodetic(np.array([[np.nan, 0.0, 0.0]]))
    assert np.isnan(lat).all() and np.isnan(h).all()


@pytest.fixture(scope="module")
def few_tles(data_file):
    lines = [line for line in data_file("tle/starlink_20250923.tle").read_text().splitlines() if line.strip()]
    return [(lines[i + 1], lines[i + 2]) for i in range(0, 3 * 400, 3)]


def test_look_angles_match_skyfield_altaz(few_tles):
    """Elevation, azimuth and range from Taipei to 400 real satellites agree with skyfield's altaz()."""
    sats = [Satrec.twoline2rv(a, b) for a, b in few_tles]
    c = Constellation.from_satrecs("sample", sats)
    times = time_grid(c.epoch_range[1].astype("datetime64[m]"), "3h", "30m")
    ds = propagate(c, times, geodetic=False)
    lat, lon, h_km = 25.0330, 121.5654, 0.010
    el, az, rng = look_angles(lat, lon, h_km, ds["position_itrf"].values)
    t = skyfield_time(times)
    taipei = wgs84.latlon(lat, lon, elevation_m=h_km * 1000.0)
    worst_el = worst_rng = 0.0
    for i, (l1, l2) in enumerate(few_tles):
        alt, azi, dist = (EarthSatellite(l1, l2) - taipei).at(t).altaz()
        worst_el = max(worst_el, float(np.abs(alt.degrees - el[i]).max()))
        worst_rng = max(worst_rng, float(np.abs(dist.km - rng[i]).max()))
        high = alt.degrees < 89.9  # azimuth is undefined at the zenith
        daz = np.abs((azi.degrees[high] - az[i][high] + 180.0) % 360.0 - 180.0)
        assert daz.max(initial=0.0) < 1e-5
    assert worst_el < 1e-5  # degrees; 1e-5 deg is 0.2 m across a 1,000 km slant range
    assert worst_rng < 1e-3  # km


def test_look_angles_simple_geometry():
    # A point straight above the observer along the ellipsoid normal is at 90 deg elevation.
    above = geodetic_to_ecef(45.0, 10.0, 550.0)
    el, _, rng = look_angles(45.0, 10.0, 0.0, above)
    assert el == pytest.approx(90.0, abs=1e-9)
    assert rng == pytest.approx(550.0, abs=1e-9)
    # Broadcasting: 2 observers x 3 targets.
    targets = geodetic_to_ecef(np.array([0.0, 10.0, 20.0]), 0.0, 550.0)[:, None, :]
    el, _, rng = look_angles(np.array([0.0, 10.0]), np.array([0.0, 0.0]), 0.0, targets)
    assert el.shape == (3, 2)
