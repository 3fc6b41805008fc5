"""The itur cache must not change the answer."""

from __future__ import annotations

import pytest

from skyfence.capacity.atmosphere import AttenuationTable, direct_attenuation_db
from skyfence.earth import cells as h3cells
from skyfence.errors import InputError

TAIPEI = (25.0330, 121.5654)


def test_taipei_cache_within_0_3_db_of_direct_itur(tmp_path, monkeypatch):
    monkeypatch.setenv("SKYFENCE_CACHE_DIR", str(tmp_path))
    # the table is built for the H3 res-5 cell holding Taipei, as a capacity run does
    cell = h3cells.points_to_cells([TAIPEI[0]], [TAIPEI[1]], 5)
    lat, lon = h3cells.cell_centers(cell)
    direct = float(direct_attenuation_db(*TAIPEI, 11.7, 25.0, 0.1, 0.6)[0])
    for _ in range(2):  # built, then read back from the disk cache
        table = AttenuationTable.build(lat, lon, 11.7, 0.1, diameter_m=0.6)
        cached = float(table.lookup(0, 25.0))
        assert abs(cached - direct) <= 0.3
    assert list((tmp_path / "itur").glob("*.npy"))
    assert 5.0 < direct < 10.0  # P.618 at Taipei, 11.7 GHz, 25 deg, 0.1 %: about 7.5 dB


def test_rain_only_adds_attenuation():
    clear = AttenuationTable.build([25.0], [121.5], 11.7, 0.1, include_rain=False, use_cache=False)
    rain = AttenuationTable.build([25.0], [121.5], 11.7, 0.1, include_rain=True, use_cache=False)
    for el in (25.0, 40.0, 90.0):
        assert float(rain.lookup(0, el)) >= float(clear.lookup(0, el))


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"freq_ghz": 70.0}, "freq_ghz"), ({"p_percent": 10.0}, "rain_p"), ({"p_percent": 0.0001}, "rain_p")],
)
def test_out_of_range_inputs(kwargs, field):
    args = {"freq_ghz": 11.7, "p_percent": 0.1} | kwargs
    with pytest.raises(InputError, match=field):
        AttenuationTable.build([25.0], [121.5], args["freq_ghz"], args["p_percent"], use_cache=False)
