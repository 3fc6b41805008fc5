"""How far a run propagates element sets from their epochs: the epoch-gap guard.

SGP4 mean elements describe an orbit near their epoch only.  Against GPS
precision ephemerides, SGP4 errors are about 1 km at epoch and grow by 1-3 km
per day (T.S. Kelso, "Validation of SGP4 and IS-GPS-200D against GPS precision
ephemerides", AAS 07-127, 2007); low, manoeuvring satellites such as Starlink's
drift faster, since drag and station-keeping burns are not in old elements.
Two weeks from epoch, positions are off by tens to hundreds of km, and a
catalog of another day holds another set of satellites (launches, orbit
raising, re-entries).  A run whose times are far from its catalog's epochs
answers a different question from the one it claims to answer.

:func:`epoch_gap` measures, for one catalog and one time range, the largest
distance between a time of the run and the catalog's *median* element epoch
(the median, not the oldest epoch, because a real catalog keeps a few
satellites whose elements are weeks old -- decaying or passivated objects --
and they would otherwise make every run look stale).  The guard fires when
that gap exceeds :data:`DEFAULT_MAX_EPOCH_GAP_DAYS` (14 days) or the limit the
caller gives.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import numpy as np

__all__ = ["DEFAULT_MAX_EPOCH_GAP_DAYS", "EpochGap", "catalog_epoch_gap", "epoch_gap"]

#: Default limit of :func:`epoch_gap` checks [days].  Two weeks keeps the median SGP4 error of a fresh Starlink
#: catalog within tens of km (see the module notes); the scenario runner and ``skyfence assess
#: --max-epoch-gap-days`` use it unless told otherwise.
DEFAULT_MAX_EPOCH_GAP_DAYS: Final = 14.0

_DAY_NS: Final = 86_400e9


def _ns(t: Any) -> np.datetime64:
    return np.datetime64(int(np.asarray(t).astype("datetime64[ns]").astype(np.int64)), "ns")


def _iso(t: np.datetime64) -> str:
    from skyfence.orbits.time import iso_utc

    return iso_utc(t)


@dataclass(frozen=True)
class EpochGap:
    """Epochs of one catalog against one time range.

    Attributes
    ----------
    source
        The catalog: a dataset name (``starlink_omm_20260818``, ``celestrak:starlink``) or a file name.
    epoch_min, epoch_median, epoch_max
        Oldest, median and newest element epoch (UTC).
    start, end
        The run's first and last time (UTC).
    gap_days
        Largest distance between a time of the run and the median epoch [days].
    stale_satellites
        How many element sets lie more than ``max_gap_days`` from some time of the run.
    satellites
        Size of the catalog.
    max_gap_days
        The limit the gap was held against.
    """

    source: str
    epoch_min: np.datetime64
    epoch_median: np.datetime64
    epoch_max: np.datetime64
    start: np.datetime64
    end: np.datetime64
    gap_days: float
    stale_satellites: int
    satellites: int
    max_gap_days: float

    @property
    def exceeded(self) -> bool:
        """True when the run is further from the catalog's epochs than ``max_gap_days``."""
        return self.gap_days > self.max_gap_days

    @property
    def message(self) -> str:
        """One line naming the catalog, its epoch range and the gap (what the CLI and the report print)."""
        return (
            f"{self.source}: element epochs {_iso(self.epoch_min)} .. {_iso(self.epoch_max)} (median "
            f"{_iso(self.epoch_median)}) are {self.gap_days:.1f} days from the run's times {_iso(self.start)} .. "
            f"{_iso(self.end)}, more than the {self.max_gap_days:g}-day limit: SGP4 positions that far from epoch "
            f'are off by tens to hundreds of km (use a catalog dated near the run, or start = "epoch")'
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready record (the form ``summary.json`` lists under ``warnings``)."""
        return {
            "category": "DataWarning",
            "kind": "epoch_gap",
            "source": self.source,
            "epoch_min": _iso(self.epoch_min),
            "epoch_median": _iso(self.epoch_median),
            "epoch_max": _iso(self.epoch_max),
            "start": _iso(self.start),
            "end": _iso(self.end),
            "gap_days": round(self.gap_days, 3),
            "max_gap_days": self.max_gap_days,
            "stale_satellites": self.stale_satellites,
            "satellites": self.satellites,
            "message": self.message,
        }


def epoch_gap(
    epochs: np.ndarray,
    start: np.datetime64,
    end: np.datetime64,
    *,
    source: str,
    max_gap_days: float = DEFAULT_MAX_EPOCH_GAP_DAYS,
) -> EpochGap | None:
    """Distance between the times ``start .. end`` and a catalog's element ``epochs``; None for an empty catalog.

    Parameters
    ----------
    epochs
        Element epochs (UTC ``datetime64``), one per satellite (``Constellation.satellites["epoch"]``).
    start, end
        First and last time of the run (UTC).
    source
        Name of the catalog, for the message.
    max_gap_days
        Limit [days]; :attr:`EpochGap.exceeded` says whether the gap is above it.
    """
    values = np.asarray(epochs, dtype="datetime64[ns]")
    values = values[~np.isnat(values)]
    if values.size == 0:
        return None
    if max_gap_days < 0:
        raise ValueError("max_gap_days must not be negative")
    t0 = _ns(start)
    t1 = _ns(end)
    ns = values.astype(np.int64)
    median = np.datetime64(int(np.median(ns)), "ns")
    span_ns = max(abs(int((t0 - median).astype(np.int64))), abs(int((t1 - median).astype(np.int64))))
    far = np.maximum(np.abs(t0.astype(np.int64) - ns), np.abs(t1.astype(np.int64) - ns)) > max_gap_days * _DAY_NS
    return EpochGap(
        source=source,
        epoch_min=values.min(),
        epoch_median=median,
        epoch_max=values.max(),
        start=t0,
        end=t1,
        gap_days=span_ns / _DAY_NS,
        stale_satellites=int(far.sum()),
        satellites=int(values.size),
        max_gap_days=float(max_gap_days),
    )


def catalog_epoch_gap(
    constellation: Any,
    start: Any,
    end: Any | None = None,
    *,
    max_gap_days: float = DEFAULT_MAX_EPOCH_GAP_DAYS,
) -> EpochGap | None:
    """:func:`epoch_gap` of a loaded :class:`~skyfence.orbits.constellation.Constellation` over ``start .. end``
    (``end`` defaults to ``start``): the one check every command that propagates a catalog runs (``assess`` through
    the scenario runner, the other CLI commands through ``skyfence.cli._common.check_epochs``, the dashboard's map
    layers).  None for a filed preset (its epochs are synthetic, not measured) or an empty catalog.
    """
    from skyfence.orbits.walker import PRESETS

    if constellation.source in PRESETS or constellation.name in PRESETS or not len(constellation):
        return None
    source = str(constellation.source or constellation.name)
    if "/" in source and not source.lower().startswith("celestrak:"):
        source = source.rsplit("/", 1)[-1]  # a file: its name, as assess names it
    return epoch_gap(
        constellation.satellites["epoch"].to_numpy(),
        start,
        start if end is None else end,
        source=source,
        max_gap_days=max_gap_days,
    )
