"""The fused capacity kernel against the engine it replaced, on the real Starlink catalog over Taiwan.

Tolerance: relative 1e-6 on offered Mb/s, beam-time, beam rate and
satellite load, 1e-4 dB on the SINR, NaN where the reference has NaN.  The
fused kernel does the same arithmetic in the same order per cell (the sums
per satellite run over the cells in another order), so the difference
observed is zero; the tolerance only allows for that summation order.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from skyfence.capacity.demand import DemandModel
from skyfence.capacity.engine import _gateway_mask, run_capacity
from skyfence.capacity.kernel import _BIN_DEG, _N_BINS, _bin_lookup, _elevation_f32, _sine_thresholds
from skyfence.earth.geodesy import enu_basis, geodetic_to_ecef
from skyfence.earth.regions import get_region
from skyfence.network.ground import load_ground_segment
from skyfence.orbits.propagate import iter_positions
from skyfence.orbits.sources import load_constellation
from skyfence.orbits.time import time_grid

from .reference_engine import reference_arrays

START = np.datetime64("2026-08-18T06:00:00", "ns")
HEAVY = DemandModel(take_rate=0.05, busy_hour_mbps=5.0, oversubscription=20.0)
RTOL = 1e-6
SINR_ATOL_DB = 1e-4


@pytest.fixture(scope="module")
def starlink(data_file):
    return load_constellation(data_file("tle/omm_csv_2026/starlink_20260818.csv.gz"))


@pytest.fixture(scope="module")
def cells():
    return get_region("TW").cells(5)


@pytest.fixture(scope="module")
def ground(data_dir):
    return load_ground_segment()


def _assert_close(ours, ref) -> None:
    ds = ours.dataset
    pairs = {
        "offered_mbps": ds["offered_mbps"].to_numpy(),
        "beams": ds["beams"].to_numpy(),
        "satellite_load_mbps": ours.satellite_load_mbps,
    }
    for name, value in pairs.items():
        np.testing.assert_allclose(value, ref[name], rtol=RTOL, atol=1e-3, err_msg=name)
    np.testing.assert_allclose(ds["sinr_db"].to_numpy(), ref["sinr_db"], atol=SINR_ATOL_DB, equal_nan=True)
    assert ours.settings["pairs_beyond_k"] == int(ref["pairs_beyond_k"])
    assert float(ref["offered_mbps"].sum()) > 0


@pytest.mark.parametrize("rain_p", [0.1, None])
def test_fused_kernel_matches_the_reference_engine(starlink, cells, ground, rain_p):
    times = time_grid(START, "9m", "60s")
    kwargs = dict(rain_p=rain_p, demand=HEAVY, ground=ground)
    ours = run_capacity(starlink, cells, times, keep_satellite_load=True, **kwargs)
    _assert_close(ours, reference_arrays(starlink, cells, times, **kwargs))


def test_fused_kernel_matches_the_reference_with_extra_interference_and_few_slots(starlink, cells, ground):
    times = time_grid(START, "5m", "60s")

    def jammer(chunk_times, sl):  # I/N of 0 to 3 (linear) over the cells, changing with time
        phase = np.arange(sl.start, sl.stop)[:, None] + np.arange(len(cells))[None, :]
        return 1.5 + 1.5 * np.sin(phase / 7.0)

    kwargs = dict(rain_p=0.5, demand=HEAVY, ground=ground, extra_interference=jammer, k=24)
    ours = run_capacity(starlink, cells, times, keep_satellite_load=True, **kwargs)
    ref = reference_arrays(starlink, cells, times, **kwargs)
    _assert_close(ours, ref)
    assert ours.settings["pairs_beyond_k"] > 0  # k = 24 truncates: the first 24 in view are the same ones


def test_gateway_mask_is_every_satellite_in_view(starlink, ground):
    times = time_grid(START, "3m", "60s")
    pos = next(iter(iter_positions(starlink, times))).position_itrf_km
    mask = _gateway_mask(ground, pos, 25.0)
    gw = ground.gateways
    lat, lon, alt = (gw[c].to_numpy() for c in ("lat_deg", "lon_deg", "alt_km"))
    site = geodetic_to_ecef(lat, lon, alt)
    up = enu_basis(lat, lon)[:, 2, :]
    d = pos[None, :, :, :] - site[:, None, None, :]  # (gateway, satellite, time, 3)
    sin_el = np.einsum("gstk,gk->gst", d, up) / np.linalg.norm(d, axis=3)
    in_view = sin_el >= math.sin(math.radians(25.0))
    np.testing.assert_array_equal(mask, in_view.any(axis=0))
    assert in_view.sum(axis=1).max() > 64  # more than the 64 the earlier mask kept over one gateway


def test_elevation_bins_from_sines_are_those_of_the_arcsine():
    x_bin, coarse = _bin_lookup()
    rng = np.random.default_rng(7)
    x = np.concatenate([rng.random(20_000), np.sin(np.radians(np.arange(_N_BINS) * _BIN_DEG)), [0.0, 1.0]])
    expected = np.array([int(_elevation_f32(v) * 4.0) for v in x])
    start = coarse[(np.minimum(x, 1.0) * len(coarse) - 0.5).astype(int).clip(0)]
    got = np.array([b + int(np.sum(v >= x_bin[b + 1 :])) for v, b in zip(x, start, strict=True)])
    np.testing.assert_array_equal(got, expected)
    v = np.array([25.0, 40.0, 61.7])
    for strict in (False, True):
        thr = _sine_thresholds(v, strict)
        for value, t in zip(v, thr, strict=True):
            above = np.nextafter(t, 2.0)
            below = np.nextafter(t, -1.0)
            assert _elevation_f32(t) > value if strict else _elevation_f32(t) >= value
            assert _elevation_f32(above) > value if strict else _elevation_f32(above) >= value
            assert not (_elevation_f32(below) > value if strict else _elevation_f32(below) >= value)
