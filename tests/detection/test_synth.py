"""Fleet synthesis against real geography, the twin's satellites and the spec's envelopes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from skyfence.detection import REPORTED_COLUMNS, SEA_LANES, TRUTH_COLUMNS, loads_fleet_spec, synthesize_fleet
from skyfence.detection.geo import haversine_km, route_positions


def _per_terminal_speed(frame: pd.DataFrame, lat="true_lat_deg", lon="true_lon_deg") -> pd.Series:
    f = frame.sort_values(["terminal_id", "time"])
    same = f["terminal_id"].to_numpy()[1:] == f["terminal_id"].to_numpy()[:-1]
    dt = np.diff(f["time"].to_numpy().view(np.int64)) / 1e9
    d = haversine_km(f[lat].to_numpy()[:-1], f[lon].to_numpy()[:-1], f[lat].to_numpy()[1:], f[lon].to_numpy()[1:])
    ok = same & (dt > 0) & (dt <= 60)
    return pd.Series(d[ok] / dt[ok] * 3600.0, index=f["terminal_id"].to_numpy()[1:][ok])


def test_columns_and_classes(small_fleet):
    assert list(small_fleet.columns) == list(REPORTED_COLUMNS + TRUTH_COLUMNS)
    counts = small_fleet.groupby("true_class", observed=True)["terminal_id"].nunique()
    assert counts["residential"] == 120 and counts["drone"] == 40 and counts["black_market"] == 60
    assert small_fleet["time"].is_monotonic_increasing


def test_same_seed_same_file():
    text = (
        "[fleet]\nseed = 3\ndays = 0.2\n[classes.roam]\ncount = 3\n[classes.drone]\ncount = 3\n"
        "[classes.black_market]\ncount = 4\n[classes.spoofer]\ncount = 3\n"
    )
    a = synthesize_fleet(loads_fleet_spec(text), serve=False)
    b = synthesize_fleet(loads_fleet_spec(text), serve=False)
    pd.testing.assert_frame_equal(a, b)
    c = synthesize_fleet(loads_fleet_spec(text.replace("seed = 3", "seed = 4")), serve=False)
    assert not np.array_equal(a["lat_deg"].to_numpy()[:50], c["lat_deg"].to_numpy()[:50])


def test_sea_lanes_lie_at_sea(data_dir):
    """Every lane, sampled every 5 km, is outside Natural Earth's 1:50m land polygons (ports excepted)."""
    from skyfence.earth.regions import lookup_country

    for name, lane in SEA_LANES.items():
        lat = np.array([p[0] for p in lane])
        lon = np.array([p[1] for p in lane])
        length = float(np.sum(haversine_km(lat[:-1], lon[:-1], lat[1:], lon[1:])))
        p_lat, p_lon = route_positions(lat, lon, np.arange(0.0, length, 5.0))
        on_land = lookup_country(p_lat, p_lon) != ""
        assert on_land.mean() < 0.01, (name, p_lat[on_land][:3], p_lon[on_land][:3])


def test_class_envelopes(small_fleet):
    cls = small_fleet.groupby("terminal_id")["true_class"].first()
    speed = _per_terminal_speed(small_fleet)
    by_class = {c: speed[speed.index.map(cls) == c] for c in ("roam", "maritime", "aviation", "drone")}
    assert by_class["roam"].max() <= 131.0 and by_class["roam"].quantile(0.9) >= 60.0
    assert by_class["maritime"].max() <= 46.0
    assert by_class["drone"].min() >= 89.0 and by_class["drone"].max() <= 276.0
    cruise = by_class["aviation"][by_class["aviation"] > 700]
    assert cruise.median() == pytest.approx(850.0, abs=60.0) and cruise.max() <= 905.0
    avia = small_fleet[small_fleet["true_class"] == "aviation"]
    assert 9_900 <= avia["true_alt_m"].max() <= 12_600
    drones = small_fleet[small_fleet["true_class"] == "drone"]
    above = drones["true_alt_m"].to_numpy() - 20.0  # terrain 20-420 m
    assert above.max() <= 3_000 + 430


def test_black_market_where_the_spec_says(small_fleet, data_dir):
    from skyfence.earth.regions import get_region, lookup_country

    bm = small_fleet[small_fleet["true_class"] == "black_market"]
    occupied = get_region("occupied:ua:2026-08-22")
    inside = occupied.contains(bm["true_lat_deg"].to_numpy(), bm["true_lon_deg"].to_numpy())
    country = lookup_country(bm["true_lat_deg"].to_numpy(), bm["true_lon_deg"].to_numpy())
    assert np.mean(inside | np.isin(country, ["RU", "BY"])) > 0.99  # a dish near a Russian city's edge may not be
    assert not bm["registered_in"].astype(str).isin(["UA", "RU", "BY"]).any()


def test_legit_report_truth_and_spoofers_do_not(small_fleet):
    offset = haversine_km(
        small_fleet["lat_deg"], small_fleet["lon_deg"], small_fleet["true_lat_deg"], small_fleet["true_lon_deg"]
    )
    legit = small_fleet["true_class"].isin(["residential", "roam", "maritime", "aviation", "drone"]).to_numpy()
    assert offset[legit].max() < 0.1  # GPS noise of a few metres
    spoof = small_fleet["true_class"].to_numpy() == "spoofer"
    per = pd.Series(offset[spoof]).groupby(small_fleet["terminal_id"].to_numpy()[spoof]).max()
    assert per.min() >= 4.9 and per.max() <= 1000.5


def test_serving_satellite_is_visible_from_the_true_position(small_fleet, data_dir):
    """Independent check with the twin's propagate() and look_angles(): elevation >= the 25 deg mask."""
    from skyfence.earth.geodesy import look_angles
    from skyfence.orbits.propagate import propagate
    from skyfence.orbits.sources import load_constellation

    served = small_fleet[small_fleet["serving_sat"] >= 0]
    assert len(served) / len(small_fleet) > 0.99
    sample = served.sample(200, random_state=1)
    constellation = load_constellation("starlink_omm_20260818")
    ids = constellation.satellites["norad_id"].to_numpy()
    for time, rows in sample.groupby("time"):
        pick = np.flatnonzero(np.isin(ids, rows["serving_sat"].to_numpy()))
        ds = propagate(constellation.subset(pick), np.array([time], dtype="datetime64[ns]"), geodetic=False)
        pos = ds["position_itrf"].values[:, 0, :]
        row_of = {int(n): k for k, n in enumerate(ds["norad_id"].values)}
        for _, fix in rows.iterrows():
            sat = pos[row_of[int(fix["serving_sat"])]]
            el, _, _ = look_angles(fix["true_lat_deg"], fix["true_lon_deg"], float(fix["true_alt_m"]) / 1000.0, sat)
            assert float(el) >= 24.5


def test_the_fleet_file_is_written_a_row_group_at_a_time_and_is_the_same_file(small_fleet, tmp_path):
    """`fleet synth` converts one row group at a time to Arrow (memory): the file is byte for byte to_parquet's."""
    from skyfence._io import write_parquet

    one_shot, streamed = tmp_path / "a.parquet", tmp_path / "b.parquet"
    small_fleet.to_parquet(one_shot, index=False, row_group_size=4096)
    write_parquet(small_fleet, streamed, rows_per_group=4096)
    assert len(small_fleet) > 3 * 4096
    assert streamed.read_bytes() == one_shot.read_bytes()
    back = pd.read_parquet(streamed)
    pd.testing.assert_frame_equal(back, small_fleet)
    assert back.attrs["fleet_spec"] == small_fleet.attrs["fleet_spec"]


def test_rows_sorted_by_time_then_terminal_with_their_attributes(small_fleet):
    """The columns are assembled class by class and sorted once (no intermediate frames): each terminal keeps one
    account, registration, plan and class, and the rows are in (time, terminal) order."""
    assert small_fleet.sort_values(["time", "terminal_id"], kind="stable").index.equals(small_fleet.index)
    per = small_fleet.groupby("terminal_id", observed=True)[["account_id", "registered_in", "plan", "true_class"]]
    assert (per.nunique() == 1).all().all()
