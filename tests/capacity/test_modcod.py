"""DVB-S2X thresholds and efficiencies: ETSI EN 302 307-2 Table 20a."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from skyfence.capacity.modcod import DVBS2X_MODCODS, bitrate_mbps, modcod_table, select_modcod

# EN 302 307-2 V1.1.1 Table 20a, typed from the standard: name -> (spectral efficiency, ideal Es/N0 dB).
ETSI_20A = {
    "QPSK 2/9": (0.434841, -2.85),
    "QPSK 13/45": (0.567805, -2.03),
    "QPSK 9/20": (0.889135, 0.22),
    "QPSK 11/20": (1.088581, 1.45),
    "8APSK 5/9-L": (1.647211, 4.73),
    "8APSK 26/45-L": (1.713601, 5.13),
    "8PSK 23/36": (1.896173, 6.12),
    "8PSK 25/36": (2.062148, 7.02),
    "8PSK 13/18": (2.145136, 7.49),
    "16APSK 1/2-L": (1.972253, 5.97),
    "16APSK 8/15-L": (2.104850, 6.55),
    "16APSK 5/9-L": (2.193247, 6.84),
    "16APSK 26/45": (2.281645, 7.51),
    "16APSK 3/5": (2.370043, 7.80),
    "16APSK 3/5-L": (2.370043, 7.41),
    "16APSK 28/45": (2.458441, 8.10),
    "16APSK 23/36": (2.524739, 8.38),
    "16APSK 2/3-L": (2.635236, 8.43),
    "16APSK 25/36": (2.745734, 9.27),
    "16APSK 13/18": (2.856231, 9.71),
    "16APSK 7/9": (3.077225, 10.65),
    "16APSK 77/90": (3.386618, 11.99),
    "32APSK 2/3-L": (3.289502, 11.10),
    "32APSK 32/45": (3.510192, 11.75),
    "32APSK 11/15": (3.620536, 12.17),
    "32APSK 7/9": (3.841226, 13.05),
    "64APSK 32/45-L": (4.206428, 13.98),
    "64APSK 11/15": (4.338659, 14.81),
    "64APSK 7/9": (4.603122, 15.47),
    "64APSK 4/5": (4.735354, 15.87),
    "64APSK 5/6": (4.933701, 16.55),
    "128APSK 3/4": (5.163248, 17.73),
    "128APSK 7/9": (5.355556, 18.53),
    "256APSK 29/45-L": (5.065690, 16.98),
    "256APSK 2/3-L": (5.241514, 17.24),
    "256APSK 31/45-L": (5.417338, 18.10),
    "256APSK 32/45": (5.593162, 18.59),
    "256APSK 11/15-L": (5.768987, 18.84),
    "256APSK 3/4": (5.900855, 19.57),
}
_BITS = {"QPSK": 2, "8PSK": 3, "8APSK": 3, "16APSK": 4, "32APSK": 5, "64APSK": 6, "128APSK": 7, "256APSK": 8}


def test_table_equals_etsi_table_20a():
    ours = {name: (eff, esn0) for name, eff, esn0 in DVBS2X_MODCODS}
    assert ours == ETSI_20A


@pytest.mark.parametrize(("name", "eff"), [(n, e) for n, e, _ in DVBS2X_MODCODS])
def test_efficiency_follows_from_the_frame_structure(name, eff):
    # (K_bch - 80 BBHEADER bits) / (64800 / log2 M + 90 PLHEADER symbols), K_bch = K_ldpc - 192 (t = 12 BCH)
    modulation, rate = name.split()
    k_ldpc = 64800 * Fraction(rate.removesuffix("-L"))
    expected = (float(k_ldpc) - 192 - 80) / (64800 / _BITS[modulation] + 90)
    assert eff == pytest.approx(expected, rel=3e-3)


def test_selection_picks_the_best_that_closes():
    assert str(select_modcod(19.57).name) == "256APSK 3/4"
    assert str(select_modcod(19.56).name) == "256APSK 11/15-L"
    assert str(select_modcod(19.56, linear=False).name) == "256APSK 32/45"
    assert int(select_modcod(-3.0).index) == -1
    assert select_modcod(-3.0).efficiency_bit_per_symbol == 0.0
    assert int(select_modcod(np.nan).index) == -1


def test_selection_is_monotone_in_snr():
    snr = np.linspace(-5, 25, 3001)
    eff = select_modcod(snr).efficiency_bit_per_symbol
    assert np.all(np.diff(eff) >= 0)
    assert select_modcod(5.0, margin_db=1.0).efficiency_bit_per_symbol <= select_modcod(5.0).efficiency_bit_per_symbol


def test_bitrate_and_table_frame():
    assert float(bitrate_mbps(5.900855, 500.0, 0.1)) == pytest.approx(2682.2, abs=0.1)
    table = modcod_table()
    assert len(table) == 39 and table["linear_only"].sum() == 13
    assert math.isclose(table["esn0_db"].max(), 19.57)
