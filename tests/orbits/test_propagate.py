"""Propagation against skyfield, the reference implementation of SGP4 + IERS frames."""

from __future__ import annotations

import numpy as np
import pytest
from sgp4.api import Satrec
from skyfield.api import EarthSatellite, wgs84
from skyfield.framelib import itrs

from skyfence.errors import InputError
from skyfence.orbits.constellation import Constellation
from skyfence.orbits.propagate import iter_positions, propagate, teme_to_itrf_matrices
from skyfence.orbits.time import skyfield_time, time_grid

ONE_METRE_KM = 1e-3


def _tle_records(path):
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    return [(lines[i].strip(), lines[i + 1], lines[i + 2]) for i in range(0, len(lines), 3)]


@pytest.fixture(scope="module")
def starlink_tles(data_file):
    return _tle_records(data_file("tle/starlink_20250923.tle"))


@pytest.fixture(scope="module")
def starlink(starlink_tles):
    sats = [Satrec.twoline2rv(l1, l2) for _, l1, l2 in starlink_tles]
    return Constellation.from_satrecs("starlink_20250923", sats, names=[n for n, _, _ in starlink_tles])


def _five_times_after(constellation):
    # Five times spread over the day after the newest epoch of the catalog.
    t0 = constellation.epoch_range[1].astype("datetime64[m]").astype("datetime64[ns]")
    return t0 + (np.array([1, 5, 11, 17, 23], dtype=np.int64) * 3600 + 37) * 10**9


@pytest.mark.slow
def test_whole_catalog_matches_skyfield_itrs_and_wgs84(starlink, starlink_tles):
    """Every satellite, five times: ITRF within 1 m, lat/lon within 1e-6 deg, height within 1 m of skyfield."""
    assert len(starlink) > 8000
    times = _five_times_after(starlink)
    ds = propagate(starlink, times)
    t = skyfield_time(times)
    worst_km = worst_deg = worst_h_km = 0.0
    compared = 0
    for i, (_, l1, l2) in enumerate(starlink_tles):
        geocentric = EarthSatellite(l1, l2).at(t)
        ok = ds["error"].values[i] == 0
        if not ok.any():
            continue
        ref = geocentric.frame_xyz(itrs).km.T[ok]
        ours = ds["position_itrf"].values[i][ok]
        worst_km = max(worst_km, float(np.abs(np.linalg.norm(ours - ref, axis=-1)).max()))
        position = wgs84.geographic_position_of(geocentric)
        dlat = np.abs(position.latitude.degrees[ok] - ds["lat"].values[i][ok])
        dlon = np.abs((position.longitude.degrees[ok] - ds["lon"].values[i][ok] + 180.0) % 360.0 - 180.0)
        worst_deg = max(worst_deg, float(dlat.max()), float(dlon.max()))
        worst_h_km = max(worst_h_km, float(np.abs(position.elevation.km[ok] - ds["alt"].values[i][ok]).max()))
        compared += int(ok.sum())
    assert compared > 0.99 * len(starlink) * len(times)
    assert worst_km < ONE_METRE_KM
    assert worst_deg < 1e-6
    assert worst_h_km < ONE_METRE_KM


def test_failed_elements_are_nan_with_error_code():
    sat = Satrec()
    # Mean motion for a ~150 km orbit with a huge drag term: decays within days.
    from sgp4.api import WGS72

    sat.sgp4init(WGS72, "i", 1, 27000.0, 0.5, 0.0, 0.0, 0.001, 0.0, 0.9, 0.0, 16.5 * 2 * np.pi / 1440, 0.0)
    good = Satrec()
    good.sgp4init(WGS72, "i", 2, 27000.0, 0.0, 0.0, 0.0, 0.0001, 0.0, 0.9, 0.0, 15.0 * 2 * np.pi / 1440, 0.0)
    c = Constellation.from_satrecs("decay", [sat, good])
    epoch = c.epoch_range[0]
    times = epoch + np.array([0, 60], dtype="timedelta64[D]").astype("timedelta64[ns]")
    ds = propagate(c, times)
    assert ds["error"].values[0, 1] != 0
    assert np.isnan(ds["position_itrf"].values[0, 1]).all()
    assert ds["error"].values[1].tolist() == [0, 0]
    assert np.isfinite(ds["position_itrf"].values[1]).all()


def test_rotation_matrices_are_orthonormal_and_match_earth_rotation():
    times = time_grid("2025-09-23T00:00Z", "1d", "6h")
    r = teme_to_itrf_matrices(times)
    assert r.shape == (5, 3, 3)
    np.testing.assert_allclose(r @ r.transpose(0, 2, 1), np.broadcast_to(np.eye(3), r.shape), atol=1e-13)
    # ITRF <- TEME turns by -GMST: a quarter UT1 day moves it back 360.985647/4 deg (IERS Conventions 2010, ch. 5).
    angle = np.degrees(np.arctan2(r[:, 1, 0], r[:, 0, 0]))
    step = np.diff(angle) % 360.0
    np.testing.assert_allclose(step, (-360.985647 / 4) % 360.0, atol=1e-3)


def test_chunking_does_not_change_results(starlink):
    sub = starlink.subset(slice(0, 300))
    times = time_grid(_five_times_after(sub)[0], "2h", "10m")
    whole = propagate(sub, times, chunk_steps=len(times))
    pieces = propagate(sub, times, chunk_steps=4)
    # Same numbers up to BLAS summation order (nanometres).
    np.testing.assert_allclose(whole["position_itrf"].values, pieces["position_itrf"].values, rtol=0, atol=1e-9)
    streamed = np.concatenate([c.position_itrf_km for c in iter_positions(sub, times, chunk_steps=5)], axis=1)
    np.testing.assert_allclose(streamed, whole["position_itrf"].values, rtol=0, atol=1e-9)


def test_bad_calls_raise_input_error(starlink):
    with pytest.raises(InputError, match="times"):
        propagate(starlink.subset(slice(0, 2)), np.array([], dtype="datetime64[ns]"))
    with pytest.raises(InputError, match="chunk_steps"):
        next(iter_positions(starlink.subset(slice(0, 2)), time_grid("2025-09-23", 60, 60), chunk_steps=0))


def test_dataset_layout(starlink):
    sub = starlink.subset(slice(0, 10))
    ds = propagate(sub, time_grid("2025-09-23T12:00Z", "10m", "5m"))
    assert ds["position_itrf"].dims == ("satellite", "time", "xyz")
    assert ds["position_itrf"].attrs["units"] == "km"
    assert ds["lat"].dims == ("satellite", "time")
    assert ds["norad_id"].values.tolist() == sub.satellites["norad_id"].tolist()
    assert ds.sizes == {"satellite": 10, "time": 3, "xyz": 3}
