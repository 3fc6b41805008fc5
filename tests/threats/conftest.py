"""Shared fixtures: a small Walker constellation over a few cells (fast), and Taiwan 24 h with the real catalog."""

from __future__ import annotations

import numpy as np
import pytest

from skyfence.earth import cells as h3cells
from skyfence.orbits.time import time_grid


@pytest.fixture(scope="session")
def oneweb_preset():
    from skyfence.orbits.walker import preset

    return preset("oneweb")


@pytest.fixture(scope="session")
def small_cells() -> np.ndarray:
    """A dozen res-3 cells around Taiwan and the strait."""
    lat = np.array([22.0, 23.0, 24.0, 25.0, 23.5, 24.5, 26.0, 25.5, 22.5, 24.0, 23.0, 21.5])
    lon = np.array([120.5, 121.0, 121.5, 121.5, 119.5, 118.5, 119.5, 122.5, 119.0, 123.0, 117.5, 121.0])
    return np.unique(h3cells.points_to_cells(lat, lon, 3))


@pytest.fixture(scope="session")
def small_times() -> np.ndarray:
    return time_grid("2026-01-01T00:00:00Z", "3h", "120s")


@pytest.fixture(scope="session")
def small_view(oneweb_preset, small_cells, small_times):
    from skyfence.threats.viewsets import compute_viewsets

    return compute_viewsets(oneweb_preset, small_cells, small_times, min_elevation_deg=25.0)


@pytest.fixture(scope="session")
def starlink(data_file):
    from skyfence.orbits.sources import load_constellation

    return load_constellation(data_file("tle/starlink_20250923.tle"))


@pytest.fixture(scope="session")
def taiwan_day(starlink):
    """Taiwan (res 5), 24 h at 60 s from 2025-09-23 12:00 UTC, real Starlink catalog: view sets computed once."""
    from skyfence.earth.regions import get_region
    from skyfence.threats.viewsets import compute_viewsets

    times = time_grid("2025-09-23T12:00:00Z", "24h", "60s")
    return compute_viewsets(starlink, get_region("TW").cells(5), times, min_elevation_deg=25.0)
