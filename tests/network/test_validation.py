"""Simulated against measured RTT for the RIPE Atlas Starlink probes (writes nothing)."""

from __future__ import annotations

import numpy as np
import pytest

from skyfence.network.validation import markdown_table, measured_medians, ripe_validation


@pytest.fixture(scope="module")
def table(data_dir):
    return ripe_validation(data_dir)


def test_measured_medians_match_provenance(data_dir):
    measured = measured_medians(data_dir)
    assert len(measured) == 25
    # PROVENANCE.md 4b: medians per probe range from 27.6 ms (Alberta) to 78 ms (Alaska).
    assert measured["measured_median_rtt_ms"].min() == pytest.approx(27.6, abs=0.1)
    assert measured["measured_median_rtt_ms"].max() == pytest.approx(78.1, abs=0.2)


def test_simulated_medians_are_below_measured_within_a_sane_band(table):
    assert len(table) == 25 and (table["reachable_share"] > 0.95).all()
    simulated, measured = table["simulated_median_rtt_ms"], table["measured_median_rtt_ms"]
    # Propagation to the PoP only: the measured path continues to the server and adds scheduling and processing.
    assert (simulated < measured).all()
    # ...but not absurdly: a terminal -> LEO -> gateway -> PoP round trip is >= 5 ms and the gap stays < 70 ms.
    assert (simulated > 5.0).all() and (table["difference_ms"] < 70.0).all()
    # The typical gap is Starlink's own overhead, tens of ms (median measured-minus-simulated 20-40 ms).
    assert 20.0 < float(np.median(table["difference_ms"])) < 40.0
    # PoPs are on the probe's continent: European probes exit in Europe, US probes in the US.
    by_place = table.set_index("place")
    assert by_place.loc["Kitzingen, Germany", "pop_country"] in {"DE", "GB", "FR", "ES", "PL"}
    assert by_place.loc["New York, NY, USA", "pop_country"] == "US"


def test_markdown_table_has_one_row_per_probe(table):
    text = markdown_table(table)
    assert text.count("\n") == len(table) + 1 and "| 55492 | Hay Lakes" in text
