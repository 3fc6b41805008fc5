"""Property: more attack never improves any metric (Hypothesis over random attack parameters)."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skyfence.threats.attrition import SatelliteAttack
from skyfence.threats.debris import AsatEvent, debris_cloud
from skyfence.threats.jamming import j_over_s_db
from skyfence.threats.montecarlo import HIGHER_IS_BETTER, draw_metrics

_SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _no_better(weaker: dict, stronger: dict) -> None:
    for metric, higher in HIGHER_IS_BETTER.items():
        a, b = weaker[metric], stronger[metric]
        if higher:
            assert b <= a + 1e-12, (metric, a, b)
        else:
            assert b >= a - 1e-12, (metric, a, b)


@_SETTINGS
@given(
    f1=st.floats(0.0, 1.0),
    f2=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**31),
    planes=st.lists(st.integers(0, 11), max_size=4, unique=True),
    extra_planes=st.lists(st.integers(0, 11), max_size=3, unique=True),
)
def test_more_attrition_never_improves_coverage(oneweb_preset, small_view, f1, f2, seed, planes, extra_planes):
    low, high = sorted((f1, f2))
    weak = SatelliteAttack(planes=tuple(planes) or None, fraction=low).removed(oneweb_preset, seed=seed)
    strong = SatelliteAttack(planes=tuple(planes) or None, fraction=high).removed(oneweb_preset, seed=seed)
    # a union with more planes lost is a stronger attack too
    if extra_planes:
        strong = strong | SatelliteAttack(planes=tuple(extra_planes)).removed(oneweb_preset)
    assert np.all(strong[weak])
    m_none = draw_metrics(small_view, None)
    m_weak = draw_metrics(small_view, small_view.removal_steps(removed=weak))
    m_strong = draw_metrics(small_view, small_view.removal_steps(removed=strong))
    _no_better(m_none, m_weak)
    _no_better(m_weak, m_strong)


@_SETTINGS
@given(t1=st.integers(0, 89), t2=st.integers(0, 89), fraction=st.floats(0.0, 1.0), seed=st.integers(0, 1000))
def test_earlier_losses_never_improve_coverage(small_view, t1, t2, fraction, seed):
    early, late = sorted((t1, t2))
    hit = np.random.default_rng(seed).random(small_view.n_satellites) < fraction
    steps_late = small_view.never()
    steps_late[hit] = late
    steps_early = small_view.never()
    steps_early[hit] = early
    _no_better(draw_metrics(small_view, steps_late), draw_metrics(small_view, steps_early))


@settings(max_examples=50, deadline=None)
@given(
    eirp=st.floats(-10, 100),
    more=st.floats(0, 30),
    jam_km=st.floats(1, 500),
    sat_km=st.floats(300, 2500),
    rejection=st.floats(0, 60),
    less_rejection=st.floats(0, 30),
)
def test_more_jammer_power_or_less_rejection_never_lowers_js(eirp, more, jam_km, sat_km, rejection, less_rejection):
    base = float(j_over_s_db(eirp, jam_km, 33.0, sat_km, rejection))
    assert float(j_over_s_db(eirp + more, jam_km, 33.0, sat_km, rejection)) >= base - 1e-9
    assert float(j_over_s_db(eirp, jam_km, 33.0, sat_km, max(rejection - less_rejection, 0.0))) >= base - 1e-9
    assert float(j_over_s_db(eirp, jam_km * 0.5, 33.0, sat_km, rejection)) >= base - 1e-9


@settings(max_examples=10, deadline=None)
@given(mass=st.floats(100, 10000), factor=st.floats(1.0, 5.0), alt=st.floats(350, 1200))
def test_a_bigger_breakup_never_lowers_losses(mass, factor, alt):
    small = debris_cloud(AsatEvent(alt_km=500.0, mass_kg=mass))
    big = debris_cloud(AsatEvent(alt_km=500.0, mass_kg=min(mass * factor, 1e5)))
    assert big.loss_rate_per_sat_per_day(alt) >= small.loss_rate_per_sat_per_day(alt) - 1e-15
