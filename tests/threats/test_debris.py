"""First-order ASAT debris: the Kosmos 1408 calibration, the shape of the cloud, losses per shell, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from skyfence.errors import InputError
from skyfence.threats.debris import KOSMOS_1408, AsatEvent, debris_cloud, fragments_at_least, removal_times


def test_kosmos_1408_count_calibration():
    # calibrated: 1,500 trackable (>= 10 cm) fragments from 1,750 kg
    assert float(fragments_at_least(0.1, KOSMOS_1408["mass_kg"])) == pytest.approx(1500.0)
    # the Breakup Model's slope: ten times smaller -> 10^1.71 = 51 times as many
    ratio = float(fragments_at_least(0.01, 1750.0) / fragments_at_least(0.1, 1750.0))
    assert ratio == pytest.approx(10**1.71, rel=1e-9)


def test_kosmos_1408_cloud_spans_the_reported_altitudes():
    cloud = debris_cloud(AsatEvent(alt_km=KOSMOS_1408["alt_km"]))
    profile = cloud.profile
    peak = float(profile.loc[profile["density_per_km3"].idxmax(), "alt_km"])
    assert abs(peak - 480.0) < 50.0  # densest at the breakup altitude
    share = profile["fragments"] / profile["fragments"].sum()
    inside = share[(profile["alt_km"] >= 300) & (profile["alt_km"] <= 1100)].sum()
    assert inside > 0.8  # reported: between 300 and 1,100 km (only the upper edge was used to calibrate)
    assert 1000 < cloud.trackable_fragments <= 1500  # some fragments re-enter within days


def test_losses_are_highest_near_the_breakup_and_scale_with_exposure(starlink):
    cloud = debris_cloud(AsatEvent(alt_km=500.0))
    rate = cloud.loss_rate_per_sat_per_day(np.array([350.0, 500.0, 1000.0]))
    assert rate[1] > rate[0] and rate[1] > rate[2] > 0
    bigger = debris_cloud(AsatEvent(alt_km=500.0, satellite_area_m2=60.0))
    assert bigger.loss_rate_per_sat_per_day(500.0) == pytest.approx(2 * cloud.loss_rate_per_sat_per_day(500.0))
    table = cloud.shell_losses(starlink, 365.0)
    assert table["satellites"].sum() == len(starlink)
    assert np.all(table["expected_losses_horizon"] <= table["satellites"])


def test_random_removal_times_match_the_expected_losses(starlink):
    cloud = debris_cloud(AsatEvent(alt_km=500.0, lethal_size_m=0.002))  # many losses: a tight statistical check
    start = np.datetime64("2026-01-01T00:00", "ns")
    expected = cloud.shell_losses(starlink, 365.0)["expected_losses_horizon"].sum()
    counts = [int((~np.isnat(removal_times(cloud, starlink, start, 365.0, seed=s))).sum()) for s in range(5)]
    assert np.mean(counts) == pytest.approx(expected, rel=0.1)
    when = removal_times(cloud, starlink, start, 365.0, seed=0)
    assert np.all(when[~np.isnat(when)] >= start)
    assert np.array_equal(when, removal_times(cloud, starlink, start, 365.0, seed=0), equal_nan=True)


def test_decay_lowers_losses():
    base = debris_cloud(AsatEvent(alt_km=500.0))
    decaying = debris_cloud(AsatEvent(alt_km=500.0, decay_e_folding_days=180.0))
    r = base.loss_rate_per_sat_per_day(500.0)
    assert decaying.cumulative_hazard(r, 365.0) < base.cumulative_hazard(r, 365.0)


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"alt_km": 50.0}, "alt_km"),
        ({"mass_kg": -1.0}, "mass_kg"),
        ({"lethal_size_m": float("nan")}, "lethal_size_m"),
        ({"decay_e_folding_days": -3.0}, "decay_e_folding_days"),
    ],
)
def test_bad_event_names_the_key(kwargs, key):
    with pytest.raises(InputError) as info:
        AsatEvent(**kwargs)
    assert info.value.field == key
