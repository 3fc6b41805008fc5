"""Detectors on hand-made tracks with known answers, invariance to order and batching, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from skyfence.detection import StreamDetector, detect
from skyfence.detection.geo import destination
from skyfence.errors import InputError

T0 = np.datetime64("2026-08-22T06:00:00", "ns")


def _track(lat, lon, *, registered="DE", alt=150.0, speed=None, step_s=60, terminal=1, cell_at=None, account=-1):
    import h3.api.numpy_int as h3n

    lat = np.atleast_1d(np.asarray(lat, dtype=float))
    lon = np.atleast_1d(np.asarray(lon, dtype=float))
    n = len(lat)
    at_lat, at_lon = (lat, lon) if cell_at is None else cell_at
    at_lat, at_lon = np.broadcast_to(at_lat, (n,)), np.broadcast_to(at_lon, (n,))
    return pd.DataFrame(
        {
            "terminal_id": terminal,
            "account_id": account,
            "registered_in": registered,
            "plan": "roam",
            "time": T0 + np.arange(n) * np.timedelta64(step_s, "s"),
            "lat_deg": lat,
            "lon_deg": lon,
            "alt_m": np.broadcast_to(np.asarray(alt, dtype=float), (n,)),
            "speed_kmh": np.zeros(n) if speed is None else np.broadcast_to(speed, (n,)),
            "serving_sat": -1,
            "serving_cell": np.array(
                [h3n.latlng_to_cell(a, b, 5) for a, b in zip(at_lat, at_lon, strict=True)], dtype=np.uint64
            ),
        }
    )


def _line(lat0, lon0, bearing, kmh, n, step_s=60):
    d = np.arange(n) * kmh * step_s / 3600.0
    return destination(lat0, lon0, bearing, d)


def _kinds(alerts, terminal=1):
    return sorted(alerts.loc[alerts["terminal_id"] == terminal, "kind"])


def test_car_on_a_motorway_is_not_flagged(context):
    lat, lon = _line(50.11, 8.68, 45.0, 125.0, 30)  # Frankfurt, 125 km/h, honest speed
    assert _kinds(detect(_track(lat, lon, speed=125.0), context)) == []


def test_fast_low_drone_over_ukraine_flagged_on_third_fix(context):
    lat, lon = _line(49.59, 34.55, 270.0, 180.0, 10)  # from Poltava, 180 km/h
    track = _track(lat, lon, registered="UA", alt=600.0, speed=40.0)
    alerts = detect(track, context)
    drone = alerts[alerts["kind"] == "drone_suspected"]
    assert len(drone) == 1 and drone["time"].iloc[0] == track["time"].iloc[2]
    assert "faster than ground vehicles" in drone["evidence"].iloc[0]


def test_car_speed_drone_caught_only_by_where_it_was_switched_on(context):
    # 110 km/h level flight, honest reported speed: kinematics alone cannot tell it from a car
    lat, lon = _line(48.0159, 37.8028, 290.0, 110.0, 10)  # switched on in occupied Donetsk
    alerts = detect(_track(lat, lon, registered="UA", alt=300.0, speed=110.0), context)
    assert "drone_suspected" in _kinds(alerts)
    lat, lon = _line(49.59, 34.55, 290.0, 110.0, 10)  # the same flight switched on near Poltava
    assert _kinds(detect(_track(lat, lon, registered="UA", alt=300.0, speed=110.0), context)) == []


def test_airliner_approach_is_not_a_drone(context):
    # cruise at 850 km/h then an approach at 260 km/h descending: the recent airliner speed clears it
    lat1, lon1 = _line(48.5, 2.0, 90.0, 850.0, 5)
    lat2, lon2 = _line(float(lat1[-1]), float(lon1[-1]), 90.0, 260.0, 6)
    lat, lon = np.r_[lat1, lat2[1:]], np.r_[lon1, lon2[1:]]
    alt = np.r_[np.full(5, 10_000.0), np.linspace(3000.0, 300.0, 5)]
    track = _track(lat, lon, registered="FR", alt=alt, speed=0.0)
    assert "drone_suspected" not in _kinds(detect(track, context))


def test_beam_far_from_reported_position_is_spoofing(context):
    # reports Warsaw, served by the beam over Minsk-ish (about 470 km east)
    track = _track(np.full(4, 52.23), np.full(4, 21.01), registered="PL", cell_at=(53.9, 27.56))
    alerts = detect(track, context)
    spoof = alerts[alerts["kind"] == "spoofing_suspected"]
    assert len(spoof) == 1 and spoof["time"].iloc[0] == track["time"].iloc[1]


def test_dish_registered_abroad_switched_on_in_occupied_area(context):
    alerts = detect(_track(np.full(3, 48.0159), np.full(3, 37.8028), registered="KZ"), context)
    div = alerts[alerts["kind"] == "diversion_suspected"]
    assert len(div) == 1 and div["time"].iloc[0] == T0
    assert '"first_activation_high_risk":true' in div["evidence"].iloc[0]
    # the same dish registered in Ukraine is not a diversion (it may still be denied by the policy)
    assert _kinds(detect(_track(np.full(3, 48.0159), np.full(3, 37.8028), registered="UA"), context)) == []


def test_account_cluster_near_the_front(context):
    # three dishes of one Georgian account appear within 50 km of the front, on the Ukrainian-held side
    base_lat, base_lon = 48.74, 37.58  # Kramatorsk
    tracks = [
        _track(np.full(3, base_lat + 0.01 * k), np.full(3, base_lon), registered="GE", terminal=10 + k, account=77)
        for k in range(3)
    ]
    alerts = detect(pd.concat(tracks, ignore_index=True), context)
    cluster = alerts[alerts["evidence"].str.contains("account_cluster")]
    assert sorted(cluster["terminal_id"]) == [10, 11, 12]
    two = detect(pd.concat(tracks[:2], ignore_index=True), context)
    assert not two["evidence"].str.contains("account_cluster").any()


def test_geofence_probing(context):
    inside = (48.0159, 37.8028)  # Donetsk (occupied)
    # walk west from Donetsk until just outside the fence
    for km in np.arange(2.0, 400.0, 2.0):
        lat, lon = destination(inside[0], inside[1], 300.0, km)
        if context.in_band(np.array([lat]), np.array([lon]))[0]:
            break
    band = (float(lat), float(lon))
    assert context.in_band(np.array([band[0]]), np.array([band[1]]))[0]
    pattern = [inside, band, inside, band, inside, band]
    track = _track(
        [p[0] for p in pattern],
        [p[1] for p in pattern],
        registered="UA",
        step_s=3600,
        cell_at=(np.array([p[0] for p in pattern]), np.array([p[1] for p in pattern])),
    )
    alerts = detect(track, context)
    probe = alerts[alerts["kind"] == "geofence_probing"]
    assert len(probe) == 1 and probe["time"].iloc[0] == track["time"].iloc[5]
    # a resident who lives in the band appears once, not three times
    assert "geofence_probing" not in _kinds(
        detect(_track(np.full(20, band[0]), np.full(20, band[1]), registered="UA", step_s=900), context)
    )


def test_roaming_limit_counts_distinct_days(context):
    days = context.max_days_abroad + 2
    track = _track(np.full(days, 52.23), np.full(days, 21.01), registered="DE", step_s=86_400)
    alerts = detect(track, context)
    roam = alerts[alerts["kind"] == "roaming_limit"]
    assert len(roam) == 1 and roam["time"].iloc[0] == track["time"].iloc[context.max_days_abroad]


def test_duplicates_and_unsorted_rows_are_handled_deterministically(context):
    lat, lon = _line(49.59, 34.55, 270.0, 180.0, 10)
    track = _track(lat, lon, registered="UA", alt=600.0)
    messy = pd.concat([track, track.iloc[[2, 5]]], ignore_index=True).sample(frac=1.0, random_state=3)
    pd.testing.assert_frame_equal(detect(messy, context), detect(track, context))


def test_same_alerts_whatever_the_order_and_batches(small_fleet, small_alerts, context):
    reported = small_fleet.drop(columns=[c for c in small_fleet.columns if c.startswith("true_")])
    shuffled = reported.sample(frac=1.0, random_state=11)
    pd.testing.assert_frame_equal(detect(shuffled, context), small_alerts)
    rng = np.random.default_rng(5)
    cuts = np.sort(rng.choice(np.arange(1, len(reported)), size=7, replace=False))
    stream = StreamDetector(context)
    parts = []
    bounds = [0, *cuts.tolist(), len(reported)]
    for k in range(len(bounds) - 1):  # a time-ordered stream, any order inside a batch
        batch = reported.iloc[bounds[k] : bounds[k + 1]]
        parts.append(stream.process(batch.sample(frac=1.0, random_state=k)))
    streamed = pd.concat(parts, ignore_index=True)
    streamed = streamed.sort_values(["time", "terminal_id", "kind"], kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(streamed, small_alerts)
    assert len(stream.state) == reported["terminal_id"].nunique()  # state is one row per terminal


def test_missing_column_and_nan_position(context):
    track = _track(np.full(3, 52.23), np.full(3, 21.01))
    with pytest.raises(InputError, match=r"missing column.*lon_deg"):
        detect(track.drop(columns="lon_deg"), context, source="f.parquet")
    bad = track.copy()
    bad.loc[1, "lat_deg"] = np.nan
    with pytest.raises(InputError) as caught:
        detect(bad, context, source="f.parquet")
    assert str(caught.value).startswith("f.parquet record 2: field lat_deg: lat_deg is NaN")


def test_gnss_jamming_from_the_threat_layer_is_not_spoofing_evidence(data_dir):
    """A Ukrainian terminal in Kharkiv whose GNSS is spoofed (reports Kyiv and Odesa in turn) is a spoofing suspect on
    geometry alone; with the threat layer's GNSS L1 jammer (an aerostat over Belgorod) on across the border its
    fixes are not evidence -- and a spoofer beyond the jammer's reach, or after the jammer's schedule ends, still is."""
    from pathlib import Path

    from skyfence.detection import Context
    from skyfence.network.ground import great_circle_km
    from skyfence.policy import load_policy
    from skyfence.threats.jamming import JammerSite, gnss_denied

    root = Path(__file__).resolve().parents[2]
    policy = load_policy(root / "examples/policies/real_world_2026.toml")
    true_lat, true_lon = 49.99, 36.23  # Kharkiv
    jammer = JammerSite(
        "Belgorod GNSS",
        50.60,
        36.58,
        20.0,
        band="gnss_l1",
        height_m=400.0,
        bandwidth_mhz=20.0,
        schedule=(("2026-08-22T06:00:00Z", "2026-08-22T07:00:00Z"),),
    )
    # by hand: the 4/3-Earth horizon of a 400 m aerostat and a 2 m dish is sqrt(2 kR h1) + sqrt(2 kR h2) = 88 km,
    # beyond Kharkiv (73 km); J/S = 20 dBW - FSPL(73 km, L1) 133.7 dB + 158.5 dBW = 45 dB >= 30 dB
    k_r = 4.0 / 3.0 * 6371.0
    assert (2 * k_r * 0.4) ** 0.5 + (2 * k_r * 0.002) ** 0.5 > float(great_circle_km(50.60, 36.58, true_lat, true_lon))
    assert gnss_denied([jammer], [true_lat], [true_lon], [T0]).all()
    assert not gnss_denied([jammer], [true_lat], [true_lon], [T0 + np.timedelta64(2, "h")]).any()
    lat = np.where(np.arange(6) % 2 == 0, 50.45, 46.48)  # spoofed: Kyiv / Odesa alternately
    lon = np.where(np.arange(6) % 2 == 0, 30.52, 30.72)
    track = _track(lat, lon, registered="UA", cell_at=(true_lat, true_lon), step_s=300)
    plain = Context(policy, constellation="starlink_omm_20260818")
    jammed = Context(policy, constellation="starlink_omm_20260818", gnss_jammers=[jammer])
    assert "spoofing_suspected" in _kinds(detect(track, plain))
    assert "spoofing_suspected" not in _kinds(detect(track, jammed))
    # the same track two hours later, after the jammer's schedule: evidence again
    later = track.assign(time=track["time"] + np.timedelta64(2, "h"))
    assert "spoofing_suspected" in _kinds(detect(later, jammed))
    # a spoofer served over Lviv, far beyond the jammer's horizon, is still a suspect
    far = _track(np.full(4, 50.45), np.full(4, 30.52), registered="UA", cell_at=(49.84, 24.03), terminal=2)
    assert "spoofing_suspected" in _kinds(detect(far, jammed), terminal=2)


def test_time_sorted_pieces_give_the_alerts_of_the_whole_table(small_fleet, small_alerts, context):
    """`skyfence detect` reads a time-sorted fleet a row group at a time: the alerts are those of the whole table,
    wherever the pieces are cut (here mid-timestamp, every 997 rows), and a table out of time order is refused."""
    from skyfence.detection.detectors import detect_time_sorted

    pieces = (small_fleet.iloc[lo : lo + 997].reset_index(drop=True) for lo in range(0, len(small_fleet), 997))
    pd.testing.assert_frame_equal(detect_time_sorted(pieces, context), small_alerts)
    backwards = [small_fleet.iloc[1000:2000], small_fleet.iloc[:1000]]
    assert detect_time_sorted(iter(backwards), context) is None
    bad = small_fleet.iloc[:3000].copy()
    bad.loc[2500, "lat_deg"] = np.nan  # named by its row in the whole table, not in its piece
    with pytest.raises(InputError) as caught:
        detect_time_sorted((bad.iloc[lo : lo + 997] for lo in range(0, 3000, 997)), context, source="f.parquet")
    assert str(caught.value).startswith("f.parquet record 2501: field lat_deg")
