"""Jamming through the capacity layer: C/(N+I+J) -> MODCOD fall-back -> degraded or zero rate; uplink beams;
the Fujian-coast regression (eastern Taiwan less degraded than the west coast)."""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

import numpy as np
import pytest

from skyfence.threats.jamming import JammerSite, TerminalAntenna, jammers_from_records

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_jn_is_jammer_power_over_ktb():
    from skyfence.capacity.resources import get_generation
    from skyfence.threats.jamming_capacity import downlink_jn_db

    gen = get_generation("starlink-v1.5")
    antenna = TerminalAntenna(g_max_dbi=33.0)
    t_k = 10 ** ((33.0 - gen.terminal_g_over_t_db_k) / 10)
    n_dbw = 10 * math.log10(1.380649e-23 * t_k * gen.channel_mhz * 1e6)
    assert float(downlink_jn_db(-100.0, gen, antenna)) == pytest.approx(-100.0 - n_dbw, abs=1e-9)
    assert np.isneginf(downlink_jn_db(-np.inf, gen, antenna))


@pytest.fixture(scope="module")
def fujian(starlink):
    from skyfence.capacity.engine import run_capacity
    from skyfence.earth.regions import get_region
    from skyfence.orbits.time import time_grid
    from skyfence.threats.jamming_capacity import run_jammed_capacity

    sites = jammers_from_records(tomllib.loads((EXAMPLES / "jammers" / "fujian_coast.toml").read_text())["jammers"])
    cells = get_region("TW").cells(5)
    times = time_grid("2025-09-23T12:00:00Z", "1h", "300s")
    before = run_capacity(starlink, cells, times)
    after, jn_db, up_js = run_jammed_capacity(starlink, cells, times, sites)
    return before, after, jn_db, up_js


def test_fujian_coast_jamming_through_capacity_spares_the_east(fujian):
    """At the documented default EIRP (70 dBW per 250 MHz, docs/threats.md), the west coast loses served traffic
    and gets zero-rate cells; eastern Taiwan (Yilan, Hualien, Taitung) does not (regions as in test_jamming.py)."""
    before, after, jn_db, _ = fujian
    lon, lat = before.dataset["lon"].to_numpy(), before.dataset["lat"].to_numpy()
    west = (lon > 120.0) & (lon < 120.75)
    east = (lon > 121.45) & (lat < 24.9)

    def drop(name: str, mask: np.ndarray) -> float:
        b = before.dataset[name].to_numpy()[:, mask]
        a = after.dataset[name].to_numpy()[:, mask]
        return float(np.nanmean(b) - np.nanmean(a))

    assert drop("served_fraction", west) > 0.05
    assert drop("served_fraction", west) > drop("served_fraction", east)
    zero = after.dataset["mbps_per_user"].to_numpy() == 0
    assert zero[:, west].mean() > zero[:, east].mean()
    assert np.isneginf(jn_db[:, east]).all()  # beyond every jammer's radio horizon


def test_jamming_only_lowers_each_cells_link(fujian):
    before, after, jn_db, _ = fujian
    hit = np.isfinite(jn_db) & (jn_db > 0)
    assert hit.any()
    sinr_b = before.dataset["sinr_db"].to_numpy()
    sinr_a = after.dataset["sinr_db"].to_numpy()
    both = hit & np.isfinite(sinr_a) & np.isfinite(sinr_b)
    assert np.all(sinr_a[both] <= sinr_b[both] + 1e-6)


def test_uplink_jammer_degrades_the_cells_its_beams_serve(starlink):
    from skyfence.capacity.resources import get_generation
    from skyfence.earth import cells as h3cells
    from skyfence.orbits.time import time_grid
    from skyfence.threats.jamming_capacity import uplink_js_db

    cells = np.unique(h3cells.points_to_cells(np.array([25.0, 25.05, 22.6]), np.array([121.5, 121.6, 120.3]), 5))
    times = time_grid("2025-09-23T12:00:00Z", "10m", "300s")
    gen = get_generation("starlink-v1.5")
    site = JammerSite("uplink", 25.02, 121.55, 50.0, band="ku_uplink", height_m=10.0)
    js = uplink_js_db(starlink, cells, times, [site], gen)
    lat, _ = h3cells.cell_centers(cells)
    near, far = lat > 24.5, lat < 23.0
    # the jammer sits in the main lobe of the beams serving Taipei's cells, far out of those serving Kaohsiung's
    assert np.nanmin(js[:, near]) > np.nanmax(js[:, far]) + 20.0
    louder = uplink_js_db(starlink, cells, times, [JammerSite("uplink", 25.02, 121.55, 60.0, band="ku_uplink")], gen)
    assert np.allclose(louder[np.isfinite(js)] - js[np.isfinite(js)], 10.0)
