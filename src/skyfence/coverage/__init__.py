"""Coverage: which satellites each H3 cell sees over time, and the figures of merit of a region.

``visibility``  the kernel: satellites above the elevation mask per cell and time step (chunked, numba)
``merit``       per-cell figures of merit (coverage fraction, gaps, satellites in view; STK Coverage names)
``engine``      :func:`run_coverage`: a constellation over cells and times → :class:`CoverageResult`
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from skyfence._lazy import lazy_exports

_WHERE = {
    "CoverageResult": "skyfence.coverage.engine",
    "GroundGrid": "skyfence.coverage.visibility",
    "MeritAccumulator": "skyfence.coverage.merit",
    "footprint_radius_km": "skyfence.coverage.visibility",
    "iter_visibility": "skyfence.coverage.visibility",
    "region_statistics": "skyfence.coverage.merit",
    "run_coverage": "skyfence.coverage.engine",
}
__all__ = [
    "CoverageResult",
    "GroundGrid",
    "MeritAccumulator",
    "footprint_radius_km",
    "iter_visibility",
    "region_statistics",
    "run_coverage",
]
__getattr__, __dir__ = lazy_exports(__name__, _WHERE)

if TYPE_CHECKING:  # let type checkers and IDEs see the real objects
    from skyfence.coverage.engine import CoverageResult, run_coverage
    from skyfence.coverage.merit import MeritAccumulator, region_statistics
    from skyfence.coverage.visibility import GroundGrid, footprint_radius_km, iter_visibility
