"""Confidence bands of a sweep: Student's t interval of the mean, checked against scipy's own interval."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from skyfence.sweep.results import axis_summary


@pytest.mark.parametrize("repetitions", [2, 3, 10, 100])
def test_the_interval_is_students_t(repetitions: int) -> None:
    rng = np.random.default_rng(repetitions)
    values = rng.normal(5.0, 1.0, size=(2, repetitions))
    frame = pd.DataFrame({"loss": np.repeat([0.1, 0.2], repetitions), "sats": values.ravel()})
    summary = axis_summary(frame, "loss", "sats")
    for row, draws in zip(summary.itertuples(), values, strict=True):
        low, high = stats.t.interval(0.95, len(draws) - 1, loc=draws.mean(), scale=stats.sem(draws))
        assert row.n == repetitions
        assert row.ci95_low == pytest.approx(low) and row.ci95_high == pytest.approx(high)


def test_one_draw_has_no_interval() -> None:
    summary = axis_summary(pd.DataFrame({"loss": [0.1], "sats": [7.0]}), "loss", "sats")
    assert summary.loc[0, "ci95_low"] == summary.loc[0, "ci95_high"] == 7.0
