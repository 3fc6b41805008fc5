"""Jamming geometry against hand calculations (the issue's cases), ITU-R envelopes and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

from skyfence.errors import InputError
from skyfence.threats.jamming import (
    JammerSite,
    TerminalAntenna,
    fspl_db,
    j_over_s_db,
    jammers_from_records,
    jamming_map,
    off_axis_gain_dbi,
    radio_horizon_km,
)


def test_js_hand_cases_from_the_issue():
    # 40 dBW at 10 km against +33 dBW per 250 MHz at 700 km: 7 dB + 20 log10(70) = 43.9 dB before the side lobes.
    assert j_over_s_db(40.0, 10.0, 33.0, 700.0, 30.0) == pytest.approx(13.9, abs=0.1)
    assert j_over_s_db(40.0, 10.0, 33.0, 700.0, 40.0) == pytest.approx(3.9, abs=0.1)


def test_js_counts_only_the_jammer_power_inside_the_signal_band():
    wide = j_over_s_db(40.0, 10.0, 33.0, 700.0, 30.0, jammer_bandwidth_mhz=2500.0, signal_bandwidth_mhz=250.0)
    narrow = j_over_s_db(40.0, 10.0, 33.0, 700.0, 30.0, jammer_bandwidth_mhz=25.0, signal_bandwidth_mhz=250.0)
    assert wide == pytest.approx(3.9, abs=0.01)  # a tenth of its power falls in the channel
    assert narrow == pytest.approx(13.9, abs=0.1)  # all of it does


def test_radio_horizon_two_10m_antennas_is_about_26_km():
    # sqrt(2 * 4/3 * 6371 km * 10 m) = 13.03 km per antenna
    assert float(radio_horizon_km(10.0, 10.0)) == pytest.approx(26.0, abs=0.2)
    assert float(radio_horizon_km(10.0, 10.0, k_factor=1.0)) == pytest.approx(2 * math.sqrt(2 * 6371e3 * 10) / 1e3)


def test_fspl_matches_itu_p525():
    # ITU-R P.525: 32.45 + 20 log f[MHz] + 20 log d[km]; 11.7 GHz, 550 km
    assert float(fspl_db(550.0, 11.7)) == pytest.approx(32.45 + 20 * math.log10(11700) + 20 * math.log10(550), abs=1e-6)


def test_s465_envelope_values():
    big = TerminalAntenna(pattern="s465", g_max_dbi=50.0, diameter_m=2.4)  # D/lambda = 94 at 11.7 GHz
    assert float(off_axis_gain_dbi(10.0, big, 11.7)) == pytest.approx(32 - 25, abs=1e-9)
    assert float(off_axis_gain_dbi(60.0, big, 11.7)) == -10.0
    assert float(off_axis_gain_dbi(0.1, big, 11.7)) == 50.0 or float(off_axis_gain_dbi(0.1, big, 11.7)) <= 50.0
    small = TerminalAntenna(pattern="s465", g_max_dbi=33.0, diameter_m=0.5)  # D/lambda = 19.5 < 50
    d_lambda = 0.5 / (0.299792458 / 11.7)
    assert float(off_axis_gain_dbi(30.0, small, 11.7)) == pytest.approx(
        52 - 10 * math.log10(d_lambda) - 25 * math.log10(30), abs=1e-9
    )
    s580 = TerminalAntenna(pattern="s580", g_max_dbi=50.0, diameter_m=2.4)
    assert float(off_axis_gain_dbi(10.0, s580, 11.7)) == pytest.approx(29 - 25, abs=1e-9)
    lobe = TerminalAntenna(pattern="sidelobe", g_max_dbi=33.0, sidelobe_rejection_db=30.0)
    assert float(off_axis_gain_dbi(40.0, lobe, 11.7)) == 3.0


@pytest.mark.parametrize(
    ("record", "key"),
    [
        ({"lat": float("nan"), "lon": 119.0, "eirp_dbw": 40}, "jammers[0].lat_deg"),
        ({"lat": 95.0, "lon": 119.0, "eirp_dbw": 40}, "jammers[0].lat_deg"),
        ({"lat": 25.0, "lon": 400.0, "eirp_dbw": 40}, "jammers[0].lon_deg"),
        ({"lat": 25.0, "lon": 119.0, "eirp_dbw": 40, "bandwidth_mhz": -5}, "jammers[0].bandwidth_mhz"),
        ({"lat": 25.0, "lon": 119.0, "eirp_dbw": 40, "band": "x"}, "jammers[0].band"),
        (
            {"lat": 25.0, "lon": 119.0, "eirp_dbw": 40, "schedule": [["2026-01-02T00:00:00Z", "2026-01-01T00:00:00Z"]]},
            "jammers[0].schedule[0]",
        ),
        ({"lat": 25.0, "lon": 119.0}, "jammers[0].eirp_dbw"),
        ({"lat": 25.0, "lon": 119.0, "eirp_dbw": 40, "power": 3}, "jammers[0].power"),
    ],
)
def test_bad_jammer_names_the_key(record, key):
    with pytest.raises(InputError) as info:
        jammers_from_records([record])
    assert info.value.field == key
    assert "\n" not in str(info.value)


def test_schedule_switches_a_jammer_on_and_off():
    site = JammerSite("j", 24.0, 119.5, 40.0, schedule=(("2026-01-01T01:00:00Z", "2026-01-01T02:00:00Z"),))
    times = np.array(["2026-01-01T00:30", "2026-01-01T01:30", "2026-01-01T02:30"], dtype="datetime64[ns]")
    assert site.active(times).tolist() == [False, True, False]


def test_jammer_beyond_the_horizon_does_nothing_and_near_one_dominates(oneweb_preset, small_cells, small_times):
    from skyfence.earth import cells as h3cells

    lat, lon = h3cells.cell_centers(small_cells)
    near = int(np.argmin(np.hypot(lat - 24.0, lon - 121.5)))
    site = JammerSite("mast", float(lat[near]) + 0.05, float(lon[near]), 40.0, height_m=30.0)
    result = jamming_map(oneweb_preset, small_cells, small_times[:20], [site])
    served = np.isfinite(result.signal_dbw)
    horizon = float(radio_horizon_km(30.0, 2.0))
    from skyfence.network.ground import great_circle_km

    far = great_circle_km(site.lat_deg, site.lon_deg, lat, lon) > horizon
    assert far.any() and (~far).any()
    assert np.all(np.isneginf(result.js_db[:, far][served[:, far]]))
    assert np.all(np.isfinite(result.js_db[:, near][served[:, near]]))
    louder = jamming_map(
        oneweb_preset,
        small_cells,
        small_times[:20],
        [JammerSite("mast", site.lat_deg, site.lon_deg, 50.0, height_m=30.0)],
    )
    ok = served[:, near]
    assert np.allclose(louder.js_db[ok, near] - result.js_db[ok, near], 10.0)


def test_fujian_coast_jamming_hits_the_west_coast_more_than_the_east(starlink):
    """Regression (J/S level): default-EIRP jammers on the Fujian coast (examples/jammers/fujian_coast.toml) degrade
    Taiwan's west coast more than its east coast (radio horizon and distance; terrain out of scope).

    West coast: main-island cells west of 120.75 E (Kinmen and Penghu, west of 120 E, left out).  East coast: Yilan,
    Hualien and Taitung -- cells east of 121.45 E and south of 24.9 N (the northern tip around Keelung faces the
    strait and belongs to neither)."""
    import tomllib
    from pathlib import Path

    from skyfence.earth.regions import get_region
    from skyfence.orbits.time import time_grid

    doc = tomllib.loads((Path(__file__).parents[2] / "examples" / "jammers" / "fujian_coast.toml").read_text())
    sites = jammers_from_records(doc["jammers"])
    cells = get_region("TW").cells(5)
    times = time_grid("2025-09-23T12:00:00Z", "1h", "300s")
    result = jamming_map(starlink, cells, times, sites)
    share = result.share_above(0.0)
    west = (result.lon_deg > 120.0) & (result.lon_deg < 120.75)
    east = (result.lon_deg > 121.45) & (result.lat_deg < 24.9)
    assert west.sum() > 5 and east.sum() > 5
    assert share[west].mean() > share[east].mean() + 0.1
    linear = np.nan_to_num(10.0 ** (result.js_db / 10.0))  # J/S as a power ratio, 0 where no jammer reaches
    assert linear[:, west].mean() > linear[:, east].mean()
