"""DVB-S2X MODCODs: ideal Es/N0 thresholds and spectral efficiencies, and MODCOD selection.

The table is ETSI EN 302 307-2 V1.1.1 (2015-02), Table 20a: "Es/N0 performance
at Quasi Error Free PER = 10^-5 (AWGN channel)" for normal FECFRAMEs (64,800
bits), no pilots.  Spectral efficiency is information bits per symbol,
``(K_bch - 80) / (64800/log2(M) + 90)``; a bit rate is
``efficiency * B / (1 + roll-off)``.

``-L`` MODCODs are meant for linear (backed-off) channels.  Selection can leave
them out: with ``linear=False`` the Table 5 MODCODs of del Portillo et al. (2019)
come out (Telesat's 18.09 dB picks 128APSK 3/4, not 256APSK 2/3-L).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["DVBS2X_MODCODS", "ModcodChoice", "bitrate_mbps", "frontier_arrays", "modcod_table", "select_modcod"]

#: (name, spectral efficiency [bit/symbol], ideal Es/N0 [dB]) -- EN 302 307-2 Table 20a, in table order.
DVBS2X_MODCODS: tuple[tuple[str, float, float], ...] = (
    ("QPSK 2/9", 0.434841, -2.85),
    ("QPSK 13/45", 0.567805, -2.03),
    ("QPSK 9/20", 0.889135, 0.22),
    ("QPSK 11/20", 1.088581, 1.45),
    ("8APSK 5/9-L", 1.647211, 4.73),
    ("8APSK 26/45-L", 1.713601, 5.13),
    ("8PSK 23/36", 1.896173, 6.12),
    ("8PSK 25/36", 2.062148, 7.02),
    ("8PSK 13/18", 2.145136, 7.49),
    ("16APSK 1/2-L", 1.972253, 5.97),
    ("16APSK 8/15-L", 2.104850, 6.55),
    ("16APSK 5/9-L", 2.193247, 6.84),
    ("16APSK 26/45", 2.281645, 7.51),
    ("16APSK 3/5", 2.370043, 7.80),
    ("16APSK 3/5-L", 2.370043, 7.41),
    ("16APSK 28/45", 2.458441, 8.10),
    ("16APSK 23/36", 2.524739, 8.38),
    ("16APSK 2/3-L", 2.635236, 8.43),
    ("16APSK 25/36", 2.745734, 9.27),
    ("16APSK 13/18", 2.856231, 9.71),
    ("16APSK 7/9", 3.077225, 10.65),
    ("16APSK 77/90", 3.386618, 11.99),
    ("32APSK 2/3-L", 3.289502, 11.10),
    ("32APSK 32/45", 3.510192, 11.75),
    ("32APSK 11/15", 3.620536, 12.17),
    ("32APSK 7/9", 3.841226, 13.05),
    ("64APSK 32/45-L", 4.206428, 13.98),
    ("64APSK 11/15", 4.338659, 14.81),
    ("64APSK 7/9", 4.603122, 15.47),
    ("64APSK 4/5", 4.735354, 15.87),
    ("64APSK 5/6", 4.933701, 16.55),
    ("128APSK 3/4", 5.163248, 17.73),
    ("128APSK 7/9", 5.355556, 18.53),
    ("256APSK 29/45-L", 5.065690, 16.98),
    ("256APSK 2/3-L", 5.241514, 17.24),
    ("256APSK 31/45-L", 5.417338, 18.10),
    ("256APSK 32/45", 5.593162, 18.59),
    ("256APSK 11/15-L", 5.768987, 18.84),
    ("256APSK 3/4", 5.900855, 19.57),
)


def modcod_table() -> pd.DataFrame:
    """The table as a DataFrame: ``name``, ``efficiency_bit_per_symbol``, ``esn0_db``, ``linear_only``."""
    names, eff, esn0 = zip(*DVBS2X_MODCODS, strict=True)
    return pd.DataFrame(
        {
            "name": names,
            "efficiency_bit_per_symbol": eff,
            "esn0_db": esn0,
            "linear_only": [n.endswith("-L") for n in names],
        }
    )


def _frontier(linear: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Thresholds ascending and the best efficiency (and its table row) reachable at each threshold."""
    rows = [i for i, (n, _, _) in enumerate(DVBS2X_MODCODS) if linear or not n.endswith("-L")]
    rows.sort(key=lambda i: (DVBS2X_MODCODS[i][2], -DVBS2X_MODCODS[i][1]))
    thresholds: list[float] = []
    best_eff: list[float] = []
    best_row: list[int] = []
    for i in rows:
        _, eff, esn0 = DVBS2X_MODCODS[i]
        if best_eff and eff <= best_eff[-1]:
            continue  # dominated: needs more Es/N0 for no more bits
        thresholds.append(esn0)
        best_eff.append(eff)
        best_row.append(i)
    return np.array(thresholds), np.array(best_eff), np.array(best_row)


_FRONTIERS = {True: _frontier(True), False: _frontier(False)}


@dataclass(frozen=True)
class ModcodChoice:
    """Per-element result of :func:`select_modcod`: table row (-1 = none closes), efficiency, threshold."""

    index: np.ndarray
    efficiency_bit_per_symbol: np.ndarray
    esn0_db: np.ndarray

    @property
    def name(self) -> np.ndarray:
        names = np.array([n for n, _, _ in DVBS2X_MODCODS] + [""], dtype=object)
        return names[self.index]


def frontier_arrays(linear: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(thresholds [dB] ascending, efficiency) of the non-dominated MODCODs, for compiled kernels."""
    thresholds, eff, _ = _FRONTIERS[bool(linear)]
    return thresholds.copy(), eff.copy()


def select_modcod(esn0_db, *, margin_db: float = 0.0, linear: bool = True) -> ModcodChoice:
    """The most efficient MODCOD whose ideal Es/N0 plus ``margin_db`` is at most ``esn0_db`` [dB].

    ``esn0_db`` is the C/(N+I) over the symbol-rate bandwidth.  Where no
    MODCOD closes the link the index is -1 and the efficiency 0.
    """
    thresholds, eff, rows = _FRONTIERS[bool(linear)]
    x = np.asarray(esn0_db, dtype=float) - float(margin_db)
    pos = np.searchsorted(thresholds, np.where(np.isnan(x), -np.inf, x), side="right") - 1
    ok = pos >= 0
    safe = np.maximum(pos, 0)
    index = np.where(ok, rows[safe], -1)
    return ModcodChoice(index, np.where(ok, eff[safe], 0.0), np.where(ok, thresholds[safe], np.nan))


def bitrate_mbps(efficiency_bit_per_symbol, bandwidth_mhz, rolloff: float = 0.1) -> np.ndarray:
    """Information bit rate [Mb/s] of a carrier filling ``bandwidth_mhz`` with roll-off ``rolloff``."""
    return np.asarray(efficiency_bit_per_symbol, float) * np.asarray(bandwidth_mhz, float) / (1.0 + rolloff)
