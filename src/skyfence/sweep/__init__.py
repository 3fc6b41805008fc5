"""Sweeps and Monte Carlo over scenario parameters, run on Dask: ``spec`` (the sweep file, its axes by scenario
key path, expansion into points), ``execute`` (each point one cached scenario run; serially or on
``dask.distributed``), ``metrics`` (a summary's headline numbers as table columns), ``results`` (the tidy
Parquet table, plots with confidence bands, rankings)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from skyfence._lazy import lazy_exports

_WHERE = {
    "Sweep": "skyfence.sweep.spec",
    "SweepRun": "skyfence.sweep.execute",
    "load_sweep": "skyfence.sweep.spec",
    "metrics_of": "skyfence.sweep.metrics",
    "results_table": "skyfence.sweep.results",
    "run_sweep": "skyfence.sweep.execute",
    "write_outputs": "skyfence.sweep.results",
}
__all__ = [
    "Sweep",
    "SweepRun",
    "load_sweep",
    "metrics_of",
    "results_table",
    "run_sweep",
    "write_outputs",
]
__getattr__, __dir__ = lazy_exports(__name__, _WHERE)

if TYPE_CHECKING:  # let type checkers and IDEs see the real objects
    from skyfence.sweep.execute import SweepRun, run_sweep
    from skyfence.sweep.metrics import metrics_of
    from skyfence.sweep.results import results_table, write_outputs
    from skyfence.sweep.spec import Sweep, load_sweep
