"""View sets: masking per draw equals re-running coverage; engagement limit; the Poisson check over Taiwan."""

from __future__ import annotations

import numpy as np
import pytest

from skyfence.coverage.engine import run_coverage
from skyfence.threats.attrition import SatelliteAttack
from skyfence.threats.montecarlo import draw_metrics, poisson_check, random_attrition_steps


def test_masked_counts_equal_coverage_of_the_survivors(oneweb_preset, small_cells, small_times, small_view):
    for seed, fraction in ((1, 0.3), (2, 0.7)):
        removed = SatelliteAttack(fraction=fraction, seed=seed).removed(oneweb_preset)
        steps = small_view.removal_steps(removed=removed)
        rerun = run_coverage(oneweb_preset.subset(~removed), small_cells, small_times, min_elevation_deg=25.0)
        assert np.array_equal(small_view.counts(steps), rerun.counts["sats_in_view"].to_numpy())
        metrics = draw_metrics(small_view, steps)
        assert metrics["coverage_fraction"] == pytest.approx(rerun.statistics["coverage_fraction"])
        assert metrics["sats_in_view_mean"] == pytest.approx(rerun.statistics["sats_in_view_mean"])


def test_removal_over_time_only_counts_after_the_loss(small_view):
    times = small_view.times
    when = np.full(small_view.n_satellites, np.datetime64("NaT"), dtype="datetime64[ns]")
    when[:] = times[len(times) // 2]
    counts = small_view.counts(small_view.removal_steps(removal_time=when))
    half = len(times) // 2
    assert np.array_equal(counts[:half], small_view.count[:half])
    assert counts[half:].max() == 0


def test_removing_every_engaged_satellite_leaves_zero_coverage_in_the_window(taiwan_day, starlink):
    window = (taiwan_day.times >= np.datetime64("2025-09-23T18:00")) & (
        taiwan_day.times <= np.datetime64("2025-09-23T20:00")
    )
    engaged = taiwan_day.engaged(time_mask=window)
    removed = SatelliteAttack().removed(starlink, engaged=engaged)
    counts = taiwan_day.counts(taiwan_day.removal_steps(removed=removed))
    assert counts[window].max() == 0
    assert counts[~window].max() > 0  # outside the window other satellites serve again
    assert 0 < engaged.sum() < len(starlink)


def test_engagement_object_agrees_with_the_view_sets(oneweb_preset, small_view):
    from skyfence.threats.attrition import Engagement

    times = small_view.times
    # an engagement over a region polygon uses its own cells; here: the same cells via the view sets
    window = times <= times[30]
    engaged = small_view.engaged(time_mask=window)
    counts = small_view.counts(small_view.removal_steps(removed=engaged))
    assert counts[window].max() == 0
    with pytest.raises(Exception) as info:
        Engagement("TW", times[10], times[0])
    assert "engagement.end" in str(info.value)


@pytest.mark.slow
def test_poisson_check_over_taiwan_24h(taiwan_day):
    """P(>= 1 in view) under random removal of a fraction f matches 1 - exp(-lambda (1 - f)) within 2 pp."""
    table = poisson_check(taiwan_day, (0.1, 0.5, 0.9), draws=10, seed=0)
    assert table["lambda"].iloc[0] > 5  # Starlink over Taiwan: tens of satellites in view on average
    assert np.all(np.abs(table["diff_poisson_pp"]) <= 2.0), table.to_string()
    # the exact binomial thinning of the observed counts is closer still
    assert np.all(np.abs(table["diff_thinned_pp"]) <= 0.5), table.to_string()


def test_more_removal_never_improves_taiwan(taiwan_day):
    previous = draw_metrics(taiwan_day, None)
    for f in (0.5, 0.9, 0.97):
        now = draw_metrics(taiwan_day, random_attrition_steps(taiwan_day, f, seed=11))
        assert now["coverage_fraction"] <= previous["coverage_fraction"]
        assert now["max_gap_s"] >= previous["max_gap_s"]
        previous = now
